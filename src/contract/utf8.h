// Strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates
// (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace jinn::contract {

bool isValidUtf8(std::string_view bytes);

// How many of the n bytes at s, from the start, are ASCII (< 0x80).
size_t asciiPrefix(const uint8_t* s, size_t n);

// Length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), or 0 if
// the bytes there do not start one. i < n.
size_t validSequenceLength(const uint8_t* s, size_t i, size_t n);

// Appends `bytes` to `out`, replacing each byte that does not start a valid
// sequence with U+FFFD, as Go's encoding/json does when it marshals a string
// (so the request envelope's text fields read the same as in Gojinn).
void appendUtf8Lossy(std::string_view bytes, std::string& out);

}  // namespace jinn::contract
