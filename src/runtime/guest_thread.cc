#include "runtime/guest_thread.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

#include "runtime/abi.h"

namespace jinn::runtime {
namespace {

// Read from signal handlers: initial-exec TLS is a plain %fs-relative load,
// async-signal-safe (no lazy allocation through __tls_get_addr).
__attribute__((tls_model("initial-exec"))) thread_local GuestThread* tls_thread = nullptr;
thread_local std::unique_ptr<GuestThread> tls_owner;

struct sigaction g_prev_segv;
struct sigaction g_prev_bus;

void unblock(int sig) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

[[noreturn]] void jumpOut(GuestThread* t, int sig, int code) {
  // The handler runs with `sig` blocked and we leave it by jumping, so
  // unblock it here (sigsetjmp did not save the mask, to keep calls cheap).
  unblock(sig);
  t->in_guest = 0;
  jinn_fiber_to_host(&t->fiber);
  siglongjmp(t->jump, code);
}

void chain(const struct sigaction& prev, int sig, siginfo_t* info, void* uc) {
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction != nullptr) {
      prev.sa_sigaction(sig, info, uc);
      return;
    }
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    prev.sa_handler(sig);
    return;
  }
  // Default action: restore it and return; the faulting instruction runs
  // again and the process dies with the right signal (and a core).
  signal(sig, SIG_DFL);
}

void onFault(int sig, siginfo_t* info, void* uc) {
  GuestThread* t = tls_thread;
  if (t != nullptr && t->in_guest) {
    const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
    if (addr >= t->mem_lo && addr < t->mem_hi) jumpOut(t, sig, WASM_RT_TRAP_OOB);
    const auto guard_lo = reinterpret_cast<uintptr_t>(t->stack_map);
    const auto guard_hi = reinterpret_cast<uintptr_t>(t->stack_low);
    if (addr >= guard_lo && addr < guard_hi) jumpOut(t, sig, WASM_RT_TRAP_EXHAUSTION);
  }
  chain(sig == SIGSEGV ? g_prev_segv : g_prev_bus, sig, info, uc);
}

void armAt(GuestThread* t, int64_t when_ns) {
  struct itimerspec spec {};
  spec.it_value.tv_sec = when_ns / 1000000000;
  spec.it_value.tv_nsec = when_ns % 1000000000;
  // Recorded before the timer is set: a time already past fires at once,
  // and the handler, running before timer_settime returns, must be the one
  // to clear armed_ns. Recorded after, a stale armed_ns would tell every
  // later call that a timer is pending when none is, and a spinning guest
  // would never be stopped (seen under load: a thread preempted for longer
  // than the inline budget between computing and setting the deadline).
  t->armed_ns = when_ns;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  timer_settime(t->timer, TIMER_ABSTIME, &spec, nullptr);
}

void onTimer(int sig, siginfo_t* info, void* uc) {
  GuestThread* t = tls_thread;
  if (t == nullptr) return;
  const int saved_errno = errno;
  t->armed_ns = 0;
  if (t->active) {
    const int64_t deadline = t->deadline_ns;
    if (monotonicNs() < deadline) {
      armAt(t, deadline);  // fired for an earlier call's deadline
    } else if (t->in_guest) {
      errno = saved_errno;
      jumpOut(t, sig, JINN_STOP_TIMEOUT);
    } else {
      t->timed_out = 1;
    }
  }
  errno = saved_errno;
}

}  // namespace

GuestThread* runningThread() { return tls_thread; }

int timerSignal() { return SIGRTMIN + 3; }

int64_t monotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void installSignalHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = onFault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_prev_segv);
    sigaction(SIGBUS, &sa, &g_prev_bus);

    struct sigaction ta {};
    ta.sa_sigaction = onTimer;
    ta.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&ta.sa_mask);
    sigaction(timerSignal(), &ta, nullptr);
  });
}

GuestThread* GuestThread::current(std::string* error) {
  if (tls_thread != nullptr) return tls_thread;
  installSignalHandlers();
  auto t = std::make_unique<GuestThread>();

  const size_t stack_map_bytes = kStackGuardBytes + kStackBytes;
  void* stack = mmap(nullptr, stack_map_bytes, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (stack == MAP_FAILED) {
    *error = std::string("cannot map guest stack: ") + std::strerror(errno);
    return nullptr;
  }
  t->stack_map = static_cast<uint8_t*>(stack);
  t->stack_low = t->stack_map + kStackGuardBytes;
  t->stack_top = t->stack_low + kStackBytes;
  t->fiber.guest_bottom = t->stack_low;
  t->fiber.guest_size = kStackBytes;
  if (mprotect(t->stack_low, kStackBytes, PROT_READ | PROT_WRITE) != 0) {
    *error = std::string("cannot protect guest stack: ") + std::strerror(errno);
    return nullptr;
  }

  void* alt = mmap(nullptr, kAltStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
  if (alt == MAP_FAILED) {
    *error = std::string("cannot map signal stack: ") + std::strerror(errno);
    return nullptr;
  }
  t->alt_stack = static_cast<uint8_t*>(alt);
  stack_t ss{};
  ss.ss_sp = t->alt_stack;
  ss.ss_size = kAltStackBytes;
  if (sigaltstack(&ss, nullptr) != 0) {
    *error = std::string("sigaltstack: ") + std::strerror(errno);
    return nullptr;
  }

  struct sigevent sev {};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = timerSignal();
  sev._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
  if (timer_create(CLOCK_MONOTONIC, &sev, &t->timer) != 0) {
    *error = std::string("timer_create: ") + std::strerror(errno);
    return nullptr;
  }
  t->timer_ok = true;

  tls_thread = t.get();
  tls_owner = std::move(t);
  return tls_thread;
}

void GuestThread::arm(int64_t now_ns, std::chrono::nanoseconds timeout) {
  const int64_t deadline = now_ns + timeout.count();
  deadline_ns = deadline;
  timed_out = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  active = 1;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  const int64_t armed = armed_ns;
  if (armed == 0 || armed > deadline) armAt(this, deadline);
}

void GuestThread::disarm() {
  active = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

GuestThread::~GuestThread() {
  if (tls_thread == this) tls_thread = nullptr;
  if (timer_ok) timer_delete(timer);
  if (alt_stack != nullptr) {
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, nullptr);
    munmap(alt_stack, kAltStackBytes);
  }
  if (stack_map != nullptr) munmap(stack_map, kStackGuardBytes + kStackBytes);
  std::free(instance_buf);
}

}  // namespace jinn::runtime
