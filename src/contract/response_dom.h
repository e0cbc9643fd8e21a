// Internal, for tests and fuzzers: parseResponse by the other road, through
// the DOM that parseMiddleware reads (parseSingleObject, Fields, then the same
// checks). parseResponse reads the output with its own SAX handler instead,
// to build no DOM; the two must agree on every input, errors included, and
// contract_test and response_fuzz check that they do.
#pragma once

#include <string_view>

#include "contract/response.h"

namespace jinn::contract {

ParseResult parseResponseViaDom(std::string_view stdout_bytes, const ResponseLimits& limits = {});

// Whether parseResponse reads `stdout_bytes` with its fast reader for the
// compact shape (FastReader in response.cc) rather than with the SAX handler:
// lets the tests check that their outputs reach both.
bool readsCompactly(std::string_view stdout_bytes);

}  // namespace jinn::contract
