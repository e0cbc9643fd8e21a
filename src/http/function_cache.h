// The functions of `functions_dir` routes: loaded on first call, kept under
// an LRU budget (server.max_loaded_functions), each file loaded once however
// many requests ask for it at the same time. Also the per-tenant limits of
// those routes (concurrency and request rate).
//
// A load runs on the cache's own loader threads: reading the file, the
// per-tenant env file, and Engine::loadFile (a hash and a map when the
// artifact is already compiled, a compile otherwise). A request waits for it
// up to server.first_hit_wait; a longer load (a compile) answers 503 with
// Retry-After while it goes on.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "jinn/jinn.h"

namespace jinn::http {

struct FunctionSlot;
class Log;

class FunctionCache {
 public:
  enum class State { kLoading, kReady, kFailed, kMissing };

  struct Entry {
    std::string path;
    std::mutex mu;
    State state = State::kLoading;
    std::shared_ptr<FunctionSlot> slot;  // kReady
    std::string error;                   // kFailed
    // Called (once) when the load ends; they must not block.
    std::vector<std::function<void()>> waiters;
    std::list<std::string>::iterator lru;  // under the cache's lock
  };

  // Builds the slot of a loaded module (settings, metrics), given the file,
  // the module and the extra env ("KEY=VALUE") of its tenant.
  using MakeSlot = std::function<std::shared_ptr<FunctionSlot>(
      const std::filesystem::path& file, std::shared_ptr<Module> module,
      std::vector<std::string> tenant_env)>;

  FunctionCache(std::shared_ptr<Engine> engine, size_t max_loaded, Log& log);
  ~FunctionCache();
  FunctionCache(const FunctionCache&) = delete;
  FunctionCache& operator=(const FunctionCache&) = delete;

  // The entry for `file`, starting its load when it is not in the cache.
  // A file that does not exist is kMissing (and not cached).
  std::shared_ptr<Entry> get(const std::string& file, const std::string& tenant_env_file,
                             const MakeSlot& make_slot);

  // Drops `file` from the cache (deleted or replaced); in-flight calls keep
  // the module they have.
  void invalidate(const std::string& file);
  // Drops every cached function (a config reload changed their settings).
  void clear();
  size_t loaded() const;

 private:
  void loaderLoop();
  void finish(const std::shared_ptr<Entry>& entry, State state,
              std::shared_ptr<FunctionSlot> slot, std::string error);
  void evictLocked();

  std::shared_ptr<Engine> engine_;
  const size_t max_loaded_;
  Log& log_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
  std::list<std::string> lru_;  // most recently used first

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> loaders_;
};

// Reads a KEY=VALUE file (one per line; blank lines and lines starting with
// '#' skipped). Returns "KEY=VALUE" strings; an error names the line.
Result<std::vector<std::string>> readEnvFile(const std::filesystem::path& file);

// Per-tenant admission for one route: at most `concurrency` calls at once
// and `rate` requests per second (token bucket, burst one second's worth).
class TenantLimits {
 public:
  TenantLimits(unsigned concurrency, double rate) : concurrency_(concurrency), rate_(rate) {}

  // Admits one request of `tenant`; on refusal sets `retry_after_s`.
  // Each admitted request must be followed by release(tenant).
  bool admit(const std::string& tenant, unsigned* retry_after_s);
  void release(const std::string& tenant);

 private:
  struct Tenant {
    unsigned inflight = 0;
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled{};
  };
  const unsigned concurrency_;
  const double rate_;
  std::mutex mu_;
  std::unordered_map<std::string, Tenant> tenants_;
};

}  // namespace jinn::http
