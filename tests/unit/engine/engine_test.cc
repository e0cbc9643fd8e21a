// Behaviour tests of the public embedding API (include/jinn/jinn.h), run
// against the guests in tests/guests. Only the public API is used, so these
// tests state the contract, not the implementation.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "jinn/jinn.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using jinn::CallOptions;
using jinn::CallResult;
using jinn::Engine;
using jinn::EngineConfig;
using jinn::Limits;
using jinn::Module;
using jinn::Outcome;

namespace {

// ---------------------------------------------------------------------------
// Shared fixtures: one engine and one fresh cache directory for the whole
// binary, so the guests are compiled once per run, never found in a cache
// left over by an older engine.

fs::path makeTempDir(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + ".XXXXXX")).string();
  char* made = ::mkdtemp(pattern.data());
  if (made == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern << ": " << std::strerror(errno);
    return {};
  }
  return fs::path(made);
}

class EngineEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    root_ = makeTempDir("jinn_engine_test");
    EngineConfig config;
    config.cache_dir = root_ / "cache";
    auto engine = Engine::create(config);
    ASSERT_TRUE(engine.ok()) << engine.error().message;
    engine_ = engine.value();
  }
  void TearDown() override {
    {
      std::lock_guard lock(mutex_);
      modules_.clear();
    }
    engine_.reset();
    std::error_code ec;
    if (!root_.empty()) fs::remove_all(root_, ec);
  }

  static EngineEnvironment* instance;
  std::shared_ptr<Engine> engine_;
  fs::path root_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Module>> modules_;
};
// Registered before main (gtest_main) runs; gtest owns the object.
EngineEnvironment* EngineEnvironment::instance = [] {
  auto* env = new EngineEnvironment;
  ::testing::AddGlobalTestEnvironment(env);
  return env;
}();

Engine& engine() { return *EngineEnvironment::instance->engine_; }
const fs::path& scratchRoot() { return EngineEnvironment::instance->root_; }

fs::path guestPath(const std::string& name) { return fs::path(JINN_GUEST_DIR) / (name + ".wasm"); }

// Loads a guest once per binary. Returns null (and records a failure) when the
// engine refuses it, so callers can ASSERT_NE(..., nullptr).
std::shared_ptr<Module> guest(const std::string& name) {
  auto* env = EngineEnvironment::instance;
  {
    std::lock_guard lock(env->mutex_);
    if (auto it = env->modules_.find(name); it != env->modules_.end()) return it->second;
  }
  auto loaded = env->engine_->loadFile(guestPath(name));
  if (!loaded.ok()) {
    ADD_FAILURE() << "loadFile(" << guestPath(name) << ") failed: " << loaded.error().message;
    return nullptr;
  }
  std::lock_guard lock(env->mutex_);
  env->modules_[name] = loaded.value();
  return loaded.value();
}

CallOptions opts(std::vector<std::string> args = {}, std::string_view stdin_data = {}) {
  CallOptions o;
  o.args = std::move(args);
  o.stdin_data = stdin_data;
  return o;
}

std::string describe(const CallResult& r) {
  std::string s = "outcome=" + std::string(jinn::outcomeName(r.outcome)) +
                  " exit_code=" + std::to_string(r.exit_code) + " message='" + r.message + "'";
  auto clip = [](const std::string& t) {
    return t.size() > 300 ? t.substr(0, 300) + "...(" + std::to_string(t.size()) + " bytes)" : t;
  };
  s += " stdout='" + clip(r.stdout_data) + "' stderr='" + clip(r.stderr_data) + "'";
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Every regular file under `dir`, recursively.
std::vector<fs::path> filesUnder(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) out.push_back(it->path());
  }
  return out;
}

std::string joinPaths(const std::vector<fs::path>& paths) {
  std::string s;
  for (const auto& p : paths) s += "\n  " + p.string();
  return s;
}

void writeFile(const fs::path& path, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << "writing " << path;
}

std::string readFile(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void expectHelloWorks() {
  auto hello = guest("hello");
  ASSERT_NE(hello, nullptr);
  CallResult r = hello->call(opts({"hello"}));
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.stdout_data, "hello, world\n") << describe(r);
}

// ---------------------------------------------------------------------------
// Clean runs

TEST(Call, HelloWorld) {
  auto m = guest("hello");
  ASSERT_NE(m, nullptr);
  CallResult r = m->call(opts({"hello"}));
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_data, "hello, world\n");
  EXPECT_EQ(r.stderr_data, "");
  EXPECT_GE(r.timings.instantiate_us, 0);
  EXPECT_GT(r.timings.run_us, 0);
  EXPECT_GE(r.timings.teardown_us, 0);
}

TEST(Call, HelloWithNoArgvAtAll) {
  // An empty argv is legal for WASI; the guest must still run.
  auto m = guest("hello");
  ASSERT_NE(m, nullptr);
  CallResult r = m->call(CallOptions{});
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_EQ(r.stdout_data, "hello, world\n");
}

TEST(Call, RepeatedCallsAreIndependent) {
  auto m = guest("hello");
  ASSERT_NE(m, nullptr);
  for (int i = 0; i < 200; ++i) {
    CallResult r = m->call(opts({"hello"}));
    ASSERT_EQ(r.outcome, Outcome::kExited) << "call " << i << ": " << describe(r);
    ASSERT_EQ(r.stdout_data, "hello, world\n") << "call " << i;
  }
}

TEST(Module, HashAndArtifact) {
  auto m = guest("hello");
  ASSERT_NE(m, nullptr);
  const std::string& hash = m->hash();
  EXPECT_EQ(hash.size(), 64u) << hash;
  EXPECT_TRUE(std::all_of(hash.begin(), hash.end(), [](char c) { return std::isxdigit(c) && !std::isupper(c); }))
      << hash;
  EXPECT_EQ(m->artifactPath().extension(), ".so") << m->artifactPath();
  EXPECT_TRUE(fs::is_regular_file(m->artifactPath())) << m->artifactPath();
  // The artifact lives in this engine's cache.
  const std::string cache = fs::weakly_canonical(engine().cacheDir()).string();
  EXPECT_EQ(fs::weakly_canonical(m->artifactPath()).string().rfind(cache, 0), 0u)
      << m->artifactPath() << " not under " << cache;

  // Loading the same bytes again finds the same artifact; different bytes do not.
  auto again = engine().loadFile(guestPath("hello"));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again.value()->hash(), hash);
  EXPECT_EQ(again.value()->artifactPath(), m->artifactPath());
  auto other = guest("echo");
  ASSERT_NE(other, nullptr);
  EXPECT_NE(other->hash(), hash);
  EXPECT_NE(other->artifactPath(), m->artifactPath());
}

TEST(Module, LoadBytesMatchesLoadFile) {
  const std::string bytes = readFile(guestPath("hello"));
  ASSERT_FALSE(bytes.empty());
  auto m = engine().loadBytes(bytes, "hello-from-bytes");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m.value()->hash(), guest("hello")->hash());
  CallResult r = m.value()->call(opts({"hello"}));
  EXPECT_EQ(r.stdout_data, "hello, world\n") << describe(r);
}

// A hello world in the text format, written here so the test does not depend
// on a prebuilt file.
constexpr std::string_view kHelloWat = R"((module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi from wat\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 12))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
)";

TEST(Module, LoadsTextFormat) {
  const fs::path file = scratchRoot() / "hi.wat";
  writeFile(file, kHelloWat);
  auto m = engine().loadFile(file);
  ASSERT_TRUE(m.ok()) << m.error().message;
  CallResult r = m.value()->call(opts({"hi"}));
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_EQ(r.stdout_data, "hi from wat\n");

  auto from_bytes = engine().loadBytes(kHelloWat, "inline.wat");
  ASSERT_TRUE(from_bytes.ok()) << from_bytes.error().message;
  EXPECT_EQ(from_bytes.value()->call(opts({"hi"})).stdout_data, "hi from wat\n");
}

// Issue 5: a loaded .wat is found in the cache without being parsed again,
// by its text's hash; a file rewritten in place is never served the old
// module, and going back finds the old one again.
TEST(Module, RewrittenTextFileRunsItsNewCode) {
  const fs::path file = scratchRoot() / "rewritten.wat";
  auto loadAndRun = [&](std::string_view greeting) {
    std::string text(kHelloWat);
    text.replace(text.find("hi from wat"), 11, greeting);
    writeFile(file, text);
    auto m = engine().loadFile(file);
    if (!m.ok()) return "load failed: " + m.error().message;
    return m.value()->call(opts({"hi"})).stdout_data;
  };
  EXPECT_EQ(loadAndRun("first wat!!"), "first wat!!\n");
  EXPECT_EQ(loadAndRun("second wat!"), "second wat!\n");
  EXPECT_EQ(loadAndRun("first wat!!"), "first wat!!\n");
}

TEST(Module, RustStdGuest) {
#ifdef JINN_HAVE_RUST_GUEST
  auto m = guest("rust_hello");
  ASSERT_NE(m, nullptr);
  CallResult r = m->call(opts({"rust_hello"}));
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_data, "hello from rust\n");
#else
  GTEST_SKIP() << "no wasm32-wasi rustc on this machine";
#endif
}

TEST(Call, EchoText) {
  auto m = guest("echo");
  ASSERT_NE(m, nullptr);
  const std::string input = "line one\nline two without newline";
  CallResult r = m->call(opts({"echo"}, input));
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_data, input);
}

TEST(Call, EchoEmptyStdin) {
  auto m = guest("echo");
  ASSERT_NE(m, nullptr);
  CallResult r = m->call(opts({"echo"}, ""));
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_EQ(r.stdout_data, "");
}

TEST(Call, EchoEveryByteValue) {
  auto m = guest("echo");
  ASSERT_NE(m, nullptr);
  std::string input;
  for (int round = 0; round < 4; ++round)
    for (int b = 0; b < 256; ++b) input.push_back(static_cast<char>(b));
  CallResult r = m->call(opts({"echo"}, input));
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  ASSERT_EQ(r.stdout_data.size(), input.size());
  EXPECT_TRUE(r.stdout_data == input) << "binary stdin did not come back byte for byte";
}

TEST(Call, EchoOneMebibyte) {
  auto m = guest("echo");
  ASSERT_NE(m, nullptr);
  std::string input(1u << 20, '\0');
  std::mt19937 rng(12345);
  for (auto& c : input) c = static_cast<char>(rng());
  CallResult r = m->call(opts({"echo"}, input));
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  ASSERT_EQ(r.stdout_data.size(), input.size());
  EXPECT_TRUE(r.stdout_data == input) << "1 MiB stdin did not come back byte for byte";
}

TEST(Call, StdoutAndStderrAreSeparate) {
  auto m = guest("streams");
  ASSERT_NE(m, nullptr);
  CallResult r = m->call(opts({"streams"}));
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.stdout_data, "to stdout\n");
  EXPECT_EQ(r.stderr_data, "to stderr\n");
}

// ---------------------------------------------------------------------------
// Arguments, environment, exit codes

TEST(Call, ArgsAndEnvAreExactlyWhatWasGiven) {
  auto m = guest("args_env");
  ASSERT_NE(m, nullptr);
  CallOptions o = opts({"prog", "one", "two words", ""});
  o.env = {"A=1", "EMPTY=", "SECRET=s3cr3t"};
  CallResult r = m->call(o);
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_EQ(r.stdout_data,
            "arg: prog\narg: one\narg: two words\narg: \n"
            "env: A=1\nenv: EMPTY=\nenv: SECRET=s3cr3t\n"
            "secret: s3cr3t\n");
}

TEST(Call, SecretUnsetUnlessPassed) {
  ASSERT_EQ(::setenv("SECRET", "host-secret", 1), 0);  // the host has it; the guest must not
  auto m = guest("args_env");
  ASSERT_NE(m, nullptr);
  CallResult r = m->call(opts({"prog"}));
  ::unsetenv("SECRET");
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_EQ(r.stdout_data, "arg: prog\nsecret: (unset)\n");
}

TEST(Call, HostEnvironmentNeverVisible) {
  // Make sure the host really has these, so "unset" means something.
  ::setenv("HOME", "/root-of-host", 0);
  ::setenv("PATH", "/usr/bin:/bin", 0);
  auto m = guest("getenv_denied");
  ASSERT_NE(m, nullptr);
  CallResult r = m->call(opts({"getenv_denied"}));
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_EQ(r.stdout_data, "HOME unset\nPATH unset\n");

  // Granting one variable grants only that one.
  CallOptions o = opts({"getenv_denied"});
  o.env = {"PATH=/guest"};
  r = m->call(o);
  EXPECT_EQ(r.stdout_data, "HOME unset\nPATH set\n") << describe(r);
}

TEST(Call, ExitCodesPropagate) {
  auto m = guest("exit_code");
  ASSERT_NE(m, nullptr);
  for (int code : {0, 1, 42, 255}) {
    CallResult r = m->call(opts({"exit_code", std::to_string(code)}));
    EXPECT_EQ(r.outcome, Outcome::kExited) << "code " << code << ": " << describe(r);
    EXPECT_EQ(r.exit_code, code) << describe(r);
  }
}

// ---------------------------------------------------------------------------
// Traps: each kind maps to its Outcome, and the module (and the engine) keep
// working afterwards.

struct TrapCase {
  const char* guest;
  Outcome outcome;
};

class TrapTest : public ::testing::TestWithParam<TrapCase> {};

TEST_P(TrapTest, MapsToOutcomeAndRecovers) {
  const TrapCase& tc = GetParam();
  auto m = guest(tc.guest);
  ASSERT_NE(m, nullptr);
  for (int round = 0; round < 3; ++round) {
    CallResult r = m->call(opts({tc.guest, "trap"}));
    EXPECT_EQ(r.outcome, tc.outcome) << "round " << round << ": " << describe(r);
    EXPECT_TRUE(jinn::isTrap(r.outcome)) << describe(r);
    EXPECT_FALSE(r.message.empty()) << "a trap should come with a reason";
    EXPECT_EQ(r.stdout_data, "") << describe(r);

    // Same module, no argument: runs normally.
    CallResult ok = m->call(opts({tc.guest}));
    EXPECT_EQ(ok.outcome, Outcome::kExited) << "after trap, round " << round << ": " << describe(ok);
    EXPECT_EQ(ok.exit_code, 0);
    EXPECT_EQ(ok.stdout_data, "ok\n");
    expectHelloWorks();
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, TrapTest,
    ::testing::Values(TrapCase{"trap_unreachable", Outcome::kTrapUnreachable},
                      TrapCase{"trap_oob_load", Outcome::kTrapOutOfBounds},
                      TrapCase{"trap_oob_store", Outcome::kTrapOutOfBounds},
                      TrapCase{"trap_div_zero", Outcome::kTrapDivideByZero},
                      TrapCase{"trap_int_overflow", Outcome::kTrapIntegerOverflow},
                      TrapCase{"trap_invalid_conversion", Outcome::kTrapInvalidConversion},
                      TrapCase{"trap_indirect_call", Outcome::kTrapIndirectCall},
                      TrapCase{"trap_stack_overflow", Outcome::kTrapStackOverflow}),
    [](const ::testing::TestParamInfo<TrapCase>& info) { return std::string(info.param.guest); });

TEST(Trap, StackOverflowOnAFreshThread) {
  // The alternate signal stack and guard must exist on every thread, not only
  // the first one that ran a guest.
  auto m = guest("trap_stack_overflow");
  ASSERT_NE(m, nullptr);
  CallResult r;
  std::thread([&] { r = m->call(opts({"x", "trap"})); }).join();
  EXPECT_EQ(r.outcome, Outcome::kTrapStackOverflow) << describe(r);
}

// ---------------------------------------------------------------------------
// Timeouts

double wallMsOf(const std::function<void()>& fn) {
  auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void expectSpinStoppedAt(std::chrono::milliseconds limit) {
  auto m = guest("spin");
  ASSERT_NE(m, nullptr);
  CallOptions o = opts({"spin"});
  o.limits.timeout = limit;
  CallResult r;
  const double wall_ms = wallMsOf([&] { r = m->call(o); });
  const double limit_ms = static_cast<double>(limit.count());
  EXPECT_EQ(r.outcome, Outcome::kTimeout) << describe(r);
  // The timeout covers instantiate + run; it may not fire early.
  EXPECT_GE(r.timings.instantiate_us + r.timings.run_us, limit_ms * 1000 - 100) << describe(r);
  EXPECT_LE(r.timings.run_us, (limit_ms + 10) * 1000) << describe(r);
  EXPECT_GE(wall_ms, limit_ms) << "stopped before the limit";
  EXPECT_LE(wall_ms, limit_ms + 10) << "stopped more than 10 ms late";
  EXPECT_FALSE(r.message.empty());
  expectHelloWorks();
}

TEST(Timeout, SpinStoppedAt50ms) { expectSpinStoppedAt(50ms); }
TEST(Timeout, SpinStoppedAt200ms) { expectSpinStoppedAt(200ms); }

TEST(Timeout, RepeatedTimeoutsLeaveTheHostHealthy) {
  auto m = guest("spin");
  ASSERT_NE(m, nullptr);
  CallOptions o = opts({"spin"});
  o.limits.timeout = 10ms;
  for (int i = 0; i < 20; ++i) {
    CallResult r = m->call(o);
    ASSERT_EQ(r.outcome, Outcome::kTimeout) << "round " << i << ": " << describe(r);
  }
  expectHelloWorks();
}

// A deadline already past when the timer is set (a thread preempted longer
// than the timeout, on a busy machine) fires during timer_settime itself.
// The next call on the thread must still get its own timer: a spin is
// stopped, not left running forever. Run in a thread of its own, so a
// regression hangs that thread and the check below fails rather than the
// whole test binary.
TEST(Timeout, ADeadlinePassedBeforeArmingLeavesTheNextCallGuarded) {
  auto m = guest("spin");
  ASSERT_NE(m, nullptr);
  std::atomic<int> stage{0};
  std::vector<Outcome> outcomes;
  std::thread worker([&] {
    CallOptions o = opts({"spin"});
    for (int i = 0; i < 50; ++i) {
      o.limits.timeout = 1us;  // past by the time the timer is set
      outcomes.push_back(m->call(o).outcome);
      o.limits.timeout = 20ms;
      outcomes.push_back(m->call(o).outcome);
    }
    stage = 1;
  });
  for (int i = 0; i < 300 && stage.load() == 0; ++i) std::this_thread::sleep_for(10ms);
  if (stage.load() != 1) {
    worker.detach();  // stuck in the guest for good
    FAIL() << "a spinning call was never stopped: the kill switch was lost";
  }
  worker.join();
  for (Outcome o : outcomes) EXPECT_EQ(o, Outcome::kTimeout);
}

TEST(Timeout, TimerNeverFiresAfterTheCallReturned) {
  // A short limit on a quick call: the kill switch must be disarmed when the
  // call returns, or it would fire later into host code (this sleep).
  auto m = guest("hello");
  ASSERT_NE(m, nullptr);
  CallOptions o = opts({"hello"});
  o.limits.timeout = 5ms;
  for (int i = 0; i < 20; ++i) {
    CallResult r = m->call(o);
    ASSERT_EQ(r.outcome, Outcome::kExited) << describe(r);
    ASSERT_EQ(r.stdout_data, "hello, world\n");
  }
  std::this_thread::sleep_for(50ms);
  // A long computation-free host section after the calls: still alive.
  volatile uint64_t sink = 0;
  for (uint64_t i = 0; i < 50'000'000; ++i) sink = sink + i;
  expectHelloWorks();
}

// ---------------------------------------------------------------------------
// Memory limits

int pagesPrinted(const std::string& out) {
  // grow.wat prints "pages <n>\n".
  if (out.rfind("pages ", 0) != 0) return -1;
  return std::atoi(out.c_str() + 6);
}

TEST(Memory, GrowIsRefusedAtTheLimit) {
  auto m = guest("grow");
  ASSERT_NE(m, nullptr);
  CallOptions o = opts({"grow"});
  o.limits.memory_bytes = 4u << 20;
  CallResult r = m->call(o);
  // The guest exits cleanly after memory.grow returned -1.
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  const int pages = pagesPrinted(r.stdout_data);
  ASSERT_GT(pages, 0) << describe(r);
  EXPECT_LE(pages, 64) << "grew past a 4 MiB limit";
  EXPECT_EQ(pages, 64) << "a 4 MiB limit should allow exactly 64 pages";
}

TEST(Memory, TrapAfterRefusedGrowIsOutOfMemory) {
  auto m = guest("grow");
  ASSERT_NE(m, nullptr);
  CallOptions o = opts({"grow", "trap"});
  o.limits.memory_bytes = 4u << 20;
  CallResult r = m->call(o);
  EXPECT_EQ(r.outcome, Outcome::kOutOfMemory) << describe(r);
  const int pages = pagesPrinted(r.stdout_data);
  EXPECT_GT(pages, 0) << describe(r);
  EXPECT_LE(pages, 64) << describe(r);
  expectHelloWorks();
}

TEST(Memory, MallocUntilNullThenAbortIsOutOfMemory) {
  auto m = guest("grow_malloc");
  ASSERT_NE(m, nullptr);
  CallOptions o = opts({"grow_malloc"});
  o.limits.memory_bytes = 4u << 20;
  CallResult r = m->call(o);
  EXPECT_EQ(r.outcome, Outcome::kOutOfMemory) << describe(r);
  // Well under 64 blocks of 64 KiB fit: the guest's own data and stack use some.
  EXPECT_NE(r.stderr_data.find("blocks "), std::string::npos) << describe(r);
  EXPECT_LE(std::atoi(r.stderr_data.c_str() + 7), 64) << describe(r);
}

TEST(Memory, TrapWithoutRefusedGrowIsStillATrap) {
  // A memory limit alone must not turn every trap into kOutOfMemory.
  auto m = guest("trap_unreachable");
  ASSERT_NE(m, nullptr);
  CallOptions o = opts({"t", "trap"});
  o.limits.memory_bytes = 4u << 20;
  CallResult r = m->call(o);
  EXPECT_EQ(r.outcome, Outcome::kTrapUnreachable) << describe(r);
}

TEST(Memory, RefusedGrowDoesNotStickToTheNextCall) {
  // After a call that hit the limit, a call of the same module under the
  // default limit grows freely again.
  auto m = guest("grow");
  ASSERT_NE(m, nullptr);
  CallOptions small = opts({"grow", "trap"});
  small.limits.memory_bytes = 1u << 20;
  CallResult r = m->call(small);
  EXPECT_EQ(r.outcome, Outcome::kOutOfMemory) << describe(r);
  EXPECT_EQ(pagesPrinted(r.stdout_data), 16) << describe(r);

  CallOptions larger = opts({"grow"});
  larger.limits.memory_bytes = 8u << 20;
  r = m->call(larger);
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_EQ(pagesPrinted(r.stdout_data), 128) << describe(r);
}

TEST(Memory, DefaultLimitIs256MiB) {
  auto m = guest("grow");
  ASSERT_NE(m, nullptr);
  CallResult r = m->call(opts({"grow"}));
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_EQ(pagesPrinted(r.stdout_data), static_cast<int>(Limits{}.memory_bytes / 65536)) << describe(r);
}

TEST(Memory, WholeAddressSpaceLimit) {
  // A 4 GiB limit (what the CLI uses) is the whole wasm32 space. Growing to
  // the top must be safe (wasm_rt_memory_t.size is 32-bit), and a grow the
  // engine refuses there is still a refused grow: a trap after it is
  // kOutOfMemory like under any smaller limit.
  auto m = guest("grow");
  ASSERT_NE(m, nullptr);
  CallOptions o = opts({"grow"});
  o.limits.memory_bytes = 4ull << 30;
  CallResult r = m->call(o);
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  const int pages = pagesPrinted(r.stdout_data);
  EXPECT_GE(pages, 65535) << describe(r);
  EXPECT_LE(pages, 65536) << describe(r);

  o.args = {"grow", "trap"};
  r = m->call(o);
  EXPECT_EQ(r.outcome, Outcome::kOutOfMemory) << describe(r);
  expectHelloWorks();
}

TEST(Memory, InitialMemoryOverTheLimit) {
  auto m = guest("big_memory");  // 100 pages = 6.25 MiB
  ASSERT_NE(m, nullptr);
  CallOptions o = opts({"big_memory"});
  o.limits.memory_bytes = 1u << 20;
  CallResult r = m->call(o);
  EXPECT_EQ(r.outcome, Outcome::kOutOfMemory) << describe(r);
  EXPECT_FALSE(r.message.empty());

  o.limits.memory_bytes = 8u << 20;
  r = m->call(o);
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  expectHelloWorks();
}

// ---------------------------------------------------------------------------
// Output caps

TEST(Output, StdoutFloodStopsAtTheCap) {
  auto m = guest("flood");
  ASSERT_NE(m, nullptr);
  CallOptions o = opts({"flood"});
  o.limits.stdout_bytes = 64u << 10;
  CallResult r = m->call(o);
  EXPECT_EQ(r.outcome, Outcome::kOutputTooLarge) << describe(r);
  EXPECT_EQ(r.stdout_data.size(), 65536u);
  EXPECT_EQ(r.stdout_data.find_first_not_of('x'), std::string::npos) << "captured bytes are not the guest's";
  expectHelloWorks();
}

TEST(Output, StderrFloodStopsAtTheCap) {
  auto m = guest("flood");
  ASSERT_NE(m, nullptr);
  CallOptions o = opts({"flood", "stderr"});
  o.limits.stderr_bytes = 64u << 10;
  CallResult r = m->call(o);
  EXPECT_EQ(r.outcome, Outcome::kOutputTooLarge) << describe(r);
  EXPECT_EQ(r.stderr_data.size(), 65536u);
  EXPECT_EQ(r.stdout_data.size(), 0u);
}

TEST(Output, ExactlyTheCapIsAllowedOneMoreIsNot) {
  auto m = guest("echo");
  ASSERT_NE(m, nullptr);
  const std::string exact(65536, 'e');
  CallOptions o = opts({"echo"}, exact);
  o.limits.stdout_bytes = 65536;
  CallResult r = m->call(o);
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_EQ(r.stdout_data.size(), 65536u);

  const std::string over(65537, 'o');
  o.stdin_data = over;
  r = m->call(o);
  EXPECT_EQ(r.outcome, Outcome::kOutputTooLarge) << describe(r);
  EXPECT_EQ(r.stdout_data, over.substr(0, 65536));
}

// ---------------------------------------------------------------------------
// Filesystem sandbox

TEST(Sandbox, NoPreopensMeansNoFiles) {
  auto m = guest("open_file");
  ASSERT_NE(m, nullptr);
  CallResult r = m->call(opts({"open_file"}));
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_EQ(r.stdout_data.find("opened"), std::string::npos) << r.stdout_data;
  EXPECT_NE(r.stdout_data.find("failed /etc/passwd: "), std::string::npos) << r.stdout_data;
  EXPECT_NE(r.stdout_data.find("failed data.txt: "), std::string::npos) << r.stdout_data;
  EXPECT_NE(r.stdout_data.find("result: denied\n"), std::string::npos) << r.stdout_data;
}

TEST(Sandbox, PreopenGrantsThatDirectoryOnly) {
  const fs::path outside = scratchRoot() / "sandbox";
  const fs::path granted = outside / "granted";
  fs::create_directories(granted);
  writeFile(granted / "hello.txt", "granted content\n");
  writeFile(outside / "outside.txt", "must not be readable\n");

  auto m = guest("open_file");
  ASSERT_NE(m, nullptr);
  CallOptions o = opts({"open_file", "/data/hello.txt", "/data/../outside.txt", "/etc/passwd",
                        "/data/missing.txt"});
  o.preopens.push_back(jinn::Preopen{granted, "/data", false});
  CallResult r = m->call(o);
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_NE(r.stdout_data.find("opened /data/hello.txt: granted content\n"), std::string::npos) << r.stdout_data;
  EXPECT_NE(r.stdout_data.find("failed /data/../outside.txt: "), std::string::npos) << r.stdout_data;
  EXPECT_NE(r.stdout_data.find("failed /etc/passwd: "), std::string::npos) << r.stdout_data;
  EXPECT_NE(r.stdout_data.find("failed /data/missing.txt: "), std::string::npos) << r.stdout_data;
  EXPECT_EQ(r.stdout_data.find("must not be readable"), std::string::npos) << r.stdout_data;

  // The grant was for that call only.
  CallResult next = m->call(opts({"open_file", "/data/hello.txt"}));
  EXPECT_NE(next.stdout_data.find("result: denied\n"), std::string::npos) << describe(next);
}

TEST(Sandbox, SymlinkOutOfAPreopenIsRefused) {
  const fs::path granted = scratchRoot() / "symlinked";
  fs::create_directories(granted);
  std::error_code ec;
  fs::create_symlink("/etc/passwd", granted / "passwd", ec);
  ASSERT_FALSE(ec) << ec.message();
  auto m = guest("open_file");
  ASSERT_NE(m, nullptr);
  CallOptions o = opts({"open_file", "/data/passwd"});
  o.preopens.push_back(jinn::Preopen{granted, "/data", false});
  CallResult r = m->call(o);
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_NE(r.stdout_data.find("result: denied\n"), std::string::npos) << r.stdout_data;
  EXPECT_EQ(r.stdout_data.find("root:"), std::string::npos) << r.stdout_data;
}

// ---------------------------------------------------------------------------
// Pool reuse: nothing of one call is visible to the next

void expectClean(const std::shared_ptr<Module>& reader, const std::string& context) {
  CallResult r = reader->call(opts({"secret", "r"}));
  ASSERT_EQ(r.outcome, Outcome::kExited) << context << ": " << describe(r);
  ASSERT_EQ(r.stdout_data, "clean\n") << context;
}

// Rounds of: a write in `mode` by a and b in turn, then a read by the same
// module, then another write and a read by the other module.
void writeThenRead(const std::shared_ptr<Module>& a, const std::shared_ptr<Module>& b,
                   const char* mode, int rounds) {
  for (int round = 0; round < rounds; ++round) {
    const auto& writer = (round % 2) ? b : a;
    CallResult w = writer->call(opts({"secret", mode}));
    ASSERT_EQ(w.outcome, Outcome::kExited) << "round " << round << " write: " << describe(w);
    ASSERT_EQ(w.stdout_data, "") << "round " << round << " write: " << describe(w);
    // Same module, then the other module, both right after a write.
    expectClean(writer, "round " + std::to_string(round) + " same module");
    ASSERT_NO_FATAL_FAILURE();
    writer->call(opts({"secret", mode}));
    expectClean((round % 2) ? a : b, "round " + std::to_string(round) + " other module");
    ASSERT_NO_FATAL_FAILURE();
  }
}

TEST(Pool, SecretNeverLeaksToTheNextCall) {
  auto a = guest("secret_a");
  auto b = guest("secret_b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(a->hash(), b->hash());
  expectClean(a, "first read");
  writeThenRead(a, b, "w", 50);
}

TEST(Pool, SecretNeverLeaksAfterATrapOrTimeout) {
  auto a = guest("secret_a");
  ASSERT_NE(a, nullptr);
  for (int round = 0; round < 10; ++round) {
    CallResult t = a->call(opts({"secret", "t"}));
    ASSERT_EQ(t.outcome, Outcome::kTrapUnreachable) << describe(t);
    expectClean(a, "after trap, round " + std::to_string(round));
    ASSERT_NO_FATAL_FAILURE();

    CallOptions spin = opts({"secret", "s"});
    spin.limits.timeout = 20ms;
    CallResult s = a->call(spin);
    ASSERT_EQ(s.outcome, Outcome::kTimeout) << describe(s);
    expectClean(a, "after timeout, round " + std::to_string(round));
    ASSERT_NO_FATAL_FAILURE();
  }
}

// A writer that reaches a few bytes of many 1 KiB dirty-map blocks, some
// stores straddling a block or a page: a block the marks or the reset missed
// would show in the next call.
TEST(Pool, SparseWritesNeverLeak) {
  auto a = guest("secret_a");
  auto b = guest("secret_b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  writeThenRead(a, b, "p", 20);
}

// The same with one wasm page kept resident: the grown memory is reset by
// giving whole pages around the marked blocks back to the kernel.
TEST(Pool, SparseWritesNeverLeakWhenPagesGoBackToTheKernel) {
  EngineConfig config;
  config.cache_dir = scratchRoot() / "cache";
  config.keep_resident_bytes = 64u << 10;
  auto engine = Engine::create(config);
  ASSERT_TRUE(engine.ok()) << engine.error().message;
  auto loaded = engine.value()->loadFile(guestPath("secret_a"));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const std::shared_ptr<Module> m = loaded.value();
  for (int round = 0; round < 10; ++round) {
    for (const char* mode : {"p", "w"}) {
      CallResult w = m->call(opts({"secret", mode}));
      ASSERT_EQ(w.outcome, Outcome::kExited) << mode << " round " << round << ": " << describe(w);
      expectClean(m, std::string("after ") + mode + ", round " + std::to_string(round));
      ASSERT_NO_FATAL_FAILURE();
    }
  }
}

// The host marks exactly the bytes it writes into a guest's read buffer
// (fd_read of stdin): what it wrote there is gone before the next call.
TEST(Pool, StdinNeverLeaksToTheNextCall) {
  auto echo = guest("echo");
  auto reader = guest("secret_a");
  ASSERT_NE(echo, nullptr);
  ASSERT_NE(reader, nullptr);
  std::string input;
  for (int i = 0; input.size() < 200000; ++i) input += "stdin-secret-" + std::to_string(i) + ";";
  for (int round = 0; round < 10; ++round) {
    CallResult r = echo->call(opts({"echo"}, input.substr(0, input.size() - round * 777)));
    ASSERT_EQ(r.outcome, Outcome::kExited) << describe(r);
    ASSERT_EQ(r.stdout_data.size(), input.size() - round * 777);
    expectClean(reader, "after an echo of stdin, round " + std::to_string(round));
    ASSERT_NO_FATAL_FAILURE();
  }
}

TEST(Pool, SecretNeverLeaksAcrossThreads) {
  // Writers and readers on different threads share the pool.
  auto a = guest("secret_a");
  auto b = guest("secret_b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::atomic<int> leaks{0};
  std::atomic<int> bad{0};
  std::mutex first_mutex;
  std::string first;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const auto& m = ((t + i) % 2) ? a : b;
        CallResult r = m->call(opts({"secret", (t % 2) ? "w" : "r"}));
        const bool ok = r.outcome == Outcome::kExited && r.stdout_data == ((t % 2) ? "" : "clean\n");
        if (!ok) {
          (r.stdout_data.rfind("LEAK", 0) == 0 ? leaks : bad)++;
          std::lock_guard lock(first_mutex);
          if (first.empty()) first = describe(r);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(leaks.load(), 0) << first;
  EXPECT_EQ(bad.load(), 0) << first;
}

// ---------------------------------------------------------------------------
// Reusing a CallResult must not carry anything over

TEST(CallResult, ReuseResetsEveryField) {
  auto echo = guest("echo");
  auto trap = guest("trap_unreachable");
  auto streams = guest("streams");
  auto hello = guest("hello");
  ASSERT_TRUE(echo && trap && streams && hello);
  CallResult r;
  const std::string long_input(100000, 'L');
  echo->call(opts({"echo"}, long_input), r);
  ASSERT_EQ(r.stdout_data, long_input);
  streams->call(opts({"streams"}), r);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.stderr_data, "to stderr\n");
  trap->call(opts({"t", "trap"}), r);
  EXPECT_EQ(r.outcome, Outcome::kTrapUnreachable) << describe(r);
  EXPECT_EQ(r.stdout_data, "");
  EXPECT_EQ(r.stderr_data, "");
  hello->call(opts({"hello"}), r);
  EXPECT_EQ(r.outcome, Outcome::kExited) << describe(r);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_data, "hello, world\n");
  EXPECT_EQ(r.stderr_data, "");
  EXPECT_EQ(r.message, "") << "a clean exit has no message";
}

// ---------------------------------------------------------------------------
// Outcome names

TEST(OutcomeNames, StableLowerCaseAndDistinct) {
  const std::vector<Outcome> all = {
      Outcome::kExited,           Outcome::kTrapUnreachable,     Outcome::kTrapOutOfBounds,
      Outcome::kTrapIntegerOverflow, Outcome::kTrapDivideByZero, Outcome::kTrapInvalidConversion,
      Outcome::kTrapIndirectCall, Outcome::kTrapStackOverflow,   Outcome::kTimeout,
      Outcome::kOutOfMemory,      Outcome::kOutputTooLarge,      Outcome::kHostError};
  std::vector<std::string> names;
  for (Outcome o : all) {
    std::string name(jinn::outcomeName(o));
    EXPECT_FALSE(name.empty());
    EXPECT_EQ(name, lower(name));
    EXPECT_EQ(name.find(' '), std::string::npos) << name;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end()) << "two outcomes share a name";
  EXPECT_EQ(jinn::outcomeName(Outcome::kExited), "exited");
  EXPECT_EQ(jinn::outcomeName(Outcome::kTrapUnreachable), "trap_unreachable");
  for (Outcome o : all) {
    const bool trap = o != Outcome::kExited && o != Outcome::kTimeout && o != Outcome::kOutOfMemory &&
                      o != Outcome::kOutputTooLarge && o != Outcome::kHostError;
    EXPECT_EQ(jinn::isTrap(o), trap) << jinn::outcomeName(o);
  }
}

// ---------------------------------------------------------------------------
// Loading errors and the cache

// A fresh engine with its own cache dir, for tests that inspect the cache.
struct PrivateEngine {
  explicit PrivateEngine(const std::string& name, EngineConfig config = {}) {
    dir = scratchRoot() / ("private_" + name);
    config.cache_dir = dir;
    auto created = Engine::create(config);
    if (!created.ok()) {
      ADD_FAILURE() << "Engine::create: " << created.error().message;
      return;
    }
    engine = created.value();
  }
  fs::path dir;
  std::shared_ptr<Engine> engine;
};

// A failed load leaves no artifact and no temp files behind: only (empty)
// directories may remain, and the tools' remembered versions
// (common/tool-*.txt), written when the engine started.
void expectCacheHoldsNoFiles(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& f : filesUnder(dir)) {
    const std::string name = f.filename().string();
    const bool tool_memo = f.parent_path().filename() == "common" && name.rfind("tool-", 0) == 0 &&
                           f.extension() == ".txt";
    if (!tool_memo) files.push_back(f);
  }
  std::vector<fs::path> so_files;
  for (const auto& f : files)
    if (f.extension() == ".so") so_files.push_back(f);
  EXPECT_TRUE(so_files.empty()) << "artifacts left behind:" << joinPaths(so_files);
  EXPECT_TRUE(files.empty()) << "files left behind:" << joinPaths(files);
}

TEST(Load, SimdIsRejectedByName) {
  PrivateEngine pe("simd");
  ASSERT_NE(pe.engine, nullptr);
  // Copied under a name without "simd" in it, so the message must name the
  // feature, not just echo the file name.
  const fs::path file = scratchRoot() / "feature_probe.wasm";
  fs::copy_file(guestPath("simd"), file, fs::copy_options::overwrite_existing);
  auto m = pe.engine->loadFile(file);
  ASSERT_FALSE(m.ok()) << "a SIMD module must be rejected";
  EXPECT_NE(lower(m.error().message).find("simd"), std::string::npos) << m.error().message;
  EXPECT_NE(m.error().message.find("feature_probe.wasm"), std::string::npos)
      << "the error should name the file: " << m.error().message;
  expectCacheHoldsNoFiles(pe.dir);

  auto from_bytes = pe.engine->loadBytes(readFile(file), "probe");
  ASSERT_FALSE(from_bytes.ok());
  EXPECT_NE(lower(from_bytes.error().message).find("simd"), std::string::npos) << from_bytes.error().message;
  expectCacheHoldsNoFiles(pe.dir);
}

TEST(Load, CompilerFailureLeavesNothingBehind) {
  EngineConfig config;
  config.c_compiler = "false";  // runs, fails, writes nothing
  PrivateEngine pe("bad_cc", config);
  ASSERT_NE(pe.engine, nullptr);
  auto m = pe.engine->loadFile(guestPath("hello"));
  ASSERT_FALSE(m.ok()) << "a failing C compiler cannot produce a module";
  EXPECT_FALSE(m.error().message.empty());
  expectCacheHoldsNoFiles(pe.dir);
}

TEST(Load, MissingTranslatorIsAnError) {
  EngineConfig config;
  config.translator = "/nonexistent/wasm2c";
  PrivateEngine pe("bad_translator", config);
  ASSERT_NE(pe.engine, nullptr);
  auto m = pe.engine->loadFile(guestPath("exit_code"));
  ASSERT_FALSE(m.ok());
  EXPECT_FALSE(m.error().message.empty());
  expectCacheHoldsNoFiles(pe.dir);
}

TEST(Load, MissingFileIsNamed) {
  const fs::path missing = scratchRoot() / "no_such_module.wasm";
  auto m = engine().loadFile(missing);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("no_such_module.wasm"), std::string::npos) << m.error().message;
}

TEST(Load, GarbageIsRejected) {
  const fs::path garbage = scratchRoot() / "garbage_input.wasm";
  writeFile(garbage, std::string("\x7f" "ELF this is not wasm\0\1\2\3", 25));
  auto m = engine().loadFile(garbage);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("garbage_input.wasm"), std::string::npos) << m.error().message;

  EXPECT_FALSE(engine().loadBytes("", "empty").ok());
  EXPECT_FALSE(engine().loadBytes(std::string("\0asm\1\0\0\0\xff\xff\xff", 11), "bad-section").ok());
  // A valid module cut in half.
  const std::string hello = readFile(guestPath("hello"));
  EXPECT_FALSE(engine().loadBytes(std::string_view(hello).substr(0, hello.size() / 2), "half").ok());
  // Text that is not valid WAT.
  EXPECT_FALSE(engine().loadBytes("(module (func (export \"_start\") (i32.bogus)))", "bad.wat").ok());
}

TEST(Load, ModuleWithoutStartIsRejectedOrExitsCleanly) {
  // A command module needs _start. A module without it must not crash the
  // host: either load fails, or a call reports something other than success
  // with output.
  auto m = engine().loadBytes("(module (memory (export \"memory\") 1))", "no_start.wat");
  if (m.ok()) {
    CallResult r = m.value()->call(CallOptions{});
    EXPECT_EQ(r.stdout_data, "");
  } else {
    EXPECT_FALSE(m.error().message.empty());
  }
  expectHelloWorks();
}

TEST(Load, ConcurrentLoadsShareOneArtifact) {
  PrivateEngine pe("concurrent");
  ASSERT_NE(pe.engine, nullptr);
  std::vector<std::shared_ptr<Module>> loaded(4);
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto m = pe.engine->loadFile(guestPath("exit_code"));
      if (m.ok())
        loaded[i] = m.value();
      else
        errors[i] = m.error().message;
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) {
    ASSERT_NE(loaded[i], nullptr) << errors[i];
    EXPECT_EQ(loaded[i]->artifactPath(), loaded[0]->artifactPath());
    CallResult r = loaded[i]->call(opts({"exit_code", "7"}));
    EXPECT_EQ(r.exit_code, 7) << describe(r);
  }
  int so_count = 0;
  for (const auto& f : filesUnder(pe.dir)) so_count += f.extension() == ".so";
  EXPECT_EQ(so_count, 1) << joinPaths(filesUnder(pe.dir));
}

TEST(EngineCreate, FailsWhenTheCacheDirCannotBeCreated) {
  EngineConfig config;
  config.cache_dir = "/proc/self/jinn-cannot-exist/cache";
  auto e = Engine::create(config);
  EXPECT_FALSE(e.ok());
  if (!e.ok()) {
    EXPECT_FALSE(e.error().message.empty());
  }
}

TEST(EngineCreate, ReportsItsCacheDir) {
  EXPECT_EQ(fs::weakly_canonical(engine().cacheDir()), fs::weakly_canonical(scratchRoot() / "cache"));
}

// ---------------------------------------------------------------------------
// Concurrency: many threads, every kind of call, every result checked.

int stressSeconds() {
  const char* s = std::getenv("JINN_STRESS_SECONDS");
  if (s == nullptr || *s == '\0') return 10;
  return std::max(0, std::atoi(s));
}

TEST(Stress, MixedCallsFromEightThreads) {
  auto echo = guest("echo");
  auto trap_oob = guest("trap_oob_store");
  auto trap_stack = guest("trap_stack_overflow");
  auto trap_div = guest("trap_div_zero");
  auto spin = guest("spin");
  auto flood = guest("flood");
  auto secret = guest("secret_a");
  ASSERT_TRUE(echo && trap_oob && trap_stack && trap_div && spin && flood && secret);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(stressSeconds());
  constexpr int kThreads = 8;
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> failures{0};
  std::mutex failure_mutex;
  std::vector<std::string> failure_samples;
  auto fail = [&](const std::string& what) {
    failures++;
    std::lock_guard lock(failure_mutex);
    if (failure_samples.size() < 10) failure_samples.push_back(what);
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<uint64_t>(t) * 7919 + 1);
      CallResult r;  // reused, as the server does
      for (uint64_t i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
        const std::string tag = "t" + std::to_string(t) + "i" + std::to_string(i);
        switch (rng() % 8) {
          case 0:
          case 1:
          case 2: {
            // Unique input per call, random length up to 64 KiB, any bytes.
            std::string input = tag + ":";
            input.resize(input.size() + rng() % 65536);
            for (size_t k = tag.size() + 1; k < input.size(); ++k) input[k] = static_cast<char>(rng());
            echo->call(opts({"echo"}, input), r);
            if (r.outcome != Outcome::kExited || r.exit_code != 0 || r.stdout_data != input)
              fail(tag + " echo: " + describe(r));
            break;
          }
          case 3: {
            const std::pair<const std::shared_ptr<Module>*, Outcome> traps[] = {
                {&trap_oob, Outcome::kTrapOutOfBounds},
                {&trap_stack, Outcome::kTrapStackOverflow},
                {&trap_div, Outcome::kTrapDivideByZero}};
            const auto& [m, expected] = traps[rng() % 3];
            (*m)->call(opts({"trap", "trap"}), r);
            if (r.outcome != expected)
              fail(tag + " trap: expected " + std::string(jinn::outcomeName(expected)) + ", " + describe(r));
            break;
          }
          case 4: {
            CallOptions o = opts({"spin"});
            o.limits.timeout = 20ms;
            spin->call(o, r);
            if (r.outcome != Outcome::kTimeout) fail(tag + " spin: " + describe(r));
            break;
          }
          case 5: {
            CallOptions o = opts({"flood"});
            o.limits.stdout_bytes = 64u << 10;
            flood->call(o, r);
            if (r.outcome != Outcome::kOutputTooLarge || r.stdout_data.size() != 65536)
              fail(tag + " flood: " + describe(r));
            break;
          }
          case 6: {
            secret->call(opts({"secret", "w"}), r);
            if (r.outcome != Outcome::kExited || !r.stdout_data.empty()) fail(tag + " secret w: " + describe(r));
            break;
          }
          case 7: {
            secret->call(opts({"secret", "r"}), r);
            if (r.outcome != Outcome::kExited || r.stdout_data != "clean\n")
              fail(tag + " secret r: " + describe(r));
            break;
          }
        }
        calls++;
      }
    });
  }
  for (auto& th : threads) th.join();
  std::string samples;
  for (const auto& s : failure_samples) samples += "\n  " + s;
  EXPECT_EQ(failures.load(), 0u) << "of " << calls.load() << " calls; first failures:" << samples;
  if (stressSeconds() > 0) {
    EXPECT_GT(calls.load(), static_cast<uint64_t>(kThreads));
  }
  expectHelloWorks();
}

}  // namespace
