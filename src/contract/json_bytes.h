// Internal: finding the bytes a JSON string cannot hold as they are, fast.
// Shared by the envelope's writer (request.cc), which escapes them, and the
// compact response reader (response.cc), which stops at them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace jinn::contract {

// Bytes that JSON takes as they are: printable ASCII but '"' and '\\'.
inline constexpr std::array<bool, 256> kPlainByte = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  return plain;
}();

// The bytes of the 8 at `x` (little-endian) that are not plain, each as its
// high bit. Only the lowest set bit is exact (a borrow can flag a byte just
// above a real hit), which is the one skipPlain uses.
inline uint64_t specialBytes(uint64_t x) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  auto zeroByte = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  const uint64_t control = (x - 0x20 * kOnes) & ~x & kHigh;  // < 0x20
  return control | (x & kHigh) | zeroByte(x ^ ('"' * kOnes)) | zeroByte(x ^ ('\\' * kOnes));
}

// Skips the plain bytes from s[i]; returns the index of the first other one
// (or n). Sixteen bytes per step with SSE2 while that many are left (long
// bodies), then eight at a time in a word (most envelope strings are short:
// a byte-by-byte table loop was most of an envelope's cost), then a table
// lookup per byte for the last few.
inline size_t skipPlain(const uint8_t* s, size_t i, size_t n) {
#if defined(__SSE2__)
  // Signed compare: bytes 0x80..0xFF are negative, so "< 0x20" catches them
  // together with the control characters.
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    const __m128i special = _mm_or_si128(
        _mm_cmplt_epi8(v, space), _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    if (const int mask = _mm_movemask_epi8(special)) return i + static_cast<size_t>(__builtin_ctz(mask));
  }
#endif
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the word scan reads bytes in order");
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    std::memcpy(&x, s + i, 8);
    if (const uint64_t m = specialBytes(x)) return i + static_cast<size_t>(__builtin_ctzll(m)) / 8;
  }
  while (i < n && kPlainByte[s[i]]) ++i;
  return i;
}

}  // namespace jinn::contract
