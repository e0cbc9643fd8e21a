// libFuzzer target for parseResponse. Besides not crashing, every accepted
// response must keep the invariants in fuzz_check.h, re-encoding it in the
// contract's own format must parse back to the same response, and the DOM
// reader (parseResponseViaDom, what parseMiddleware reads with) must give the
// same result or the same error for every input.
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cstdint>
#include <map>

#include "contract/base64.h"
#include "contract/response_dom.h"
#include "fuzz_check.h"

namespace {

using namespace jinn::contract;

// Groups values by name: re-encoding an object merges names that were spread
// over several keys ("X-A" and "x-a"), so compare per name.
std::map<std::string, std::vector<std::string>> byName(const std::vector<Header>& headers) {
  std::map<std::string, std::vector<std::string>> grouped;
  for (const auto& [name, value] : headers) grouped[name].push_back(value);
  return grouped;
}

void checkRoundTrip(const FunctionResponse& response, const ResponseLimits& limits) {
  boost::json::object out;
  out["status"] = response.status;
  boost::json::object headers;
  for (const auto& [name, values] : byName(response.headers)) {
    boost::json::array list;
    for (const auto& value : values) list.emplace_back(value);
    headers[name] = std::move(list);
  }
  out["headers"] = std::move(headers);
  out["body_base64"] = base64Encode(response.body);
  ParseResult again = parseResponse(boost::json::serialize(out), limits);
  fuzz::check(again.ok(), "re-encoded response does not parse");
  fuzz::check(again.value().status == response.status, "round trip changed the status");
  fuzz::check(byName(again.value().headers) == byName(response.headers),
              "round trip changed the headers");
  fuzz::check(again.value().body == response.body, "round trip changed the body");
}

void checkSameAsDom(std::string_view input, const ParseResult& result,
                    const ResponseLimits& limits) {
  ParseResult dom = parseResponseViaDom(input, limits);
  fuzz::check(dom.ok() == result.ok(), "the DOM reader accepts differently");
  if (!dom.ok()) {
    fuzz::check(dom.error().message == result.error().message, "the DOM reader's error differs");
    return;
  }
  fuzz::check(dom.value().status == result.value().status, "the DOM reader's status differs");
  fuzz::check(dom.value().headers == result.value().headers, "the DOM reader's headers differ");
  fuzz::check(dom.value().body == result.value().body, "the DOM reader's body differs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const ResponseLimits limits = fuzz::fuzzLimits();
  ParseResult result = parseResponse(input, limits);
  checkSameAsDom(input, result, limits);
  if (!result.ok()) {
    fuzz::checkErrorMessage(result.error().message);
    return 0;
  }
  fuzz::checkResponse(result.value(), limits);
  checkRoundTrip(result.value(), limits);
  return 0;
}
