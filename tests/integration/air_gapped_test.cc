// The air-gapped deploy of docs/air-gapped.md, with the real `jinn` binary:
// a build machine (keygen, compile --sign-key) and a host whose PATH holds no
// compiler and no translator and whose cache starts empty (check, serve).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string readAll(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void writeFile(const fs::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

fs::path guestPath(const std::string& name) { return fs::path(JINN_GUEST_DIR) / (name + ".wasm"); }

// One machine: a working directory, a cache and a PATH.
struct Machine {
  fs::path dir;
  fs::path cache;
  std::string path_env;  // the PATH jinn sees
};

// Starts `jinn args...` in m.dir with stdout/stderr to files. Returns the pid.
pid_t spawn(const Machine& m, const std::vector<std::string>& args, const fs::path& out,
            const fs::path& err) {
  std::vector<std::string> storage = {JINN_BINARY};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    if (::chdir(m.dir.c_str()) != 0) ::_exit(126);
    ::setenv("JINN_CACHE_DIR", m.cache.c_str(), 1);
    ::setenv("PATH", m.path_env.c_str(), 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

struct Ran {
  int exit_code = -1;
  std::string out, err;
};

// Waits for `pid`; -1 if it did not end within `limit` (then it is killed).
int waitFor(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

Ran run(const Machine& m, const std::vector<std::string>& args) {
  const fs::path out = m.dir / ".out", err = m.dir / ".err";
  Ran r;
  r.exit_code = waitFor(spawn(m, args, out, err), 180s);
  r.out = readAll(out);
  r.err = readAll(err);
  return r;
}

std::string describe(const Ran& r) {
  return "exit=" + std::to_string(r.exit_code) + "\nstdout='" + r.out + "'\nstderr='" + r.err + "'";
}

// GET `target` from 127.0.0.1:port; the whole response ("" on failure).
std::string httpGet(uint16_t port, const std::string& target) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req = "GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
        response.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return response;
}

class AirGapped : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "jinn_air_gapped.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    const char* path = std::getenv("PATH");
    build_ = {root_ / "build", root_ / "build" / "cache", path ? path : "/usr/bin:/bin"};
    // The host: an empty directory as the whole PATH, so neither `cc` nor
    // `wasm2c` can be found, and a cache that starts empty.
    host_ = {root_ / "host", root_ / "host" / "cache", (root_ / "empty-bin").string()};
    for (const auto& d : {build_.dir, host_.dir, root_ / "empty-bin"}) fs::create_directories(d);

    // Build machine (docs/air-gapped.md, steps 1-2).
    fs::copy_file(guestPath("serve_v1"), build_.dir / "hello.wasm");
    Ran k = run(build_, {"keygen", "--out", "ci"});
    ASSERT_EQ(k.exit_code, 0) << describe(k);
    Ran c =
        run(build_, {"compile", "hello.wasm", "--output", "hello.jart", "--sign-key", "ci.key"});
    ASSERT_EQ(c.exit_code, 0) << describe(c);

    // Copy to the host (step 3): the artifact, the public key, a config.
    fs::copy_file(build_.dir / "hello.jart", host_.dir / "hello.jart");
    fs::copy_file(build_.dir / "ci.pub", host_.dir / "ci.pub");
    writeFile(host_.dir / "jinn.toml",
              "[server]\nlisten = \"127.0.0.1:0\"\ntrusted_keys = [\"ci.pub\"]\n\n"
              "[[route]]\npath = \"/hello\"\nfunction = \"hello.jart\"\n");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Starts `jinn serve` on the host; returns its port (0 if it exited), and
  // the process's exit code and stderr if it did exit.
  uint16_t serve(pid_t* pid, Ran* ended) {
    const fs::path out = host_.dir / ".serve.out", err = host_.dir / ".serve.err";
    *pid = spawn(host_, {"serve", "-c", "jinn.toml"}, out, err);
    const auto deadline = Clock::now() + 60s;
    static constexpr std::string_view kListening = "listening on 127.0.0.1:";
    while (Clock::now() < deadline) {
      const std::string text = readAll(err);
      if (auto at = text.find(kListening);
          at != std::string::npos && text.find('\n', at) != std::string::npos) {
        return static_cast<uint16_t>(std::atoi(text.c_str() + at + kListening.size()));
      }
      int status = 0;
      if (::waitpid(*pid, &status, WNOHANG) == *pid) {
        ended->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        ended->err = readAll(err);
        *pid = -1;
        return 0;
      }
      std::this_thread::sleep_for(10ms);
    }
    ended->err = readAll(err);
    return 0;
  }

  void stop(pid_t pid) {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    EXPECT_EQ(waitFor(pid, 30s), 0);
  }

  fs::path root_;
  Machine build_, host_;
};

TEST_F(AirGapped, ArtifactRouteServesWithoutACompiler) {
  // The host really has no compiler: a .wasm route cannot be checked there.
  fs::copy_file(guestPath("serve_v1"), host_.dir / "plain.wasm");
  writeFile(host_.dir / "wasm.toml", "[[route]]\npath = \"/p\"\nfunction = \"plain.wasm\"\n");
  Ran control = run(host_, {"check", "-c", "wasm.toml"});
  EXPECT_NE(control.exit_code, 0) << "the host can compile after all:\n" << describe(control);

  // Step 4: check, then serve.
  Ran check = run(host_, {"check", "-c", "jinn.toml"});
  ASSERT_EQ(check.exit_code, 0) << describe(check);
  pid_t pid = -1;
  Ran ended;
  const uint16_t port = serve(&pid, &ended);
  ASSERT_NE(port, 0) << "serve did not start:\n" << describe(ended);
  const std::string response = httpGet(port, "/hello");
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
  EXPECT_NE(response.find("version 1"), std::string::npos) << response;
  stop(pid);
  // Nothing was compiled on the host.
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(host_.cache, ec); !ec && it != fs::end(it); ++it)
    EXPECT_NE(it->path().extension(), ".so") << it->path();
}

TEST_F(AirGapped, TamperedArtifactStopsCheckAndServe) {
  std::string bytes = readAll(host_.dir / "hello.jart");
  bytes[bytes.size() / 2] ^= 0x20;
  writeFile(host_.dir / "hello.jart", bytes);

  Ran check = run(host_, {"check", "-c", "jinn.toml"});
  EXPECT_EQ(check.exit_code, 1) << describe(check);
  EXPECT_NE(check.err.find("hello.jart: artifact was modified"), std::string::npos)
      << describe(check);

  pid_t pid = -1;
  Ran ended;
  const uint16_t port = serve(&pid, &ended);
  EXPECT_EQ(port, 0) << "served a tampered artifact";
  if (port != 0) stop(pid);
  EXPECT_EQ(ended.exit_code, 1) << describe(ended);
  EXPECT_NE(ended.err.find("hello.jart: artifact was modified"), std::string::npos)
      << describe(ended);
}

// Hot reload goes through the same checks: a tampered artifact dropped in is
// refused and the old code keeps serving; a newly signed one goes live.
TEST_F(AirGapped, ReloadedArtifactIsVerifiedToo) {
  fs::copy_file(guestPath("serve_v2"), build_.dir / "hello2.wasm");
  Ran c =
      run(build_, {"compile", "hello2.wasm", "--output", "hello2.jart", "--sign-key", "ci.key"});
  ASSERT_EQ(c.exit_code, 0) << describe(c);
  pid_t pid = -1;
  Ran ended;
  const uint16_t port = serve(&pid, &ended);
  ASSERT_NE(port, 0) << "serve did not start:\n" << describe(ended);
  EXPECT_NE(httpGet(port, "/hello").find("version 1"), std::string::npos);

  auto replace = [&](const std::string& bytes) {  // atomically, as a deploy would
    writeFile(host_.dir / "incoming.tmp", bytes);
    fs::rename(host_.dir / "incoming.tmp", host_.dir / "hello.jart");
  };
  std::string tampered = readAll(build_.dir / "hello2.jart");
  tampered[tampered.size() / 2] ^= 0x01;
  replace(tampered);
  const fs::path log = host_.dir / ".serve.err";
  const auto deadline = Clock::now() + 30s;
  while (Clock::now() < deadline && readAll(log).find("artifact was modified") == std::string::npos)
    std::this_thread::sleep_for(20ms);
  EXPECT_NE(readAll(log).find("hello.jart refused, the old version keeps serving"),
            std::string::npos)
      << readAll(log);
  EXPECT_NE(httpGet(port, "/hello").find("version 1"), std::string::npos);

  replace(readAll(build_.dir / "hello2.jart"));
  std::string body;
  for (auto until = Clock::now() + 30s; Clock::now() < until; std::this_thread::sleep_for(20ms)) {
    body = httpGet(port, "/hello");
    if (body.find("version 2") != std::string::npos) break;
  }
  EXPECT_NE(body.find("version 2"), std::string::npos) << body << "\n" << readAll(log);
  stop(pid);
}

TEST_F(AirGapped, UnsignedArtifactNeedsTheAllowList) {
  Ran c = run(build_, {"compile", "hello.wasm", "--output", "unsigned.jart"});
  ASSERT_EQ(c.exit_code, 0) << describe(c);
  fs::copy_file(build_.dir / "unsigned.jart", host_.dir / "unsigned.jart");
  writeFile(host_.dir / "unsigned.toml",
            "[server]\nlisten = \"127.0.0.1:0\"\nartifact_allowlist = \"allowed.txt\"\n\n"
            "[[route]]\npath = \"/u\"\nfunction = \"unsigned.jart\"\n");
  writeFile(host_.dir / "allowed.txt", "");
  Ran refused = run(host_, {"check", "-c", "unsigned.toml"});
  EXPECT_EQ(refused.exit_code, 1) << describe(refused);
  EXPECT_NE(refused.err.find("unsigned.jart: artifact is not signed by a trusted key"),
            std::string::npos)
      << describe(refused);
  // `jinn compile` printed the line the allow-list wants.
  writeFile(host_.dir / "allowed.txt", c.out);
  Ran allowed = run(host_, {"check", "-c", "unsigned.toml"});
  EXPECT_EQ(allowed.exit_code, 0) << describe(allowed);
}

// Trusted keys and the allow-list are read again with the config on SIGHUP:
// an artifact signed by a key added to the config, or allow-listed since,
// loads after the reload; dropped again, it is refused from the next load
// on, while the functions still trusted keep serving.
TEST_F(AirGapped, TrustReloadsWithTheConfigOnSighup) {
  Ran k = run(build_, {"keygen", "--out", "next"});
  ASSERT_EQ(k.exit_code, 0) << describe(k);
  fs::copy_file(guestPath("serve_v2"), build_.dir / "hello2.wasm");
  Ran c = run(build_,
              {"compile", "hello2.wasm", "--output", "next.jart", "--sign-key", "next.key"});
  ASSERT_EQ(c.exit_code, 0) << describe(c);
  Ran u = run(build_, {"compile", "hello.wasm", "--output", "unsigned.jart"});
  ASSERT_EQ(u.exit_code, 0) << describe(u);
  fs::create_directories(host_.dir / "fns");
  fs::copy_file(build_.dir / "next.jart", host_.dir / "fns" / "next.jart");
  fs::copy_file(build_.dir / "unsigned.jart", host_.dir / "fns" / "unsigned.jart");
  fs::copy_file(build_.dir / "next.pub", host_.dir / "next.pub");
  auto config = [&](const std::string& keys) {
    writeFile(host_.dir / "jinn.toml",
              "[server]\nlisten = \"127.0.0.1:0\"\ntrusted_keys = [" + keys +
                  "]\nartifact_allowlist = \"allowed.txt\"\nfirst_hit_wait = \"30s\"\n\n"
                  "[[route]]\npath = \"/hello\"\nfunction = \"hello.jart\"\n\n"
                  "[[route]]\npath = \"/t/{function}\"\nfunctions_dir = \"fns/{function}.jart\"\n");
  };
  writeFile(host_.dir / "allowed.txt", "");
  config("\"ci.pub\"");
  pid_t pid = -1;
  Ran ended;
  const uint16_t port = serve(&pid, &ended);
  ASSERT_NE(port, 0) << "serve did not start:\n" << describe(ended);
  const fs::path log = host_.dir / ".serve.err";
  auto status = [&](const std::string& target) {
    const std::string r = httpGet(port, target);
    return r.size() >= 12 ? std::atoi(r.c_str() + 9) : 0;
  };
  EXPECT_EQ(status("/hello"), 200);
  EXPECT_EQ(status("/t/next"), 500);
  EXPECT_EQ(status("/t/unsigned"), 500);
  EXPECT_NE(readAll(log).find("next.jart: artifact is not signed by a trusted key"),
            std::string::npos)
      << readAll(log);

  // Reloads by SIGHUP and waits for the log to say it was applied.
  auto reload = [&](int nth) {
    ::kill(pid, SIGHUP);
    const auto deadline = Clock::now() + 30s;
    auto applied = [&] {
      const std::string text = readAll(log);
      int n = 0;
      for (size_t at = text.find("reload: config applied"); at != std::string::npos;
           at = text.find("reload: config applied", at + 1)) {
        ++n;
      }
      return n;
    };
    while (Clock::now() < deadline && applied() < nth) std::this_thread::sleep_for(20ms);
    ASSERT_GE(applied(), nth) << readAll(log);
  };

  config("\"ci.pub\", \"next.pub\"");
  writeFile(host_.dir / "allowed.txt", u.out);  // `jinn compile` printed the line
  reload(1);
  const std::string next = httpGet(port, "/t/next");
  EXPECT_EQ(next.rfind("HTTP/1.1 200", 0), 0u) << next << readAll(log);
  EXPECT_NE(next.find("version 2"), std::string::npos) << next;
  EXPECT_EQ(status("/t/unsigned"), 200);

  config("\"ci.pub\"");
  writeFile(host_.dir / "allowed.txt", "");
  reload(2);
  EXPECT_EQ(status("/t/next"), 500);
  EXPECT_EQ(status("/t/unsigned"), 500);
  EXPECT_EQ(status("/hello"), 200);  // still signed by a trusted key
  stop(pid);
}

}  // namespace
