// Hand-written rather than borrowed: Boost's only base64 lives in
// boost::beast::detail (not a public API, and it skips invalid characters
// instead of rejecting them). The contract needs strict decoding, so that a
// malformed body_base64 is an error the function author sees, not silently
// different bytes.
#include "contract/base64.h"

#include <array>
#include <cstdint>

namespace jinn::contract {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint8_t kInvalid = 0xFF;

constexpr std::array<uint8_t, 256> makeDecodeTable() {
  std::array<uint8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  for (uint8_t i = 0; i < 64; ++i) table[static_cast<uint8_t>(kAlphabet[i])] = i;
  return table;
}
constexpr std::array<uint8_t, 256> kDecode = makeDecodeTable();

}  // namespace

char* base64EncodeInto(std::string_view bytes, char* out) {
  const auto* in = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t group = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    *out++ = kAlphabet[(group >> 18) & 63];
    *out++ = kAlphabet[(group >> 12) & 63];
    *out++ = kAlphabet[(group >> 6) & 63];
    *out++ = kAlphabet[group & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t group = uint32_t{in[i]} << 16;
    *out++ = kAlphabet[(group >> 18) & 63];
    *out++ = kAlphabet[(group >> 12) & 63];
    *out++ = '=';
    *out++ = '=';
  } else if (rest == 2) {
    uint32_t group = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    *out++ = kAlphabet[(group >> 18) & 63];
    *out++ = kAlphabet[(group >> 12) & 63];
    *out++ = kAlphabet[(group >> 6) & 63];
    *out++ = '=';
  }
  return out;
}

void base64EncodeTo(std::string_view bytes, std::string& out) {
  const size_t at = out.size();
  out.resize(at + base64EncodedSize(bytes.size()));
  base64EncodeInto(bytes, out.data() + at);
}

std::string base64Encode(std::string_view bytes) {
  std::string out;
  base64EncodeTo(bytes, out);
  return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  const auto* in = reinterpret_cast<const uint8_t*>(text.data());
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    size_t padding = 0;
    if (last) padding = (in[i + 3] == '=') + (in[i + 2] == '=' && in[i + 3] == '=');
    uint32_t group = 0;
    for (size_t k = 0; k < 4 - padding; ++k) {
      uint8_t sextet = kDecode[in[i + k]];
      if (sextet == kInvalid) return std::nullopt;  // also catches '=' in the middle
      group |= uint32_t{sextet} << (18 - 6 * k);
    }
    out.push_back(static_cast<char>((group >> 16) & 0xFF));
    if (padding == 2) {
      if (group & 0xFFFF) return std::nullopt;  // non-canonical: stray low bits
      continue;
    }
    out.push_back(static_cast<char>((group >> 8) & 0xFF));
    if (padding == 1) {
      if (group & 0xFF) return std::nullopt;
      continue;
    }
    out.push_back(static_cast<char>(group & 0xFF));
  }
  return out;
}

}  // namespace jinn::contract
