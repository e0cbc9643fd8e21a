#include "contract/status.h"

namespace jinn::contract {
namespace {

struct OutcomeMapping {
  int status;
  std::string_view reason;
};

// One row per Outcome. Why these statuses:
// - A trap is the function's bug: 500, like an uncaught exception in any app.
// - Out of memory is also the function's fault (it asked for more than its
//   configured limit, and will again on retry): 500, not 503 (which invites
//   clients and balancers to retry) nor 507 (WebDAV storage, misleading).
// - Timeout: 504, the server gave up waiting for its "upstream", the function.
// - Output too large is a response we cannot deliver: 502, as an invalid one.
// - Host error is the server's own trouble setting the call up (address space,
//   memory pool): 503, the function may well succeed on another try.
OutcomeMapping mappingFor(jinn::Outcome outcome) {
  using jinn::Outcome;
  switch (outcome) {
    case Outcome::kExited:
      return {kUseFunctionStatus, ""};
    case Outcome::kTrapUnreachable:
      return {500, "function crashed (trap: unreachable executed)"};
    case Outcome::kTrapOutOfBounds:
      return {500, "function crashed (trap: out of bounds memory access)"};
    case Outcome::kTrapIntegerOverflow:
      return {500, "function crashed (trap: integer overflow)"};
    case Outcome::kTrapDivideByZero:
      return {500, "function crashed (trap: integer divide by zero)"};
    case Outcome::kTrapInvalidConversion:
      return {500, "function crashed (trap: invalid conversion to integer)"};
    case Outcome::kTrapIndirectCall:
      return {500, "function crashed (trap: bad indirect call)"};
    case Outcome::kTrapStackOverflow:
      return {500, "function crashed (trap: stack overflow)"};
    case Outcome::kTimeout:
      return {504, "function timed out"};
    case Outcome::kOutOfMemory:
      return {500, "function exceeded its memory limit"};
    case Outcome::kOutputTooLarge:
      return {502, "function output is too large"};
    case Outcome::kHostError:
      return {503, "server could not start the function"};
  }
  return {500, "function failed"};  // an Outcome added without a row here
}

constexpr std::string_view kInvalidResponse = "function returned an invalid response";

}  // namespace

int httpStatusFor(jinn::Outcome outcome, int exit_code, bool response_ok) {
  if (outcome != jinn::Outcome::kExited) return mappingFor(outcome).status;
  if (exit_code != 0) return 500;
  return response_ok ? kUseFunctionStatus : 502;
}

std::string failureReason(jinn::Outcome outcome, int exit_code, bool response_ok,
                          std::string_view response_error) {
  if (outcome != jinn::Outcome::kExited) return std::string(mappingFor(outcome).reason);
  if (exit_code != 0) return "function exited with code " + std::to_string(exit_code);
  if (response_ok) return {};
  std::string reason(kInvalidResponse);
  if (!response_error.empty()) {
    reason += ": ";
    reason += response_error;
  }
  return reason;
}

}  // namespace jinn::contract
