// `jinn call FILE ...`: one request through a function, no server. The
// request is built as a Beast message like the server's, encoded with the
// server's envelope encoder, and the answer goes through the same contract
// parser and status mapping (src/contract), so what is printed is what
// `jinn serve` would send for that request.
#include "cli/call.h"

#include <unistd.h>

#include <boost/beast/http/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "contract/headers.h"
#include "contract/request.h"
#include "contract/response.h"
#include "contract/status.h"
#include "http/http_types.h"
#include "http/wire.h"
#include "jinn/jinn.h"
#include "observe/trace.h"
#include "util/units.h"

namespace jinn::cli {
namespace {

constexpr int kExitJinnError = 125;

const char kCallUsage[] =
    "usage: jinn call FILE [--method M] [--path P] [--header 'K: V']... [--body TEXT|@FILE]\n"
    "                 [--env K=V]... [--timeout DUR] [--memory SIZE] [--route R]\n"
    "                 [--middleware] [--verbose] [--trusted-key NAME.pub]...\n"
    "                 [--artifact-allowlist FILE]\n";

int usage(const std::string& message) {
  std::cerr << "jinn call: " << message << "\n" << kCallUsage;
  return kExitJinnError;
}

std::string_view sv(http::beast::string_view s) { return {s.data(), s.size()}; }

bool readAll(std::istream& in, std::string* out) {
  std::ostringstream buf;
  buf << in.rdbuf();
  *out = buf.str();
  return !in.bad();
}

bool isArtifact(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic,
                                         "\x7f"
                                         "ELF",
                                         4) == 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool isToken(std::string_view s) { return contract::isHeaderToken(s); }

// The envelope of `req` exactly as the server writes it; the peer is a
// fixed local address.
std::string envelopeOf(const http::Request& req, std::string_view trace_id,
                       std::string_view route) {
  return http::envelopeFor(req, trace_id, "127.0.0.1:0", route);
}

void printVerbose(const CallResult& result, double load_ms) {
  char line[256];
  std::snprintf(line, sizeof line,
                "* load %.1f ms; instantiate %.1f us, run %.1f us, teardown %.1f us\n", load_ms,
                result.timings.instantiate_us, result.timings.run_us, result.timings.teardown_us);
  std::cerr << line;
  std::cerr << "* outcome: " << outcomeName(result.outcome);
  if (result.outcome == Outcome::kExited) std::cerr << ", exit code " << result.exit_code;
  if (!result.message.empty()) std::cerr << " (" << result.message << ")";
  std::cerr << "\n* stderr: " << result.stderr_data.size() << " bytes\n";
  std::cerr.write(result.stderr_data.data(),
                  static_cast<std::streamsize>(result.stderr_data.size()));
  if (!result.stderr_data.empty() && result.stderr_data.back() != '\n') std::cerr << "\n";
  std::cerr << "* stdout: " << result.stdout_data.size() << " bytes\n";
  std::cerr.write(result.stdout_data.data(),
                  static_cast<std::streamsize>(result.stdout_data.size()));
  if (!result.stdout_data.empty() && result.stdout_data.back() != '\n') std::cerr << "\n";
  std::cerr.flush();
}

}  // namespace

int call(const std::vector<std::string>& argv) {
  std::string file, method, path = "/", route, body;
  EngineConfig engine_config;
  bool have_body = false, verbose = false, middleware = false;
  std::vector<std::pair<std::string, std::string>> headers;
  CallOptions options;
  // The defaults of a route's function settings (src/config/schema.md), so
  // the call is stopped where the server would stop it.
  options.limits.timeout = std::chrono::seconds(1);
  options.limits.memory_bytes = 64ull << 20;
  options.limits.stdout_bytes = 1u << 20;
  options.limits.stderr_bytes = 64u << 10;

  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--verbose" || a == "-v") {
      verbose = true;
      continue;
    }
    if (a == "--middleware") {
      middleware = true;
      continue;
    }
    if (a.size() < 2 || a[0] != '-' || a == "--") {
      if (a == "--" && i + 1 < argv.size()) {
        if (!file.empty()) return usage("more than one FILE");
        file = argv[++i];
        continue;
      }
      if (!file.empty()) return usage("unexpected argument '" + a + "'");
      file = a;
      continue;
    }
    std::string flag = a, value;
    if (auto eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
      flag = a.substr(0, eq);
      value = a.substr(eq + 1);
    } else {
      if (i + 1 >= argv.size()) return usage(a + " needs a value");
      value = argv[++i];
    }
    if (flag == "--method" || flag == "-X") {
      if (!isToken(value)) return usage("bad --method '" + value + "'");
      method = value;
    } else if (flag == "--path") {
      if (value.empty() || value.front() != '/') {
        return usage("--path must start with '/' (got '" + value + "')");
      }
      for (unsigned char c : value) {
        if (c <= 0x20 || c == 0x7f)
          return usage("--path must not contain spaces or control characters");
      }
      path = value;
    } else if (flag == "--header" || flag == "-H") {
      const size_t colon = value.find(':');
      if (colon == std::string::npos)
        return usage("--header wants 'Name: value', got '" + value + "'");
      const std::string name(trim(std::string_view(value).substr(0, colon)));
      const std::string val(trim(std::string_view(value).substr(colon + 1)));
      if (!isToken(name)) return usage("bad header name '" + name + "'");
      if (!contract::isValidHeaderValue(val)) {
        return usage("header '" + name + "' has a control character in its value");
      }
      headers.emplace_back(name, val);
    } else if (flag == "--body" || flag == "-d") {
      have_body = true;
      if (value == "@-") {
        if (!readAll(std::cin, &body)) return usage("cannot read the body from stdin");
      } else if (!value.empty() && value.front() == '@') {
        std::ifstream in(value.substr(1), std::ios::binary);
        if (!in || !readAll(in, &body)) return usage("cannot read body file " + value.substr(1));
      } else {
        body = value;
      }
    } else if (flag == "--env") {
      if (value.find('=') == std::string::npos || value.front() == '=') {
        return usage("--env wants K=V, got '" + value + "'");
      }
      options.env.push_back(value);
    } else if (flag == "--timeout") {
      auto d = util::parseDuration(value);
      if (!d || d->count() <= 0) return usage("bad --timeout '" + value + "' (examples: 50ms, 2s)");
      options.limits.timeout = std::chrono::ceil<std::chrono::microseconds>(*d);
    } else if (flag == "--memory") {
      auto s = util::parseSize(value);
      if (!s || *s == 0) return usage("bad --memory '" + value + "' (examples: 16MiB, 1GiB)");
      options.limits.memory_bytes = *s;
    } else if (flag == "--route") {
      route = value;
    } else if (flag == "--trusted-key") {  // as for run and bench: artifacts need trust
      engine_config.trusted_keys.emplace_back(value);
    } else if (flag == "--artifact-allowlist") {
      engine_config.artifact_allowlist = value;
    } else {
      return usage("unknown option " + flag);
    }
  }
  if (file.empty()) return usage("no FILE");
  if (method.empty()) method = have_body ? "POST" : "GET";

  http::Request req;
  req.version(11);
  req.method_string(method);
  req.target(path);
  for (const auto& [name, value] : headers) req.insert(name, value);
  req.body() = body;
  // As an HTTP client would send it: a body comes with its length.
  if (!body.empty() && req.find(http::bhttp::field::content_length) == req.end()) {
    req.set(http::bhttp::field::content_length, std::to_string(body.size()));
  }
  if (route.empty()) route = path.substr(0, path.find('?'));
  auto tp = req.find("traceparent");
  const std::string trace_id =
      observe::traceIdFor(tp == req.end() ? std::string_view() : sv(tp->value()));

  auto engine = Engine::create(std::move(engine_config));
  if (!engine.ok()) {
    std::cerr << "jinn: " << engine.error().message << "\n";
    return kExitJinnError;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto module =
      isArtifact(file) ? engine.value()->loadArtifact(file) : engine.value()->loadFile(file);
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!module.ok()) {
    std::cerr << "jinn: " << module.error().message << "\n";
    return kExitJinnError;
  }

  const std::string input = envelopeOf(req, trace_id, route);
  options.stdin_data = input;
  options.args = {std::filesystem::path(file).filename().string()};
  CallResult result = module.value()->call(options);
  if (verbose) printVerbose(result, load_ms);

  const bool clean = result.outcome == Outcome::kExited && result.exit_code == 0;
  http::Response res;
  if (middleware) {
    contract::MiddlewareResult parsed = clean ? contract::parseMiddleware(result.stdout_data)
                                              : contract::MiddlewareResult(Error{""});
    const int status = contract::httpStatusFor(result.outcome, result.exit_code, parsed.ok());
    if (status != contract::kUseFunctionStatus) {
      res = http::textResponse(
          status, contract::failureReason(result.outcome, result.exit_code, parsed.ok(),
                                          parsed.ok() ? "" : parsed.error().message));
    } else if (auto* respond = std::get_if<contract::MiddlewareRespond>(&parsed.value())) {
      res = http::toHttp(std::move(respond->response), 11);
    } else {
      // Continue: print the request as the next step (function or upstream)
      // would receive it, changed in the server's order.
      auto& cont = std::get<contract::MiddlewareContinue>(parsed.value());
      for (const auto& name : cont.remove_headers) req.erase(name);
      std::set<std::string> replaced;
      for (const auto& [name, value] : cont.set_headers) {
        if (replaced.insert(name).second) req.erase(name);
        req.insert(name, value);
      }
      if (cont.body) {
        req.body() = std::move(*cont.body);
        req.prepare_payload();
      }
      std::cout << req;
      std::cout.flush();
      return 0;
    }
  } else {
    contract::ParseResult parsed =
        clean ? contract::parseResponse(result.stdout_data) : contract::ParseResult(Error{""});
    const int status = contract::httpStatusFor(result.outcome, result.exit_code, parsed.ok());
    res = status == contract::kUseFunctionStatus
              ? http::toHttp(std::move(parsed.value()), 11)
              : http::textResponse(
                    status, contract::failureReason(result.outcome, result.exit_code, parsed.ok(),
                                                    parsed.ok() ? "" : parsed.error().message));
  }
  // The server's own serializer (HEAD: Content-Length kept, no body).
  std::string out;
  http::serializeResponse(res, method == "HEAD", out);
  std::cout << out;
  std::cout.flush();
  return 0;
}

}  // namespace jinn::cli
