#include "contract/utf8.h"

#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace jinn::contract {

// Follows the well-formed byte sequences table of the Unicode standard
// (Table 3-7), which rules out overlongs and surrogates by narrowing the
// second byte's range.
size_t validSequenceLength(const uint8_t* s, size_t i, size_t n) {
  uint8_t b0 = s[i];
  if (b0 < 0x80) return 1;
  auto cont = [&](size_t k, uint8_t lo, uint8_t hi) {
    return i + k < n && s[i + k] >= lo && s[i + k] <= hi;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1, 0x80, 0xBF) ? 2 : 0;
  if (b0 == 0xE0) return cont(1, 0xA0, 0xBF) && cont(2, 0x80, 0xBF) ? 3 : 0;
  if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF)
    return cont(1, 0x80, 0xBF) && cont(2, 0x80, 0xBF) ? 3 : 0;
  if (b0 == 0xED) return cont(1, 0x80, 0x9F) && cont(2, 0x80, 0xBF) ? 3 : 0;
  if (b0 == 0xF0) return cont(1, 0x90, 0xBF) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  if (b0 >= 0xF1 && b0 <= 0xF3)
    return cont(1, 0x80, 0xBF) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  if (b0 == 0xF4) return cont(1, 0x80, 0x8F) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  return 0;
}

// Runs over every request body: with SSE2 (the x86-64 baseline) 16 bytes
// per step instead of a load, compare and branch per byte. (simdutf, which
// validates whole UTF-8 fast, is not packaged in Debian 12.)
size_t asciiPrefix(const uint8_t* s, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    if (const int mask = _mm_movemask_epi8(v)) return i + static_cast<size_t>(__builtin_ctz(mask));
  }
#endif
  while (i < n && s[i] < 0x80) ++i;
  return i;
}

bool isValidUtf8(std::string_view bytes) {
  const auto* s = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    // ASCII fast path: most bodies are JSON or form data.
    i += asciiPrefix(s + i, n - i);
    if (i == n) break;
    size_t len = validSequenceLength(s, i, n);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

void appendUtf8Lossy(std::string_view bytes, std::string& out) {
  const auto* s = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  size_t run = 0;  // start of the valid bytes not yet appended
  while (i < n) {
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    const size_t len = validSequenceLength(s, i, n);
    if (len > 0) {
      i += len;
      continue;
    }
    out.append(bytes.data() + run, i - run);
    out.append("\xEF\xBF\xBD");
    // Go's decoder consumes one byte per invalid sequence start.
    ++i;
    run = i;
  }
  out.append(bytes.data() + run, n - run);
}

}  // namespace jinn::contract
