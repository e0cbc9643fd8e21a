// libFuzzer target for parseMiddleware: no crash, invariants on both
// decisions, and a respond decision equals parseResponse of the same input
// (the respond object is a function response).
#include <cstdint>

#include "fuzz_check.h"

using namespace jinn::contract;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const ResponseLimits limits = fuzz::fuzzLimits();
  MiddlewareResult result = parseMiddleware(input, limits);
  if (!result.ok()) {
    fuzz::checkErrorMessage(result.error().message);
    return 0;
  }
  if (const auto* respond = std::get_if<MiddlewareRespond>(&result.value())) {
    fuzz::checkResponse(respond->response, limits);
    ParseResult plain = parseResponse(input, limits);
    fuzz::check(plain.ok(), "respond decision is not a valid function response");
    fuzz::check(plain.value().status == respond->response.status, "respond status differs");
    fuzz::check(plain.value().headers == respond->response.headers, "respond headers differ");
    fuzz::check(plain.value().body == respond->response.body, "respond body differs");
    return 0;
  }
  const auto& next = std::get<MiddlewareContinue>(result.value());
  fuzz::checkHeaders(next.set_headers, limits);
  fuzz::check(next.set_headers.size() + next.remove_headers.size() <= limits.max_headers,
              "more header changes than the limit");
  for (const auto& name : next.remove_headers) {
    fuzz::check(isHeaderToken(name) && canonicalHeaderKey(name) == name, "bad remove_headers name");
  }
  fuzz::check(!next.body || next.body->size() <= limits.max_body_bytes,
              "body larger than the limit");
  return 0;
}
