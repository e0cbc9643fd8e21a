// Shared by every fuzz target: a broken invariant aborts, which libFuzzer
// and the replay test both report as a failure.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace jinn::fuzz {

inline void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

// Messages that reach clients or logs: short printable ASCII only.
inline void checkPrintable(std::string_view message, size_t max_size) {
  check(!message.empty(), "message is empty");
  check(message.size() <= max_size, "message is long");
  for (char c : message) check(c >= 0x20 && c < 0x7F, "message has a non-printable byte");
}

}  // namespace jinn::fuzz
