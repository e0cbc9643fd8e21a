#include "contract/response.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <array>

#include "contract/base64.h"
#include "contract/headers.h"
#include "contract/json_reader.h"

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

bool equalsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

std::string quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

// The known fields of one output object. A null value counts as absent
// (Go writes null for a nil map or slice).
class Fields {
 public:
  // Fails on two keys naming the same field ("status" and "Status").
  bool collect(const json::object& object, std::string& error) {
    for (const auto& entry : object) {
      std::string_view key(entry.key().data(), entry.key().size());
      for (size_t f = 0; f < kFieldNames.size(); ++f) {
        if (!equalsIgnoreAsciiCase(key, kFieldNames[f])) continue;
        if (seen_[f]) {
          error = "output has a duplicate key " + quoted(kFieldNames[f]);
          return false;
        }
        seen_[f] = true;
        if (!entry.value().is_null()) values_[f] = &entry.value();
      }
    }
    return true;
  }
  const json::value* get(Field field) const { return values_[static_cast<size_t>(field)]; }

 private:
  std::array<bool, kFieldNames.size()> seen_{};
  std::array<const json::value*, kFieldNames.size()> values_{};
};

std::string_view view(const json::string& s) { return {s.data(), s.size()}; }

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

bool parseStatus(const json::value* v, int& status, std::string& error) {
  int64_t code = 200;
  if (v != nullptr) {
    if (v->is_int64()) {
      code = v->get_int64();
    } else if (v->is_uint64()) {
      code = -1;  // too big
    } else {
      error = "status must be an integer from 200 to 599";
      return false;
    }
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

// `{Name: [values] | value | null}` → validated, canonical pairs. Server-owned
// headers are checked like any other, then dropped.
bool parseHeaderObject(const json::value* v, std::string_view field, HeaderBudget& budget,
                       std::vector<Header>& out, std::string& error) {
  if (v == nullptr) return true;
  if (!v->is_object()) {
    error = std::string(field) + " must be an object";
    return false;
  }
  for (const auto& entry : v->get_object()) {
    std::string_view name(entry.key().data(), entry.key().size());
    if (!isHeaderToken(name)) {
      error = std::string(field) + " has an invalid header name";
      return false;
    }
    std::string canonical = canonicalHeaderKey(name);
    bool drop = isServerOwnedHeader(canonical);
    auto add = [&](const json::value& item) {
      if (!item.is_string()) {
        error = headerLabel(canonical) + " must have a string or an array of strings";
        return false;
      }
      std::string_view value = trimOws(view(item.get_string()));
      if (!isValidHeaderValue(value)) {
        error = headerLabel(canonical) + " has a control character (CR, LF, NUL...) in its value";
        return false;
      }
      if (!budget.take(canonical.size(), value.size(), error)) return false;
      if (!drop) out.emplace_back(canonical, value);
      return true;
    };
    const json::value& values = entry.value();
    if (values.is_null()) continue;
    if (values.is_array()) {
      for (const auto& item : values.get_array()) {
        if (!add(item)) return false;
      }
    } else if (!add(values)) {
      return false;
    }
  }
  return true;
}

// body / body_base64: at most one non-empty. Returns nullopt in `body` when
// both are absent (or null).
bool parseBody(const Fields& fields, const ResponseLimits& limits, std::optional<std::string>& body,
               std::string& error) {
  const json::value* text = fields.get(Field::kBody);
  const json::value* encoded = fields.get(Field::kBodyBase64);
  if (text != nullptr && !text->is_string()) {
    error = "body must be a string";
    return false;
  }
  if (encoded != nullptr && !encoded->is_string()) {
    error = "body_base64 must be a string";
    return false;
  }
  if (text != nullptr && encoded != nullptr && !text->get_string().empty() &&
      !encoded->get_string().empty()) {
    error = "body and body_base64 are both set";
    return false;
  }
  const auto too_large = [&] {
    return "body is too large (limit " + std::to_string(limits.max_body_bytes) + " bytes)";
  };
  if (encoded != nullptr && (text == nullptr || text->get_string().empty())) {
    std::string_view b64 = view(encoded->get_string());
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
  if (text != nullptr) {
    if (text->get_string().size() > limits.max_body_bytes) {
      error = too_large();
      return false;
    }
    body = std::string(view(text->get_string()));
  }
  return true;
}

bool parseResponseFields(const Fields& fields, const ResponseLimits& limits,
                         FunctionResponse& response, std::string& error) {
  if (!parseStatus(fields.get(Field::kStatus), response.status, error)) return false;
  HeaderBudget budget(limits);
  if (!parseHeaderObject(fields.get(Field::kHeaders), "headers", budget, response.headers, error)) {
    return false;
  }
  std::optional<std::string> body;
  if (!parseBody(fields, limits, body, error)) return false;
  if (body) response.body = std::move(*body);
  return true;
}

Error fail(std::string reason) { return Error{std::move(reason)}; }

}  // namespace

ParseResult parseResponse(std::string_view stdout_bytes, const ResponseLimits& limits) {
  std::string error;
  try {
    // The DOM lives only until the response is copied out: a small output
    // is parsed without a heap allocation.
    unsigned char arena[4096];
    json::monotonic_resource resource(arena, sizeof arena);
    std::optional<json::object> object = parseSingleObject(stdout_bytes, error, &resource);
    if (!object) return fail(std::move(error));
    Fields fields;
    if (!fields.collect(*object, error)) return fail(std::move(error));
    FunctionResponse response;
    if (!parseResponseFields(fields, limits, response, error)) return fail(std::move(error));
    return response;
  } catch (const std::exception&) {
    return fail("output could not be parsed (out of memory)");
  }
}

MiddlewareResult parseMiddleware(std::string_view stdout_bytes, const ResponseLimits& limits) {
  std::string error;
  try {
    unsigned char arena[4096];
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
      if (!parseResponseFields(fields, limits, decision.response, error)) {
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
    if (!parseHeaderObject(fields.get(Field::kSetHeaders), "set_headers", budget,
                           decision.set_headers, error)) {
      return fail(std::move(error));
    }
    if (const json::value* remove = fields.get(Field::kRemoveHeaders)) {
      if (!remove->is_array()) return fail("remove_headers must be an array of header names");
      for (const auto& item : remove->get_array()) {
        if (!item.is_string() || !isHeaderToken(view(item.get_string()))) {
          return fail("remove_headers must be an array of header names");
        }
        if (!budget.take(item.get_string().size(), 0, error)) return fail(std::move(error));
        decision.remove_headers.push_back(canonicalHeaderKey(view(item.get_string())));
      }
    }
    if (!parseBody(fields, limits, decision.body, error)) return fail(std::move(error));
    return MiddlewareDecision(std::move(decision));
  } catch (const std::exception&) {
    return fail("output could not be parsed (out of memory)");
  }
}

}  // namespace jinn::contract
