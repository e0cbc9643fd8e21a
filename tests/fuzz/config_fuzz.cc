// libFuzzer target for the config parser as `jinn check` runs it
// (config::parseConfig on the file's text; compiling the functions is left
// out), then the router built from the result.
//
// The input is the TOML text. Relative paths resolve against a scratch
// directory holding fn.wasm, mw.wasm, cert.pem, key.pem and data/; ${env.X}
// placeholders see a fixed, fake environment.
//
// Besides not crashing: an error is one "fuzz.toml:LINE:COL: message" per
// line (so a value or key cannot forge or split problems); an accepted config
// keeps what the server relies on (schema.md); and every accepted route is
// reachable: the router answers its own path and methods with that route.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/router.h"
#include "invariant.h"

namespace {

namespace fs = std::filesystem;
using namespace jinn::config;
using jinn::fuzz::check;

// Created on first use, removed at exit.
struct Scratch {
  fs::path dir;
  Scratch() {
    char tmpl[] = "/tmp/jinn-config-fuzz-XXXXXX";
    const char* made = mkdtemp(tmpl);
    check(made != nullptr, "cannot create the scratch directory");
    dir = made;
    for (const char* file : {"fn.wasm", "mw.wasm", "cert.pem", "key.pem"}) {
      std::ofstream(dir / file) << "x";
    }
    fs::create_directory(dir / "data");
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const fs::path& scratch() {
  static const Scratch s;
  return s.dir;
}

std::optional<std::string> fakeEnv(std::string_view name) {
  static const std::map<std::string, std::string, std::less<>> kEnv = {
      {"PORT", "8080"}, {"HOST", "127.0.0.1"}, {"EMPTY", ""}, {"WASM", "fn.wasm"},
      {"SECRET", "s3cr3t"}, {"UPSTREAM", "http://127.0.0.1:9000/base/"}};
  auto it = kEnv.find(name);
  if (it == kEnv.end()) return std::nullopt;
  return it->second;
}

bool hasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

void checkErrors(std::string_view message) {
  check(!message.empty(), "empty error");
  size_t start = 0;
  while (start <= message.size()) {
    size_t end = message.find('\n', start);
    if (end == std::string_view::npos) end = message.size();
    std::string_view line = message.substr(start, end - start);
    check(line.substr(0, 10) == "fuzz.toml:", "problem does not start with the file name");
    size_t i = 10;
    auto number = [&] {
      const size_t from = i;
      while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
      check(i > from, "problem has no line or column number");
    };
    number();
    check(i < line.size() && line[i] == ':', "no ':' after the line");
    ++i;
    number();
    check(line.substr(i, 2) == ": " && line.size() > i + 2, "no message after file:line:col");
    for (char c : line) {
      check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F, "control character in a problem");
    }
    start = end + 1;
  }
}

void checkFunction(const FunctionConfig& f) {
  check(f.path.is_absolute() && !hasNul(f.path.native()), "function path not absolute or has NUL");
  check(fs::is_regular_file(f.path), "function path is not a file");
  check(f.limits.timeout.count() > 0, "zero timeout");
  check(f.limits.memory_bytes > 0 && f.limits.stdout_bytes > 0 && f.limits.stderr_bytes > 0,
        "zero limit");
  check(!f.args.empty() && f.args[0] == f.path.filename().string(), "argv[0] is not the file name");
  for (const std::string& a : f.args) check(!hasNul(a), "NUL in an argument");
  for (const std::string& e : f.env) {
    const size_t eq = e.find('=');
    check(eq != std::string::npos && eq > 0, "env entry without a name");
    check(!hasNul(e), "NUL in an env entry");
  }
  check(std::is_sorted(f.env.begin(), f.env.end()), "env not sorted");
  for (const jinn::Preopen& p : f.preopens) {
    check(p.host_path.is_absolute() && !hasNul(p.host_path.native()), "bad preopen host path");
    check(fs::is_directory(p.host_path), "preopen is not a directory");
    check(!p.guest_path.empty() && !hasNul(p.guest_path), "bad preopen guest path");
  }
}

bool allows(const RouteConfig& route, std::string_view method) {
  if (route.methods.empty()) return true;
  return std::any_of(route.methods.begin(), route.methods.end(), [&](const std::string& m) {
    return m == method || (method == "HEAD" && m == "GET");
  });
}

void checkConfig(const Config& config) {
  const ServerConfig& s = config.server;
  check(s.workers >= 1 && s.function_threads >= 1, "no threads");
  check(s.read_timeout.count() > 0 && s.idle_timeout.count() > 0 && s.shutdown_grace.count() > 0,
        "zero server timeout");
  check(s.inline_budget.count() >= 0, "negative inline budget");
  check(s.max_header_bytes > 0 && s.max_body_bytes > 0, "zero server limit");
  check(s.tls_cert.empty() == s.tls_key.empty(), "only one of tls_cert and tls_key");
  check(s.tls_cert.empty() || fs::is_regular_file(s.tls_cert), "tls_cert is not a file");
  for (const RouteConfig& r : config.routes) {
    check(!r.path.empty() && r.path[0] == '/', "route path does not start with '/'");
    for (char c : r.path) check(static_cast<unsigned char>(c) > 0x20 && c != 0x7F, "bad route path");
    check(r.prefix == (r.path.size() >= 2 && r.path.substr(r.path.size() - 2) == "/*"),
          "prefix flag does not match the path");
    check(r.path.find('*') == std::string::npos || r.prefix, "'*' inside a path");
    check(r.function.has_value() != r.proxy.has_value(), "not exactly one of function / proxy");
    for (const std::string& m : r.methods) {
      check(!m.empty() && std::all_of(m.begin(), m.end(),
                                      [](char c) { return (c >= 'A' && c <= 'Z') || c == '-' || c == '_'; }),
            "method is not an uppercase token");
    }
    if (r.function) checkFunction(*r.function);
    for (const FunctionConfig& mw : r.middleware) checkFunction(mw);
    if (r.proxy) {
      const ProxyConfig& p = *r.proxy;
      check(!p.host.empty() && p.port != 0, "proxy without host or port");
      check(p.base_path.empty() || (p.base_path[0] == '/' && p.base_path.back() != '/'),
            "proxy base path not \"\" or \"/base\"");
      check(p.upstream_timeout.count() > 0 && p.connect_timeout.count() > 0, "zero proxy timeout");
    }
  }

  // Every accepted route answers its own path and methods.
  Router router(config.routes);
  for (const RouteConfig& r : config.routes) {
    std::string path = r.path;
    // A probe no other route can claim: controls never appear in route paths.
    if (r.prefix) path = path.substr(0, path.size() - 1) + "\x01";
    std::vector<std::string> methods = r.methods;
    if (methods.empty()) methods = {"GET", "DELETE", "X-ANY"};
    for (const std::string& m : methods) {
      RouteMatch match = router.match(m, path);
      check(match.kind == RouteMatch::Kind::kFound, "a route does not answer its own path");
      check(match.route == &r, "a route is shadowed by another");
      check(allows(*match.route, m), "matched a route that excludes the method");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  jinn::Result<Config> result = parseConfig(text, "fuzz.toml", scratch(), fakeEnv);
  if (!result.ok()) {
    checkErrors(result.error().message);
    return 0;
  }
  checkConfig(result.value());
  return 0;
}
