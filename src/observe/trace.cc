#include "observe/trace.h"

#include <sys/random.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace jinn::observe {
namespace {

constexpr char kHex[] = "0123456789abcdef";

bool isLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool allZero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

int hexValue(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

// xoshiro256** (Blackman & Vigna): fast, 256 bits of state, good statistics.
class Prng {
 public:
  Prng() {
    uint64_t seed[4] = {};
    if (getrandom(seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) {
      // Without getrandom ids are still unique enough per process for tracing.
      seed[0] = static_cast<uint64_t>(
          std::chrono::steady_clock::now().time_since_epoch().count());
      seed[1] = static_cast<uint64_t>(getpid());
      seed[2] = reinterpret_cast<uintptr_t>(this);
      seed[3] = 0x9e3779b97f4a7c15ull;
    }
    std::memcpy(s_, seed, sizeof s_);
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;  // the one forbidden state
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

uint64_t nextNonZero() {
  thread_local Prng prng;
  uint64_t v;
  do v = prng.next();
  while (v == 0);
  return v;
}

void appendHex(std::string& out, uint64_t v) {
  char hex[16];
  for (int i = 15; i >= 0; --i, v >>= 4) hex[i] = kHex[v & 0xF];
  out.append(hex, sizeof hex);
}

}  // namespace

std::optional<TraceContext> parseTraceparent(std::string_view h) {
  if (h.size() < 55) return std::nullopt;
  const std::string_view version = h.substr(0, 2);
  if (!isLowerHex(version) || version == "ff") return std::nullopt;
  if (version == "00" ? h.size() != 55 : (h.size() > 55 && h[55] != '-')) return std::nullopt;
  if (h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  const std::string_view trace_id = h.substr(3, 32);
  const std::string_view parent_id = h.substr(36, 16);
  const std::string_view flags = h.substr(53, 2);
  if (!isLowerHex(trace_id) || !isLowerHex(parent_id) || !isLowerHex(flags)) return std::nullopt;
  if (allZero(trace_id) || allZero(parent_id)) return std::nullopt;
  return TraceContext{std::string(trace_id), std::string(parent_id),
                      static_cast<uint8_t>(hexValue(flags[0]) * 16 + hexValue(flags[1]))};
}

std::string newTraceId() {
  std::string id;
  id.reserve(32);
  // Each half non-zero, so the whole is never all zeros.
  appendHex(id, nextNonZero());
  appendHex(id, nextNonZero());
  return id;
}

std::string newSpanId() {
  std::string id;
  id.reserve(16);
  appendHex(id, nextNonZero());
  return id;
}

std::string traceIdFor(std::string_view traceparent) {
  if (!traceparent.empty()) {
    if (std::optional<TraceContext> context = parseTraceparent(traceparent)) {
      return std::move(context->trace_id);
    }
  }
  return newTraceId();
}

std::string formatTraceparent(std::string_view trace_id, std::string_view span_id, uint8_t flags) {
  std::string out = "00-";
  out += trace_id;
  out += '-';
  out += span_id;
  out += '-';
  out += kHex[flags >> 4];
  out += kHex[flags & 0xF];
  return out;
}

}  // namespace jinn::observe
