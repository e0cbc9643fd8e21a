// jinn.hpp: the jinn function SDK for C++17 (header-only, standard library
// only, works with -fno-exceptions). Reads the request envelope from stdin
// and writes the response to stdout, as docs/function-contract.md describes.
//
//   #include "jinn.hpp"
//   int main() {
//     jinn::Request req;
//     if (!jinn::readRequest(req)) return 1;
//     jinn::Response res(200);
//     res.header("Content-Type", "text/plain").body = "hello " + req.method;
//     return res.send();
//   }
//
// Also here: jinn::json, a small JSON reader and string quoter, for request
// bodies. Errors are reported by return value; messages go to stderr.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jinn {

namespace detail {

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

inline size_t utf8CharLength(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t k;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) k = 1;
  else if (c >= 0xE0 && c <= 0xEF) { k = 2; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
  else if (c >= 0xF0 && c <= 0xF4) { k = 3; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
  else return 0;
  if (i + k >= s.size()) return 0;
  const auto c1 = static_cast<unsigned char>(s[i + 1]);
  if (c1 < lo || c1 > hi) return 0;
  for (size_t j = 2; j <= k; ++j) {
    if ((static_cast<unsigned char>(s[i + j]) & 0xC0) != 0x80) return 0;
  }
  return k + 1;
}

}  // namespace detail

// Strict UTF-8 check (no overlongs, surrogates or code points past U+10FFFF).
inline bool isUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = detail::utf8CharLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

inline std::string base64Encode(std::string_view data) {
  static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(data[k])); };
  for (; i + 2 < data.size(); i += 3) {
    const unsigned v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += A[v >> 18]; out += A[v >> 12 & 63]; out += A[v >> 6 & 63]; out += A[v & 63];
  }
  if (i < data.size()) {
    const unsigned v = byte(i) << 16 | (i + 1 < data.size() ? byte(i + 1) << 8 : 0);
    out += A[v >> 18];
    out += A[v >> 12 & 63];
    out += i + 1 < data.size() ? A[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

// Strict standard base64; nullopt if `text` is not.
inline std::optional<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    unsigned v = 0;
    int pad = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      unsigned d = 0;
      if (c >= 'A' && c <= 'Z') d = static_cast<unsigned>(c - 'A');
      else if (c >= 'a' && c <= 'z') d = static_cast<unsigned>(c - 'a' + 26);
      else if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0' + 52);
      else if (c == '+') d = 62;
      else if (c == '/') d = 63;
      else if (c == '=' && i + 4 == text.size() && j >= 2 && (j == 3 || text[i + 3] == '=')) ++pad;
      else return std::nullopt;
      if (pad != 0 && c != '=') return std::nullopt;
      v = v << 6 | d;
    }
    const char bytes[3] = {static_cast<char>(v >> 16), static_cast<char>(v >> 8 & 255),
                           static_cast<char>(v & 255)};
    out.append(bytes, static_cast<size_t>(3 - pad));
  }
  return out;
}

namespace json {

class Value {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;               // kString: decoded UTF-8
  std::vector<Value> items;         // kArray, kObject: the values
  std::vector<std::string> keys;    // kObject: the keys, items[i] belongs to keys[i]

  bool isNull() const { return type == Type::kNull; }
  bool isBool() const { return type == Type::kBool; }
  bool isNumber() const { return type == Type::kNumber; }
  bool isString() const { return type == Type::kString; }
  bool isArray() const { return type == Type::kArray; }
  bool isObject() const { return type == Type::kObject; }

  // The member `key` of an object, or nullptr.
  const Value* get(std::string_view key) const {
    if (type != Type::kObject) return nullptr;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return &items[i];
    }
    return nullptr;
  }
  // The member `key` if it is a string, else nullptr.
  const std::string* getString(std::string_view key) const {
    const Value* v = get(key);
    return v != nullptr && v->isString() ? &v->string : nullptr;
  }
};

namespace detail {

struct Parser {
  std::string_view text;
  size_t pos = 0;
  int depth = 0;
  const char* error = nullptr;

  void ws() {
    while (pos < text.size() &&
           (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r')) {
      ++pos;
    }
  }
  bool fail(const char* why) {
    error = why;
    return false;
  }
  bool hex4(unsigned* out) {
    if (text.size() - pos < 4) return false;
    unsigned v = 0;
    for (size_t i = 0; i < 4; ++i) {
      const char c = text[pos + i];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
      else return false;
    }
    pos += 4;
    *out = v;
    return true;
  }
  static void putUtf8(unsigned cp, std::string& out) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | cp >> 6);
      out += static_cast<char>(0x80 | (cp & 63));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | cp >> 12);
      out += static_cast<char>(0x80 | (cp >> 6 & 63));
      out += static_cast<char>(0x80 | (cp & 63));
    } else {
      out += static_cast<char>(0xF0 | cp >> 18);
      out += static_cast<char>(0x80 | (cp >> 12 & 63));
      out += static_cast<char>(0x80 | (cp >> 6 & 63));
      out += static_cast<char>(0x80 | (cp & 63));
    }
  }
  bool str(std::string& out) {
    ++pos;  // the opening quote
    size_t run = pos;
    for (;;) {
      if (pos >= text.size()) return fail("unterminated string");
      const auto c = static_cast<unsigned char>(text[pos]);
      if (c == '"') break;
      if (c < 0x20) return fail("control character in string");
      if (c != '\\') {
        ++pos;
        continue;
      }
      out.append(text.substr(run, pos - run));
      if (pos + 1 >= text.size()) return fail("bad escape");
      const char e = text[pos + 1];
      pos += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = 0;
          if (!hex4(&cp)) return fail("bad \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo = 0;
            if (text.substr(pos, 2) != "\\u") return fail("lone surrogate");
            pos += 2;
            if (!hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return fail("lone surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return fail("lone surrogate");
          }
          putUtf8(cp, out);
          break;
        }
        default:
          return fail("bad escape");
      }
      run = pos;
    }
    out.append(text.substr(run, pos - run));
    ++pos;
    return true;
  }
  bool digits() {
    const size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    return pos > start;
  }
  bool value(Value& v) {
    ws();
    if (pos >= text.size()) return fail("unexpected end");
    const char c = text[pos];
    if (c == '{' || c == '[') {
      if (++depth > 64) return fail("nested too deeply");
      const bool obj = c == '{';
      const char close = obj ? '}' : ']';
      v.type = obj ? Value::Type::kObject : Value::Type::kArray;
      ++pos;
      ws();
      if (pos < text.size() && text[pos] == close) {
        ++pos;
        --depth;
        return true;
      }
      for (;;) {
        if (obj) {
          ws();
          if (pos >= text.size() || text[pos] != '"') return fail("expected a key");
          v.keys.emplace_back();
          if (!str(v.keys.back())) return false;
          ws();
          if (pos >= text.size() || text[pos] != ':') return fail("expected ':'");
          ++pos;
        }
        v.items.emplace_back();
        if (!value(v.items.back())) return false;
        ws();
        if (pos < text.size() && text[pos] == ',') {
          ++pos;
          continue;
        }
        if (pos < text.size() && text[pos] == close) {
          ++pos;
          break;
        }
        return fail(obj ? "expected ',' or '}'" : "expected ',' or ']'");
      }
      --depth;
      return true;
    }
    if (c == '"') {
      v.type = Value::Type::kString;
      return str(v.string);
    }
    if (text.substr(pos, 4) == "null") {
      pos += 4;
      return true;
    }
    if (text.substr(pos, 4) == "true" || text.substr(pos, 5) == "false") {
      v.type = Value::Type::kBool;
      v.boolean = text[pos] == 't';
      pos += v.boolean ? 4 : 5;
      return true;
    }
    const size_t start = pos;
    if (text[pos] == '-') ++pos;
    if (pos < text.size() && text[pos] == '0') {
      ++pos;
    } else if (!digits()) {
      return fail("unexpected character");
    }
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      if (!digits()) return fail("bad number");
    }
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
      ++pos;
      if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) ++pos;
      if (!digits()) return fail("bad number");
    }
    v.type = Value::Type::kNumber;
    v.number = std::strtod(std::string(text.substr(start, pos - start)).c_str(), nullptr);
    return true;
  }
};

}  // namespace detail

// Parses one JSON value. nullopt on malformed input, with the reason and
// byte offset in *error when given ("expected ':' at byte 12").
inline std::optional<Value> parse(std::string_view text, std::string* error = nullptr) {
  detail::Parser p{text};
  Value v;
  bool ok = p.value(v);
  if (ok) {
    p.ws();
    if (p.pos != text.size()) ok = p.fail("text after the value");
  }
  if (!ok) {
    if (error != nullptr) *error = std::string(p.error) + " at byte " + std::to_string(p.pos);
    return std::nullopt;
  }
  return v;
}

// `s` as a JSON string, quotes included. Bytes that are not valid UTF-8
// become U+FFFD, so the result is always valid JSON.
inline std::string quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = jinn::detail::utf8CharLength(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", c);
          out += esc;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
  return out;
}

}  // namespace json

// The request envelope. `body` holds the bytes, decoded from body_base64
// when the server sent a binary body.
struct Request {
  std::string method, uri, path, query, trace_id, remote_addr, route;
  std::vector<std::pair<std::string, std::vector<std::string>>> headers;  // canonical names
  std::vector<std::pair<std::string, std::string>> params;
  std::string body;

  // The first value of header `name` (any case), or nullptr.
  const std::string* header(std::string_view name) const {
    for (const auto& [n, values] : headers) {
      if (detail::iequals(n, name) && !values.empty()) return &values.front();
    }
    return nullptr;
  }
  // Every value of header `name` (any case).
  std::vector<std::string> headerValues(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, values] : headers) {
      if (detail::iequals(n, name)) out.insert(out.end(), values.begin(), values.end());
    }
    return out;
  }
  const std::string* param(std::string_view name) const {
    for (const auto& [n, v] : params) {
      if (n == name) return &v;
    }
    return nullptr;
  }
};

// Reads all of stdin and parses the envelope into `req`. False on failure,
// with the reason printed on stderr.
inline bool readRequest(Request& req) {
  std::string in;
  char chunk[65536];
  size_t got;
  while ((got = std::fread(chunk, 1, sizeof chunk, stdin)) > 0) in.append(chunk, got);
  std::string error;
  std::optional<json::Value> root = json::parse(in, &error);
  if (!root || !root->isObject()) {
    std::fprintf(stderr, "jinn: the request is not a JSON object (%s)\n",
                 root ? "not an object" : error.c_str());
    return false;
  }
  auto field = [&](const char* key, std::string& out) {
    if (const std::string* s = root->getString(key)) out = *s;
  };
  field("method", req.method);
  field("uri", req.uri);
  field("path", req.path);
  field("query", req.query);
  field("trace_id", req.trace_id);
  field("remote_addr", req.remote_addr);
  field("route", req.route);
  if (const json::Value* h = root->get("headers"); h != nullptr && h->isObject()) {
    for (size_t i = 0; i < h->keys.size(); ++i) {
      std::vector<std::string> values;
      for (const auto& v : h->items[i].items) {
        if (v.isString()) values.push_back(v.string);
      }
      req.headers.emplace_back(h->keys[i], std::move(values));
    }
  }
  if (const json::Value* p = root->get("params"); p != nullptr && p->isObject()) {
    for (size_t i = 0; i < p->keys.size(); ++i) {
      if (p->items[i].isString()) req.params.emplace_back(p->keys[i], p->items[i].string);
    }
  }
  if (const std::string* b64 = root->getString("body_base64")) {
    std::optional<std::string> bytes = base64Decode(*b64);
    if (!bytes) {
      std::fprintf(stderr, "jinn: body_base64 is not valid base64\n");
      return false;
    }
    req.body = std::move(*bytes);
  } else {
    field("body", req.body);
  }
  return true;
}

namespace detail {

using Headers = std::vector<std::pair<std::string, std::string>>;

// {"Name":["v1","v2"],...}: one key per name (ignoring case), values in order.
inline std::string headersJson(const Headers& headers) {
  std::string out = "{";
  for (size_t i = 0; i < headers.size(); ++i) {
    bool seen = false;
    for (size_t j = 0; j < i && !seen; ++j) seen = iequals(headers[j].first, headers[i].first);
    if (seen) continue;
    if (out.size() > 1) out += ',';
    out += json::quote(headers[i].first) + ":[";
    bool first = true;
    for (size_t k = i; k < headers.size(); ++k) {
      if (!iequals(headers[k].first, headers[i].first)) continue;
      if (!first) out += ',';
      first = false;
      out += json::quote(headers[k].second);
    }
    out += ']';
  }
  return out + "}";
}

inline std::string bodyJson(std::string_view body) {
  if (isUtf8(body)) return "\"body\":" + json::quote(body);
  return "\"body_base64\":\"" + base64Encode(body) + "\"";
}

inline int write(const std::string& text) {
  const bool ok = std::fwrite(text.data(), 1, text.size(), stdout) == text.size() &&
                  std::fflush(stdout) == 0;
  if (!ok) std::fprintf(stderr, "jinn: could not write the response\n");
  return ok ? 0 : 1;
}

}  // namespace detail

// A response. Any bytes may go in `body`: a body that is not UTF-8 is sent
// as body_base64.
struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // a name may repeat
  std::string body;

  explicit Response(int s = 200) : status(s) {}
  Response& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  std::string toJson() const {
    std::string out = "{\"status\":" + std::to_string(status);
    if (!headers.empty()) out += ",\"headers\":" + detail::headersJson(headers);
    return out + "," + detail::bodyJson(body) + "}\n";
  }
  // Writes the response to stdout. Returns 0, or 1 if it could not be
  // written: `return res.send();` from main.
  int send() const { return detail::write(toJson()); }
};

// A middleware's "continue": the request goes on, changed as listed.
struct Continue {
  std::vector<std::pair<std::string, std::string>> set_headers;  // replace all values of a name
  std::vector<std::string> remove_headers;
  std::optional<std::string> body;  // replaces the request body when set

  Continue& set(std::string name, std::string value) {
    set_headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  Continue& remove(std::string name) {
    remove_headers.push_back(std::move(name));
    return *this;
  }
  std::string toJson() const {
    std::string out = "{\"action\":\"continue\"";
    if (!set_headers.empty()) out += ",\"set_headers\":" + detail::headersJson(set_headers);
    if (!remove_headers.empty()) {
      out += ",\"remove_headers\":[";
      for (size_t i = 0; i < remove_headers.size(); ++i) {
        out += (i ? "," : "") + json::quote(remove_headers[i]);
      }
      out += ']';
    }
    if (body) out += "," + detail::bodyJson(*body);
    return out + "}\n";
  }
  int send() const { return detail::write(toJson()); }
};

}  // namespace jinn
