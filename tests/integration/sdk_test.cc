// End-to-end tests of `jinn new`, `jinn call` and the four SDKs, with the
// built binary as a user runs it: `jinn new` writes a project, its build.sh
// builds it with the Debian toolchains, `jinn call` runs it. The round-trip
// guests (tests/sdk/echo.*) replace each template's function and echo
// headers, a UTF-8 body and a binary body back. One test compares `jinn call`
// with a real `jinn serve` byte for byte.
//
// The AssemblyScript case needs node, npm and the npm registry (for
// `npm install` in build.sh); it is skipped, saying why, when they are missing.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path& root() {
  static const fs::path dir = [] {
    std::string pattern = (fs::temp_directory_path() / "jinn_sdk_test.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    // Every jinn started here shares one compile cache and is found by name.
    ::setenv("JINN_CACHE_DIR", (fs::path(pattern) / "cache").c_str(), 1);
    const std::string path = fs::path(JINN_BINARY).parent_path().string() + ":" +
                             (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
    ::setenv("PATH", path.c_str(), 1);
    return fs::path(pattern);
  }();
  return dir;
}

// A fresh directory for one test.
fs::path workDir(const std::string& name) {
  fs::path p = root() / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void writeFile(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

struct Ran {
  int code = -1;
  std::string out, err;
};

std::string describe(const Ran& r) {
  return "exit=" + std::to_string(r.code) + "\nstdout:\n" + r.out.substr(0, 2000) + "\nstderr:\n" +
         r.err.substr(0, 2000);
}

// Runs `script` with bash in `cwd`; generous time limit (cold compiles of
// Rust and C++ guests take seconds on a busy machine).
Ran sh(const std::string& script, const fs::path& cwd) {
  const fs::path out = cwd / ".stdout", err = cwd / ".stderr";
  const std::string cmd = "cd " + shellQuote(cwd.string()) + " && timeout 900 bash -c " +
                          shellQuote(script) + " >" + shellQuote(out.string()) + " 2>" +
                          shellQuote(err.string()) + " </dev/null";
  const int status = std::system(cmd.c_str());
  Ran r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = readFile(out);
  r.err = readFile(err);
  return r;
}

// An HTTP/1.1 response as `jinn call` prints it (and the server sends it).
struct HttpResponse {
  std::string status_line;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool ok = false;

  std::vector<std::string> values(const std::string& name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : headers) {
      if (strcasecmp(n.c_str(), name.c_str()) == 0) out.push_back(v);
    }
    return out;
  }
};

HttpResponse parseHttp(const std::string& text) {
  HttpResponse r;
  const size_t end = text.find("\r\n\r\n");
  if (end == std::string::npos) return r;
  std::istringstream head(text.substr(0, end));
  std::string line;
  std::getline(head, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  r.status_line = line;
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon == std::string::npos) return r;
    r.headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
  }
  r.body = text.substr(end + 4);
  r.ok = true;
  return r;
}

struct Lang {
  std::string lang, source, echo;
};

const Lang kLangs[] = {
    {"c", "function.c", "echo.c"},
    {"cpp", "function.cc", "echo.cc"},
    {"rust", "main.rs", "echo.rs"},
    {"assemblyscript", "assembly/index.ts", "echo.ts"},
};

// Test names and messages show the language, not the struct's bytes.
void PrintTo(const Lang& l, std::ostream* os) { *os << l.lang; }

class SdkRoundTrip : public ::testing::TestWithParam<Lang> {};

std::string allBytes() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (int i = 255; i >= 0; --i) bytes += static_cast<char>(i);
  return bytes;
}

TEST_P(SdkRoundTrip, TemplateBuildsAndEchoesHeadersTextAndBinaryBodies) {
  const Lang& l = GetParam();
  if (l.lang == "rust" && !fs::exists("/usr/lib/rustlib/wasm32-wasi")) {
    GTEST_SKIP() << "no wasm32-wasi Rust std (libstd-rust-dev-wasm32)";
  }
  const fs::path dir = workDir("roundtrip_" + l.lang);
  const std::string name = "fn_" + l.lang;

  Ran made = sh("jinn new --lang " + l.lang + " " + name, dir);
  ASSERT_EQ(made.code, 0) << describe(made);
  Ran built = sh(name + "/build.sh", dir);
  // Skipped only when the toolchain itself is missing (no node/npm, or npm
  // could not install the compiler): a compile error still fails the test.
  if (l.lang == "assemblyscript" && built.code != 0 &&
      (built.err.find("not found; install") != std::string::npos ||
       !fs::exists(dir / name / "node_modules" / ".bin" / "asc"))) {
    GTEST_SKIP() << "AssemblyScript toolchain unavailable here (node/npm or the npm registry):\n"
                 << built.err.substr(0, 800);
  }
  ASSERT_EQ(built.code, 0) << describe(built);
  const std::string wasm = name + "/" + name + ".wasm";

  // The template as written: a greeting naming the project.
  Ran hello = sh("jinn call " + wasm + " --path '/hello?x=1'", dir);
  ASSERT_EQ(hello.code, 0) << describe(hello);
  HttpResponse greet = parseHttp(hello.out);
  ASSERT_TRUE(greet.ok) << hello.out;
  EXPECT_EQ(greet.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(greet.values("Content-Type"), std::vector<std::string>{"text/plain; charset=utf-8"});
  EXPECT_EQ(greet.body, "hello from " + name + ": GET /hello\n");

  // The echo guest in place of the template's function.
  fs::copy_file(fs::path(JINN_SDK_TESTS_DIR) / l.echo, dir / name / l.source,
                fs::copy_options::overwrite_existing);
  built = sh(name + "/build.sh", dir);
  ASSERT_EQ(built.code, 0) << describe(built);

  // Escapes both ways: quotes, backslash, tab, newline, other control
  // characters (\u00XX in JSON), DEL, 2-, 3- and 4-byte UTF-8.
  const std::string text =
      "h\xC3\xA9llo w\xC3\xB6rld \xE2\x9C\x93 \"quoted\" \\ tab\there\nline 2\r\n"
      "\x01\x1f\x7f emoji \xF0\x9F\x98\x80 end";
  writeFile(dir / "text.txt", text);
  Ran echoed = sh("jinn call " + wasm +
                      " --method PUT --path '/p/q?a=1' -H 'X-A: 1' -H 'x-a: 2' "
                      "-H 'X-Utf: h\xC3\xA9llo' -H 'Accept: */*' --body @text.txt",
                  dir);
  ASSERT_EQ(echoed.code, 0) << describe(echoed);
  HttpResponse res = parseHttp(echoed.out);
  ASSERT_TRUE(res.ok) << echoed.out;
  EXPECT_EQ(res.status_line, "HTTP/1.1 201 Created");
  EXPECT_EQ(res.values("X-Method"), std::vector<std::string>{"PUT"});
  EXPECT_EQ(res.values("X-Path"), std::vector<std::string>{"/p/q"});
  EXPECT_EQ(res.values("X-A"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(res.values("X-Utf"), std::vector<std::string>{"h\xC3\xA9llo"});
  EXPECT_TRUE(res.values("Accept").empty()) << "the guest echoes X-* headers only";
  EXPECT_EQ(res.body, text);

  // Every byte value, both ways: body_base64 in, body_base64 out.
  const std::string bytes = allBytes();
  writeFile(dir / "bytes.bin", bytes);
  Ran binary = sh("jinn call " + wasm + " --body @bytes.bin -H 'X-Kind: binary'", dir);
  ASSERT_EQ(binary.code, 0) << describe(binary);
  HttpResponse bin = parseHttp(binary.out);
  ASSERT_TRUE(bin.ok);
  EXPECT_EQ(bin.status_line, "HTTP/1.1 201 Created");
  EXPECT_EQ(bin.values("X-Method"), std::vector<std::string>{"POST"});
  EXPECT_EQ(bin.values("X-Kind"), std::vector<std::string>{"binary"});
  EXPECT_EQ(bin.values("Content-Length"), std::vector<std::string>{std::to_string(bytes.size())});
  EXPECT_TRUE(bin.body == bytes) << "binary body changed on the way (" << bin.body.size()
                                 << " bytes back)";

  // An empty body stays empty.
  Ran empty = sh("jinn call " + wasm, dir);
  ASSERT_EQ(empty.code, 0) << describe(empty);
  HttpResponse none = parseHttp(empty.out);
  EXPECT_EQ(none.body, "");
  EXPECT_EQ(none.values("Content-Length"), std::vector<std::string>{"0"});
}

INSTANTIATE_TEST_SUITE_P(Languages, SdkRoundTrip, ::testing::ValuesIn(kLangs),
                         [](const auto& info) { return info.param.lang; });

TEST(JinnNew, WritesEachLanguageWithTheNameFilledIn) {
  const fs::path dir = workDir("new_all");
  for (const Lang& l : kLangs) {
    const std::string name = "my-" + l.lang;
    Ran r = sh("jinn new --lang=" + l.lang + " " + name, dir);
    ASSERT_EQ(r.code, 0) << describe(r);
    EXPECT_NE(r.out.find("created " + name + "/"), std::string::npos) << r.out;
    for (const char* f : {"build.sh", "README.md", "jinn.toml"}) {
      EXPECT_TRUE(fs::is_regular_file(dir / name / f)) << l.lang << ": no " << f;
    }
    EXPECT_TRUE(fs::is_regular_file(dir / name / l.source)) << l.lang;
    const auto perms = fs::status(dir / name / "build.sh").permissions();
    EXPECT_NE(perms & fs::perms::owner_exec, fs::perms::none) << "build.sh is not executable";
    for (const auto& entry : fs::recursive_directory_iterator(dir / name)) {
      if (!entry.is_regular_file()) continue;
      const std::string text = readFile(entry.path());
      for (const char* placeholder :
           {"{{name}}", "{{lang}}", "{{language}}", "{{source}}", "{{sdk}}"}) {
        EXPECT_EQ(text.find(placeholder), std::string::npos) << entry.path() << ": " << placeholder;
      }
    }
    EXPECT_NE(readFile(dir / name / "jinn.toml").find("function = \"" + name + ".wasm\""),
              std::string::npos);
  }
}

// With the toolchain missing, build.sh stops and names the Debian package;
// it installs nothing. PATH holds only what the scripts need besides it.
TEST(JinnNew, BuildScriptsNameTheMissingPackage) {
  const fs::path dir = workDir("new_missing_tools");
  fs::create_directories(dir / "bin");
  for (const char* tool : {"dirname", "sh", "bash"}) {
    Ran which = sh(std::string("command -v ") + tool, dir);
    ASSERT_EQ(which.code, 0) << tool;
    std::string path = which.out.substr(0, which.out.find('\n'));
    fs::create_symlink(path, dir / "bin" / tool);
  }
  struct Case {
    std::string lang, env, message;
  };
  const Case cases[] = {
      {"c", "", "clang not found; install it with: sudo apt-get install clang"},
      {"cpp", "", "clang++ not found; install it with: sudo apt-get install clang"},
      {"rust", "RUSTC=/nonexistent/rustc ",
       "rustc not found; install it with: sudo apt-get install rustc"},
      {"assemblyscript", "", "node not found; install it with: sudo apt-get install nodejs"},
  };
  for (const Case& c : cases) {
    const std::string name = "missing-" + c.lang;
    Ran made = sh("jinn new --lang " + c.lang + " " + name, dir);
    ASSERT_EQ(made.code, 0) << describe(made);
    Ran built = sh(c.env + "PATH=" + (dir / "bin").string() + " sh " + name + "/build.sh", dir);
    EXPECT_NE(built.code, 0) << c.lang;
    EXPECT_NE(built.err.find(c.message), std::string::npos) << c.lang << ": " << built.err;
    EXPECT_FALSE(fs::exists(dir / name / (name + ".wasm"))) << c.lang;
    EXPECT_FALSE(fs::exists(dir / name / "node_modules")) << c.lang;
  }
}

TEST(JinnNew, RefusesAnExistingDirectoryAndBadInput) {
  const fs::path dir = workDir("new_refuse");
  fs::create_directories(dir / "taken");
  writeFile(dir / "taken" / "keep.txt", "mine");
  Ran r = sh("jinn new --lang c taken", dir);
  EXPECT_EQ(r.code, 125) << describe(r);
  EXPECT_NE(r.err.find("taken already exists"), std::string::npos) << r.err;
  EXPECT_EQ(readFile(dir / "taken" / "keep.txt"), "mine");
  EXPECT_FALSE(fs::exists(dir / "taken" / "function.c"));

  writeFile(dir / "afile", "x");
  r = sh("jinn new --lang c afile", dir);
  EXPECT_EQ(r.code, 125);
  EXPECT_EQ(readFile(dir / "afile"), "x");

  for (const char* bad : {"../escape", "a/b", "1abc", "-x", "with space", "caf\xC3\xA9"}) {
    r = sh(std::string("jinn new --lang c ") + shellQuote(bad), dir);
    EXPECT_EQ(r.code, 125) << bad << ": " << describe(r);
    EXPECT_TRUE(r.err.find("bad NAME") != std::string::npos ||
                r.err.find("unknown option") != std::string::npos)
        << bad << ": " << r.err;
  }
  EXPECT_FALSE(fs::exists(dir.parent_path() / "escape"));

  r = sh("jinn new --lang cobol fine", dir);
  EXPECT_EQ(r.code, 125);
  EXPECT_NE(r.err.find("unknown language 'cobol'"), std::string::npos) << r.err;
  r = sh("jinn new fine", dir);
  EXPECT_EQ(r.code, 125);
  EXPECT_NE(r.err.find("--lang is required"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "fine"));
}

TEST(JinnCall, FailuresGetTheServersStatusAndReason) {
  const fs::path dir = workDir("call_failures");
  const std::string guests = JINN_GUEST_DIR;

  writeFile(dir / "trap.wat",
            "(module (memory (export \"memory\") 1)\n"
            "  (func (export \"_start\") unreachable))\n");
  writeFile(dir / "exit3.wat",
            "(module (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
            "  (memory (export \"memory\") 1)\n"
            "  (func (export \"_start\") (call $exit (i32.const 3))))\n");
  Ran r = sh("jinn call trap.wat", dir);
  EXPECT_EQ(r.code, 0) << describe(r);
  HttpResponse res = parseHttp(r.out);
  EXPECT_EQ(res.status_line, "HTTP/1.1 500 Internal Server Error") << r.out;
  EXPECT_NE(res.body.find("function crashed (trap: "), std::string::npos) << res.body;
  EXPECT_EQ(res.values("Content-Type"), std::vector<std::string>{"text/plain; charset=utf-8"});

  r = sh("jinn call exit3.wat", dir);
  EXPECT_EQ(r.code, 0) << describe(r);
  res = parseHttp(r.out);
  EXPECT_EQ(res.status_line, "HTTP/1.1 500 Internal Server Error") << r.out;
  EXPECT_EQ(res.body, "function exited with code 3\n");

  const auto t0 = std::chrono::steady_clock::now();
  r = sh("jinn call " + guests + "/spin.wasm --timeout 50ms", dir);
  EXPECT_EQ(r.code, 0) << describe(r);
  res = parseHttp(r.out);
  EXPECT_EQ(res.status_line, "HTTP/1.1 504 Gateway Timeout") << r.out;
  EXPECT_EQ(res.body, "function timed out\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(300));

  // "hello, world" is not a JSON response.
  r = sh("jinn call " + guests + "/hello.wasm --verbose", dir);
  EXPECT_EQ(r.code, 0) << describe(r);
  res = parseHttp(r.out);
  EXPECT_EQ(res.status_line, "HTTP/1.1 502 Bad Gateway") << r.out;
  EXPECT_NE(res.body.find("function returned an invalid response: output is not"),
            std::string::npos)
      << res.body;
  EXPECT_EQ(res.body.find("hello, world"), std::string::npos)
      << "guest output leaked into the body";
  EXPECT_NE(r.err.find("* outcome: exited, exit code 0"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hello, world"), std::string::npos) << "--verbose shows stdout: " << r.err;
  EXPECT_NE(r.err.find(" us, run "), std::string::npos) << "--verbose shows timings: " << r.err;

  r = sh("jinn call " + guests + "/args_env.wasm --env GREETING=hi --verbose", dir);
  EXPECT_EQ(r.code, 0) << describe(r);
  EXPECT_NE(r.err.find("GREETING=hi"), std::string::npos) << "--env reaches the guest: " << r.err;
}

TEST(JinnCall, MiddlewarePrintsTheRequestThatGoesOn) {
  const fs::path dir = workDir("call_middleware");
  Ran r = sh(std::string("jinn call ") + JINN_GUEST_DIR +
                 "/serve_continue.wasm --middleware --path /x -H 'X-Remove-Me: 1' "
                 "-H 'X-Keep: 2' --body original",
             dir);
  ASSERT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(r.out.rfind("POST /x HTTP/1.1\r\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("X-Middleware: was-here\r\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("X-Keep: 2\r\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("X-Remove-Me"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\r\n\r\nreplaced by middleware"), std::string::npos) << r.out;
}

TEST(JinnCall, UsageErrorsExit125) {
  const fs::path dir = workDir("call_usage");
  const std::string hello = std::string(JINN_GUEST_DIR) + "/serve_echo.wasm";
  struct Case {
    std::string args, message;
  };
  const Case cases[] = {
      {"", "no FILE"},
      {"missing.wasm", "missing.wasm"},
      {hello + " --header NoColon", "--header wants 'Name: value'"},
      {hello + " --header 'Bad Name: x'", "bad header name"},
      {hello + " --path relative", "--path must start with '/'"},
      {hello + " --timeout 0s", "bad --timeout"},
      {hello + " --memory lots", "bad --memory"},
      {hello + " --body @no-such-file", "cannot read body file"},
      {hello + " --frobnicate 1", "unknown option --frobnicate"},
  };
  for (const Case& c : cases) {
    Ran r = sh("jinn call " + c.args, dir);
    EXPECT_EQ(r.code, 125) << c.args << ": " << describe(r);
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << ": " << r.err;
    EXPECT_EQ(r.out, "") << c.args;
  }
}

// The server and `jinn call` answer the same request with the same bytes.
TEST(JinnCall, PrintsExactlyWhatServeSends) {
  const fs::path dir = workDir("call_vs_serve");
  Ran made = sh("jinn new --lang c same && cp " +
                    shellQuote((fs::path(JINN_SDK_TESTS_DIR) / "echo.c").string()) +
                    " same/function.c && same/build.sh",
                dir);
  ASSERT_EQ(made.code, 0) << describe(made);
  const std::string body = "caf\xC3\xA9 \x01\x02 binary \xFF\xFE";
  writeFile(dir / "body.bin", body);
  Ran called =
      sh("jinn call same/same.wasm --method PATCH --path '/a/b?c=d' -H 'Host: test' "
         "-H 'X-One: 1' -H 'X-Two: 2' --body @body.bin",
         dir);
  ASSERT_EQ(called.code, 0) << describe(called);

  // The generated config, on a free port.
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setpgid(0, 0);
    ::setenv("PORT", "0", 1);
    const std::string err = (dir / "serve.err").string();
    std::freopen(err.c_str(), "w", stderr);
    std::freopen("/dev/null", "w", stdout);
    ::execl(JINN_BINARY, JINN_BINARY, "serve", "-c", (dir / "same" / "jinn.toml").c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int port = 0;
  const std::regex listening(R"(listening on 127\.0\.0\.1:([0-9]+))");
  for (int i = 0; i < 1200 && port == 0; ++i) {
    std::smatch m;
    const std::string log = readFile(dir / "serve.err");
    if (std::regex_search(log, m, listening))
      port = std::stoi(m[1]);
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string answer;
  if (port != 0) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{60, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      const std::string request =
          "PATCH /a/b?c=d HTTP/1.1\r\nHost: test\r\nX-One: 1\r\nX-Two: 2\r\n"
          "Content-Length: " +
          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      (void)!::write(fd, request.data(), request.size());
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) answer.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
  }
  ::kill(-pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_NE(port, 0) << "jinn serve did not start: " << readFile(dir / "serve.err");
  // The server adds only its connection handling for "Connection: close";
  // the two Date fields can be a second apart.
  const std::string connection = "Connection: close\r\n";
  const size_t at = answer.find(connection);
  ASSERT_NE(at, std::string::npos) << answer;
  ASSERT_LT(at, answer.find("\r\n\r\n")) << answer;
  answer.erase(at, connection.size());
  const std::regex date("\r\nDate: [^\r]*\r\n");
  EXPECT_TRUE(std::regex_search(called.out, date)) << called.out;
  EXPECT_EQ(std::regex_replace(answer, date, "\r\n"), std::regex_replace(called.out, date, "\r\n"));
}

}  // namespace
