#include "contract/response.h"

#include <boost/container/small_vector.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <bitset>
#include <cstring>

#include "contract/base64.h"
#include "contract/headers.h"
#include "contract/json_bytes.h"
#include "contract/json_reader.h"
#include "contract/json_sax.h"
#include "contract/response_dom.h"

namespace jinn::contract {
namespace {

namespace json = boost::json;

// Keys the contract knows. Go's encoding/json matches struct fields ignoring
// case, so a Go function with untagged fields prints "Status" and Gojinn reads
// it; we match known keys the same way (ASCII only). Unknown keys are ignored.
enum class Field : uint8_t {
  kAction,
  kStatus,
  kHeaders,
  kBody,
  kBodyBase64,
  kSetHeaders,
  kRemoveHeaders,
  kCount
};
constexpr std::array<std::string_view, static_cast<size_t>(Field::kCount)> kFieldNames = {
    "action", "status", "headers", "body", "body_base64", "set_headers", "remove_headers",
};

constexpr bool equalsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

std::string quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

// The field a top-level key names, or Field::kCount for an unknown key. By
// length first: most keys are then compared with one name, or none; and
// exactly first, as most outputs spell the keys in lower case.
constexpr Field fieldNamed(std::string_view key) {
  const auto is = [&](Field f) {
    const std::string_view name = kFieldNames[static_cast<size_t>(f)];
    return key == name || equalsIgnoreAsciiCase(key, name);
  };
  switch (key.size()) {
    case 4:
      return is(Field::kBody) ? Field::kBody : Field::kCount;
    case 6:
      if (is(Field::kStatus)) return Field::kStatus;
      return is(Field::kAction) ? Field::kAction : Field::kCount;
    case 7:
      return is(Field::kHeaders) ? Field::kHeaders : Field::kCount;
    case 11:
      if (is(Field::kBodyBase64)) return Field::kBodyBase64;
      return is(Field::kSetHeaders) ? Field::kSetHeaders : Field::kCount;
    case 14:
      return is(Field::kRemoveHeaders) ? Field::kRemoveHeaders : Field::kCount;
    default:
      return Field::kCount;
  }
}

constexpr bool namesEveryField() {
  for (size_t f = 0; f < kFieldNames.size(); ++f) {
    if (fieldNamed(kFieldNames[f]) != static_cast<Field>(f)) return false;
  }
  return true;
}
static_assert(namesEveryField(), "fieldNamed() must find every name of kFieldNames");

// Two keys naming one field ("status" and "Status") are refused like two
// equal keys: which one would win is a guess.
class SeenFields {
 public:
  // False, with `error` set, if `field` was named before.
  bool add(Field field, std::string& error) {
    const auto f = static_cast<size_t>(field);
    if (seen_[f]) return duplicate(f, error);
    seen_[f] = true;
    return true;
  }

 private:
  static bool duplicate(size_t f, std::string& error) {
    error = "output has a duplicate key " + quoted(kFieldNames[f]);
    return false;
  }

  std::bitset<kFieldNames.size()> seen_;
};

// What the checks need of one field's value, whichever reader found it: its
// type, and its integer or its text. Null is kAbsent (Go writes null for a
// nil map or slice).
enum class Kind : uint8_t { kAbsent, kString, kInt64, kUint64, kObject, kArray, kOther };
struct FieldValue {
  Kind kind = Kind::kAbsent;
  int64_t integer = 0;    // kInt64
  std::string_view text;  // kString
};

// A header object (`headers`, `set_headers`) as the checks read it: each
// entry's name and the values it lists. A plain string lists one value, null
// none; a value that is not a string is listed as one (of kind kOther), so
// the check refuses it where it stands, after the values before it.
struct HeaderValue {
  Kind kind;  // kString or kOther
  std::string_view text;
};
struct HeaderEntry {
  std::string_view name;
  size_t first_value;  // its values run to the next entry's first_value
};
struct HeaderFields {
  Kind kind = Kind::kAbsent;  // the field's own value: kObject, or refused
  boost::container::small_vector<HeaderEntry, 8> entries;
  boost::container::small_vector<HeaderValue, 8> values;
};

// The fields a function response is made of.
struct ResponseFields {
  FieldValue status;
  HeaderFields headers;
  FieldValue body;
  FieldValue body_base64;
};

bool parseStatus(const FieldValue& v, int& status, std::string& error) {
  int64_t code = 200;
  if (v.kind == Kind::kInt64) {
    code = v.integer;
  } else if (v.kind == Kind::kUint64) {
    code = -1;  // too big
  } else if (v.kind != Kind::kAbsent) {
    error = "status must be an integer from 200 to 599";
    return false;
  }
  if (code == 0) code = 200;  // Go's zero value: Gojinn answers 200
  // 1xx is informational, never a final answer: a client would wait on.
  if (code < 200 || code > 599) {
    error = "status must be an integer from 200 to 599";
    return false;
  }
  status = static_cast<int>(code);
  return true;
}

// Counts header values and bytes against the limits across one output.
class HeaderBudget {
 public:
  explicit HeaderBudget(const ResponseLimits& limits) : limits_(limits) {}
  bool take(size_t name_bytes, size_t value_bytes, std::string& error) {
    if (++count_ > limits_.max_headers) {
      error = "too many headers (limit " + std::to_string(limits_.max_headers) + ")";
      return false;
    }
    bytes_ += name_bytes + value_bytes;
    if (bytes_ > limits_.max_header_bytes) {
      error =
          "headers are too large (limit " + std::to_string(limits_.max_header_bytes) + " bytes)";
      return false;
    }
    return true;
  }

 private:
  const ResponseLimits& limits_;
  size_t count_ = 0;
  size_t bytes_ = 0;
};

std::string headerLabel(std::string_view name) {
  std::string shown = safeQuote(name);
  return shown.empty() ? "a header" : "header " + shown;
}

// One value of header `canonical`: a string without control characters,
// trimmed, within the budget. Server-owned headers (`drop`) are checked like
// any other, then dropped.
bool addHeaderValue(const HeaderValue& item, const std::string& canonical, bool drop,
                    HeaderBudget& budget, std::vector<Header>& out, std::string& error) {
  if (item.kind != Kind::kString) {
    error = headerLabel(canonical) + " must have a string or an array of strings";
    return false;
  }
  std::string_view value = trimOws(item.text);
  if (!isValidHeaderValue(value)) {
    error = headerLabel(canonical) + " has a control character (CR, LF, NUL...) in its value";
    return false;
  }
  if (!budget.take(canonical.size(), value.size(), error)) return false;
  if (!drop) out.emplace_back(canonical, value);
  return true;
}

// `{Name: [values] | value | null}` → validated, canonical pairs.
bool parseHeaderObject(const HeaderFields& headers, std::string_view field, HeaderBudget& budget,
                       std::vector<Header>& out, std::string& error) {
  if (headers.kind == Kind::kAbsent) return true;
  if (headers.kind != Kind::kObject) {
    error = std::string(field) + " must be an object";
    return false;
  }
  for (size_t e = 0; e < headers.entries.size(); ++e) {
    const HeaderEntry& entry = headers.entries[e];
    std::optional<std::string> token = canonicalTokenKey(entry.name);
    if (!token) {
      error = std::string(field) + " has an invalid header name";
      return false;
    }
    const std::string canonical = std::move(*token);
    bool drop = isServerOwnedHeader(canonical);
    const size_t end =
        e + 1 < headers.entries.size() ? headers.entries[e + 1].first_value : headers.values.size();
    for (size_t v = entry.first_value; v < end; ++v) {
      if (!addHeaderValue(headers.values[v], canonical, drop, budget, out, error)) return false;
    }
  }
  return true;
}

// body / body_base64: at most one non-empty. Returns nullopt in `body` when
// both are absent (or null).
bool parseBody(const FieldValue& text, const FieldValue& encoded, const ResponseLimits& limits,
               std::optional<std::string>& body, std::string& error) {
  const bool has_text = text.kind != Kind::kAbsent;
  const bool has_encoded = encoded.kind != Kind::kAbsent;
  if (has_text && text.kind != Kind::kString) {
    error = "body must be a string";
    return false;
  }
  if (has_encoded && encoded.kind != Kind::kString) {
    error = "body_base64 must be a string";
    return false;
  }
  if (has_text && has_encoded && !text.text.empty() && !encoded.text.empty()) {
    error = "body and body_base64 are both set";
    return false;
  }
  const auto too_large = [&] {
    return "body is too large (limit " + std::to_string(limits.max_body_bytes) + " bytes)";
  };
  if (has_encoded && (!has_text || text.text.empty())) {
    std::string_view b64 = encoded.text;
    // A cheap bound first, so a huge body is refused without decoding it.
    if (b64.size() / 4 * 3 > limits.max_body_bytes + 2) {
      error = too_large();
      return false;
    }
    std::optional<std::string> decoded = base64Decode(b64);
    if (!decoded) {
      error = "body_base64 is not valid base64";
      return false;
    }
    if (decoded->size() > limits.max_body_bytes) {
      error = too_large();
      return false;
    }
    body = std::move(*decoded);
    return true;
  }
  if (has_text) {
    if (text.text.size() > limits.max_body_bytes) {
      error = too_large();
      return false;
    }
    body = std::string(text.text);
  }
  return true;
}

// The checks, in their order: status, headers, body.
bool parseResponseFields(const ResponseFields& fields, const ResponseLimits& limits,
                         FunctionResponse& response, std::string& error) {
  if (!parseStatus(fields.status, response.status, error)) return false;
  HeaderBudget budget(limits);
  if (!parseHeaderObject(fields.headers, "headers", budget, response.headers, error)) {
    return false;
  }
  std::optional<std::string> body;
  if (!parseBody(fields.body, fields.body_base64, limits, body, error)) return false;
  if (body) response.body = std::move(*body);
  return true;
}

// ---- reading the DOM (middleware output) ----

std::string_view view(const json::string& s) { return {s.data(), s.size()}; }

// The known fields of one output object's DOM.
class Fields {
 public:
  // Fails on two keys naming the same field ("status" and "Status").
  bool collect(const json::object& object, std::string& error) {
    for (const auto& entry : object) {
      const Field field = fieldNamed({entry.key().data(), entry.key().size()});
      if (field == Field::kCount) continue;
      if (!seen_.add(field, error)) return false;
      if (!entry.value().is_null()) values_[static_cast<size_t>(field)] = &entry.value();
    }
    return true;
  }
  const json::value* get(Field field) const { return values_[static_cast<size_t>(field)]; }

 private:
  SeenFields seen_;
  std::array<const json::value*, kFieldNames.size()> values_{};
};

Kind kindOf(const json::value& v) {
  if (v.is_null()) return Kind::kAbsent;
  if (v.is_string()) return Kind::kString;
  if (v.is_int64()) return Kind::kInt64;
  if (v.is_uint64()) return Kind::kUint64;
  if (v.is_object()) return Kind::kObject;
  if (v.is_array()) return Kind::kArray;
  return Kind::kOther;
}

FieldValue fieldValue(const json::value* v) {
  FieldValue out;
  if (v == nullptr) return out;
  out.kind = kindOf(*v);
  if (v->is_int64()) out.integer = v->get_int64();
  if (v->is_string()) out.text = view(v->get_string());
  return out;
}

HeaderValue headerValue(const json::value& v) {
  if (!v.is_string()) return {Kind::kOther, {}};
  return {Kind::kString, view(v.get_string())};
}

HeaderFields headerFields(const json::value* v) {
  HeaderFields out;
  if (v == nullptr) return out;
  out.kind = kindOf(*v);
  if (!v->is_object()) return out;
  for (const auto& entry : v->get_object()) {
    out.entries.push_back({{entry.key().data(), entry.key().size()}, out.values.size()});
    const json::value& values = entry.value();
    if (values.is_null()) continue;
    if (!values.is_array()) {
      out.values.push_back(headerValue(values));
      continue;
    }
    for (const auto& item : values.get_array()) out.values.push_back(headerValue(item));
  }
  return out;
}

ResponseFields responseFields(const Fields& fields) {
  ResponseFields out;
  out.status = fieldValue(fields.get(Field::kStatus));
  out.headers = headerFields(fields.get(Field::kHeaders));
  out.body = fieldValue(fields.get(Field::kBody));
  out.body_base64 = fieldValue(fields.get(Field::kBodyBase64));
  return out;
}

// A typed-struct encoder writes zero values for fields it does not use; they
// are as good as absent when checking which keys an action allows.
bool isZeroValue(const json::value* v) {
  if (v == nullptr) return true;
  if (v->is_int64()) return v->get_int64() == 0;
  if (v->is_uint64()) return v->get_uint64() == 0;
  if (v->is_string()) return v->get_string().empty();
  if (v->is_object()) return v->get_object().empty();
  if (v->is_array()) return v->get_array().empty();
  return false;
}

// ---- reading a function response without a DOM ----

// SAX handler for parseResponse: keeps, as the parse goes, only what the
// checks read (ResponseFields) and which known keys were seen; the strings
// it keeps are views (StableText), no value is built. Everything else is
// parsed for validity and duplicate keys only. The checks run after the
// parse, as on the DOM, so a syntax error or a duplicate key anywhere wins
// over a wrong field, and fields are checked in the same order.
class ResponseHandler : public StrictKeys {
 public:
  explicit ResponseHandler(std::string_view input) : StrictKeys(input) {}

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    openObject();
    value(Kind::kObject);
    ++depth_;
    return true;
  }
  bool on_object_end(std::size_t n, json::error_code& ec) {
    closeObject();
    --depth_;
    return n <= json::object::max_size() || stopTooLarge(ec);
  }
  bool on_array_begin(json::error_code&) {
    value(Kind::kArray);
    ++depth_;
    return true;
  }
  bool on_array_end(std::size_t n, json::error_code& ec) {
    --depth_;
    return n <= json::array::max_size() || stopTooLarge(ec);
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    keyPart(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t n, json::error_code& ec) {
    if (!key(s, n, ec)) return false;
    if (depth_ == 1) {
      startField(lastKey());
    } else if (slotAt(depth_) == Slot::kHeaderEntry) {
      fields_.headers.entries.push_back({lastKey(), fields_.headers.values.size()});
      in_header_list_ = false;
    }
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    if (keepsText()) text_.part({s.data(), s.size()});
    return true;
  }
  bool on_string(json::string_view s, std::size_t n, json::error_code& ec) {
    if (n > json::string::max_size()) return stopTooLarge(ec);
    value(Kind::kString, keepsText() ? text_.finish({s.data(), s.size()}) : std::string_view{});
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(int64_t i, json::string_view, json::error_code&) {
    value(Kind::kInt64, {}, i);
    return true;
  }
  bool on_uint64(uint64_t, json::string_view, json::error_code&) {
    value(Kind::kUint64);
    return true;
  }
  bool on_double(double, json::string_view, json::error_code&) {
    value(Kind::kOther);
    return true;
  }
  bool on_bool(bool, json::error_code&) {
    value(Kind::kOther);
    return true;
  }
  bool on_null(json::error_code&) {
    value(Kind::kAbsent);
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

  const ResponseFields& fields() const { return fields_; }
  // Set if two top-level keys named one field: the first such pair.
  const std::string& fieldError() const { return field_error_; }

 private:
  // Where a value starting now sits, as far as the checks care: a top-level
  // field's value, a header entry's value, or an item of a header entry's
  // array. Anything deeper or elsewhere is only parsed.
  enum class Slot : uint8_t { kNone, kField, kHeaderEntry, kHeaderItem };

  Slot slotAt(size_t depth) const {
    if (depth == 1) return Slot::kField;
    if (field_ != Field::kHeaders || fields_.headers.kind != Kind::kObject) return Slot::kNone;
    if (depth == 2) return Slot::kHeaderEntry;
    if (depth == 3 && in_header_list_) return Slot::kHeaderItem;
    return Slot::kNone;
  }

  // Whether the string starting now is read (its text joined and kept).
  bool keepsText() const {
    switch (slotAt(depth_)) {
      case Slot::kField:
        return field_ == Field::kBody || field_ == Field::kBodyBase64;
      case Slot::kHeaderEntry:
      case Slot::kHeaderItem:
        return true;
      case Slot::kNone:
        return false;
    }
    return false;
  }

  void startField(std::string_view key) {
    field_ = fieldNamed(key);
    in_header_list_ = false;
    // Only the first pair is reported, as the DOM walk stops there; the parse
    // goes on, since a syntax error or an equal key after it comes first.
    if (field_ != Field::kCount && field_error_.empty()) seen_.add(field_, field_error_);
  }

  // A value starts (a scalar, or an array's or object's begin).
  void value(Kind kind, std::string_view text = {}, int64_t integer = 0) {
    switch (slotAt(depth_)) {
      case Slot::kNone:
        return;
      case Slot::kField:
        keepField(kind, text, integer);
        return;
      case Slot::kHeaderEntry:
        if (kind == Kind::kArray) {
          in_header_list_ = true;
        } else if (kind != Kind::kAbsent) {
          keepHeaderValue(kind, text);
        }
        return;
      case Slot::kHeaderItem:
        keepHeaderValue(kind, text);
        return;
    }
  }

  void keepField(Kind kind, std::string_view text, int64_t integer) {
    switch (field_) {
      case Field::kStatus:
        fields_.status = FieldValue{kind, integer, {}};
        return;
      case Field::kHeaders:
        fields_.headers.kind = kind;
        return;
      case Field::kBody:
        fields_.body = FieldValue{kind, 0, text};
        return;
      case Field::kBodyBase64:
        fields_.body_base64 = FieldValue{kind, 0, text};
        return;
      default:
        return;  // action, set_headers, remove_headers: not a response's
    }
  }

  void keepHeaderValue(Kind kind, std::string_view text) {
    if (kind == Kind::kString) {
      fields_.headers.values.push_back({Kind::kString, text});
    } else {
      fields_.headers.values.push_back({Kind::kOther, {}});
    }
  }

  size_t depth_ = 0;  // open arrays and objects; the output object is depth 1
  Field field_ = Field::kCount;  // the top-level key whose value is being read
  bool in_header_list_ = false;  // inside a header entry's array
  ResponseFields fields_;
  SeenFields seen_;
  std::string field_error_;
};

// ---- the fast reader: the compact shape most functions print ----

// Most functions print what their language's JSON encoder writes for the
// contract's struct: {"status":200,"headers":{"Name":["value"]},"body":"..."}.
// Boost's parser driving ResponseHandler reads that in about 3,000
// instructions, most of them for generality this shape does not need (a
// state machine per token, a callback per piece, a copy per escaped string).
// This hand-written reader reads exactly the subset below into the same
// ResponseFields, and gives up at the first byte outside it; the output then
// goes to the full reader, from the start. Every text of the subset is valid
// JSON that the full reader reads into the same fields, so the checks after
// it (parseResponseFields) see the same input either way:
//   - the object's keys are "status", "headers" and "body", each at most
//     once and spelled in lower case (any other key: give up);
//   - status: 1 to 9 digits without a leading zero;
//   - headers: an object of at most kMaxHeaders names, distinct byte for
//     byte, each with an array of strings or one string; names and values are ASCII from
//     0x20 to 0x7F other than '"' and '\' (kPlainByte);
//   - body: such bytes and the escapes \" \\ \/ \b \f \n \r \t (a \u
//     escape, a control byte or a byte >= 0x80: give up);
//   - JSON whitespace between tokens and around the object.
// The two readers are compared on generated and fuzzed outputs, both ways
// (tests/unit/contract: ResponseReaders; tests/fuzz/response_fuzz.cc).
class FastReader {
 public:
  // `storage` holds the body when it has escapes; it must outlive `fields`.
  FastReader(std::string_view input, std::string& storage)
      : p_(input.data()), end_(input.data() + input.size()), storage_(storage) {}

  bool read(ResponseFields& fields) {
    if (!take('{')) return false;
    bool seen_status = false, seen_headers = false, seen_body = false;
    if (!take('}')) {
      do {
        std::string_view key;
        if (!plainString(key) || !take(':')) return false;
        bool ok = false;
        if (key == "status" && !seen_status) {
          seen_status = true;
          ok = status(fields.status);
        } else if (key == "headers" && !seen_headers) {
          seen_headers = true;
          ok = headers(fields.headers);
        } else if (key == "body" && !seen_body) {
          seen_body = true;
          ok = body(fields.body);
        }
        if (!ok) return false;
      } while (take(','));
      if (!take('}')) return false;
    }
    skipSpace();
    return p_ == end_;
  }

 private:
  static constexpr size_t kMaxHeaders = 32;

  static bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  void skipSpace() {
    while (p_ != end_ && isSpace(*p_)) ++p_;
  }
  // Skips whitespace, then `c` if it is next.
  bool take(char c) {
    skipSpace();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  bool peek(char c) {
    skipSpace();
    return p_ != end_ && *p_ == c;
  }

  // The end of the run of plain bytes (kPlainByte) from `p`.
  const char* plainRun(const char* p) const {
    return p + skipPlain(reinterpret_cast<const uint8_t*>(p), 0, static_cast<size_t>(end_ - p));
  }

  // A string of plain bytes only: its content, a view of the input.
  bool plainString(std::string_view& out) {
    if (!take('"')) return false;
    const char* start = p_;
    p_ = plainRun(p_);
    if (p_ == end_ || *p_ != '"') return false;
    out = std::string_view(start, static_cast<size_t>(p_ - start));
    ++p_;
    return true;
  }

  bool status(FieldValue& out) {
    skipSpace();
    const char* start = p_;
    if (p_ == end_ || *p_ < '1' || *p_ > '9') return false;
    int64_t value = 0;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9' && p_ - start < 9) value = value * 10 + (*p_++ - '0');
    // A tenth digit, a fraction or an exponent: the full reader decides.
    if (p_ != end_ && ((*p_ >= '0' && *p_ <= '9') || *p_ == '.' || *p_ == 'e' || *p_ == 'E')) {
      return false;
    }
    out = FieldValue{Kind::kInt64, value, {}};
    return true;
  }

  bool headers(HeaderFields& out) {
    if (!take('{')) return false;
    out.kind = Kind::kObject;
    if (take('}')) return true;
    do {
      std::string_view name;
      if (!plainString(name) || !take(':')) return false;
      // Names are compared pairwise, so only a few: an output of thousands
      // of headers must not cost the I/O thread a quadratic scan.
      if (out.entries.size() == kMaxHeaders) return false;
      for (const HeaderEntry& e : out.entries) {
        if (e.name == name) return false;  // a duplicate key: the full reader's error
      }
      out.entries.push_back({name, out.values.size()});
      std::string_view value;
      if (peek('"')) {
        if (!plainString(value)) return false;
        out.values.push_back({Kind::kString, value});
        continue;
      }
      if (!take('[')) return false;
      if (take(']')) continue;
      do {
        if (!plainString(value)) return false;
        out.values.push_back({Kind::kString, value});
      } while (take(','));
      if (!take(']')) return false;
    } while (take(','));
    return take('}');
  }

  bool body(FieldValue& out) {
    if (!take('"')) return false;
    const char* start = p_;
    p_ = plainRun(p_);
    if (p_ != end_ && *p_ == '"') {  // no escapes: a view of the input
      out = FieldValue{Kind::kString, 0, std::string_view(start, static_cast<size_t>(p_ - start))};
      ++p_;
      return true;
    }
    // Escapes only shorten the text: the rest of the input is room enough.
    // Byte by byte from the first escape on: between escapes the runs are
    // short (a JSON text in a JSON string escapes every quote), too short
    // for skipPlain and a memcpy per run to pay. (Locals, not the members:
    // a char store may alias them.)
    storage_.resize(static_cast<size_t>(end_ - start));
    char* to = storage_.data();
    std::memcpy(to, start, static_cast<size_t>(p_ - start));
    to += p_ - start;
    const char* p = p_;
    const char* const end = end_;
    while (p != end) {
      const char c = *p++;
      if (kPlainByte[static_cast<uint8_t>(c)]) {
        *to++ = c;
        continue;
      }
      if (c == '"') {
        p_ = p;
        storage_.resize(static_cast<size_t>(to - storage_.data()));
        out = FieldValue{Kind::kString, 0, storage_};
        return true;
      }
      if (c != '\\' || p == end) return false;
      switch (*p++) {
        case '"': *to++ = '"'; break;
        case '\\': *to++ = '\\'; break;
        case '/': *to++ = '/'; break;
        case 'b': *to++ = '\b'; break;
        case 'f': *to++ = '\f'; break;
        case 'n': *to++ = '\n'; break;
        case 'r': *to++ = '\r'; break;
        case 't': *to++ = '\t'; break;
        default: return false;  // \u and invalid escapes
      }
    }
    return false;
  }

  const char* p_;
  const char* end_;
  std::string& storage_;
};

Error fail(std::string reason) { return Error{std::move(reason)}; }

}  // namespace

ParseResult parseResponse(std::string_view stdout_bytes, const ResponseLimits& limits) {
  std::string error;
  try {
    {
      std::string unescaped;
      ResponseFields fields;
      if (FastReader(stdout_bytes, unescaped).read(fields)) {
        FunctionResponse response;
        if (!parseResponseFields(fields, limits, response, error)) return fail(std::move(error));
        return response;
      }
    }
    json::basic_parser<ResponseHandler> parser(json::parse_options{}, stdout_bytes);
    if (!parseOneObject(parser, stdout_bytes, error)) return fail(std::move(error));
    const ResponseHandler& handler = parser.handler();
    if (!handler.fieldError().empty()) return fail(handler.fieldError());
    FunctionResponse response;
    if (!parseResponseFields(handler.fields(), limits, response, error)) {
      return fail(std::move(error));
    }
    return response;
  } catch (const std::exception&) {
    return fail("output could not be parsed (out of memory)");
  }
}

bool readsCompactly(std::string_view stdout_bytes) {
  std::string unescaped;
  ResponseFields fields;
  return FastReader(stdout_bytes, unescaped).read(fields);
}

ParseResult parseResponseViaDom(std::string_view stdout_bytes, const ResponseLimits& limits) {
  std::string error;
  try {
    // The DOM lives only until the response is copied out: a small output
    // is parsed without a heap allocation.
    alignas(std::max_align_t) unsigned char arena[4096];
    json::monotonic_resource resource(arena, sizeof arena);
    std::optional<json::object> object = parseSingleObject(stdout_bytes, error, &resource);
    if (!object) return fail(std::move(error));
    Fields fields;
    if (!fields.collect(*object, error)) return fail(std::move(error));
    FunctionResponse response;
    if (!parseResponseFields(responseFields(fields), limits, response, error)) {
      return fail(std::move(error));
    }
    return response;
  } catch (const std::exception&) {
    return fail("output could not be parsed (out of memory)");
  }
}

MiddlewareResult parseMiddleware(std::string_view stdout_bytes, const ResponseLimits& limits) {
  std::string error;
  try {
    alignas(std::max_align_t) unsigned char arena[4096];
    json::monotonic_resource resource(arena, sizeof arena);
    std::optional<json::object> object = parseSingleObject(stdout_bytes, error, &resource);
    if (!object) return fail(std::move(error));
    Fields fields;
    if (!fields.collect(*object, error)) return fail(std::move(error));

    bool respond;
    if (const json::value* action = fields.get(Field::kAction)) {
      std::string_view name = action->is_string() ? view(action->get_string()) : "";
      if (name == "continue") {
        respond = false;
      } else if (name == "respond") {
        respond = true;
      } else {
        return fail("action must be \"continue\" or \"respond\"");
      }
    } else if (fields.get(Field::kStatus) != nullptr) {
      respond = true;  // a plain function response (Gojinn compat)
    } else {
      return fail("middleware output has no action");
    }

    if (respond) {
      for (Field f : {Field::kSetHeaders, Field::kRemoveHeaders}) {
        if (!isZeroValue(fields.get(f))) {
          return fail(quoted(kFieldNames[static_cast<size_t>(f)]) +
                      " is only allowed with action \"continue\"");
        }
      }
      MiddlewareRespond decision;
      if (!parseResponseFields(responseFields(fields), limits, decision.response, error)) {
        return fail(std::move(error));
      }
      return MiddlewareDecision(std::move(decision));
    }

    for (Field f : {Field::kStatus, Field::kHeaders}) {
      if (!isZeroValue(fields.get(f))) {
        return fail(quoted(kFieldNames[static_cast<size_t>(f)]) +
                    " is only allowed with action \"respond\"");
      }
    }
    MiddlewareContinue decision;
    HeaderBudget budget(limits);
    if (!parseHeaderObject(headerFields(fields.get(Field::kSetHeaders)), "set_headers", budget,
                           decision.set_headers, error)) {
      return fail(std::move(error));
    }
    if (const json::value* remove = fields.get(Field::kRemoveHeaders)) {
      if (!remove->is_array()) return fail("remove_headers must be an array of header names");
      for (const auto& item : remove->get_array()) {
        std::optional<std::string> name;
        if (item.is_string()) name = canonicalTokenKey(view(item.get_string()));
        if (!name) return fail("remove_headers must be an array of header names");
        if (!budget.take(item.get_string().size(), 0, error)) return fail(std::move(error));
        decision.remove_headers.push_back(std::move(*name));
      }
    }
    if (!parseBody(fieldValue(fields.get(Field::kBody)), fieldValue(fields.get(Field::kBodyBase64)),
                   limits, decision.body, error)) {
      return fail(std::move(error));
    }
    return MiddlewareDecision(std::move(decision));
  } catch (const std::exception&) {
    return fail("output could not be parsed (out of memory)");
  }
}

}  // namespace jinn::contract
