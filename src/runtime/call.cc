// One call = one fresh instance: instantiate, run, free. The life of a call is
// drawn in docs/architecture.md.
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "runtime/call_state.h"
#include "runtime/guest_enter.h"
#include "runtime/guest_thread.h"
#include "runtime/runtime.h"
#include "wasi/wasi.h"

namespace jinn::runtime {
namespace {

struct Entry {
  const jinn_module_desc* module;
  void* instance;
  void* wasi_ctx;
};

// These run on the guest stack, called by jinn_guest_enter.
void instantiateOnGuestStack(void* entry, void*) {
  auto* e = static_cast<Entry*>(entry);
  e->module->instantiate(e->instance, e->wasi_ctx);
}

void startOnGuestStack(void* entry, void*) {
  auto* e = static_cast<Entry*>(entry);
  if (e->module->start != nullptr) {
    e->module->start(e->instance);
  } else {
    e->module->initialize(e->instance);
  }
}

double microsBetween(int64_t a_ns, int64_t b_ns) { return static_cast<double>(b_ns - a_ns) / 1000.0; }

Outcome outcomeOf(int code, const CallState& state) {
  switch (code) {
    case WASM_RT_TRAP_OOB: return Outcome::kTrapOutOfBounds;
    case WASM_RT_TRAP_INT_OVERFLOW: return Outcome::kTrapIntegerOverflow;
    case WASM_RT_TRAP_DIV_BY_ZERO: return Outcome::kTrapDivideByZero;
    case WASM_RT_TRAP_INVALID_CONVERSION: return Outcome::kTrapInvalidConversion;
    case WASM_RT_TRAP_UNREACHABLE: return Outcome::kTrapUnreachable;
    case WASM_RT_TRAP_CALL_INDIRECT: return Outcome::kTrapIndirectCall;
    case WASM_RT_TRAP_EXHAUSTION: return Outcome::kTrapStackOverflow;
    case JINN_STOP_TIMEOUT: return Outcome::kTimeout;
    case JINN_STOP_OUT_OF_MEMORY: return Outcome::kOutOfMemory;
    case JINN_STOP_OUTPUT_LIMIT: return Outcome::kOutputTooLarge;
    default: return Outcome::kHostError;
  }
}

void* instanceBuffer(GuestThread* t, size_t size) {
  if (t->instance_cap < size) {
    std::free(t->instance_buf);
    t->instance_buf = std::aligned_alloc(64, (size + 63) & ~size_t{63});
    t->instance_cap = t->instance_buf != nullptr ? size : 0;
    if (t->instance_buf == nullptr) return nullptr;
  }
  std::memset(t->instance_buf, 0, size);
  return t->instance_buf;
}

}  // namespace

void runCall(const jinn_module_desc& module, MemoryPool& pool, const CallOptions& options,
             std::string_view stdin_data, std::chrono::microseconds timeout, CallResult& result) {
  result.outcome = Outcome::kExited;
  result.exit_code = 0;
  result.stdout_data.clear();
  result.stderr_data.clear();
  result.message.clear();
  result.timings = Timings{};

  std::string error;
  GuestThread* t = GuestThread::current(&error);
  if (t == nullptr) {
    result.outcome = Outcome::kHostError;
    result.message = error;
    return;
  }
  if (t->call != nullptr) {
    // A host import calling back into the engine on the same thread.
    result.outcome = Outcome::kHostError;
    result.message = "nested call on one thread";
    return;
  }
  void* instance = instanceBuffer(t, module.instance_size);
  if (instance == nullptr) {
    result.outcome = Outcome::kHostError;
    result.message = "out of host memory for the instance";
    return;
  }
  if (module.start == nullptr && module.initialize == nullptr) {
    result.outcome = Outcome::kHostError;
    result.message = "module exports neither _start nor _initialize";
    return;
  }

  const Limits& limits = options.limits;
  wasi::Context ctx;
  ctx.stdin_data = stdin_data;
  ctx.args = &options.args;
  ctx.env = &options.env;
  ctx.preopens = &options.preopens;
  ctx.stdout_data = &result.stdout_data;
  ctx.stderr_data = &result.stderr_data;
  ctx.stdout_cap = limits.stdout_bytes;
  ctx.stderr_cap = limits.stderr_bytes;
  // One clock read for the deadline, the kill switch and the timings
  // (steady_clock is CLOCK_MONOTONIC, as monotonicNs).
  const int64_t t0 = monotonicNs();
  ctx.deadline = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(t0)) + timeout;
  ctx.mark_dirty = true;  // memories come from our pool

  CallState state;
  state.pool = &pool;
  state.memory_limit_bytes = limits.memory_bytes;
  state.wasi = &ctx;
  t->call = &state;

  Entry entry{&module, instance, &ctx};
  t->arm(t0, timeout);
  int code = jinn_guest_enter(&t->jump, &t->in_guest, &t->timed_out, t->stack_top, &t->fiber,
                              instantiateOnGuestStack, &entry, nullptr);
  const int64_t t1 = monotonicNs();
  if (code == 0) {
    code = jinn_guest_enter(&t->jump, &t->in_guest, &t->timed_out, t->stack_top, &t->fiber,
                            startOnGuestStack, &entry, nullptr);
  }
  t->disarm();
  const int64_t t2 = monotonicNs();
  const bool memory_refused = state.memory_refused;
  state.marks_complete = code == 0 || code == JINN_STOP_EXIT || code == JINN_STOP_OUTPUT_LIMIT;
  module.free_instance(instance);  // returns the memory slot to the pool, reset
  if (state.slot != nullptr) {
    // The module's free did not reach our free_memory (e.g. it was never
    // stored in the instance); never leak a slot.
    pool.release(state.slot, false);
    state.slot = nullptr;
  }
  t->mem_lo = 0;
  t->mem_hi = 0;
  t->call = nullptr;
  const int64_t t3 = monotonicNs();

  result.timings.instantiate_us = microsBetween(t0, t1);
  result.timings.run_us = microsBetween(t1, t2);
  result.timings.teardown_us = microsBetween(t2, t3);

  if (code == 0) {
    result.outcome = Outcome::kExited;
    result.exit_code = 0;
  } else if (code == JINN_STOP_EXIT) {
    result.outcome = Outcome::kExited;
    result.exit_code = static_cast<int>(ctx.exit_code);
  } else {
    result.outcome = outcomeOf(code, state);
  }
  // A guest that was refused memory and then gave up (abort, a trap, a
  // non-zero exit) ran out of memory; one that coped and exited 0 did not.
  if (memory_refused &&
      (isTrap(result.outcome) || (result.outcome == Outcome::kExited && result.exit_code != 0))) {
    result.outcome = Outcome::kOutOfMemory;
  }
  switch (result.outcome) {
    case Outcome::kExited:
      break;
    case Outcome::kTimeout:
      result.message = "timeout after " + std::to_string(timeout.count() / 1000) + " ms";
      break;
    case Outcome::kOutOfMemory:
      result.message = "out of memory (limit " + std::to_string(limits.memory_bytes) + " bytes)";
      break;
    case Outcome::kHostError:
      result.message = "host error (code " + std::to_string(code) + ")";
      break;
    default:
      result.message = describeOutcome(result.outcome);
      break;
  }
}

}  // namespace jinn::runtime
