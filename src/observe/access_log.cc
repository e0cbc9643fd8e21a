#include "observe/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>

namespace jinn::observe {
namespace {

// Length of the valid UTF-8 sequence at the start of `s`, or 0 if invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t validUtf8Length(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

template <typename Int>
void appendInt(std::string& out, Int value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

}  // namespace

void appendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      case '\b': out += "\\b"; ++i; continue;
      case '\f': out += "\\f"; ++i; continue;
      default: break;
    }
    if (c < 0x80) {  // other controls and DEL
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
      ++i;
      continue;
    }
    const size_t n = validUtf8Length(text.substr(i));
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  out += '"';
}

void appendRfc3339(std::string& out, std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(time.time_since_epoch()).count();
  const time_t seconds = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const int millis = static_cast<int>(ms - static_cast<int64_t>(seconds) * 1000);
  // gmtime_r and strftime per line cost more than the rest of the line; most
  // lines of a busy server share their second with the previous one.
  thread_local time_t cached_second = -1;
  thread_local char cached_text[32];
  if (seconds != cached_second) {
    tm parts;
    gmtime_r(&seconds, &parts);
    strftime(cached_text, sizeof cached_text, "%Y-%m-%dT%H:%M:%S", &parts);
    cached_second = seconds;
  }
  out += cached_text;
  out += '.';
  out += static_cast<char>('0' + millis / 100);
  out += static_cast<char>('0' + millis / 10 % 10);
  out += static_cast<char>('0' + millis % 10);
  out += 'Z';
}

void AccessLog::format(const AccessEntry& e, std::string& out) {
  out += "{\"time\":\"";
  appendRfc3339(out, e.time);
  out += "\",\"remote\":";
  appendJsonString(out, e.remote);
  out += ",\"method\":";
  appendJsonString(out, e.method);
  out += ",\"path\":";
  appendJsonString(out, e.path);
  out += ",\"status\":";
  appendInt(out, e.status);
  out += ",\"bytes\":";
  appendInt(out, e.bytes);
  out += ",\"duration_ms\":";
  // Microsecond resolution, fixed point: "1.234".
  const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(e.duration).count();
  const int64_t abs_us = us < 0 ? 0 : us;
  appendInt(out, abs_us / 1000);
  out += '.';
  const int frac = static_cast<int>(abs_us % 1000);
  out += static_cast<char>('0' + frac / 100);
  out += static_cast<char>('0' + frac / 10 % 10);
  out += static_cast<char>('0' + frac % 10);
  out += ",\"route\":";
  appendJsonString(out, e.route);
  out += ",\"trace_id\":";
  appendJsonString(out, e.trace_id);
  if (!e.outcome.empty()) {
    out += ",\"outcome\":";
    appendJsonString(out, e.outcome);
  }
  out += "}\n";
}

Result<std::unique_ptr<AccessLog>> AccessLog::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error{path.string() + ": cannot open access log: " + std::strerror(errno)};
  }
  return std::make_unique<AccessLog>(fd, true);
}

AccessLog::AccessLog(int fd, bool owned) : fd_(fd), owned_(owned) {}

AccessLog::AccessLog(FILE* file) : fd_(fileno(file)), owned_(false) {
  // Anything already buffered in the FILE goes out before our lines.
  std::fflush(file);
}

AccessLog::~AccessLog() {
  if (owned_) ::close(fd_);
}

void AccessLog::write(const AccessEntry& entry) {
  thread_local std::string line;
  line.clear();
  format(entry, line);
  std::lock_guard lock(write_mutex_);
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
}

}  // namespace jinn::observe
