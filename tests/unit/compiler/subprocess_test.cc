#include "compiler/subprocess.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace jinn::compiler {
namespace {

using namespace std::chrono_literals;

SubprocessResult runOk(SubprocessOptions options) {
  auto result = Subprocess(std::move(options)).run();
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
  return result.ok() ? result.value() : SubprocessResult{};
}

SubprocessOptions sh(const std::string& script) {
  SubprocessOptions options;
  options.argv = {"/bin/sh", "-c", script};
  options.timeout = 10s;
  return options;
}

// Gone, or a zombie nobody reaps (a container's PID 1 may not): either way dead.
bool processDead(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

TEST(SubprocessTest, CapturesStdoutStderrAndExitCode) {
  auto r = runOk(sh("echo out; echo err >&2; exit 3"));
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.succeeded());
  EXPECT_EQ(r.describeStatus(), "exited with status 3");
}

TEST(SubprocessTest, UsesPathLookupWithoutShell) {
  SubprocessOptions options;
  options.argv = {"echo", "a;b", "$HOME"};
  auto r = runOk(options);
  EXPECT_TRUE(r.succeeded());
  EXPECT_EQ(r.out, "a;b $HOME\n");
}

TEST(SubprocessTest, MissingProgramIsAnError) {
  SubprocessOptions options;
  options.argv = {"jinn-no-such-program-xyz"};
  auto r = Subprocess(options).run();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("jinn-no-such-program-xyz"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("No such file"), std::string::npos) << r.error().message;
}

TEST(SubprocessTest, StdinIsDevNull) {
  SubprocessOptions options;
  options.argv = {"cat"};
  options.timeout = 5s;
  auto r = runOk(options);
  EXPECT_TRUE(r.succeeded());
  EXPECT_TRUE(r.out.empty());
}

TEST(SubprocessTest, RunsInCwd) {
  auto options = sh("pwd");
  options.cwd = "/usr";
  EXPECT_EQ(runOk(options).out, "/usr\n");
}

TEST(SubprocessTest, TimeoutKillsTheWholeGroup) {
  auto options = sh("sleep 30 & echo $!; wait");
  options.timeout = 300ms;
  auto start = std::chrono::steady_clock::now();
  auto r = runOk(options);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.succeeded());
  EXPECT_LT(took, 3s);
  EXPECT_NE(r.describeStatus().find("timeout"), std::string::npos);
  pid_t grandchild = std::stoi(r.out);
  bool dead = false;
  for (int i = 0; i < 100 && !dead; ++i) {
    dead = processDead(grandchild);
    if (!dead) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(dead) << "grandchild " << grandchild << " survived";
}

TEST(SubprocessTest, ReportsSignals) {
  auto r = runOk(sh("kill -TERM $$; sleep 5"));
  EXPECT_EQ(r.term_signal, SIGTERM);
  EXPECT_NE(r.describeStatus().find("SIGTERM"), std::string::npos) << r.describeStatus();
}

TEST(SubprocessTest, ChildGetsAnEmptySignalMask) {
  // A blocked SIGTERM in the parent must not make the child immune.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  auto r = runOk(sh("kill -TERM $$; sleep 5"));
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(r.term_signal, SIGTERM);
}

TEST(SubprocessTest, CaptureKeepsTheNewestBytes) {
  auto options = sh("head -c 1000000 /dev/zero; echo END");
  options.capture_bytes = 1000;
  auto r = runOk(options);
  EXPECT_TRUE(r.succeeded());
  EXPECT_EQ(r.out.size(), 1000u);
  EXPECT_EQ(r.out_dropped, 1000004u - 1000u);
  EXPECT_EQ(r.out.substr(r.out.size() - 4), "END\n");
}

TEST(SubprocessTest, FileSizeLimit) {
  char dir[] = "/tmp/jinn-subprocess-test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  auto options = sh("head -c 100000 /dev/zero > big");
  options.cwd = dir;
  options.max_file_bytes = 4096;
  auto r = runOk(options);
  EXPECT_FALSE(r.succeeded());
  std::filesystem::remove_all(dir);
}

TEST(SubprocessTest, MemoryLimit) {
  // 64 MiB of address space is not enough to start a big allocation.
  auto options = sh("head -c 200000000 /dev/zero | tr '\\0' a | sort > /dev/null");
  options.memory_bytes = 64ull << 20;
  auto r = runOk(options);
  EXPECT_FALSE(r.succeeded()) << r.describeStatus();
}

TEST(SubprocessTest, DoesNotLeakDescriptors) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);  // deliberately not close-on-exec
  ASSERT_EQ(dup2(fds[0], 100), 100);
  auto r = runOk(sh("ls /proc/self/fd"));
  close(100);
  close(fds[0]);
  close(fds[1]);
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) EXPECT_NE(line, "100");
}

}  // namespace
}  // namespace jinn::compiler
