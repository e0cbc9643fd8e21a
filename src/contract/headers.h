// HTTP header names and values as the contract sees them: Go-compatible
// canonical names, token and field-value checks, and the headers a function
// may not set because the server owns the connection and the framing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace jinn::contract {

// RFC 9110 token: 1*tchar. Header names must be tokens.
bool isHeaderToken(std::string_view name);

// ASCII case-insensitive equality (header names).
bool equalsIgnoreCase(std::string_view a, std::string_view b);

// A field value the server can write without breaking the message: no CR, LF,
// NUL or other control character except horizontal tab (RFC 9110 section 5.5;
// CR/LF would let a function split the response). obs-text (0x80-0xFF) is fine.
bool isValidHeaderValue(std::string_view value);

// Go's http.CanonicalHeaderKey: the first letter and every letter after '-'
// upper case, the rest lower case ("content-type" -> "Content-Type"). A name
// that is not a token is returned unchanged, as Go does.
std::string canonicalHeaderKey(std::string_view name);
// The same for a name that must be a token: nullopt when it is not (one pass
// where isHeaderToken and then canonicalHeaderKey would make two).
std::optional<std::string> canonicalTokenKey(std::string_view name);

// Hop-by-hop and framing headers: Connection, Keep-Alive, Proxy-*, TE,
// Trailer, Transfer-Encoding, Upgrade, Content-Length. A function's value for
// these is dropped; the server decides them. Case-insensitive.
bool isServerOwnedHeader(std::string_view name);

// Removes leading and trailing spaces and tabs (optional whitespace is not
// part of a field value, RFC 9110 section 5.5).
std::string_view trimOws(std::string_view value);

}  // namespace jinn::contract
