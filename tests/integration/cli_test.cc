// Runs the built `jinn` binary as a user would: stdin in, stdout/stderr/exit
// code out. Every test shares one fresh cache directory (JINN_CACHE_DIR) so
// guests compile once per run of this binary.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Ran {
  int exit_code = -1;       // -1: killed by a signal or by our timeout
  int signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
  double wall_ms = 0;
};

std::string describe(const Ran& r) {
  auto clip = [](const std::string& t) {
    return t.size() > 400 ? t.substr(0, 400) + "...(" + std::to_string(t.size()) + " bytes)" : t;
  };
  return "exit=" + std::to_string(r.exit_code) + " signal=" + std::to_string(r.signal) +
         (r.timed_out ? " TIMED OUT" : "") + "\nstdout='" + clip(r.out) + "'\nstderr='" + clip(r.err) + "'";
}

const fs::path& cacheDir() {
  static const fs::path dir = [] {
    std::string pattern = (fs::temp_directory_path() / "jinn_cli_test.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    return fs::path(pattern);
  }();
  return dir;
}

// Scratch files for one test, under the shared temp root.
fs::path scratch(const std::string& name) {
  fs::path p = cacheDir() / "scratch" / name;
  fs::create_directories(p.parent_path());
  return p;
}

fs::path guestPath(const std::string& name) { return fs::path(JINN_GUEST_DIR) / (name + ".wasm"); }

// Runs `jinn args...` with `input` on stdin. The child inherits this process's
// environment (which has HOME, PATH and a SECRET the guest must never see)
// plus JINN_CACHE_DIR. Stops it after `limit`.
Ran runJinn(const std::vector<std::string>& args, const std::string& input = "",
            std::chrono::seconds limit = std::chrono::seconds(120)) {
  Ran r;
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) || pipe2(out_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC)) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return r;
  }
  std::vector<std::string> argv_storage = {JINN_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  // Resolved before fork: the first call creates the directory, and that must
  // happen in this process, not in the child.
  const std::string cache = (cacheDir() / "cache").string();
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    setenv("JINN_CACHE_DIR", cache.c_str(), 1);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  // Non-blocking everywhere: the child's output may fill a pipe while we still
  // feed its stdin.
  for (int fd : {in_pipe[1], out_pipe[0], err_pipe[0]}) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int in_fd = in_pipe[1];
  size_t written = 0;
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  const auto deadline = start + limit;
  char buf[65536];
  while (out_fd >= 0 || err_fd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    pollfd fds[3] = {{in_fd, POLLOUT, 0}, {out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    if (poll(fds, 3, static_cast<int>(std::min<long>(left.count(), 1000))) < 0 && errno != EINTR) break;
    if (in_fd >= 0 && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = write(in_fd, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 && errno != EAGAIN) written = input.size();  // the child closed stdin: stop feeding
      if (written == input.size()) {
        close(in_fd);
        in_fd = -1;
      }
    }
    for (auto [idx, fdp, sink] : {std::tuple{1, &out_fd, &r.out}, std::tuple{2, &err_fd, &r.err}}) {
      if (*fdp < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(*fdp, buf, sizeof buf);
      if (n > 0) {
        sink->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EAGAIN) {
        close(*fdp);
        *fdp = -1;
      }
    }
  }
  for (int fd : {in_fd, out_fd, err_fd})
    if (fd >= 0) close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  r.wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

int lineCount(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

void writeFile(const fs::path& path, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string readAll(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Host variables the guest must never see.
    setenv("SECRET", "host-secret", 1);
    setenv("HOME", "/root", 0);
    setenv("PATH", "/usr/bin:/bin", 0);
  }
};

// ---------------------------------------------------------------------------
// run: streams and exit codes

TEST_F(CliTest, RunHello) {
  Ran r = runJinn({"run", guestPath("hello").string()});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "hello, world\n") << describe(r);
  EXPECT_EQ(r.err, "") << describe(r);
}

TEST_F(CliTest, RunPassesStdinThroughExactly) {
  std::string input;
  std::mt19937 rng(7);
  input.resize(1u << 20);
  for (auto& c : input) c = static_cast<char>(rng());
  input += std::string("\0\n\r\xff", 4);
  Ran r = runJinn({"run", guestPath("echo").string()}, input);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_EQ(r.out.size(), input.size()) << describe(r);
  EXPECT_TRUE(r.out == input) << "stdin did not come back byte for byte";
}

TEST_F(CliTest, RunKeepsStdoutAndStderrApart) {
  Ran r = runJinn({"run", guestPath("streams").string()});
  EXPECT_EQ(r.exit_code, 3) << describe(r);
  EXPECT_EQ(r.out, "to stdout\n");
  EXPECT_EQ(r.err, "to stderr\n");
}

TEST_F(CliTest, RunExitsWithTheGuestsCode) {
  for (int code : {0, 1, 42, 255}) {
    Ran r = runJinn({"run", guestPath("exit_code").string(), std::to_string(code)});
    EXPECT_EQ(r.exit_code, code) << describe(r);
    EXPECT_EQ(r.err, "") << describe(r);
  }
}

TEST_F(CliTest, RunPassesArgsAfterTheFile) {
  // Flags after FILE belong to the guest, not to jinn.
  Ran r = runJinn({"run", guestPath("args_env").string(), "one", "--env", "X=1", "two words"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("arg: one\narg: --env\narg: X=1\narg: two words\n"), std::string::npos) << describe(r);
  EXPECT_EQ(r.out.find("env: "), std::string::npos) << "no env was granted: " << describe(r);
  EXPECT_NE(r.out.find("secret: (unset)\n"), std::string::npos) << describe(r);
}

TEST_F(CliTest, RunGrantsOnlyTheEnvGiven) {
  Ran r = runJinn({"run", "--env", "A=1", "--env", "SECRET=given", guestPath("args_env").string()});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("env: A=1\nenv: SECRET=given\nsecret: given\n"), std::string::npos) << describe(r);
  EXPECT_EQ(r.out.find("host-secret"), std::string::npos) << describe(r);

  Ran denied = runJinn({"run", guestPath("getenv_denied").string()});
  EXPECT_EQ(denied.exit_code, 0) << describe(denied);
  EXPECT_EQ(denied.out, "HOME unset\nPATH unset\n") << describe(denied);
}

TEST_F(CliTest, RunDirMapsHostToGuest) {
  const fs::path dir = scratch("granted");
  fs::create_directories(dir);
  writeFile(dir / "hello.txt", "from the host\n");
  writeFile(dir.parent_path() / "outside.txt", "must not be readable\n");

  Ran r = runJinn({"run", "--dir", dir.string() + "::/data", guestPath("open_file").string(),
                   "/data/hello.txt", "/data/../outside.txt"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("opened /data/hello.txt: from the host\n"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("failed /data/../outside.txt: "), std::string::npos) << describe(r);

  // Without ::GUEST the directory appears under its host path.
  Ran same = runJinn({"run", "--dir", dir.string(), guestPath("open_file").string(),
                      (dir / "hello.txt").string()});
  EXPECT_EQ(same.exit_code, 0) << describe(same);
  EXPECT_NE(same.out.find("opened " + (dir / "hello.txt").string() + ": from the host\n"), std::string::npos)
      << describe(same);

  // Repeatable.
  const fs::path second = scratch("second");
  fs::create_directories(second);
  writeFile(second / "b.txt", "second dir\n");
  Ran both = runJinn({"run", "--dir", dir.string() + "::/a", "--dir", second.string() + "::/b",
                      guestPath("open_file").string(), "/a/hello.txt", "/b/b.txt"});
  EXPECT_NE(both.out.find("opened /a/hello.txt: from the host\n"), std::string::npos) << describe(both);
  EXPECT_NE(both.out.find("opened /b/b.txt: second dir\n"), std::string::npos) << describe(both);
}

TEST_F(CliTest, RunWithoutDirSeesNoFiles) {
  Ran r = runJinn({"run", guestPath("open_file").string()});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("result: denied\n"), std::string::npos) << describe(r);
}

TEST_F(CliTest, RunAcceptsTextFormat) {
  const fs::path wat = scratch("hi.wat");
  writeFile(wat, R"((module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi from wat\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 12))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))))");
  Ran r = runJinn({"run", wat.string()});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "hi from wat\n");
}

// ---------------------------------------------------------------------------
// run: misbehaving guests get one stderr line and a fixed exit code

void expectOneLine(const Ran& r, const std::string& needle) {
  EXPECT_EQ(lineCount(r.err), 1) << "want exactly one line on stderr: " << describe(r);
  EXPECT_NE(lower(r.err).find(needle), std::string::npos) << "stderr should mention '" << needle << "': "
                                                          << describe(r);
}

TEST_F(CliTest, TrapExits134) {
  const std::pair<const char*, const char*> cases[] = {
      {"trap_unreachable", "unreachable"},  {"trap_oob_load", "out of bounds"},
      {"trap_div_zero", "divi"},            {"trap_int_overflow", "overflow"},
      {"trap_stack_overflow", "stack"},     {"trap_indirect_call", "indirect"},
      {"trap_invalid_conversion", "conversion"}};
  for (const auto& [guest, needle] : cases) {
    Ran r = runJinn({"run", guestPath(guest).string(), "trap"});
    EXPECT_EQ(r.exit_code, 134) << guest << ": " << describe(r);
    EXPECT_EQ(r.out, "") << guest;
    expectOneLine(r, "trap");
    expectOneLine(r, needle);
  }
}

TEST_F(CliTest, TimeoutExits124) {
  Ran r = runJinn({"run", "--timeout", "50ms", guestPath("spin").string()}, "", std::chrono::seconds(60));
  EXPECT_FALSE(r.timed_out) << describe(r);
  EXPECT_EQ(r.exit_code, 124) << describe(r);
  expectOneLine(r, "timeout");

  Ran seconds = runJinn({"run", "--timeout", "1s", guestPath("spin").string()}, "", std::chrono::seconds(60));
  EXPECT_EQ(seconds.exit_code, 124) << describe(seconds);
  EXPECT_GE(seconds.wall_ms, 1000) << "a 1 s timeout fired early";
}

TEST_F(CliTest, OutOfMemoryExits135) {
  Ran r = runJinn({"run", "--memory", "4MiB", guestPath("grow").string(), "trap"});
  EXPECT_EQ(r.exit_code, 135) << describe(r);
  expectOneLine(r, "out of memory");

  // Under the limit the same guest exits cleanly and saw the limit.
  Ran ok = runJinn({"run", "--memory", "4MiB", guestPath("grow").string()});
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);
  EXPECT_EQ(ok.out, "pages 64\n") << describe(ok);

  Ran initial = runJinn({"run", "--memory", "1MiB", guestPath("big_memory").string()});
  EXPECT_EQ(initial.exit_code, 135) << describe(initial);
  expectOneLine(initial, "out of memory");
}

TEST_F(CliTest, OutputTooLargeExits136) {
  Ran r = runJinn({"run", "--max-output", "64KiB", guestPath("flood").string()}, "", std::chrono::seconds(60));
  EXPECT_FALSE(r.timed_out) << describe(r);
  EXPECT_EQ(r.exit_code, 136) << describe(r);
  EXPECT_EQ(r.out.size(), 65536u) << describe(r);
  expectOneLine(r, "output");
}

// ---------------------------------------------------------------------------
// jinn's own errors: 125 and a message

TEST_F(CliTest, UsageErrorsExit125) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"run"},
           {"run", "--timeout", "soon", guestPath("hello").string()},
           {"run", "--memory", "lots", guestPath("hello").string()},
           {"run", "--env", "NOEQUALS", guestPath("hello").string()},
           {"run", "--timeout"},
           {"compile"},
           {"bench", guestPath("hello").string(), "--requests", "many"}}) {
    Ran r = runJinn(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 125) << "jinn " << joined << ": " << describe(r);
    EXPECT_FALSE(r.err.empty()) << "jinn " << joined << ": no message";
    EXPECT_EQ(r.out, "") << "jinn " << joined;
  }
}

TEST_F(CliTest, MissingFileExits125AndNamesIt) {
  const std::string missing = (cacheDir() / "no_such_guest.wasm").string();
  Ran r = runJinn({"run", missing});
  EXPECT_EQ(r.exit_code, 125) << describe(r);
  EXPECT_NE(r.err.find("no_such_guest.wasm"), std::string::npos) << describe(r);
}

TEST_F(CliTest, CompileFailureExits125) {
  Ran r = runJinn({"run", guestPath("simd").string()});
  EXPECT_EQ(r.exit_code, 125) << describe(r);
  EXPECT_NE(lower(r.err).find("simd"), std::string::npos) << describe(r);

  const fs::path garbage = scratch("garbage.wasm");
  writeFile(garbage, "definitely not wasm");
  Ran g = runJinn({"compile", garbage.string()});
  EXPECT_EQ(g.exit_code, 125) << describe(g);
  EXPECT_NE(g.err.find("garbage.wasm"), std::string::npos) << describe(g);
}

// ---------------------------------------------------------------------------
// compile and bench

TEST_F(CliTest, CompilePrintsTheArtifactPath) {
  Ran r = runJinn({"compile", guestPath("hello").string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_EQ(lineCount(r.out), 1) << describe(r);
  const std::string path = r.out.substr(0, r.out.size() - 1);
  EXPECT_EQ(fs::path(path).extension(), ".so") << path;
  EXPECT_TRUE(fs::is_regular_file(path)) << path;
  // It lives in the cache the environment named.
  EXPECT_EQ(fs::weakly_canonical(path).string().rfind(fs::weakly_canonical(cacheDir() / "cache").string(), 0), 0u)
      << path;
}

TEST_F(CliTest, CompileOutputThenRunTheArtifact) {
  const fs::path key = scratch("cli_key");
  fs::remove(key.string() + ".key");
  fs::remove(key.string() + ".pub");
  Ran k = runJinn({"keygen", "--out", key.string()});
  ASSERT_EQ(k.exit_code, 0) << describe(k);
  const std::string pub = key.string() + ".pub";

  const fs::path out = scratch("hello.jart");
  fs::remove(out);
  Ran c = runJinn({"compile", guestPath("hello").string(), "--output", out.string(), "--sign-key",
                   key.string() + ".key"});
  ASSERT_EQ(c.exit_code, 0) << describe(c);
  ASSERT_TRUE(fs::is_regular_file(out)) << describe(c);
  // "SHA256  FILE", as sha256sum prints it.
  ASSERT_EQ(lineCount(c.out), 1) << describe(c);
  EXPECT_EQ(c.out.size(), 64 + 2 + out.string().size() + 1) << describe(c);
  EXPECT_EQ(c.out.substr(64), "  " + out.string() + "\n") << describe(c);
  // No temp file left next to the output.
  for (const auto& entry : fs::directory_iterator(out.parent_path()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();

  Ran r = runJinn({"run", "--trusted-key", pub, out.string()});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "hello, world\n") << describe(r);
  // Without trusting the key, it does not run.
  Ran untrusted = runJinn({"run", out.string()});
  EXPECT_EQ(untrusted.exit_code, 125) << describe(untrusted);
  EXPECT_NE(untrusted.err.find("not signed by a trusted key"), std::string::npos) << describe(untrusted);
  EXPECT_EQ(untrusted.out, "") << describe(untrusted);

  // An unsigned artifact runs when its hash (the compile output line) is allow-listed.
  const fs::path trap_out = scratch("trap.jart");
  Ran tc = runJinn({"compile", guestPath("trap_unreachable").string(), "--output", trap_out.string()});
  ASSERT_EQ(tc.exit_code, 0) << describe(tc);
  const fs::path allow = scratch("allowed.txt");
  writeFile(allow, tc.out);
  Ran t = runJinn({"run", "--artifact-allowlist", allow.string(), trap_out.string(), "trap"});
  EXPECT_EQ(t.exit_code, 134) << describe(t);
  Ran ok = runJinn({"run", "--artifact-allowlist", allow.string(), trap_out.string()});
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);
  EXPECT_EQ(ok.out, "ok\n") << describe(ok);
  Ran b = runJinn({"bench", out.string(), "--requests", "50", "--trusted-key", pub});
  EXPECT_EQ(b.exit_code, 0) << describe(b);
  EXPECT_NE(b.out.find("\"failures\":0"), std::string::npos) << describe(b);
}

TEST_F(CliTest, KeygenNeverOverwrites) {
  const fs::path key = scratch("twice");
  fs::remove(key.string() + ".key");
  fs::remove(key.string() + ".pub");
  ASSERT_EQ(runJinn({"keygen", "--out", key.string()}).exit_code, 0);
  const std::string before = readAll(key.string() + ".key");
  Ran again = runJinn({"keygen", "--out", key.string()});
  EXPECT_EQ(again.exit_code, 125) << describe(again);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << describe(again);
  EXPECT_EQ(readAll(key.string() + ".key"), before);
  EXPECT_EQ(runJinn({"keygen"}).exit_code, 125);
}

TEST_F(CliTest, CorruptArtifactIsRefused) {
  // A bare shared object (what `compile --output` wrote before artifacts had
  // an envelope) is never loaded, nor is garbage behind the artifact magic.
  const fs::path bad = scratch("corrupt.so");
  writeFile(bad, std::string("\x7f" "ELF", 4) + std::string(1000, 'z'));
  Ran r = runJinn({"run", bad.string()});
  EXPECT_EQ(r.exit_code, 125) << describe(r);
  EXPECT_NE(r.err.find("bare shared object"), std::string::npos) << describe(r);
  const fs::path art = scratch("corrupt.jart");
  writeFile(art, std::string("JINNART\0", 8) + std::string(1000, 'z'));
  Ran a = runJinn({"run", art.string()});
  EXPECT_EQ(a.exit_code, 125) << describe(a);
  EXPECT_NE(a.err.find("corrupt.jart"), std::string::npos) << describe(a);
}

// Returns the number after "key": in a flat JSON object, or -1 if absent.
double jsonNumber(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  size_t at = json.find(needle);
  if (at == std::string::npos) return -1;
  at += needle.size();
  while (at < json.size() && json[at] == ' ') ++at;
  char* end = nullptr;
  const double v = std::strtod(json.c_str() + at, &end);
  if (end == json.c_str() + at) return -1;
  return v;
}

TEST_F(CliTest, BenchPrintsOneJsonLine) {
  Ran r = runJinn({"bench", guestPath("hello").string(), "--requests", "500"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_EQ(lineCount(r.out), 1) << describe(r);
  const std::string line = r.out.substr(0, r.out.size() - 1);
  EXPECT_EQ(line.front(), '{') << line;
  EXPECT_EQ(line.back(), '}') << line;
  for (const char* key : {"calls", "calls_per_s", "total_us_p50", "total_us_p99", "instantiate_us_p50",
                          "run_us_p50", "teardown_us_p50", "rss_kb_before", "rss_kb_after"}) {
    EXPECT_GE(jsonNumber(line, key), 0) << "missing or negative " << key << " in " << line;
  }
  EXPECT_EQ(jsonNumber(line, "calls"), 500) << line;
  EXPECT_GT(jsonNumber(line, "rss_kb_before"), 0) << line;
  EXPECT_LE(jsonNumber(line, "total_us_p50"), jsonNumber(line, "total_us_p99")) << line;
}

}  // namespace

// Removes the shared temp dir once all tests ran.
class CleanupEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(cacheDir(), ec);
  }
};
static ::testing::Environment* const kCleanup = ::testing::AddGlobalTestEnvironment(new CleanupEnvironment);
