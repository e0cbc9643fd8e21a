// Runs one child process under limits and captures its output. Used for the
// translator and the C compiler; small and general enough for other callers.
//
// The child gets its own process group (so a timeout kills everything it
// spawned, e.g. cc1 and as under cc), stdin from /dev/null, default signal
// dispositions and an empty signal mask (the host's blocked timer signals and
// ignored SIGPIPE must not leak into it), no inherited descriptors beyond
// 0-2, and RLIMIT_CPU / RLIMIT_AS / RLIMIT_FSIZE / RLIMIT_CORE=0. No shell:
// argv[0] is looked up on PATH with execvp.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "jinn/jinn.h"

namespace jinn::compiler {

struct SubprocessOptions {
  std::vector<std::string> argv;          // argv[0] is the program (PATH lookup)
  std::filesystem::path cwd;              // empty: the parent's working directory
  std::chrono::milliseconds timeout{std::chrono::seconds(300)};  // wall clock; 0 = none
  uint64_t memory_bytes = 0;              // RLIMIT_AS; 0 = unchanged
  uint64_t max_file_bytes = 0;            // RLIMIT_FSIZE; 0 = unchanged
  size_t capture_bytes = 256u << 10;      // per stream; the newest bytes are kept
};

struct SubprocessResult {
  int exit_code = -1;        // valid when term_signal == 0 and !timed_out
  int term_signal = 0;       // the signal that ended the child, or 0
  bool timed_out = false;    // the wall-clock limit expired; the group was killed
  std::string out;           // the last capture_bytes of stdout
  std::string err;           // the last capture_bytes of stderr
  uint64_t out_dropped = 0;  // bytes of stdout read but not kept
  uint64_t err_dropped = 0;
  std::chrono::microseconds elapsed{0};

  bool succeeded() const { return !timed_out && term_signal == 0 && exit_code == 0; }
  // "exited with status 1", "killed by signal 9 (Killed)", "timed out after 1 s".
  std::string describeStatus() const;
};

class Subprocess {
 public:
  explicit Subprocess(SubprocessOptions options) : options_(std::move(options)) {}

  // Runs the child to completion (or until the timeout, after which its whole
  // process group is SIGKILLed and reaped). An Error only when it could not be
  // started at all (e.g. the program was not found); a failing child is a
  // result with succeeded() == false. Thread-safe: no shared state.
  Result<SubprocessResult> run() const;

  const SubprocessOptions& options() const { return options_; }

 private:
  SubprocessOptions options_;
};

}  // namespace jinn::compiler
