#include "contract/request.h"

#include <array>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "contract/base64.h"
#include "contract/headers.h"
#include "contract/utf8.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace jinn::contract {
namespace {

// Bytes that JSON takes as they are: printable ASCII but '"' and '\\'.
constexpr std::array<bool, 256> kPlainByte = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  return plain;
}();

// Skips the plain bytes from s[i]; returns the index of the first other one
// (or n). Sixteen bytes per step with SSE2 while that many are left (long
// bodies), then a table lookup per byte (most envelope strings are short).
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
  while (i < n && kPlainByte[s[i]]) ++i;
  return i;
}

// The envelope is written by hand rather than through boost::json::serialize:
// Boost copies string bytes through unchecked, so a header with invalid UTF-8
// would make the whole envelope invalid JSON. Here every string is escaped
// and filtered to valid UTF-8 (each bad byte becomes U+FFFD, as Go's
// encoding/json does) in one pass that copies runs of plain bytes whole.
void appendEscaped(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t run = 0;  // start of the bytes not yet appended, all plain
  size_t i = 0;
  while (i < n) {
    i = skipPlain(s, i, n);
    if (i == n) break;
    const uint8_t c = s[i];
    if (c >= 0x80) {
      if (const size_t len = validSequenceLength(s, i, n)) {
        i += len;
        continue;
      }
    }
    out.append(text.data() + run, i - run);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default:
        if (c >= 0x80) {
          out.append("\xEF\xBF\xBD");  // one per byte that starts no valid sequence
        } else {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        }
    }
    ++i;
    run = i;
  }
  out.append(text.data() + run, n - run);
}

void appendString(std::string_view text, std::string& out) {
  out.push_back('"');
  appendEscaped(text, out);
  out.push_back('"');
}

// `text` as it will read once written into JSON (invalid UTF-8 replaced).
std::string jsonText(std::string_view text) {
  if (isValidUtf8(text)) return std::string(text);
  std::string out;
  appendUtf8Lossy(text, out);
  return out;
}

void appendField(std::string_view key, std::string_view value, std::string& out) {
  out.push_back(',');
  appendString(key, out);
  out.push_back(':');
  appendString(value, out);
}

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// A header name as canonicalHeaderKey() writes it, straight into `out`,
// for a name that is a token (token characters need no JSON escaping).
void appendCanonicalToken(std::string_view name, std::string& out) {
  const size_t at = out.size();
  out.resize(at + name.size() + 2);
  char* p = out.data() + at;
  *p++ = '"';
  bool up = true;
  for (char c : name) {
    *p++ = up ? upper(c) : lower(c);
    up = c == '-';
  }
  *p = '"';
}

// The common case, a request with a few headers whose names are tokens:
// grouped by comparing names without regard to case (which is what equal
// canonical names means for tokens), with no allocation. Quadratic, hence
// only for a few headers.
constexpr size_t kFewHeaders = 32;

bool appendFewTokenHeaders(std::span<const NameValue> headers, std::string& out) {
  if (headers.size() > kFewHeaders) return false;
  for (const auto& h : headers) {
    if (!isHeaderToken(h.first)) return false;
  }
  bool written[kFewHeaders] = {};
  out.append(",\"headers\":{");
  for (size_t i = 0; i < headers.size(); ++i) {
    if (written[i]) continue;
    if (out.back() != '{') out.push_back(',');
    appendCanonicalToken(headers[i].first, out);
    out.append(":[");
    for (size_t k = i; k < headers.size(); ++k) {
      if (k != i && (written[k] || !equalsIgnoreCase(headers[k].first, headers[i].first))) continue;
      written[k] = true;
      if (k != i) out.push_back(',');
      appendString(headers[k].second, out);
    }
    out.push_back(']');
  }
  out.push_back('}');
  return true;
}

void appendHeaders(std::span<const NameValue> headers, std::string& out) {
  if (appendFewTokenHeaders(headers, out)) return;
  // Group by canonical name, keeping first-appearance order of names.
  std::vector<std::string> names;
  std::vector<std::vector<std::string_view>> values;
  std::unordered_map<std::string, size_t> index;
  for (const auto& [name, value] : headers) {
    // Group on the name as it will be written: two different invalid names
    // can turn into the same U+FFFD text, and a JSON key must not repeat.
    std::string canonical = jsonText(canonicalHeaderKey(name));
    auto [it, inserted] = index.try_emplace(canonical, names.size());
    if (inserted) {
      names.push_back(std::move(canonical));
      values.emplace_back();
    }
    values[it->second].push_back(value);
  }
  out.append(",\"headers\":{");
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out.push_back(',');
    appendString(names[i], out);
    out.append(":[");
    for (size_t k = 0; k < values[i].size(); ++k) {
      if (k > 0) out.push_back(',');
      appendString(values[i][k], out);
    }
    out.push_back(']');
  }
  out.push_back('}');
}

void appendParams(std::span<const NameValue> params, std::string& out) {
  if (params.empty()) return;
  out.append(",\"params\":{");
  std::unordered_set<std::string> seen;
  bool first = true;
  for (const auto& [name, value] : params) {
    std::string key = jsonText(name);
    if (!seen.insert(key).second) continue;  // a JSON object must not repeat a key
    if (!first) out.push_back(',');
    first = false;
    appendString(key, out);
    out.push_back(':');
    appendString(value, out);
  }
  out.push_back('}');
}

}  // namespace

void encodeRequestTo(const RequestView& request, std::string& out) {
  out.clear();
  out.reserve(256 + request.uri.size() * 2 + request.body.size() * 4 / 3);
  out.append("{\"method\":");
  appendString(request.method, out);
  appendField("uri", request.uri, out);
  appendField("path", request.path, out);
  appendField("query", request.query, out);
  // The body before the headers: a guest that looks for `"body":"` in the
  // text (the C SDK does) finds it without scanning every header first.
  if (isValidUtf8(request.body)) {
    appendField("body", request.body, out);
  } else {
    out.append(",\"body_base64\":\"");
    base64EncodeTo(request.body, out);
    out.push_back('"');
  }
  appendHeaders(request.headers, out);
  appendField("trace_id", request.trace_id, out);
  appendField("remote_addr", request.remote_addr, out);
  appendField("route", request.route, out);
  appendParams(request.params, out);
  out.push_back('}');
}

std::string encodeRequest(const RequestView& request) {
  std::string out;
  encodeRequestTo(request, out);
  return out;
}

}  // namespace jinn::contract
