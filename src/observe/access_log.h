// The access log: one JSON object per line, e.g.
//   {"time":"2024-05-01T12:34:56.789Z","remote":"127.0.0.1:50312","method":"GET",
//    "path":"/api/report","status":200,"bytes":512,"duration_ms":1.234,
//    "route":"/api/report","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","outcome":"exited"}
// ("outcome" only when a function ran). Strings are escaped so that any
// request bytes, including invalid UTF-8, yield valid JSON.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "jinn/jinn.h"

namespace jinn::observe {

struct AccessEntry {
  std::chrono::system_clock::time_point time;  // when the request arrived
  std::string_view remote;                     // "ip:port"
  std::string_view method;
  std::string_view path;  // as received (with query), escaped on output
  int status = 0;
  uint64_t bytes = 0;  // response body bytes sent
  std::chrono::nanoseconds duration{0};
  std::string_view route;     // route name; empty when none matched
  std::string_view trace_id;  // 32 hex
  std::string_view outcome;   // jinn::outcomeName; empty: omitted
};

class AccessLog {
 public:
  // Opens (creating, mode 0644) `path` for appending.
  static Result<std::unique_ptr<AccessLog>> open(const std::filesystem::path& path);
  // Writes to `fd`; closes it on destruction only if `owned`.
  explicit AccessLog(int fd, bool owned = false);
  // Writes to fileno(file) directly, bypassing stdio buffering (which is not
  // line-atomic across threads). The FILE stays the caller's.
  explicit AccessLog(FILE* file);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Thread-safe. Formats without a lock, then writes the line with one write(2)
  // under a lock, so lines never interleave even if the kernel writes short.
  // A failed write drops the line and counts it; it never throws.
  void write(const AccessEntry& entry);
  uint64_t droppedLines() const { return dropped_.load(std::memory_order_relaxed); }

  // Appends the line for `entry`, ending in '\n'.
  static void format(const AccessEntry& entry, std::string& out);

 private:
  int fd_;
  bool owned_;
  std::mutex write_mutex_;
  std::atomic<uint64_t> dropped_{0};
};

// Appends `text` as a quoted JSON string: quote, backslash and control
// characters escaped, DEL as \u007f, each invalid UTF-8 byte as \ufffd.
void appendJsonString(std::string& out, std::string_view text);

// "2024-05-01T12:34:56.789Z" (RFC 3339, UTC, milliseconds).
void appendRfc3339(std::string& out, std::chrono::system_clock::time_point time);

}  // namespace jinn::observe
