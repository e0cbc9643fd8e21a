// A module, in text form, that spins on the clock for `ms` milliseconds
// and then writes `output` to stdout: a call that stays in flight for a
// known time (eviction and unload tests).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace jinn::test {

inline std::string slowWat(int ms, std::string_view output) {
  std::string data;  // `output` as a WAT string's contents
  for (unsigned char c : output) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      data += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "\\%02x", c);
      data += hex;
    }
  }
  return R"((module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $now (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) ")" +
         data + R"(")
  (func (export "_start") (local $end i64)
    (drop (call $now (i32.const 1) (i64.const 0) (i32.const 16)))
    (local.set $end (i64.add (i64.load (i32.const 16)) (i64.const )" +
         std::to_string(int64_t{ms} * 1000000) + R"()))
    (block $out
      (loop $spin
        (drop (call $now (i32.const 1) (i64.const 0) (i32.const 16)))
        (br_if $out (i64.ge_u (i64.load (i32.const 16)) (local.get $end)))
        (br $spin)))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const )" +
         std::to_string(output.size()) + R"())
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
)";
}

}  // namespace jinn::test
