#include "contract/headers.h"

#include <array>
#include <cstdint>

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

bool isValidHeaderValue(std::string_view value) {
  for (char c : value) {
    auto b = static_cast<uint8_t>(c);
    if ((b < 0x20 && b != '\t') || b == 0x7F) return false;
  }
  return true;
}

std::string canonicalHeaderKey(std::string_view name) {
  std::string out(name);
  for (char c : name) {
    if (!kTokenChar[static_cast<uint8_t>(c)]) return out;
  }
  bool upper = true;
  for (char& c : out) {
    if (upper && c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    } else if (!upper && c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    upper = c == '-';
  }
  return out;
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
