// libFuzzer target for encodeRequest: arbitrary bytes in every field must
// still give one valid JSON object, with the body recoverable exactly (from
// "body" or "body_base64") and base64 round-tripping.
#include <boost/json/object.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "contract/base64.h"
#include "contract/json_reader.h"
#include "contract/request.h"
#include "contract/utf8.h"
#include "fuzz_check.h"

using namespace jinn::contract;

namespace {

// Splits the input at '\x1f' into the envelope's fields; headers and params
// take name/value pairs from the parts left over.
std::vector<std::string_view> split(std::string_view input) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= input.size(); ++i) {
    if (i == input.size() || input[i] == '\x1f') {
      parts.push_back(input.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts = split(input);
  parts.resize(std::max<size_t>(parts.size(), 8));
  std::vector<NameValue> headers;
  std::vector<NameValue> params;
  for (size_t i = 8; i + 1 < parts.size(); i += 2) {
    (i % 4 == 0 ? headers : params).emplace_back(parts[i], parts[i + 1]);
  }
  RequestView request;
  request.method = parts[0];
  request.uri = parts[1];
  request.path = parts[2];
  request.query = parts[3];
  request.body = parts[4];
  request.trace_id = parts[5];
  request.remote_addr = parts[6];
  request.route = parts[7];
  request.headers = headers;
  request.params = params;

  std::string text = encodeRequest(request);
  // The contract's own strict reader: one object, valid UTF-8, no repeated key.
  std::string error;
  std::optional<boost::json::object> parsed = parseSingleObject(text, error);
  fuzz::check(parsed.has_value(), "envelope is not a single JSON object without repeated keys");
  const boost::json::object& object = *parsed;
  std::string body;
  if (const auto* b = object.if_contains("body")) {
    fuzz::check(!object.contains("body_base64"), "both body and body_base64");
    body.assign(b->get_string().data(), b->get_string().size());
  } else {
    auto decoded = base64Decode(std::string_view(object.at("body_base64").get_string()));
    fuzz::check(decoded.has_value(), "body_base64 does not decode");
    body = *decoded;
  }
  fuzz::check(body == request.body, "body did not round-trip");
  if (isValidUtf8(request.uri)) {
    fuzz::check(std::string_view(object.at("uri").get_string()) == request.uri,
                "valid UTF-8 uri changed");
  }
  fuzz::check(params.empty() ? !object.contains("params") : object.at("params").is_object(),
              "params present without params, or not an object");
  return 0;
}
