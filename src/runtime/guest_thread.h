// Per-thread machinery for running guests: the trap landing pad, the guest
// stack, the signal stack, the fault handler and the kill switch.
//
// Kill switch (ENGINE_NOTES pitfall 6, Lucet's state machine): each thread that
// runs guests owns a POSIX timer delivering kTimerSignal to itself
// (SIGEV_THREAD_ID). The handler jumps out only when `in_guest` says the
// thread is executing guest code; when it lands in host code (a WASI import,
// the runtime's memory functions) it sets `timed_out`, and the import stops
// the guest when it returns.
//
// The timer is re-armed lazily: a call only makes a timer_settime syscall when
// the timer is not already set to fire at or before the call's deadline.
// When it fires early (for an earlier call's deadline) the handler re-arms it
// for the current deadline; when it fires with no call running it does
// nothing. With a steady stream of calls with one timeout this costs about
// one signal per timeout period instead of two syscalls per call.
//
// Faults (SIGSEGV/SIGBUS) are claimed only when the thread is in guest code
// and the address is in the current memory's reservation (-> out of bounds)
// or in the guest stack's guard (-> stack overflow). Everything else is a
// host bug: the handler hands it to the previous handler or the default
// action, so the process crashes as it should.
#pragma once

#include <setjmp.h>
#include <signal.h>
#include <time.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/fiber.h"

namespace jinn::runtime {

struct CallState;

struct GuestThread {
  // Guest stack usable size, and the PROT_NONE guard below it. Generated code
  // is compiled with -fstack-clash-protection, so no frame skips the guard.
  static constexpr size_t kStackBytes = 8u << 20;
  static constexpr size_t kStackGuardBytes = 1u << 20;
  // Host imports refuse to run (stack-overflow trap) with less than this left.
  static constexpr size_t kHostHeadroomBytes = 128u << 10;
  static constexpr size_t kAltStackBytes = 64u << 10;

  sigjmp_buf jump;
  volatile sig_atomic_t in_guest = 0;   // guest code is running: signals may jump
  volatile sig_atomic_t active = 0;     // a call is running: the deadline applies
  volatile sig_atomic_t timed_out = 0;  // the deadline passed while in host code
  volatile int64_t deadline_ns = 0;     // CLOCK_MONOTONIC
  volatile int64_t armed_ns = 0;        // when the timer fires next; 0 = disarmed

  uint8_t* stack_map = nullptr;  // guard + stack
  uint8_t* stack_low = nullptr;  // lowest usable byte of the guest stack
  uint8_t* stack_top = nullptr;
  uint8_t* alt_stack = nullptr;
  jinn_fiber fiber{};  // the guest stack, for AddressSanitizer's bookkeeping
  timer_t timer{};
  bool timer_ok = false;

  // The memory reservation of the running call, for fault classification.
  volatile uintptr_t mem_lo = 0;
  volatile uintptr_t mem_hi = 0;

  CallState* call = nullptr;  // the running call (runtime/call.cc)
  void* instance_buf = nullptr;
  size_t instance_cap = 0;

  // The calling thread's state, set up on first use. Returns nullptr (and
  // fills *error) when the thread cannot get its stacks or timer.
  static GuestThread* current(std::string* error);

  // Starts the kill switch for a call ending at now_ns + timeout (now_ns
  // from monotonicNs(), read by the caller, which times the call with it).
  void arm(int64_t now_ns, std::chrono::nanoseconds timeout);
  // Ends the call's kill switch (the timer may still fire later: harmless).
  void disarm();

  ~GuestThread();
};

// The calling thread's state if it has one (no setup; for host functions
// called from guest code, where it always exists).
GuestThread* runningThread();

// Process-wide: installs the fault and timer handlers once. Thread-safe.
void installSignalHandlers();

// The signal used by the kill switch.
int timerSignal();

int64_t monotonicNs();

}  // namespace jinn::runtime
