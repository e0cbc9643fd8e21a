#include "contract/headers.h"

#include <array>
#include <cstdint>
#include <cstring>

namespace jinn::contract {
namespace {

constexpr std::array<bool, 256> makeTokenTable() {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<uint8_t>(c)] = true;
  return table;
}
constexpr std::array<bool, 256> kTokenChar = makeTokenTable();

// What each byte becomes in a canonical name: at the start of a word (the
// first byte, or after '-') and inside one; 0 for a byte that is not a
// token character. One lookup a byte instead of a check and two compares.
struct CanonicalCase {
  std::array<char, 256> word_start{};
  std::array<char, 256> inside{};
};
constexpr CanonicalCase makeCanonicalCase() {
  CanonicalCase table;
  for (int c = 0; c < 256; ++c) {
    if (!kTokenChar[c]) continue;
    const bool lower = c >= 'a' && c <= 'z';
    const bool upper = c >= 'A' && c <= 'Z';
    table.word_start[c] = static_cast<char>(lower ? c - 'a' + 'A' : c);
    table.inside[c] = static_cast<char>(upper ? c - 'A' + 'a' : c);
  }
  return table;
}
constexpr CanonicalCase kCanonicalCase = makeCanonicalCase();

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

namespace {

bool startsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && equalsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

}  // namespace

bool isHeaderToken(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!kTokenChar[static_cast<uint8_t>(c)]) return false;
  }
  return true;
}

namespace {

bool isControl(uint8_t b) { return (b < 0x20 && b != '\t') || b == 0x7F; }

// Whether any byte of `word` may be below 0x20 or be 0x7F (DEL). Never
// misses one; may flag a word that has none (a borrow past a byte below
// 0x20, e.g. a tab), which the caller then checks a byte at a time.
bool mayHaveControl(uint64_t word) {
  constexpr uint64_t kOnes = 0x0101010101010101u;
  constexpr uint64_t kHigh = 0x8080808080808080u;
  const uint64_t below_space = (word - 0x20 * kOnes) & ~word & kHigh;
  const uint64_t del = word ^ (0x7F * kOnes);
  const uint64_t is_del = (del - kOnes) & ~del & kHigh;
  return (below_space | is_del) != 0;
}

}  // namespace

bool isValidHeaderValue(std::string_view value) {
  // Eight bytes at a time while no control character can be among them: the
  // check runs on every header value a function sends.
  size_t i = 0;
  for (; i + 8 <= value.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, value.data() + i, sizeof word);
    if (mayHaveControl(word)) break;
  }
  for (; i < value.size(); ++i) {
    if (isControl(static_cast<uint8_t>(value[i]))) return false;
  }
  return true;
}

std::optional<std::string> canonicalTokenKey(std::string_view name) {
  if (name.empty()) return std::nullopt;
  // One pass: case fixed while checking that the name is a token.
  std::string out(name);
  const std::array<char, 256>* table = &kCanonicalCase.word_start;
  for (char& c : out) {
    const char canonical = (*table)[static_cast<uint8_t>(c)];
    if (canonical == 0) return std::nullopt;
    table = c == '-' ? &kCanonicalCase.word_start : &kCanonicalCase.inside;
    c = canonical;
  }
  return out;
}

std::string canonicalHeaderKey(std::string_view name) {
  std::optional<std::string> canonical = canonicalTokenKey(name);
  return canonical ? std::move(*canonical) : std::string(name);
}

bool isServerOwnedHeader(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length",
  };
  for (std::string_view owned : kNames) {
    if (equalsIgnoreCase(name, owned)) return true;
  }
  // Proxy-Connection, Proxy-Authenticate, Proxy-Authorization...: a function
  // is not a proxy, and these are hop-by-hop by convention.
  return startsWithIgnoreCase(name, "Proxy-");
}

std::string_view trimOws(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return value;
}

}  // namespace jinn::contract
