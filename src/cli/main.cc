// `jinn`: command-line wiring over the embedding API. No logic of its own
// beyond argument parsing and printing; see docs/cli.md.
//
// Exit codes of `jinn run`: the guest's exit code; 124 timeout; 125 jinn's own
// error (usage, unreadable file, compile failure); 134 trap; 135 out of
// memory; 136 output too large.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/call.h"
#include "cli/new.h"
#include "cli/serve.h"
#include "engine/artifact.h"
#include "jinn/jinn.h"
#include "util/units.h"

namespace {

constexpr int kExitTimeout = 124;
constexpr int kExitJinnError = 125;
constexpr int kExitTrap = 134;
constexpr int kExitOutOfMemory = 135;
constexpr int kExitOutputTooLarge = 136;

const char kUsage[] =
    "usage:\n"
    "  jinn run [--env K=V]... [--dir HOST[::GUEST]]... [--timeout DUR] [--memory SIZE]\n"
    "           [--max-output SIZE] [TRUST] FILE [ARGS...]\n"
    "  jinn serve -c CONFIG.toml\n"
    "  jinn check -c CONFIG.toml\n"
    "  jinn compile FILE... | FILE --output ARTIFACT [--sign-key NAME.key]\n"
    "  jinn keygen --out NAME\n"
    "  jinn bench FILE [--requests N] [--stdin FILE] [--timeout DUR] [--memory SIZE] [TRUST]\n"
    "  jinn call FILE [--method M] [--path P] [--header 'K: V']... [--body TEXT|@FILE]\n"
    "            [--env K=V]... [--timeout DUR] [--memory SIZE] [--middleware] [--verbose]\n"
    "  jinn new --lang c|cpp|rust|assemblyscript NAME\n"
    "  jinn version\n"
    "FILE is a .wasm, a .wat, or an artifact written by `jinn compile --output`.\n"
    "An artifact runs only if trusted: TRUST is any of --trusted-key NAME.pub (repeatable)\n"
    "and --artifact-allowlist FILE (one sha256 per line, as `jinn compile` prints them).\n";

int usageError(const std::string& message) {
  std::cerr << "jinn: " << message << "\n" << kUsage;
  return kExitJinnError;
}

bool readFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buf;
  buf << in.rdbuf();
  *out = buf.str();
  return !in.bad();
}

// --trusted-key / --artifact-allowlist, shared by run and bench. False: not a trust flag.
bool parseTrustFlag(const std::string& flag, const std::string& value, jinn::EngineConfig* config) {
  if (flag == "--trusted-key") {
    config->trusted_keys.emplace_back(value);
    return true;
  }
  if (flag == "--artifact-allowlist") {
    config->artifact_allowlist = value;
    return true;
  }
  return false;
}

// Options shared by run and bench. Returns false (after printing) on a bad value.
bool parseLimitFlag(const std::string& flag, const std::string& value, jinn::Limits* limits,
                    std::string* error) {
  if (flag == "--timeout") {
    auto d = jinn::util::parseDuration(value);
    if (!d || d->count() <= 0) {
      *error = "bad --timeout '" + value + "' (examples: 50ms, 2s)";
      return false;
    }
    limits->timeout = std::chrono::duration_cast<std::chrono::microseconds>(*d);
    return true;
  }
  if (flag == "--memory") {
    auto s = jinn::util::parseSize(value);
    if (!s || *s == 0) {
      *error = "bad --memory '" + value + "' (examples: 16MiB, 1GiB)";
      return false;
    }
    limits->memory_bytes = *s;
    return true;
  }
  if (flag == "--max-output") {
    auto s = jinn::util::parseSize(value);
    if (!s) {
      *error = "bad --max-output '" + value + "'";
      return false;
    }
    limits->stdout_bytes = *s;
    limits->stderr_bytes = *s;
    return true;
  }
  *error = "unknown option " + flag;
  return false;
}

std::shared_ptr<jinn::Engine> makeEngine(jinn::EngineConfig config = {}) {
  auto engine = jinn::Engine::create(std::move(config));
  if (!engine.ok()) {
    std::cerr << "jinn: " << engine.error().message << "\n";
    return nullptr;
  }
  return engine.value();
}

// An engine and the module FILE (wasm, wat or artifact); prints why and
// returns null when either fails. The engine is handed out to outlive the call.
std::shared_ptr<jinn::Module> openModule(const std::string& file, jinn::EngineConfig config,
                                         std::shared_ptr<jinn::Engine>* engine) {
  *engine = makeEngine(std::move(config));
  if (!*engine) return nullptr;
  auto module = (*engine)->loadFile(file);
  if (!module.ok()) {
    std::cerr << "jinn: " << module.error().message << "\n";
    return nullptr;
  }
  return module.value();
}

int cmdRun(const std::vector<std::string>& argv) {
  jinn::CallOptions options;
  // The command line is interactive use: no deadline unless asked, the whole
  // wasm32 address space, and output capped only to keep the host alive.
  options.limits.timeout = std::chrono::hours(24 * 365);
  options.limits.memory_bytes = 4ull << 30;
  options.limits.stdout_bytes = 1ull << 30;
  options.limits.stderr_bytes = 1ull << 30;
  jinn::EngineConfig engine_config;
  size_t i = 0;
  std::string error;
  for (; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.rfind("--", 0) != 0) break;
    std::string flag = a, value;
    if (auto eq = a.find('='); eq != std::string::npos && a.rfind("--env", 0) != 0) {
      flag = a.substr(0, eq);
      value = a.substr(eq + 1);
    } else {
      if (i + 1 >= argv.size()) return usageError(a + " needs a value");
      value = argv[++i];
    }
    if (flag == "--env") {
      if (value.find('=') == std::string::npos) return usageError("--env wants K=V, got " + value);
      options.env.push_back(value);
    } else if (flag == "--dir") {
      jinn::Preopen p;
      if (auto sep = value.find("::"); sep != std::string::npos) {
        p.host_path = value.substr(0, sep);
        p.guest_path = value.substr(sep + 2);
      } else {
        p.host_path = value;
        p.guest_path = value;
      }
      p.writable = true;  // as wasmtime run: a --dir is read-write
      options.preopens.push_back(std::move(p));
    } else if (parseTrustFlag(flag, value, &engine_config)) {
    } else if (!parseLimitFlag(flag, value, &options.limits, &error)) {
      return usageError(error);
    }
  }
  if (i >= argv.size()) return usageError("run: no FILE");
  const std::string file = argv[i];
  options.args.assign(argv.begin() + static_cast<long>(i), argv.end());

  std::shared_ptr<jinn::Engine> engine;
  std::shared_ptr<jinn::Module> module = openModule(file, std::move(engine_config), &engine);
  if (!module) return kExitJinnError;
  std::string input;
  if (!isatty(STDIN_FILENO)) {
    std::ostringstream buf;
    buf << std::cin.rdbuf();
    input = buf.str();
  }
  options.stdin_data = input;
  jinn::CallResult result = module->call(options);
  std::fwrite(result.stdout_data.data(), 1, result.stdout_data.size(), stdout);
  std::fflush(stdout);
  std::fwrite(result.stderr_data.data(), 1, result.stderr_data.size(), stderr);
  switch (result.outcome) {
    case jinn::Outcome::kExited:
      return result.exit_code;
    case jinn::Outcome::kTimeout:
      std::cerr << "jinn: " << result.message << "\n";
      return kExitTimeout;
    case jinn::Outcome::kOutOfMemory:
      std::cerr << "jinn: " << result.message << "\n";
      return kExitOutOfMemory;
    case jinn::Outcome::kOutputTooLarge:
      std::cerr << "jinn: " << result.message << "\n";
      return kExitOutputTooLarge;
    case jinn::Outcome::kHostError:
      std::cerr << "jinn: " << result.message << "\n";
      return kExitJinnError;
    default:
      std::cerr << "jinn: " << result.message << "\n";
      return kExitTrap;
  }
}

// Writes `data` to `path` through a temp file and a rename, so a reader never
// sees half a file.
bool writeAtomically(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.close();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      std::cerr << "jinn: cannot write " << tmp << "\n";
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    std::cerr << "jinn: cannot write " << path << ": " << ec.message() << "\n";
    return false;
  }
  return true;
}

// `jinn compile FILE...`: compiles each into the cache and prints its cached
// .so, one engine for all (a batch of small modules costs their compiles, not
// a process each). With --output (one FILE): writes an artifact
// (src/engine/artifact.h), signed with --sign-key, and prints "SHA256  ARTIFACT"
// (sha256sum's format, ready for an allow-list).
int cmdCompile(const std::vector<std::string>& argv) {
  std::vector<std::string> files;
  std::string output, sign_key;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--output" || argv[i] == "-o" || argv[i] == "--sign-key") {
      if (i + 1 >= argv.size()) return usageError(argv[i] + " needs a value");
      (argv[i] == "--sign-key" ? sign_key : output) = argv[i + 1];
      ++i;
    } else if (argv[i].rfind("--output=", 0) == 0) {
      output = argv[i].substr(9);
    } else if (argv[i].rfind("--sign-key=", 0) == 0) {
      sign_key = argv[i].substr(11);
    } else if (argv[i].rfind("--", 0) != 0) {
      files.push_back(argv[i]);
    } else {
      return usageError("compile: unexpected " + argv[i]);
    }
  }
  if (files.empty()) return usageError("compile: no FILE");
  if (!sign_key.empty() && output.empty()) return usageError("--sign-key needs --output");
  if (!output.empty() && files.size() > 1) return usageError("--output takes one FILE");
  if (output.empty() && files.size() > 1) {
    auto engine = makeEngine();
    if (!engine) return kExitJinnError;
    int status = 0;
    for (const std::string& f : files) {
      std::string bytes;
      if (!readFile(f, &bytes)) {
        std::cerr << "jinn: " << f << ": cannot open file\n";
        status = kExitJinnError;
        continue;
      }
      auto module = jinn::artifact::hasMagic(bytes)
                        ? jinn::Result<std::shared_ptr<jinn::Module>>(jinn::Error{
                              f + ": already an artifact; compile the .wasm it came from"})
                        : engine->loadBytes(bytes, f);
      if (!module.ok()) {
        std::cerr << "jinn: " << module.error().message << "\n";
        status = kExitJinnError;
        continue;
      }
      std::cout << module.value()->artifactPath().string() << "\n";
    }
    return status;
  }
  const std::string& file = files.front();
  std::string source;
  if (!readFile(file, &source)) {
    std::cerr << "jinn: " << file << ": cannot open file\n";
    return kExitJinnError;
  }
  if (jinn::artifact::hasMagic(source)) {
    std::cerr << "jinn: " << file << ": already an artifact; compile the .wasm it came from\n";
    return kExitJinnError;
  }
  // Loaded before the key, so a bad module is reported as such.
  std::optional<jinn::artifact::SigningKey> key;
  if (!sign_key.empty()) {
    auto loaded = jinn::artifact::SigningKey::load(sign_key);
    if (!loaded.ok()) {
      std::cerr << "jinn: " << loaded.error().message << "\n";
      return kExitJinnError;
    }
    key = std::move(loaded.value());
  }
  auto engine = makeEngine();
  if (!engine) return kExitJinnError;
  auto module = engine->loadBytes(source, file);
  if (!module.ok()) {
    std::cerr << "jinn: " << module.error().message << "\n";
    return kExitJinnError;
  }
  const auto& so_path = module.value()->artifactPath();
  if (output.empty()) {
    std::cout << so_path.string() << "\n";
    return 0;
  }
  std::string so;
  if (!readFile(so_path.string(), &so)) {
    std::cerr << "jinn: cannot read " << so_path.string() << "\n";
    return kExitJinnError;
  }
  auto built = jinn::artifact::build(so, module.value()->hash(), key ? &*key : nullptr);
  if (!built.ok()) {
    std::cerr << "jinn: " << built.error().message << "\n";
    return kExitJinnError;
  }
  if (!writeAtomically(output, built.value())) return kExitJinnError;
  std::cout << jinn::artifact::sha256Hex(built.value()) << "  " << output << "\n";
  return 0;
}

// `jinn keygen --out NAME`: NAME.key (private, 0600) and NAME.pub.
int cmdKeygen(const std::vector<std::string>& argv) {
  std::string out;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--out" && i + 1 < argv.size()) {
      out = argv[++i];
    } else if (argv[i].rfind("--out=", 0) == 0) {
      out = argv[i].substr(6);
    } else {
      return usageError("keygen: unexpected " + argv[i]);
    }
  }
  if (out.empty()) return usageError("keygen: --out NAME is required");
  auto made = jinn::artifact::generateKeyPair(out);
  if (!made.ok()) {
    std::cerr << "jinn: " << made.error().message << "\n";
    return kExitJinnError;
  }
  std::cout << out << ".key\n" << out << ".pub\n";
  return 0;
}

long rssKb() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * (sysconf(_SC_PAGESIZE) / 1024);
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

int cmdBench(const std::vector<std::string>& argv) {
  std::string file, stdin_file;
  uint64_t requests = 100000;
  jinn::Limits limits;
  jinn::EngineConfig engine_config;
  std::string error;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) == 0) {
      if (i + 1 >= argv.size()) return usageError(a + " needs a value");
      const std::string value = argv[++i];
      if (a == "--requests") {
        char* end = nullptr;
        requests = std::strtoull(value.c_str(), &end, 10);
        if (*end != '\0' || requests == 0) return usageError("bad --requests " + value);
      } else if (a == "--stdin") {
        stdin_file = value;
      } else if (parseTrustFlag(a, value, &engine_config)) {
      } else if (!parseLimitFlag(a, value, &limits, &error)) {
        return usageError(error);
      }
    } else if (file.empty()) {
      file = a;
    } else {
      return usageError("bench: unexpected " + a);
    }
  }
  if (file.empty()) return usageError("bench: no FILE");
  std::string input;
  if (!stdin_file.empty() && !readFile(stdin_file, &input)) {
    std::cerr << "jinn: cannot read " << stdin_file << "\n";
    return kExitJinnError;
  }
  std::shared_ptr<jinn::Engine> engine;
  std::shared_ptr<jinn::Module> module = openModule(file, std::move(engine_config), &engine);
  if (!module) return kExitJinnError;
  jinn::CallOptions options;
  options.stdin_data = input;
  options.args = {file};
  options.limits = limits;
  jinn::CallResult result;

  // Warm up: the thread's guest stack, the pool's slot, the timer.
  for (int i = 0; i < 100; ++i) module->call(options, result);
  // Sample storage is touched before the first RSS reading, so RSS compares
  // the engine, not the benchmark's own arrays.
  std::vector<double> total(requests, 0.0), inst(requests, 0.0), run(requests, 0.0),
      teardown(requests, 0.0);
  uint64_t failures = 0;
  const long rss_before = rssKb();
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < requests; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    module->call(options, result);
    const auto t1 = std::chrono::steady_clock::now();
    total[i] = std::chrono::duration<double, std::micro>(t1 - t0).count();
    inst[i] = result.timings.instantiate_us;
    run[i] = result.timings.run_us;
    teardown[i] = result.timings.teardown_us;
    if (result.outcome != jinn::Outcome::kExited || result.exit_code != 0) ++failures;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long rss_after = rssKb();
  char line[512];
  std::snprintf(line, sizeof line,
                "{\"calls\":%llu,\"calls_per_s\":%.0f,\"total_us_p50\":%.2f,\"total_us_p99\":%.2f,"
                "\"instantiate_us_p50\":%.2f,\"run_us_p50\":%.2f,\"teardown_us_p50\":%.2f,"
                "\"rss_kb_before\":%ld,\"rss_kb_after\":%ld,\"failures\":%llu}",
                static_cast<unsigned long long>(requests), static_cast<double>(requests) / seconds,
                percentile(total, 0.5), percentile(total, 0.99), percentile(inst, 0.5),
                percentile(run, 0.5), percentile(teardown, 0.5), rss_before, rss_after,
                static_cast<unsigned long long>(failures));
  std::cout << line << std::endl;
  if (failures > 0) {
    std::cerr << "jinn: " << failures << " calls did not exit 0 (last: " << result.message
              << ")\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usageError("no command");
  const std::string cmd = argv[1];
  std::vector<std::string> rest(argv + 2, argv + argc);
  if (cmd == "run") return cmdRun(rest);
  if (cmd == "serve") return jinn::cli::serve(rest);
  if (cmd == "check") return jinn::cli::check(rest);
  if (cmd == "compile") return cmdCompile(rest);
  if (cmd == "keygen") return cmdKeygen(rest);
  if (cmd == "bench") return cmdBench(rest);
  if (cmd == "call") return jinn::cli::call(rest);
  if (cmd == "new") return jinn::cli::newProject(rest);
  if (cmd == "version" || cmd == "--version") {
    std::cout << "jinn 0.1.0\n";
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::cout << kUsage;
    return 0;
  }
  return usageError("unknown command '" + cmd + "'");
}
