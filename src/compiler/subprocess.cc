#include "compiler/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

namespace jinn::compiler {
namespace {

using Clock = std::chrono::steady_clock;

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

// Owns one descriptor; parent side only (the child uses raw ints).
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// What the child reports through the exec-error pipe when setup fails.
struct ChildFailure {
  int stage;  // index into kStageNames
  int error;  // errno
};
constexpr const char* kStageNames[] = {"open /dev/null", "dup2", "chdir", "setrlimit", "exec"};

[[noreturn]] void childFail(int report_fd, int stage) {
  ChildFailure failure{stage, errno};
  // Best effort: if this write fails the parent still sees exit status 127.
  ssize_t ignored = ::write(report_fd, &failure, sizeof failure);
  (void)ignored;
  ::_exit(127);
}

void setLimit(int report_fd, int resource, rlim_t soft, rlim_t hard) {
  struct rlimit limit{soft, hard};
  if (::setrlimit(resource, &limit) != 0) childFail(report_fd, 3);
}

// Runs in the child between fork and exec: only async-signal-safe calls, no
// allocation (everything it needs was prepared by the parent).
[[noreturn]] void childMain(char* const* argv, const char* cwd, int out_w, int err_w,
                            int report_w, const SubprocessOptions& options) {
  ::setpgid(0, 0);

  // Handlers are reset by exec, but ignored signals and the mask are inherited.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::signal(sig, SIG_DFL);
  }
  sigset_t empty;
  sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);

  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd < 0) childFail(report_w, 0);
  if (::dup2(null_fd, 0) < 0 || ::dup2(out_w, 1) < 0 || ::dup2(err_w, 2) < 0) childFail(report_w, 1);

  // Nothing of the host's (sockets, cache files) may leak into the child. The
  // report pipe is close-on-exec already, so marking everything works.
  if (::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
    struct rlimit files{};
    rlim_t max_fd = ::getrlimit(RLIMIT_NOFILE, &files) == 0 ? files.rlim_cur : 4096;
    if (max_fd == RLIM_INFINITY || max_fd > 65536) max_fd = 65536;
    for (int fd = 3; fd < static_cast<int>(max_fd); ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }

  if (cwd != nullptr && ::chdir(cwd) != 0) childFail(report_w, 2);

  auto seconds = std::chrono::ceil<std::chrono::seconds>(options.timeout).count();
  if (seconds > 0) setLimit(report_w, RLIMIT_CPU, seconds, seconds + 1);
  if (options.memory_bytes > 0) setLimit(report_w, RLIMIT_AS, options.memory_bytes, options.memory_bytes);
  if (options.max_file_bytes > 0)
    setLimit(report_w, RLIMIT_FSIZE, options.max_file_bytes, options.max_file_bytes);
  setLimit(report_w, RLIMIT_CORE, 0, 0);

  ::execvp(argv[0], argv);
  childFail(report_w, 4);
}

// Keeps the newest `cap` bytes: compiler diagnostics end with the summary.
void appendCapped(std::string& buffer, uint64_t& dropped, const char* data, size_t size, size_t cap) {
  buffer.append(data, size);
  // Trim in batches so a chatty child costs amortised O(1) per byte.
  if (buffer.size() > 2 * cap + 4096) {
    size_t excess = buffer.size() - cap;
    buffer.erase(0, excess);
    dropped += excess;
  }
}

void finishCapture(std::string& buffer, uint64_t& dropped, size_t cap) {
  if (buffer.size() > cap) {
    size_t excess = buffer.size() - cap;
    buffer.erase(0, excess);
    dropped += excess;
  }
}

// Reads what is available; closes the descriptor at EOF or on a hard error.
void drain(Fd& fd, std::string& buffer, uint64_t& dropped, size_t cap) {
  char chunk[16384];
  while (fd.valid()) {
    ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n > 0) {
      appendCapped(buffer, dropped, chunk, static_cast<size_t>(n), cap);
    } else if (n == 0) {
      fd.reset();
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else {
      fd.reset();
    }
  }
}

// True once the child has exited; leaves it a zombie (WNOWAIT) so its process
// group id stays reserved until we have killed any stragglers in the group.
bool hasExited(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return errno == ECHILD;
  return info.si_pid == pid;
}

}  // namespace

std::string SubprocessResult::describeStatus() const {
  if (timed_out) {
    return "timed out after " + std::to_string(elapsed.count() / 1000) + " ms (wall-clock timeout)";
  }
  if (term_signal != 0) {
    const char* abbrev = ::sigabbrev_np(term_signal);
    std::string text = "killed by signal " + std::to_string(term_signal);
    if (abbrev != nullptr) text += std::string(" (SIG") + abbrev + ")";
    if (term_signal == SIGXCPU) text += ": CPU time limit";
    if (term_signal == SIGXFSZ) text += ": output file size limit";
    return text;
  }
  return "exited with status " + std::to_string(exit_code);
}

Result<SubprocessResult> Subprocess::run() const {
  if (options_.argv.empty() || options_.argv[0].empty()) return Error{"subprocess: empty command"};

  // Everything the child touches is prepared here: no allocation after fork.
  std::vector<char*> argv;
  argv.reserve(options_.argv.size() + 1);
  for (const std::string& arg : options_.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::string cwd = options_.cwd.string();
  const char* cwd_ptr = cwd.empty() ? nullptr : cwd.c_str();

  int out_pipe[2], err_pipe[2], report_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Error{std::string("pipe: ") + ::strerror(errno)};
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return Error{std::string("pipe: ") + ::strerror(errno)};
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
  if (::pipe2(report_pipe, O_CLOEXEC) != 0) return Error{std::string("pipe: ") + ::strerror(errno)};
  Fd report_r(report_pipe[0]), report_w(report_pipe[1]);

  auto started = Clock::now();
  pid_t pid = ::fork();
  if (pid < 0) return Error{std::string("fork: ") + ::strerror(errno)};
  if (pid == 0) childMain(argv.data(), cwd_ptr, out_w.get(), err_w.get(), report_w.get(), options_);

  // Also from the parent, so a kill(-pid) right after fork cannot miss the group.
  ::setpgid(pid, pid);
  out_w.reset();
  err_w.reset();
  report_w.reset();

  // EOF means exec succeeded (the pipe is close-on-exec); data means it failed.
  ChildFailure failure{};
  ssize_t got;
  do {
    got = ::read(report_r.get(), &failure, sizeof failure);
  } while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof failure)) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int stage = std::clamp(failure.stage, 0, 4);
    return Error{"cannot run '" + options_.argv[0] + "': " + kStageNames[stage] + ": " +
                 ::strerror(failure.error)};
  }

  ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err_r.get(), F_SETFL, O_NONBLOCK);
  // A pidfd lets poll() wake on exit; without one (old kernel, seccomp) we poll
  // the child's state every few milliseconds instead.
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  SubprocessResult result;
  const size_t cap = std::max<size_t>(options_.capture_bytes, 1);
  const bool has_deadline = options_.timeout.count() > 0;
  const auto deadline = started + options_.timeout;

  bool exited = false;
  while (true) {
    if (!pidfd.valid() && hasExited(pid)) exited = true;
    if (exited) break;
    int wait_ms = pidfd.valid() ? -1 : 10;
    if (has_deadline) {
      auto remaining = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (remaining <= 0) {
        result.timed_out = true;
        break;
      }
      int capped = static_cast<int>(std::min<long long>(remaining, INT_MAX));
      wait_ms = wait_ms < 0 ? capped : std::min(wait_ms, capped);
    }
    pollfd fds[3];
    nfds_t count = 0;
    int out_index = -1, err_index = -1, pid_index = -1;
    if (out_r.valid()) fds[out_index = count++] = {out_r.get(), POLLIN, 0};
    if (err_r.valid()) fds[err_index = count++] = {err_r.get(), POLLIN, 0};
    if (pidfd.valid()) fds[pid_index = count++] = {pidfd.get(), POLLIN, 0};
    int ready = ::poll(fds, count, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;  // cannot wait any more: kill and reap below
    }
    if (out_index >= 0 && fds[out_index].revents != 0) drain(out_r, result.out, result.out_dropped, cap);
    if (err_index >= 0 && fds[err_index].revents != 0) drain(err_r, result.err, result.err_dropped, cap);
    if (pid_index >= 0 && fds[pid_index].revents != 0) exited = true;
  }

  // Kills the whole group: on timeout everything the child started; after a
  // normal exit any stragglers (the leader is still an unreaped zombie, so
  // the group id cannot have been reused).
  ::kill(-pid, SIGKILL);

  // With every writer dead the pipes reach EOF; bound the wait anyway in case
  // something escaped the group while holding them.
  auto drain_deadline = Clock::now() + std::chrono::seconds(1);
  while ((out_r.valid() || err_r.valid()) && Clock::now() < drain_deadline) {
    pollfd fds[2];
    nfds_t count = 0;
    if (out_r.valid()) fds[count++] = {out_r.get(), POLLIN, 0};
    if (err_r.valid()) fds[count++] = {err_r.get(), POLLIN, 0};
    if (::poll(fds, count, 50) < 0 && errno != EINTR) break;
    drain(out_r, result.out, result.out_dropped, cap);
    drain(err_r, result.err, result.err_dropped, cap);
  }
  finishCapture(result.out, result.out_dropped, cap);
  finishCapture(result.err, result.err_dropped, cap);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    // A timeout shows up as our own SIGKILL; report it as the timeout only.
    if (!result.timed_out) result.term_signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace jinn::compiler
