// Back half of the pipeline: the content-addressed cache, the two child
// processes (wasm2c, cc) and the atomic publication of the shared object.
#include "compiler/compiler.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <future>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "compiler/embedded_sources.h"
#include "compiler/instrument.h"
#include "compiler/subprocess.h"
#include "runtime/abi.h"

namespace jinn::compiler {
namespace fs = std::filesystem;

namespace {

// Bump when the layout or meaning of cache entries changes without any of the
// hashed inputs changing.
constexpr std::string_view kCacheFormat = "jinn-cache-v1";

// No feature flags: wasm2c 1.0.32 refuses to run with any set but its default
// ("only supports a limited set of features"), and that default enables SIMD,
// which it then aborts on. So validate() is the only gate: it rejects SIMD
// before the translator ever sees the module.
const std::vector<std::string> kTranslatorFlags = {"-n", "m", "--no-debug-names"};

// Must agree with the runtime: guard-page bounds checks (8 GiB reservations)
// and no call-depth counter, the stack guard is the runtime's (pitfalls 2, 7).
const std::vector<std::string> kCompilerFlags = {
    "-O2",
    "-fPIC",
    "-shared",
    "-fvisibility=hidden",
    "-fstack-clash-protection",
    "-ffp-contract=off",   // wasm float semantics: no fused multiply-add
    "-fno-strict-aliasing",
    "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1",
    "-DWASM_RT_USE_STACK_DEPTH_COUNT=0",
    // A missing macro or forwarder must fail here, not as an unresolved
    // symbol at dlopen time (or, worse, a call to an interposed host symbol).
    "-Werror=implicit-function-declaration",
    "-Wl,-z,defs",
};

constexpr size_t kStderrTailBytes = 2048;
// A temp dir whose owner is gone and that is older than this is litter from a
// crashed process.
constexpr auto kStaleTempAge = std::chrono::minutes(10);

std::string tail(std::string_view text, size_t bytes) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.size() <= bytes) return std::string(text);
  return "..." + std::string(text.substr(text.size() - bytes));
}

// `<program> --version`, for the cache key. A failure is recorded rather than
// fatal: compile() will then fail with the real error when it runs the tool.
std::string toolVersion(const CompilerConfig& config, const std::string& program) {
  SubprocessOptions options;
  options.argv = {program, "--version"};
  options.timeout = std::min<std::chrono::milliseconds>(config.timeout, std::chrono::seconds(30));
  options.memory_bytes = config.memory_bytes;
  options.max_file_bytes = config.max_output_bytes;
  options.capture_bytes = 16u << 10;
  auto result = Subprocess(options).run();
  if (!result) return "unavailable: " + result.error().message;
  const SubprocessResult& r = result.value();
  return r.out + r.err + "[" + r.describeStatus() + "]";
}

// The executable `program` names: itself when it has a '/', else the first
// executable regular file of that name on PATH, as execvp would find it.
std::optional<fs::path> findExecutable(const std::string& program) {
  auto usable = [](const fs::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) {
    if (usable(program)) return fs::path(program);
    return std::nullopt;
  }
  const char* path_env = ::getenv("PATH");
  std::string_view dirs = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const size_t colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    const fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / program;
    if (usable(candidate)) return candidate;
    if (colon == std::string_view::npos) return std::nullopt;
    dirs.remove_prefix(colon + 1);
  }
}

void appendField(std::string& out, std::string_view label, std::string_view value) {
  // Length-prefixed, so no two different inputs give the same text.
  out += label;
  out += ':';
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}

void writeFile(const fs::path& path, std::string_view data) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(data.data(), static_cast<std::streamsize>(data.size()));
  file.close();
  if (!file) throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
}

std::string readFile(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
  std::ostringstream text;
  text << file.rdbuf();
  return std::move(text).str();
}

// Removes the temp dir whatever happens (error return, exception).
class TempDir {
 public:
  explicit TempDir(fs::path path) : path_(std::move(path)) {}
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Removes temp dirs left by processes that died mid-compile. Best effort.
void sweepStaleTemps(const fs::path& tmp_root) {
  std::error_code ec;
  fs::directory_iterator it(tmp_root, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    // <key>.<pid>.<random>
    size_t first = name.find('.');
    size_t second = first == std::string::npos ? std::string::npos : name.find('.', first + 1);
    if (second == std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::strtol(name.c_str() + first + 1, nullptr, 10));
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::error_code time_ec;
    auto written = fs::last_write_time(it->path(), time_ec);
    if (time_ec || fs::file_time_type::clock::now() - written < kStaleTempAge) continue;
    std::error_code remove_ec;
    fs::remove_all(it->path(), remove_ec);
  }
}

std::string childFailure(std::string_view name, std::string_view what, const SubprocessResult& r) {
  std::string message = std::string(name) + ": " + std::string(what) + " " + r.describeStatus();
  std::string detail = tail(r.err.empty() ? r.out : r.err, kStderrTailBytes);
  if (!detail.empty()) message += ":\n" + detail;
  return message;
}

// A child (translator or C compiler) in `cwd`, within the configured limits.
SubprocessOptions childOptions(const CompilerConfig& config, const fs::path& cwd) {
  SubprocessOptions options;
  options.cwd = cwd;
  options.timeout = config.timeout;
  options.memory_bytes = config.memory_bytes;
  options.max_file_bytes = config.max_output_bytes;
  options.capture_bytes = 64u << 10;
  return options;
}

// Moves a freshly built file to its final name in the cache, durable before
// visible: a crash must not leave a truncated file under the final name,
// where every later load would trust it.
std::optional<Error> publish(const fs::path& built, const fs::path& final_path,
                             std::string_view name) {
  int fd = ::open(built.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Error{std::string(name) + ": C compiler produced no " + built.filename().string()};
  }
  ::fsync(fd);
  ::close(fd);
  std::error_code ec;
  fs::create_directories(final_path.parent_path(), ec);
  if (::rename(built.c_str(), final_path.c_str()) != 0) {
    return Error{std::string(name) + ": cannot publish " + final_path.string() + ": " +
                 std::strerror(errno)};
  }
  return std::nullopt;
}

// toolVersion, remembered in the cache by the identity of the executable
// (path, device, inode, size, modification and change times, symlinks
// followed): running `cc --version` and `wasm2c --version` is most of what
// a server with precompiled functions does before it listens. Replacing or
// upgrading a tool changes its identity, and the next start asks it again.
std::string rememberedToolVersion(const CompilerConfig& config, const std::string& program) {
  const std::optional<fs::path> exe = findExecutable(program);
  struct stat st {};
  if (config.cache_dir.empty() || !exe || ::stat(exe->c_str(), &st) != 0) {
    return toolVersion(config, program);
  }
  std::string identity = program + '\n' + exe->string() + '\n';
  for (long long v : {static_cast<long long>(st.st_dev), static_cast<long long>(st.st_ino),
                      static_cast<long long>(st.st_size), static_cast<long long>(st.st_mtim.tv_sec),
                      static_cast<long long>(st.st_mtim.tv_nsec), static_cast<long long>(st.st_ctim.tv_sec),
                      static_cast<long long>(st.st_ctim.tv_nsec)}) {
    identity += std::to_string(v) + '\n';
  }
  const fs::path memo = config.cache_dir / "common" / ("tool-" + sha256Hex(identity) + ".txt");
  std::error_code ec;
  if (fs::exists(memo, ec)) {
    try {
      std::string remembered = readFile(memo);
      if (!remembered.empty()) return remembered;
    } catch (const std::exception&) {
    }
  }
  std::string version = toolVersion(config, program);
  // Only a version that was really read is remembered (not "unavailable").
  if (version.rfind("unavailable: ", 0) != 0) {
    const fs::path tmp = memo.string() + "." + std::to_string(::getpid()) + ".tmp";
    try {
      fs::create_directories(memo.parent_path(), ec);
      writeFile(tmp, version);
      if (publish(tmp, memo, program)) fs::remove(tmp, ec);
    } catch (const std::exception&) {
      fs::remove(tmp, ec);
    }
  }
  return version;
}


// A text's alias is a symbolic link whose target is the hex SHA-256 of the
// wasm the text converts to: read with one readlink, created atomically by
// symlink(2), and never partial. "" when missing or not a hash.
std::string readAlias(const fs::path& alias) {
  char target[65];
  const ssize_t n = ::readlink(alias.c_str(), target, sizeof target);
  if (n != 64) return "";
  for (ssize_t i = 0; i < n; ++i) {
    const char c = target[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return "";
  }
  return std::string(target, 64);
}

// Best effort: without it the next compile of this text only parses it
// again. Made under a private name and renamed over the alias, so an alias
// that is not a hash (never made by us) is replaced rather than kept.
void recordAlias(const fs::path& alias, const std::string& wasm_hash) {
  std::error_code ec;
  fs::create_directories(alias.parent_path(), ec);
  static std::atomic<unsigned> serial{0};
  const std::string tmp = alias.string() + "." + std::to_string(::getpid()) + "." +
                          std::to_string(serial.fetch_add(1)) + ".tmp";
  if (::symlink(wasm_hash.c_str(), tmp.c_str()) != 0) return;
  if (::rename(tmp.c_str(), alias.c_str()) != 0) ::unlink(tmp.c_str());
}

}  // namespace

struct Compiler::Shared {
  std::mutex mutex;
  // Compiles under way in this process, by cache key: later callers wait on
  // the first one's result instead of compiling again.
  std::unordered_map<std::string, std::shared_future<std::optional<Error>>> in_flight;
  // Held while the forwarders object is looked up or built (once per cache).
  std::mutex forwarders_mutex;
};

Compiler::Compiler(CompilerConfig config) : config_(std::move(config)), shared_(std::make_shared<Shared>()) {
  std::error_code ec;
  if (!config_.cache_dir.empty()) {
    fs::create_directories(config_.cache_dir, ec);
    sweepStaleTemps(config_.cache_dir / "tmp");
  }

  std::string inputs;
  appendField(inputs, "format", kCacheFormat);
  appendField(inputs, "abi", std::to_string(JINN_ABI_VERSION));
  appendField(inputs, "translator", rememberedToolVersion(config_, config_.translator));
  for (const std::string& flag : kTranslatorFlags) appendField(inputs, "translator-flag", flag);
  appendField(inputs, "cc", rememberedToolVersion(config_, config_.c_compiler));
  for (const std::string& flag : kCompilerFlags) appendField(inputs, "cc-flag", flag);
  appendField(inputs, "shim.c", embedded::shimC());
  appendField(inputs, "shim_forwarders.c", embedded::forwardersC());
  appendField(inputs, "abi.h", embedded::abiH());
  appendField(inputs, "wasi_functions.def", embedded::wasiFunctionsDef());
  appendField(inputs, "validation", config_.validation_policy);
  const std::string inputs_hash = sha256Hex(inputs);
  key_prefix_ = std::string(kCacheFormat) + ":" + inputs_hash + ":";
  forwarders_path_ = config_.cache_dir / "common" / ("forwarders-" + inputs_hash + ".o");
}

fs::path Compiler::cachePath(std::string_view wasm_hash) const {
  const std::string key = sha256Hex(key_prefix_ + std::string(wasm_hash));
  return config_.cache_dir / key.substr(0, 2) / (key + ".so");
}

fs::path Compiler::aliasPath(std::string_view text_hash) const {
  // Under the key prefix: it covers the text conversion (validation policy),
  // so a changed converter never reuses an old alias.
  const std::string alias = sha256Hex(key_prefix_ + "wat:" + std::string(text_hash));
  return config_.cache_dir / "wat" / alias.substr(0, 2) / alias;
}

Result<Artifact> Compiler::compile(std::string_view input, std::string_view name) {
  try {
    const bool text = looksLikeWat(input);
    // Binary input: its own hash. Text: the wasm hash its alias recorded, if any.
    Artifact artifact;
    fs::path alias;
    if (text) {
      const std::string text_hash = sha256Hex(input);
      if (!text_hash.empty() && !config_.cache_dir.empty()) {
        alias = aliasPath(text_hash);
        artifact.wasm_hash = readAlias(alias);
      }
    } else {
      artifact.wasm_hash = sha256Hex(input);
      if (artifact.wasm_hash.empty()) return Error{std::string(name) + ": SHA-256 failed"};
    }
    // A cached .so is the verdict that validate() accepted exactly these bytes
    // under this policy (the key covers both): a hit is served without parsing
    // or validating again. The cache directory is trusted as it always was: a
    // .so found there is loaded as it is.
    std::error_code ec;
    if (!config_.cache_dir.empty() && !artifact.wasm_hash.empty()) {
      artifact.so_path = cachePath(artifact.wasm_hash);
      if (fs::exists(artifact.so_path, ec)) return artifact;
    }

    std::string converted;
    std::string_view wasm = input;
    if (text) {
      auto binary = watToWasm(input, name);
      if (!binary) return binary.error();
      converted = std::move(binary.value());
      wasm = converted;
      artifact.wasm_hash = sha256Hex(wasm);
      if (artifact.wasm_hash.empty()) return Error{std::string(name) + ": SHA-256 failed"};
    }
    auto info = validate(wasm, name);
    if (!info) return info.error();
    artifact.info = info.value();

    if (config_.cache_dir.empty()) return Error{std::string(name) + ": no cache directory configured"};
    artifact.so_path = cachePath(artifact.wasm_hash);
    const std::string key = artifact.so_path.stem().string();
    // Recorded once the .so is there (found or built), never before: an alias
    // whose .so is missing only costs the lookup.
    auto done = [&]() -> Result<Artifact> {
      if (!alias.empty()) recordAlias(alias, artifact.wasm_hash);
      return artifact;
    };

    if (fs::exists(artifact.so_path, ec)) return done();

    // One compile per key in this process; other processes may race us, which
    // only costs a duplicate compile since publication is an atomic rename.
    std::shared_ptr<std::promise<std::optional<Error>>> promise;
    std::shared_future<std::optional<Error>> pending;
    {
      std::lock_guard lock(shared_->mutex);
      auto it = shared_->in_flight.find(key);
      if (it != shared_->in_flight.end()) {
        pending = it->second;
      } else {
        promise = std::make_shared<std::promise<std::optional<Error>>>();
        pending = promise->get_future().share();
        shared_->in_flight.emplace(key, pending);
      }
    }
    if (!promise) {
      std::optional<Error> error = pending.get();
      if (error) return *error;
      return done();
    }

    std::optional<Error> error;
    try {
      error = build(wasm, artifact.wasm_hash, *artifact.info, key, artifact.so_path, name);
    } catch (const std::exception& e) {
      error = Error{std::string(name) + ": compile failed: " + e.what()};
    } catch (...) {
      // Waiters must always get an answer, whatever was thrown.
      error = Error{std::string(name) + ": compile failed"};
    }
    {
      std::lock_guard lock(shared_->mutex);
      shared_->in_flight.erase(key);
    }
    promise->set_value(error);
    if (error) return *error;
    return done();
  } catch (const std::exception& e) {
    return Error{std::string(name) + ": compile failed: " + e.what()};
  }
}

Result<fs::path> Compiler::forwarders(std::string_view name) const {
  std::lock_guard lock(shared_->forwarders_mutex);
  std::error_code ec;
  if (fs::exists(forwarders_path_, ec)) return forwarders_path_;

  const fs::path tmp_root = config_.cache_dir / "tmp";
  fs::create_directories(tmp_root);
  std::string pattern =
      (tmp_root / (forwarders_path_.stem().string() + "." + std::to_string(::getpid()) + ".XXXXXX"))
          .string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Error{std::string(name) + ": cannot create a temp dir under " + tmp_root.string() + ": " +
                 std::strerror(errno)};
  }
  TempDir dir{fs::path(pattern)};
  const fs::path& tmp = dir.path();
  fs::create_directories(tmp / "inc" / "runtime");
  fs::create_directories(tmp / "inc" / "wasi");
  writeFile(tmp / "inc" / "runtime" / "abi.h", embedded::abiH());
  writeFile(tmp / "inc" / "wasi" / "wasi_functions.def", embedded::wasiFunctionsDef());
  writeFile(tmp / "forwarders.c", embedded::forwardersC());

  SubprocessOptions options = childOptions(config_, tmp);
  // The modules' flags, as an object: the same code generation and ABI.
  options.argv = {config_.c_compiler, "-c"};
  for (const std::string& flag : kCompilerFlags) {
    if (flag != "-shared" && flag.rfind("-Wl,", 0) != 0) options.argv.push_back(flag);
  }
  options.argv.insert(options.argv.end(), {"-Iinc", "forwarders.c", "-o", "forwarders.o"});
  auto compiled = Subprocess(options).run();
  if (!compiled) return Error{std::string(name) + ": " + compiled.error().message};
  if (!compiled.value().succeeded()) {
    return Error{childFailure(name, "C compiler (host forwarders)", compiled.value())};
  }
  if (auto failed = publish(tmp / "forwarders.o", forwarders_path_, name)) return *failed;
  return forwarders_path_;
}

std::optional<Error> Compiler::build(std::string_view wasm, const std::string& wasm_hash,
                                     const ModuleInfo& info, const std::string& key,
                                     const fs::path& so_path, std::string_view name) const {
  std::error_code ec;
  // Another process may have published it while we waited for the lock.
  if (fs::exists(so_path, ec)) return std::nullopt;

  const fs::path tmp_root = config_.cache_dir / "tmp";
  fs::create_directories(tmp_root);
  std::string pattern = (tmp_root / (key + "." + std::to_string(::getpid()) + ".XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Error{std::string(name) + ": cannot create a temp dir under " + tmp_root.string() + ": " +
                 std::strerror(errno)};
  }
  TempDir dir{fs::path(pattern)};
  const fs::path& tmp = dir.path();

  writeFile(tmp / "module.wasm", wasm);
  fs::create_directories(tmp / "inc" / "runtime");
  fs::create_directories(tmp / "inc" / "wasi");
  writeFile(tmp / "inc" / "runtime" / "abi.h", embedded::abiH());
  writeFile(tmp / "inc" / "runtime" / "shim.c", embedded::shimC());
  writeFile(tmp / "inc" / "wasi" / "wasi_functions.def", embedded::wasiFunctionsDef());

  SubprocessOptions options = childOptions(config_, tmp);

  options.argv = {config_.translator};
  options.argv.insert(options.argv.end(), kTranslatorFlags.begin(), kTranslatorFlags.end());
  options.argv.insert(options.argv.end(), {"module.wasm", "-o", "module.c"});
  auto translated = Subprocess(options).run();
  if (!translated) return Error{std::string(name) + ": " + translated.error().message};
  if (!translated.value().succeeded()) return Error{childFailure(name, "wasm2c", translated.value())};

  // The runtime's memory reset relies on every guest write marking its page
  // (abi.h, dirty-page map): a module built without the marks would leak one
  // call's data into the next, so a failed rewrite fails the compile.
  {
    std::string generated = readFile(tmp / "module.c");
    auto instrumented = instrumentGeneratedC(std::move(generated));
    if (!instrumented) return Error{std::string(name) + ": " + instrumented.error().message};
    writeFile(tmp / "module.c", instrumented.value());
  }

  // abi.h first: the instrumented module.c uses its JINN_MARK_DIRTY* macros.
  std::string unit = "#include \"runtime/abi.h\"\n#include \"module.c\"\n";
  auto flag = [&unit](const char* macro, bool value) {
    unit += std::string("#define ") + macro + (value ? " 1\n" : " 0\n");
  };
  flag("JINN_HAS_IMPORTS", info.has_imports);
  flag("JINN_HAS_START", info.has_start);
  flag("JINN_HAS_INITIALIZE", info.has_initialize);
  flag("JINN_HAS_MEMORY", info.has_memory);
  unit += "#define JINN_WASM_HASH \"" + wasm_hash + "\"\n";
  unit += "#include \"runtime/shim.c\"\n";
  writeFile(tmp / "unit.c", unit);

  // Built only once translation worked: a module wasm2c cannot translate
  // leaves nothing in the cache.
  Result<fs::path> forwarders_object = forwarders(name);
  if (!forwarders_object.ok()) return forwarders_object.error();

  // Relative include paths (cwd is the temp dir) keep the command line, and
  // so the output, independent of where the temp dir happens to be.
  options.argv = {config_.c_compiler};
  options.argv.insert(options.argv.end(), kCompilerFlags.begin(), kCompilerFlags.end());
  options.argv.insert(options.argv.end(), {"-Iinc", "-I.", "unit.c",
                                           forwarders_object.value().string(), "-o", "module.so",
                                           "-lm"});
  auto compiled = Subprocess(options).run();
  if (!compiled) return Error{std::string(name) + ": " + compiled.error().message};
  if (!compiled.value().succeeded()) return Error{childFailure(name, "C compiler", compiled.value())};

  return publish(tmp / "module.so", so_path, name);
}

}  // namespace jinn::compiler
