#include "contract/request.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "contract/base64.h"
#include "contract/headers.h"
#include "contract/json_bytes.h"
#include "contract/utf8.h"

namespace jinn::contract {
namespace {

// The envelope's bytes, written through a raw pointer. std::string's append
// and push_back check capacity and call into the library for every piece;
// an envelope is some forty short pieces, and that overhead was most of its
// cost. Here room is made in chunks (one resize, rarely more) and a piece is
// a compare and a copy. finish() trims the string to what was written.
class JsonOut {
 public:
  JsonOut(std::string& s, size_t expected) : s_(s) {
    s_.resize(std::max<size_t>(expected, 64));
    p_ = s_.data();
    end_ = p_ + s_.size();
  }
  void room(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) grow(n);
  }
  void put(char c) {
    room(1);
    *p_++ = c;
  }
  void put(std::string_view text) {
    const size_t n = text.size();
    room(n);
    const char* src = text.data();
    // Most pieces are a few bytes: two overlapping word copies instead of a
    // call to memcpy (which cost more than the bytes it copied here).
    if (n >= 8 && n <= 16) {
      uint64_t head, tail;
      std::memcpy(&head, src, 8);
      std::memcpy(&tail, src + n - 8, 8);
      std::memcpy(p_, &head, 8);
      std::memcpy(p_ + n - 8, &tail, 8);
    } else if (n >= 4 && n < 8) {
      uint32_t head, tail;
      std::memcpy(&head, src, 4);
      std::memcpy(&tail, src + n - 4, 4);
      std::memcpy(p_, &head, 4);
      std::memcpy(p_ + n - 4, &tail, 4);
    } else if (n < 4) {
      for (size_t k = 0; k < n; ++k) p_[k] = src[k];
    } else {
      std::memcpy(p_, src, n);
    }
    p_ += n;
  }
  // After room(n): up to n bytes without checks.
  void putUnchecked(char c) { *p_++ = c; }
  char* cursor() { return p_; }
  void advance(char* to) { p_ = to; }
  void finish() { s_.resize(static_cast<size_t>(p_ - s_.data())); }

 private:
  void grow(size_t n) {
    const size_t used = static_cast<size_t>(p_ - s_.data());
    s_.resize(std::max(s_.size() * 2, used + n));
    p_ = s_.data() + used;
    end_ = s_.data() + s_.size();
  }

  std::string& s_;
  char* p_;
  char* end_;
};

// The envelope is written by hand rather than through boost::json::serialize:
// Boost copies string bytes through unchecked, so a header with invalid UTF-8
// would make the whole envelope invalid JSON. Here every string is escaped
// and filtered to valid UTF-8 (each bad byte becomes U+FFFD, as Go's
// encoding/json does) in one pass that copies runs of plain bytes whole.
void appendEscaped(std::string_view text, JsonOut& out) {
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
    out.put(text.substr(run, i - run));
    switch (c) {
      case '"':
        out.put("\\\"");
        break;
      case '\\':
        out.put("\\\\");
        break;
      case '\n':
        out.put("\\n");
        break;
      case '\r':
        out.put("\\r");
        break;
      case '\t':
        out.put("\\t");
        break;
      case '\b':
        out.put("\\b");
        break;
      case '\f':
        out.put("\\f");
        break;
      default:
        if (c >= 0x80) {
          out.put("\xEF\xBF\xBD");  // one per byte that starts no valid sequence
        } else {
          out.room(6);
          out.put("\\u00");
          out.putUnchecked(kHex[c >> 4]);
          out.putUnchecked(kHex[c & 15]);
        }
    }
    ++i;
    run = i;
  }
  out.put(text.substr(run));
}

void appendString(std::string_view text, JsonOut& out) {
  out.put('"');
  appendEscaped(text, out);
  out.put('"');
}

// `text` as it will read once written into JSON (invalid UTF-8 replaced).
std::string jsonText(std::string_view text) {
  if (isValidUtf8(text)) return std::string(text);
  std::string out;
  appendUtf8Lossy(text, out);
  return out;
}

// `prefix` is the text before the value's content: `,"name":"`.
void appendField(std::string_view prefix, std::string_view value, JsonOut& out) {
  out.put(prefix);
  appendEscaped(value, out);
  out.put('"');
}

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// A header name as canonicalHeaderKey() writes it, straight into `out`,
// for a name that is a token (token characters need no JSON escaping).
void appendCanonicalToken(std::string_view name, JsonOut& out) {
  out.room(name.size() + 2);
  out.putUnchecked('"');
  bool up = true;
  for (char c : name) {
    out.putUnchecked(up ? upper(c) : lower(c));
    up = c == '-';
  }
  out.putUnchecked('"');
}

// The common case, a request with a few headers whose names are tokens:
// grouped by comparing names without regard to case (which is what equal
// canonical names means for tokens), with no allocation. Quadratic, hence
// only for a few headers.
constexpr size_t kFewHeaders = 32;

bool appendFewTokenHeaders(std::span<const NameValue> headers, JsonOut& out) {
  if (headers.size() > kFewHeaders) return false;
  for (const auto& h : headers) {
    if (!isHeaderToken(h.first)) return false;
  }
  bool written[kFewHeaders] = {};
  out.put(",\"headers\":{");
  bool first_name = true;
  for (size_t i = 0; i < headers.size(); ++i) {
    if (written[i]) continue;
    if (!first_name) out.put(',');
    first_name = false;
    appendCanonicalToken(headers[i].first, out);
    out.put(":[");
    for (size_t k = i; k < headers.size(); ++k) {
      if (k != i && (written[k] || !equalsIgnoreCase(headers[k].first, headers[i].first))) continue;
      written[k] = true;
      if (k != i) out.put(',');
      appendString(headers[k].second, out);
    }
    out.put(']');
  }
  out.put('}');
  return true;
}

void appendHeaders(std::span<const NameValue> headers, JsonOut& out) {
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
  out.put(",\"headers\":{");
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out.put(',');
    appendString(names[i], out);
    out.put(":[");
    for (size_t k = 0; k < values[i].size(); ++k) {
      if (k > 0) out.put(',');
      appendString(values[i][k], out);
    }
    out.put(']');
  }
  out.put('}');
}

void appendParams(std::span<const NameValue> params, JsonOut& out) {
  if (params.empty()) return;
  out.put(",\"params\":{");
  std::unordered_set<std::string> seen;
  bool first = true;
  for (const auto& [name, value] : params) {
    std::string key = jsonText(name);
    if (!seen.insert(key).second) continue;  // a JSON object must not repeat a key
    if (!first) out.put(',');
    first = false;
    appendString(key, out);
    out.put(':');
    appendString(value, out);
  }
  out.put('}');
}

}  // namespace

void encodeRequestTo(const RequestView& request, std::string& out) {
  out.clear();
  JsonOut json(out, 256 + request.uri.size() * 2 + request.body.size() * 4 / 3);
  appendField("{\"method\":\"", request.method, json);
  appendField(",\"uri\":\"", request.uri, json);
  appendField(",\"path\":\"", request.path, json);
  appendField(",\"query\":\"", request.query, json);
  // The body before the headers: a guest that looks for `"body":"` in the
  // text (the C SDK does) finds it without scanning every header first.
  if (isValidUtf8(request.body)) {
    appendField(",\"body\":\"", request.body, json);
  } else {
    json.put(",\"body_base64\":\"");
    const size_t n = base64EncodedSize(request.body.size());
    json.room(n);
    json.advance(base64EncodeInto(request.body, json.cursor()));
    json.put('"');
  }
  appendHeaders(request.headers, json);
  appendField(",\"trace_id\":\"", request.trace_id, json);
  appendField(",\"remote_addr\":\"", request.remote_addr, json);
  appendField(",\"route\":\"", request.route, json);
  appendParams(request.params, json);
  json.put('}');
  json.finish();
}

std::string encodeRequest(const RequestView& request) {
  std::string out;
  encodeRequestTo(request, out);
  return out;
}

}  // namespace jinn::contract
