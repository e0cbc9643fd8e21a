// Process-level WASI functions: args, environment, clocks, randomness,
// process control, sockets (absent) and poll_oneoff. The fd functions are in
// fd.cc and the path functions in path.cc.
#include "wasi/wasi.h"

#include <sys/random.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>

#include "wasi/internal.h"

namespace jinn::wasi {
namespace {

using internal::fdTable;
using internal::guarded;
using internal::memoryOf;
using SteadyClock = std::chrono::steady_clock;

// --- args and environment: both are lists of NUL-terminated strings -------

Errno listSizesGet(Context& ctx, const std::vector<std::string>* list, u32 count_ptr,
                   u32 size_ptr) {
  uint64_t count = list != nullptr ? list->size() : 0;
  uint64_t bytes = 0;
  if (list != nullptr) {
    for (const std::string& s : *list) bytes += s.size() + 1;
  }
  if (count > UINT32_MAX || bytes > UINT32_MAX) return Errno::kOverflow;
  GuestMemory mem = memoryOf(ctx);
  if (!mem.store32(count_ptr, static_cast<u32>(count)) ||
      !mem.store32(size_ptr, static_cast<u32>(bytes))) {
    return Errno::kFault;
  }
  return Errno::kSuccess;
}

Errno listGet(Context& ctx, const std::vector<std::string>* list, u32 ptrs, u32 buf) {
  if (list == nullptr) return Errno::kSuccess;
  GuestMemory mem = memoryOf(ctx);
  uint64_t bytes = 0;
  for (const std::string& s : *list) bytes += s.size() + 1;
  // All or nothing: check both regions before writing either.
  if (!mem.contains(ptrs, uint64_t{4} * list->size()) || !mem.contains(buf, bytes)) {
    return Errno::kFault;
  }
  u32 at = buf;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string& s = (*list)[i];
    if (!mem.store32(ptrs + static_cast<u32>(4 * i), at) || !mem.copyIn(at, s) ||
        !mem.store8(at + static_cast<u32>(s.size()), 0)) {
      return Errno::kFault;
    }
    at += static_cast<u32>(s.size() + 1);
  }
  return Errno::kSuccess;
}

// --- clocks ---------------------------------------------------------------

// The host clock behind a WASI clock id. wasmtime serves only realtime and
// monotonic: the CPU-time ids answer kBadf there, and so here. (They would
// also leak the worker thread's / whole server's CPU use across tenants.)
Errno hostClock(u32 id, clockid_t* out) {
  switch (id) {
    case kClockRealtime:
      *out = CLOCK_REALTIME;
      return Errno::kSuccess;
    case kClockMonotonic:
      *out = CLOCK_MONOTONIC;
      return Errno::kSuccess;
    case kClockProcessCputime:
    case kClockThreadCputime:
      return Errno::kBadf;
    default:
      return Errno::kInval;  // not a $clockid value
  }
}

uint64_t toNanos(const timespec& ts) {
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t nowNanos(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return toNanos(ts);
}

Errno clockResGet(Context& ctx, u32 id, u32 out) {
  clockid_t clock;
  if (Errno e = hostClock(id, &clock); e != Errno::kSuccess) return e;
  timespec ts{};
  if (clock_getres(clock, &ts) != 0) return errnoFromHost(errno);
  return memoryOf(ctx).store64(out, toNanos(ts)) ? Errno::kSuccess : Errno::kFault;
}

Errno clockTimeGet(Context& ctx, u32 id, u32 out) {
  clockid_t clock;
  if (Errno e = hostClock(id, &clock); e != Errno::kSuccess) return e;
  return memoryOf(ctx).store64(out, nowNanos(clock)) ? Errno::kSuccess : Errno::kFault;
}

// --- random ---------------------------------------------------------------

Errno randomGet(Context& ctx, u32 buf, u32 len) {
  uint8_t* p = memoryOf(ctx).span(buf, len);
  if (p == nullptr) return Errno::kFault;
  size_t done = 0;
  while (done < len) {
    ssize_t n = getrandom(p + done, len - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errnoFromHost(errno);
    }
    done += static_cast<size_t>(n);
  }
  return Errno::kSuccess;
}

// --- sockets --------------------------------------------------------------

// No socket is ever handed to the guest, so every fd is "not a socket"
// (wasmtime: kBadf for a closed fd, else kNotsock).
Errno sockCall(Context& ctx, u32 fd) {
  return fdTable(ctx).get(fd) == nullptr ? Errno::kBadf : Errno::kNotsock;
}

// --- poll_oneoff ------------------------------------------------------------

// Guest timeouts can be up to 2^64 ns; keep deadlines representable.
constexpr uint64_t kMaxTimeoutNs = uint64_t{1} << 62;

SteadyClock::time_point addNanos(SteadyClock::time_point t, uint64_t ns) {
  return t + std::chrono::nanoseconds(static_cast<int64_t>(std::min(ns, kMaxTimeoutNs)));
}

// What pass 1 of poll_oneoff measured, so pass 2 computes the same due times.
struct PollClocks {
  SteadyClock::time_point start;
  uint64_t realtime_ns;
};

// When a clock subscription fires. Realtime absolute times are converted to
// a monotonic due time once (as wasmtime does); CPU-time clocks are kInval.
Errno clockDue(const PollClocks& now, u32 id, uint64_t timeout, uint16_t flags,
               SteadyClock::time_point* due) {
  bool absolute = (flags & kSubclockAbstime) != 0;
  if (id == kClockMonotonic) {
    if (absolute) {
      // steady_clock is CLOCK_MONOTONIC, the clock clock_time_get reports.
      *due = SteadyClock::time_point(
          std::chrono::nanoseconds(static_cast<int64_t>(std::min(timeout, kMaxTimeoutNs))));
    } else {
      *due = addNanos(now.start, timeout);
    }
    return Errno::kSuccess;
  }
  if (id == kClockRealtime) {
    uint64_t rel = absolute ? (timeout > now.realtime_ns ? timeout - now.realtime_ns : 0) : timeout;
    *due = addNanos(now.start, rel);
    return Errno::kSuccess;
  }
  return Errno::kInval;
}

// Sleeps until `due`, but never past the call's deadline (a default-constructed
// deadline means none). Signals (the runtime's kill switch) only shorten it.
void sleepUntil(SteadyClock::time_point due, SteadyClock::time_point deadline) {
  if (deadline != SteadyClock::time_point{}) due = std::min(due, deadline);
  for (;;) {
    auto now = SteadyClock::now();
    if (now >= due) return;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(due.time_since_epoch()).count();
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    if (rc != 0 && rc != EINTR) return;
  }
}

struct SubscriptionView {
  uint64_t userdata = 0;
  uint8_t tag = 0;
  u32 clock_id = 0;
  uint64_t timeout = 0;
  uint16_t flags = 0;
  u32 fd = 0;
};

SubscriptionView readSubscription(const GuestMemory& mem, u32 at) {
  // The whole array was bounds-checked by the caller.
  SubscriptionView s;
  (void)mem.load64(at + layout::kSubscriptionUserdata, &s.userdata);
  (void)mem.load8(at + layout::kSubscriptionTag, &s.tag);
  if (s.tag == kEventtypeClock) {
    (void)mem.load32(at + layout::kSubscriptionClockId, &s.clock_id);
    (void)mem.load64(at + layout::kSubscriptionClockTimeout, &s.timeout);
    (void)mem.load16(at + layout::kSubscriptionClockFlags, &s.flags);
  } else {
    (void)mem.load32(at + layout::kSubscriptionFd, &s.fd);
  }
  return s;
}

// Whether an fd subscription may name this entry: stdin and files can be
// read, stdout/stderr and files written. Anything else is kBadf (wasmtime).
bool pollableFor(const FdEntry& e, uint8_t tag) {
  if (e.kind == FdKind::kFile) return true;
  if (tag == kEventtypeFdRead) return e.kind == FdKind::kStdin;
  return e.kind == FdKind::kStdout || e.kind == FdKind::kStderr;
}

// nbytes for a ready fd event: what can be read or written without blocking.
uint64_t readyBytes(const Context& ctx, const FdEntry& e) {
  switch (e.kind) {
    case FdKind::kStdin:
      return ctx.stdin_pos < ctx.stdin_data.size() ? ctx.stdin_data.size() - ctx.stdin_pos : 0;
    case FdKind::kStdout:
    case FdKind::kStderr: {
      const std::string* out = e.kind == FdKind::kStdout ? ctx.stdout_data : ctx.stderr_data;
      size_t cap = e.kind == FdKind::kStdout ? ctx.stdout_cap : ctx.stderr_cap;
      size_t used = out != nullptr ? out->size() : 0;
      return cap > used ? cap - used : 0;
    }
    default:
      return 1;  // files: always ready, like wasmtime
  }
}

Errno pollOneoff(Context& ctx, u32 in, u32 out, u32 nsubs, u32 nevents_ptr) {
  // wasmtime: blocking forever is not supported.
  if (nsubs == 0) return Errno::kInval;
  GuestMemory mem = memoryOf(ctx);
  if (!mem.contains(in, uint64_t{nsubs} * layout::kSubscriptionSize) ||
      !mem.contains(out, uint64_t{nsubs} * layout::kEventSize) || !mem.contains(nevents_ptr, 4)) {
    return Errno::kFault;
  }
  FdTable& table = fdTable(ctx);
  const PollClocks clocks{SteadyClock::now(), nowNanos(CLOCK_REALTIME)};

  // Pass 1: validate everything and find when to wake. Nothing is stored per
  // subscription, so a huge nsubs costs time, not host memory.
  auto earliest = SteadyClock::time_point::max();
  bool fd_ready = false;
  for (u32 i = 0; i < nsubs; ++i) {
    SubscriptionView s = readSubscription(mem, in + i * layout::kSubscriptionSize);
    if (s.tag == kEventtypeClock) {
      SteadyClock::time_point due;
      if (Errno e = clockDue(clocks, s.clock_id, s.timeout, s.flags, &due); e != Errno::kSuccess) {
        return e;
      }
      earliest = std::min(earliest, due);
    } else if (s.tag == kEventtypeFdRead || s.tag == kEventtypeFdWrite) {
      const FdEntry* e = table.get(s.fd);
      if (e == nullptr || !pollableFor(*e, s.tag)) return Errno::kBadf;
      fd_ready = true;  // in-memory stdio and regular files never block
    } else {
      return Errno::kInval;
    }
  }

  if (!fd_ready) sleepUntil(earliest, ctx.deadline);
  const auto now = SteadyClock::now();

  // Pass 2: one event per ready subscription, in subscription order.
  u32 count = 0;
  for (u32 i = 0; i < nsubs; ++i) {
    SubscriptionView s = readSubscription(mem, in + i * layout::kSubscriptionSize);
    uint64_t nbytes = 0;
    uint16_t flags = 0;
    if (s.tag == kEventtypeClock) {
      SteadyClock::time_point due;
      (void)clockDue(clocks, s.clock_id, s.timeout, s.flags, &due);
      if (due > now) continue;
    } else {
      const FdEntry* e = table.get(s.fd);
      nbytes = readyBytes(ctx, *e);
      if (s.tag == kEventtypeFdRead && nbytes == 0) flags = kEventrwHangup;
    }
    u32 at = out + count * layout::kEventSize;
    // Zero first: the event has padding the guest may compare bytewise.
    if (uint8_t* p = mem.span(at, layout::kEventSize)) std::memset(p, 0, layout::kEventSize);
    (void)mem.store64(at + layout::kEventUserdata, s.userdata);
    (void)mem.store16(at + layout::kEventError, toWasm(Errno::kSuccess));
    (void)mem.store8(at + layout::kEventType, s.tag);
    (void)mem.store64(at + layout::kEventNbytes, nbytes);
    (void)mem.store16(at + layout::kEventFlags, flags);
    ++count;
  }
  (void)mem.store32(nevents_ptr, count);
  return Errno::kSuccess;
}

}  // namespace

u32 args_get(Context& ctx, u32 a0, u32 a1) {
  return guarded([&] { return listGet(ctx, ctx.args, a0, a1); });
}
u32 args_sizes_get(Context& ctx, u32 a0, u32 a1) {
  return guarded([&] { return listSizesGet(ctx, ctx.args, a0, a1); });
}
u32 environ_get(Context& ctx, u32 a0, u32 a1) {
  return guarded([&] { return listGet(ctx, ctx.env, a0, a1); });
}
u32 environ_sizes_get(Context& ctx, u32 a0, u32 a1) {
  return guarded([&] { return listSizesGet(ctx, ctx.env, a0, a1); });
}
u32 clock_res_get(Context& ctx, u32 a0, u32 a1) {
  return guarded([&] { return clockResGet(ctx, a0, a1); });
}
u32 clock_time_get(Context& ctx, u32 a0, u64 /*precision*/, u32 a2) {
  return guarded([&] { return clockTimeGet(ctx, a0, a2); });
}
u32 random_get(Context& ctx, u32 a0, u32 a1) {
  return guarded([&] { return randomGet(ctx, a0, a1); });
}
u32 poll_oneoff(Context& ctx, u32 a0, u32 a1, u32 a2, u32 a3) {
  return guarded([&] { return pollOneoff(ctx, a0, a1, a2, a3); });
}

void proc_exit(Context& ctx, u32 a0) {
  // The runtime unwinds the guest when this returns. wasmtime refuses codes
  // >= 126 with a trap; here every code is passed through as the exit code.
  ctx.exit_code = a0;
  ctx.stop = JINN_STOP_EXIT;
}
// wasmtime answers NOTSUP: signals do not exist in preview1 hosts.
u32 proc_raise(Context&, u32) { return toWasm(Errno::kNotsup); }
u32 sched_yield(Context&) { return toWasm(Errno::kSuccess); }

u32 sock_accept(Context& ctx, u32 a0, u32, u32) {
  return guarded([&] { return sockCall(ctx, a0); });
}
u32 sock_recv(Context& ctx, u32 a0, u32, u32, u32, u32, u32) {
  return guarded([&] { return sockCall(ctx, a0); });
}
u32 sock_send(Context& ctx, u32 a0, u32, u32, u32, u32) {
  return guarded([&] { return sockCall(ctx, a0); });
}
u32 sock_shutdown(Context& ctx, u32 a0, u32) {
  return guarded([&] { return sockCall(ctx, a0); });
}

}  // namespace jinn::wasi
