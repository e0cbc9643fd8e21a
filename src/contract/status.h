// How a call's end maps to the HTTP status the client sees when the function
// did not produce a usable response. The only place this mapping lives; the
// server, `jinn call` and metrics ask here. Table and reasons:
// docs/function-contract.md, "Errors".
#pragma once

#include <string>
#include <string_view>

#include "jinn/jinn.h"

namespace jinn::contract {

// Returned by httpStatusFor when nothing failed: the function's own status applies.
inline constexpr int kUseFunctionStatus = 0;

// `response_ok`: the call's stdout parsed as a valid response (parseResponse
// or parseMiddleware succeeded). Only consulted for a clean exit (code 0):
// a crashed or failing function's output is never sent.
//   timeout -> 504; trap, non-zero exit, out of memory -> 500;
//   output too large or not a valid response -> 502; host error -> 503.
int httpStatusFor(jinn::Outcome outcome, int exit_code, bool response_ok);

// A short reason for the error body and the access log, e.g. "function timed
// out", "function crashed (trap: out of bounds memory access)", "function
// returned an invalid response: status must be an integer from 200 to 599".
// `response_error` is parseResponse's message (used when !response_ok). Never
// includes guest output or stderr. Empty when nothing failed.
std::string failureReason(jinn::Outcome outcome, int exit_code, bool response_ok,
                          std::string_view response_error = {});

}  // namespace jinn::contract
