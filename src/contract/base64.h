// Standard base64 (RFC 4648 section 4: alphabet A-Z a-z 0-9 + /, '=' padding),
// used for binary bodies in the function contract (`body_base64`).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace jinn::contract {

// Encodes `bytes` with padding. Never fails.
std::string base64Encode(std::string_view bytes);
// Appends the encoding of `bytes` to `out`.
void base64EncodeTo(std::string_view bytes, std::string& out);
// The length of the encoding of `n` bytes.
constexpr size_t base64EncodedSize(size_t n) { return (n + 2) / 3 * 4; }
// Writes the encoding of `bytes` (base64EncodedSize(bytes.size()) characters)
// at `out`; returns the end.
char* base64EncodeInto(std::string_view bytes, char* out);

// Decodes strictly: the length must be a multiple of 4, only alphabet
// characters, '=' only as the last one or two characters, and the unused bits
// of the last group must be zero (so every byte string has exactly one
// accepted encoding). Whitespace and line breaks are not accepted.
// Returns nullopt on any violation.
std::optional<std::string> base64Decode(std::string_view text);

// The decoded size of a well-formed encoding of `encoded_size` characters, an
// upper bound for any input (used to refuse an over-limit body before decoding).
constexpr size_t base64DecodedSizeBound(size_t encoded_size) { return encoded_size / 4 * 3 + 3; }

}  // namespace jinn::contract
