// Engine and Module: wires the compiler (src/compiler), the loader (dlopen of
// a compiled artifact, bound to the runtime's host table) and the runtime
// (src/runtime) behind the public API in include/jinn/jinn.h.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "compiler/compiler.h"
#include "engine/artifact.h"
#include "jinn/jinn.h"
#include "runtime/runtime.h"
#include "util/text.h"

namespace jinn {
namespace {

std::filesystem::path defaultCacheDir() {
  if (const char* dir = std::getenv("JINN_CACHE_DIR"); dir != nullptr && *dir != '\0') return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::filesystem::path(xdg) / "jinn";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".cache" / "jinn";
  }
  return std::filesystem::temp_directory_path() / "jinn-cache";
}

class LoadedModule final : public Module {
 public:
  LoadedModule(void* handle, const jinn_module_desc* desc, std::filesystem::path path,
               std::shared_ptr<runtime::MemoryPool> pool)
      : handle_(handle), desc_(desc), hash_(desc->wasm_hash), path_(std::move(path)),
        pool_(std::move(pool)) {}
  // The shared object stays mapped for the life of the process: a dlclose
  // would race with any thread still unwinding through it, and artifacts are
  // shared by every Module loaded from the same file anyway.
  ~LoadedModule() override = default;

  CallResult call(const CallOptions& options) const override {
    CallResult result;
    runtime::runCall(*desc_, *pool_, options, result);
    return result;
  }
  void call(const CallOptions& options, CallResult& result) const override {
    runtime::runCall(*desc_, *pool_, options, result);
  }
  const std::string& hash() const override { return hash_; }
  const std::filesystem::path& artifactPath() const override { return path_; }

 private:
  void* handle_;
  const jinn_module_desc* desc_;
  std::string hash_;
  std::filesystem::path path_;
  std::shared_ptr<runtime::MemoryPool> pool_;
};

}  // namespace

class EngineImpl {
 public:
  EngineImpl(EngineConfig config, artifact::TrustPolicy trust)
      : config_(std::move(config)),
        trust_(std::move(trust)),
        compiler_(compiler::CompilerConfig{config_.cache_dir, config_.c_compiler,
                                           config_.translator, config_.compile_timeout,
                                           config_.compile_memory_bytes}),
        pool_(std::make_shared<runtime::MemoryPool>(config_.keep_resident_bytes,
                                                    config_.max_idle_slots)) {}

  Result<std::shared_ptr<Module>> loadBytes(std::string_view bytes, std::string_view name) {
    if (artifact::hasMagic(bytes)) return loadArtifact(bytes, std::string(name), name);
    if (bytes.substr(0, 4) == std::string_view("\x7f" "ELF", 4)) {
      return Error{std::string(name) +
                   ": a bare shared object is never loaded; build a signed artifact with "
                   "`jinn compile FILE --output ART --sign-key KEY`"};
    }
    Result<compiler::Artifact> artifact = compiler_.compile(bytes, name);
    if (!artifact.ok()) return artifact.error();
    return open(artifact.value().so_path, name);
  }

  // dlopen + check + bind + init, once per artifact path.
  Result<std::shared_ptr<Module>> open(const std::filesystem::path& so_path, std::string_view name) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = so_path.string();
    if (auto it = loaded_.find(key); it != loaded_.end()) {
      return std::shared_ptr<Module>(
          std::make_shared<LoadedModule>(it->second.first, it->second.second, so_path, pool_));
    }
    void* handle = dlopen(key.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      return Error{std::string(name) + ": cannot load compiled module: " + (why ? why : "?")};
    }
    auto* desc = static_cast<const jinn_module_desc*>(dlsym(handle, JINN_MODULE_SYMBOL));
    if (desc == nullptr || desc->abi_version != JINN_ABI_VERSION) {
      dlclose(handle);
      return Error{std::string(name) + ": not a jinn module artifact for this engine (ABI v" +
                   std::to_string(JINN_ABI_VERSION) + ")"};
    }
    desc->bind(&runtime::hostApi());
    desc->init_module();
    loaded_.emplace(key, std::make_pair(handle, desc));
    return std::shared_ptr<Module>(std::make_shared<LoadedModule>(handle, desc, so_path, pool_));
  }

  // Verifies `file` (the whole artifact, in memory) and runs only those bytes:
  // they are copied into a sealed memfd and dlopened from there, so the file
  // on disk may change underneath without effect. Once per distinct .so.
  Result<std::shared_ptr<Module>> loadArtifact(std::string_view file,
                                               const std::filesystem::path& path,
                                               std::string_view name) {
    Result<artifact::Verified> verified = artifact::verify(file, trust_, name);
    if (!verified.ok()) return verified.error();
    const artifact::Verified& v = verified.value();
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = "artifact:" + v.so_hash;
    if (auto it = loaded_.find(key); it != loaded_.end()) {
      return std::shared_ptr<Module>(
          std::make_shared<LoadedModule>(it->second.first, it->second.second, path, pool_));
    }
    Result<artifact::Opened> opened = artifact::openVerified(v, name);
    if (!opened.ok()) return opened.error();
    void* handle = opened.value().handle;
    auto* desc = static_cast<const jinn_module_desc*>(dlsym(handle, JINN_MODULE_SYMBOL));
    if (desc == nullptr || desc->abi_version != JINN_ABI_VERSION || desc->wasm_hash == nullptr ||
        v.wasm_hash != desc->wasm_hash) {
      dlclose(handle);
      ::close(opened.value().fd);
      return Error{std::string(name) +
                   ": artifact was modified (its code does not match its header)"};
    }
    desc->bind(&runtime::hostApi());
    desc->init_module();
    loaded_.emplace(key, std::make_pair(handle, desc));
    artifact_fds_.emplace(handle, opened.value().fd);
    return std::shared_ptr<Module>(std::make_shared<LoadedModule>(handle, desc, path, pool_));
  }

  const EngineConfig& config() const { return config_; }

 private:
  EngineConfig config_;
  artifact::TrustPolicy trust_;
  compiler::Compiler compiler_;
  std::shared_ptr<runtime::MemoryPool> pool_;
  std::mutex mu_;
  std::unordered_map<std::string, std::pair<void*, const jinn_module_desc*>> loaded_;
  // dlopen handle -> the sealed memfd it was loaded from. The fd must stay open
  // while the library is loaded and be closed only after its dlclose (artifact.h).
  std::unordered_map<void*, int> artifact_fds_;
};

Result<std::shared_ptr<Engine>> Engine::create(EngineConfig config) {
  if (config.cache_dir.empty()) config.cache_dir = defaultCacheDir();
  std::error_code ec;
  std::filesystem::create_directories(config.cache_dir, ec);
  if (ec) {
    return Error{"cannot create cache directory " + config.cache_dir.string() + ": " +
                 ec.message()};
  }
  auto trust = artifact::TrustPolicy::load(config.trusted_keys, config.artifact_allowlist);
  if (!trust.ok()) return trust.error();
  return std::shared_ptr<Engine>(new Engine(
      std::make_unique<EngineImpl>(std::move(config), std::move(trust.value()))));
}

Engine::Engine(std::unique_ptr<EngineImpl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

const std::filesystem::path& Engine::cacheDir() const { return impl_->config().cache_dir; }

Result<std::shared_ptr<Module>> Engine::loadFile(const std::filesystem::path& path) {
  Result<std::string> bytes = util::readWholeFile(path);
  if (!bytes.ok()) return bytes.error();
  if (artifact::hasMagic(bytes.value())) {
    return impl_->loadArtifact(bytes.value(), std::filesystem::absolute(path), path.string());
  }
  return impl_->loadBytes(bytes.value(), path.string());
}

Result<std::shared_ptr<Module>> Engine::loadBytes(std::string_view bytes, std::string_view name) {
  return impl_->loadBytes(bytes, name);
}

Result<std::shared_ptr<Module>> Engine::loadArtifact(const std::filesystem::path& path) {
  Result<std::string> bytes = util::readWholeFile(path);
  if (!bytes.ok()) return bytes.error();
  return impl_->loadArtifact(bytes.value(), std::filesystem::absolute(path), path.string());
}

}  // namespace jinn
