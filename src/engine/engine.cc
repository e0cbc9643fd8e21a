// Engine and Module: wires the compiler (src/compiler), the loader (ElfImage,
// src/engine/elf_image.h, bound to the runtime's host table) and the runtime
// (src/runtime) behind the public API in include/jinn/jinn.h.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "compiler/compiler.h"
#include "engine/artifact.h"
#include "engine/elf_image.h"
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

// One loaded shared object (a cache entry or a verified artifact's code),
// mapped by engine::ElfImage, shared by every Module loaded from it. The last
// Module to go unmaps it: calls hold their Module for as long as they run, so
// no thread is executing code of it when it goes. Nothing else in the
// process points into a module's code or data: the function-type registry
// copies the types (runtime/host_api.cc), instances and tables live for one
// call, the thread's instance buffer is cleared per call.
class Library {
 public:
  // The engine's table of loaded libraries, by key (the .so path, or
  // "artifact:<so sha256>"). Shared with every Library, so one that outlives
  // its engine can still take itself out.
  struct Table {
    std::mutex mu;
    std::unordered_map<std::string, std::weak_ptr<const Library>> by_key;
  };

  Library(std::shared_ptr<Table> table, std::string key, std::unique_ptr<engine::ElfImage> image,
          const jinn_module_desc* desc)
      : table_(std::move(table)), key_(std::move(key)), image_(std::move(image)), desc_(desc) {}
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  ~Library() {
    std::lock_guard<std::mutex> lock(table_->mu);
    // A load after the last Module went but before this ran may have put
    // a fresh library under the key: only an expired entry is ours.
    if (auto it = table_->by_key.find(key_); it != table_->by_key.end() && it->second.expired()) {
      table_->by_key.erase(it);
    }
  }

  const jinn_module_desc& desc() const { return *desc_; }

 private:
  std::shared_ptr<Table> table_;
  std::string key_;
  std::unique_ptr<engine::ElfImage> image_;  // unmapped last
  const jinn_module_desc* desc_;
};

class LoadedModule final : public Module {
 public:
  LoadedModule(std::shared_ptr<const Library> library, std::filesystem::path path,
               std::shared_ptr<runtime::MemoryPool> pool)
      : library_(std::move(library)), hash_(library_->desc().wasm_hash), path_(std::move(path)),
        pool_(std::move(pool)) {}

  CallResult call(const CallOptions& options) const override {
    CallResult result;
    call(options, result);
    return result;
  }
  void call(const CallOptions& options, CallResult& result) const override {
    call(options, options.stdin_data, options.limits.timeout, result);
  }
  void call(const CallOptions& options, std::string_view stdin_data,
            std::chrono::microseconds timeout, CallResult& result) const override {
    runtime::runCall(library_->desc(), *pool_, options, stdin_data, timeout, result);
  }
  const std::string& hash() const override { return hash_; }
  const std::filesystem::path& artifactPath() const override { return path_; }

 private:
  std::shared_ptr<const Library> library_;
  std::string hash_;
  std::filesystem::path path_;
  std::shared_ptr<runtime::MemoryPool> pool_;
};

}  // namespace

class EngineImpl {
 public:
  EngineImpl(EngineConfig config, artifact::TrustPolicy trust)
      : config_(std::move(config)),
        trust_(std::make_shared<const artifact::TrustPolicy>(std::move(trust))),
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

  // Map + check + bind + init, once per loaded .so: a path already loaded
  // (by a Module still alive) is shared.
  Result<std::shared_ptr<Module>> open(const std::filesystem::path& so_path, std::string_view name) {
    std::lock_guard<std::mutex> lock(load_mu_);
    const std::string key = so_path.string();
    if (auto library = find(key)) return module(std::move(library), so_path);
    Result<std::string> bytes = util::readWholeFile(so_path);
    if (!bytes.ok()) {
      return Error{std::string(name) + ": cannot load compiled module: " + bytes.error().message};
    }
    Result<std::shared_ptr<const Library>> library = map(
        key, bytes.value(), name, nullptr,
        std::string(name) + ": not a jinn module artifact for this engine (ABI v" +
            std::to_string(JINN_ABI_VERSION) + ")");
    if (!library.ok()) return library.error();
    return module(std::move(library.value()), so_path);
  }

  // Verifies `file` (the whole artifact, in memory) and runs only those bytes:
  // the code is mapped from the verified buffer itself, so the file on disk
  // may change underneath without effect. Once per distinct .so while a
  // Module of it is alive.
  Result<std::shared_ptr<Module>> loadArtifact(std::string_view file,
                                               const std::filesystem::path& path,
                                               std::string_view name) {
    std::shared_ptr<const artifact::TrustPolicy> trust = trust_.load();
    Result<artifact::Verified> verified = artifact::verify(file, *trust, name);
    if (!verified.ok()) return verified.error();
    const artifact::Verified& v = verified.value();
    std::lock_guard<std::mutex> lock(load_mu_);
    const std::string key = "artifact:" + v.so_hash;
    if (auto library = find(key)) return module(std::move(library), path);
    Result<std::shared_ptr<const Library>> library =
        map(key, v.so, name, &v.wasm_hash,
            std::string(name) + ": artifact was modified (its code does not match its header)");
    if (!library.ok()) return library.error();
    return module(std::move(library.value()), path);
  }

  const EngineConfig& config() const { return config_; }

  Engine::Stats stats() const {
    Engine::Stats s;
    {
      std::lock_guard<std::mutex> lock(libraries_->mu);
      s.loaded_modules = libraries_->by_key.size();
    }
    s.pool_slots_in_use = pool_->liveSlots();
    s.pool_slots_idle = pool_->idleSlots();
    return s;
  }

  void setTrust(artifact::TrustPolicy trust) {
    trust_.store(std::make_shared<const artifact::TrustPolicy>(std::move(trust)));
  }

 private:
  std::shared_ptr<const Library> find(const std::string& key) {
    std::lock_guard<std::mutex> lock(libraries_->mu);
    auto it = libraries_->by_key.find(key);
    return it == libraries_->by_key.end() ? nullptr : it->second.lock();
  }
  // Maps `so`, checks its descriptor (this engine's ABI and, when given, the
  // wasm hash; `mismatch` is the error otherwise), binds the host table, runs
  // the module's one-time init and publishes it under `key`. Under load_mu_.
  Result<std::shared_ptr<const Library>> map(const std::string& key, std::string_view so,
                                             std::string_view name, const std::string* wasm_hash,
                                             std::string mismatch) {
    Result<std::unique_ptr<engine::ElfImage>> image = engine::ElfImage::load(so, name);
    if (!image.ok()) return image.error();
    auto* desc = static_cast<const jinn_module_desc*>(image.value()->symbol(JINN_MODULE_SYMBOL));
    if (desc == nullptr || desc->abi_version != JINN_ABI_VERSION ||
        (wasm_hash != nullptr && (desc->wasm_hash == nullptr || *wasm_hash != desc->wasm_hash))) {
      return Error{std::move(mismatch)};
    }
    desc->bind(&runtime::hostApi());
    desc->init_module();
    return publish(key, std::move(image.value()), desc);
  }
  std::shared_ptr<const Library> publish(const std::string& key,
                                         std::unique_ptr<engine::ElfImage> image,
                                         const jinn_module_desc* desc) {
    auto library = std::make_shared<const Library>(libraries_, key, std::move(image), desc);
    std::lock_guard<std::mutex> lock(libraries_->mu);
    libraries_->by_key[key] = library;
    return library;
  }
  std::shared_ptr<Module> module(std::shared_ptr<const Library> library,
                                 const std::filesystem::path& path) {
    return std::make_shared<LoadedModule>(std::move(library), path, pool_);
  }

  EngineConfig config_;
  // Replaced whole by setTrust; a load verifies against the one it read.
  std::atomic<std::shared_ptr<const artifact::TrustPolicy>> trust_;
  compiler::Compiler compiler_;
  std::shared_ptr<runtime::MemoryPool> pool_;
  // Held across a load (map, bind, init), so one .so is loaded once;
  // never taken by a Library's unload.
  std::mutex load_mu_;
  std::shared_ptr<Library::Table> libraries_ = std::make_shared<Library::Table>();
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

Engine::Stats Engine::stats() const { return impl_->stats(); }

Result<std::shared_ptr<Module>> Engine::loadFile(const std::filesystem::path& path) {
  Result<std::string> bytes = util::readWholeFile(path);
  if (!bytes.ok()) return bytes.error();
  if (artifact::hasMagic(bytes.value())) {
    return impl_->loadArtifact(bytes.value(), std::filesystem::absolute(path), path.string());
  }
  return impl_->loadBytes(bytes.value(), path.string());
}

Result<bool> Engine::setTrust(const std::vector<std::filesystem::path>& trusted_keys,
                              const std::filesystem::path& artifact_allowlist) {
  auto trust = artifact::TrustPolicy::load(trusted_keys, artifact_allowlist);
  if (!trust.ok()) return trust.error();
  impl_->setTrust(std::move(trust.value()));
  return true;
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
