// jinn embedding API: compile WebAssembly (WASI preview1 command modules) ahead
// of time and run each call in a fresh, limited sandbox inside this process.
//
// Concepts (docs/architecture.md):
//   Engine  - shared and thread-safe: the compile cache, the compiler, the memory
//             pool. Build one per process.
//   Module  - a compiled, loaded module; immutable and shareable across threads.
//   call    - one fresh instance: input bytes, args, env, preopens and limits in,
//             an Outcome with captured stdout/stderr and timings out. Nothing of
//             one call is visible to the next.
//
// Errors that are the caller's or the module's (unreadable file, invalid wasm,
// unsupported feature, compiler failure) are values (Error), never exceptions.
// A guest's misbehaviour (trap, timeout, memory, output) is an Outcome.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace jinn {

// How a call ended. One enum shared by the CLI, the server and metrics.
enum class Outcome : uint8_t {
  kExited,             // _start returned (exit code 0) or proc_exit(code) was called
  kTrapUnreachable,    // `unreachable` executed (also: abort() in C, panic in Rust)
  kTrapOutOfBounds,    // memory or table access out of bounds
  kTrapIntegerOverflow,     // INT_MIN / -1, or float->int truncation overflow
  kTrapDivideByZero,        // integer division or remainder by zero
  kTrapInvalidConversion,   // float->int truncation of NaN
  kTrapIndirectCall,        // call_indirect: null entry, bad index or type mismatch
  kTrapStackOverflow,       // guest call stack exhausted
  kTimeout,            // stopped by the kill switch at Limits::timeout
  kOutOfMemory,        // the memory limit refused the module's memory (see Limits::memory_bytes)
  kOutputTooLarge,     // stdout or stderr went past its cap; the guest was stopped there
  kHostError,          // the host could not set up the call (e.g. no address space left)
};

// A stable lower-case name for logs, metrics and the CLI ("exited", "trap_unreachable", ...).
std::string_view outcomeName(Outcome outcome);
// A short phrase for messages ("trap: out of bounds", "timeout", "out of memory").
std::string_view describeOutcome(Outcome outcome);
bool isTrap(Outcome outcome);

struct Limits {
  std::chrono::microseconds timeout{std::chrono::seconds(10)};  // wall time of instantiate+run
  uint64_t memory_bytes = 256ull << 20;    // linear memory cap (initial and memory.grow)
  size_t stdout_bytes = 16u << 20;         // stdout capture cap
  size_t stderr_bytes = 1u << 20;          // stderr capture cap
};

// A host directory granted to the guest under `guest_path`. Read-only unless
// `writable`. Nothing is granted unless listed here.
struct Preopen {
  std::filesystem::path host_path;
  std::string guest_path;
  bool writable = false;
};

struct CallOptions {
  std::string_view stdin_data;         // the guest's stdin; EOF after it. Not copied.
  std::vector<std::string> args;       // argv, including argv[0]
  std::vector<std::string> env;        // "KEY=VALUE" entries; the guest sees only these
  std::vector<Preopen> preopens;
  Limits limits;
};

struct Timings {
  double instantiate_us = 0;  // memory slot, data segments, tables
  double run_us = 0;          // _start until return, proc_exit, trap or timeout
  double teardown_us = 0;     // freeing the instance, resetting the memory slot
};

struct CallResult {
  Outcome outcome = Outcome::kExited;
  int exit_code = 0;        // meaningful when outcome == kExited
  std::string stdout_data;  // captured, at most Limits::stdout_bytes
  std::string stderr_data;  // captured, at most Limits::stderr_bytes
  std::string message;      // a short human reason for anything but a clean exit
  Timings timings;
};

struct Error {
  std::string message;  // names the file and the problem, e.g. "uses feature 'simd'"
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit on purpose
  Result(Error error) : v_(std::move(error)) {}      // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

class Module;
class EngineImpl;

struct EngineConfig {
  // Where compiled artifacts are cached. Empty: $JINN_CACHE_DIR, else
  // $XDG_CACHE_HOME/jinn, else $HOME/.cache/jinn.
  std::filesystem::path cache_dir;
  std::string c_compiler = "cc";       // the system C compiler for generated code
  std::string translator = "wasm2c";   // wabt's wasm2c
  std::chrono::seconds compile_timeout{300};
  uint64_t compile_memory_bytes = 2ull << 30;   // address-space limit of each child
  // Memory pool: bytes of each reused slot reset with memset (kept resident);
  // anything the guest touched beyond is returned to the kernel (madvise).
  // 4 MiB: Rust, Go and Zig put a 1 MiB stack first and their data and heap
  // above it, so with 1 MiB every call of theirs paid a madvise and page
  // faults (Rust order-tax under `jinn bench`: 31.7 us a call, 14.0 now).
  size_t keep_resident_bytes = 4u << 20;
  size_t max_idle_slots = 64;         // idle slots kept mapped for reuse
  // Trust policy for precompiled artifacts (`jinn compile --output`,
  // docs/air-gapped.md). An artifact loads only if its whole-file SHA-256 is
  // in the allow-list or it is signed by one of these Ed25519 keys. Both
  // empty: no artifact loads. Read by Engine::create; Engine::setTrust
  // replaces them.
  std::vector<std::filesystem::path> trusted_keys;  // PEM public keys (jinn keygen's NAME.pub)
  std::filesystem::path artifact_allowlist;  // one hex SHA-256 per line; empty: none
};

class Engine {
 public:
  // Builds an engine. Fails when the cache directory cannot be created or a
  // trusted key or the allow-list cannot be read.
  static Result<std::shared_ptr<Engine>> create(EngineConfig config = {});
  ~Engine();

  // Loads a .wasm or .wat file: validates, compiles (or finds it in the
  // cache) and maps it. A second load of the same bytes costs a hash and a
  // map (none while a Module of it is alive). Thread-safe; concurrent loads of
  // one module compile it once.
  // An artifact (recognised by content) goes through loadArtifact's checks.
  Result<std::shared_ptr<Module>> loadFile(const std::filesystem::path& path);
  // As loadFile, from bytes (`name` is used in messages only). `.wat` text is
  // recognised by content.
  Result<std::shared_ptr<Module>> loadBytes(std::string_view bytes, std::string_view name);
  // Loads a standalone artifact written by `jinn compile --output` (for hosts
  // without a C compiler). The file is read once; its format, engine ABI
  // version, hashes and trust (EngineConfig) are checked in memory, and only
  // those verified bytes are mapped, from that buffer. Never needs a
  // compiler.
  Result<std::shared_ptr<Module>> loadArtifact(const std::filesystem::path& path);

  // Re-reads the trust policy for artifacts (the files of
  // EngineConfig::trusted_keys and artifact_allowlist, e.g. on a config
  // reload). Loads from now on verify against it; modules already loaded stay
  // loaded. On an unreadable key or allow-list it fails and changes nothing.
  // Thread-safe.
  Result<bool> setTrust(const std::vector<std::filesystem::path>& trusted_keys,
                        const std::filesystem::path& artifact_allowlist);

  const std::filesystem::path& cacheDir() const;
  EngineImpl& impl() { return *impl_; }

  // What the engine holds now (for metrics).
  struct Stats {
    size_t loaded_modules = 0;     // compiled modules mapped, each shared by its Modules
    size_t pool_slots_in_use = 0;  // memory slots held by calls running now
    size_t pool_slots_idle = 0;    // zeroed slots kept for reuse
  };
  Stats stats() const;

 private:
  explicit Engine(std::unique_ptr<EngineImpl> impl);
  std::unique_ptr<EngineImpl> impl_;
};

// The compiled code stays mapped while any Module of it is alive, and is
// unmapped when the last one is destroyed: keep the shared_ptr for as long as a call may run.
class Module {
 public:
  virtual ~Module() = default;
  // Runs one fresh instance. Thread-safe: any number of threads may call at
  // once. Never throws for anything the guest does.
  virtual CallResult call(const CallOptions& options) const = 0;
  // As above, reusing `result`'s buffers (the server's and bench's hot path).
  virtual void call(const CallOptions& options, CallResult& result) const = 0;
  // As above with `stdin_data` and `timeout` in place of the options' own:
  // one CallOptions per function, shared by every thread calling it, and no
  // copy of its args, env and preopens per call.
  virtual void call(const CallOptions& options, std::string_view stdin_data,
                    std::chrono::microseconds timeout, CallResult& result) const = 0;
  // Hex SHA-256 of the wasm bytes.
  virtual const std::string& hash() const = 0;
  // The compiled shared object backing this module (in the cache), or the
  // artifact file it was loaded from.
  virtual const std::filesystem::path& artifactPath() const = 0;
};

}  // namespace jinn
