#include "jinn/jinn.h"

namespace jinn {

// Defined once: the outcome table (enum order, metric/log name, message).
#define JINN_OUTCOMES(X)                                               \
  X(kExited, "exited", "exited")                                       \
  X(kTrapUnreachable, "trap_unreachable", "trap: unreachable")         \
  X(kTrapOutOfBounds, "trap_out_of_bounds", "trap: out of bounds memory access") \
  X(kTrapIntegerOverflow, "trap_integer_overflow", "trap: integer overflow") \
  X(kTrapDivideByZero, "trap_divide_by_zero", "trap: integer divide by zero") \
  X(kTrapInvalidConversion, "trap_invalid_conversion", "trap: invalid conversion to integer") \
  X(kTrapIndirectCall, "trap_indirect_call", "trap: indirect call type mismatch or null") \
  X(kTrapStackOverflow, "trap_stack_overflow", "trap: call stack exhausted") \
  X(kTimeout, "timeout", "timeout")                                    \
  X(kOutOfMemory, "out_of_memory", "out of memory")                    \
  X(kOutputTooLarge, "output_too_large", "output too large")           \
  X(kHostError, "host_error", "host error")

std::string_view outcomeName(Outcome outcome) {
  switch (outcome) {
#define X(e, name, text) \
  case Outcome::e:       \
    return name;
    JINN_OUTCOMES(X)
#undef X
  }
  return "unknown";
}

std::string_view describeOutcome(Outcome outcome) {
  switch (outcome) {
#define X(e, name, text) \
  case Outcome::e:       \
    return text;
    JINN_OUTCOMES(X)
#undef X
  }
  return "unknown";
}

bool isTrap(Outcome outcome) {
  return outcome >= Outcome::kTrapUnreachable && outcome <= Outcome::kTrapStackOverflow;
}

}  // namespace jinn
