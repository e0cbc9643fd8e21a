// The application behind the public listener: routing, middleware chains,
// function calls (on the FunctionPool) under the function contract, and
// proxy decisions. Holds the loaded configuration as one immutable State
// that reloads swap atomically: a request keeps the State it started with.
#pragma once

#include <array>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "config/router.h"
#include "http/function_cache.h"
#include "http/function_pool.h"
#include "http/server.h"
#include "jinn/jinn.h"
#include "observe/access_log.h"
#include "observe/metrics.h"

namespace jinn::http {

// Where server messages go (stderr lines of functions, reload results).
class Log {
 public:
  virtual ~Log() = default;
  virtual void line(std::string_view text) = 0;
};

// One function as one route uses it: the settings and the module, which a
// hot reload replaces in place (in-flight calls keep the old one).
struct FunctionSlot {
  config::FunctionConfig config;
  std::string name;  // for metrics and logs: the file name
  CallOptions options;  // args, env, preopens, limits; stdin set per call
  std::atomic<std::shared_ptr<Module>> module;
  bool may_run_inline = true;  // no writable preopen: a re-run repeats nothing
  // Until then (steady clock, ns), calls skip the inline attempt: a call
  // needed more than the inline budget, inline and again on the pool.
  std::atomic<int64_t> pool_only_until_ns{0};
  observe::Histogram* instantiate_seconds = nullptr;
  observe::Histogram* run_seconds = nullptr;
  std::atomic<uint64_t> calls{0};
  // function_outcomes_total{function, outcome}, looked up on first use (a
  // series appears once its outcome happened).
  std::array<std::atomic<observe::Counter*>, static_cast<size_t>(Outcome::kHostError) + 1>
      outcome_counters{};
};

struct RouteRuntime {
  const config::RouteConfig* config = nullptr;
  std::vector<std::shared_ptr<FunctionSlot>> middleware;
  std::shared_ptr<FunctionSlot> function;
  std::optional<Upstream> upstream;
  observe::Histogram* duration = nullptr;
  observe::Counter* by_class[6] = {};  // 1xx..5xx, other
  std::shared_ptr<TenantLimits> tenants;  // functions_dir routes with tenant limits
};

struct State {
  config::Config config;
  std::unique_ptr<config::Router> router;
  std::map<const config::RouteConfig*, RouteRuntime> routes;
  // Every slot using a file, for hot reload.
  std::multimap<std::filesystem::path, std::shared_ptr<FunctionSlot>> by_file;
};

class App final : public Application {
 public:
  App(std::shared_ptr<Engine> engine, FunctionPool& pool, observe::Metrics& metrics,
      observe::AccessLog* access_log, Log& log, std::chrono::nanoseconds inline_budget);
  ~App() override;

  // Compiles every function of `config` and makes it the live State. On any
  // error nothing changes and the error lists every problem.
  Result<bool> apply(config::Config config);

  // Re-reads and applies the config file (SIGHUP). Errors are logged and the
  // old State keeps serving.
  void reloadConfig(const std::filesystem::path& file);

  // Watches the function files of the live State (inotify) and recompiles
  // and swaps a function when its file changes. Idempotent.
  void startWatching();
  void stopWatching();

  // The live configuration (for the deploy API).
  std::shared_ptr<const State> state() const { return state_.load(); }
  Engine& engine() { return *engine_; }
  // A deploy replaced or removed `file`: cached functions drop or take the
  // new module (null: removed); routes naming the file reload it.
  void deployed(const std::filesystem::path& file, std::shared_ptr<Module> module);
  // Loaded functions of functions_dir routes: (file, calls) pairs.
  size_t loadedDirFunctions() const { return cache_ ? cache_->loaded() : 0; }

  asio::awaitable<Decision> handle(Exchange& exchange) override;
  // A function route without middleware whose call finishes inline.
  bool handleNow(Exchange& exchange, Decision& decision) override;
  const Upstream* streamingUpstream(const bhttp::request_header<>& head,
                                    Exchange& exchange) override;
  void finished(const Exchange& exchange, unsigned status, uint64_t body_bytes,
                std::chrono::nanoseconds duration) override;
  void upstreamError(const Upstream& upstream, std::string_view kind) override;

 private:
  // Pins the live State in `exchange`, sets its trace id, and finds the
  // route; nullptr with `*early` set when the answer is already known
  // (400, 404, 405).
  const RouteRuntime* route(const bhttp::request_header<>& head, Exchange& exchange,
                            std::optional<Response>* early);
  // Runs one call: inline on this I/O thread within the inline budget, else
  // (or when that was not enough) on the function pool. False: the pool is
  // saturated (503).
  // `inline_timed_out`: an inline attempt was made already (handleNow) and
  // needed more than the budget; the call goes straight to the pool.
  asio::awaitable<bool> runFunction(std::shared_ptr<FunctionSlot> slot, std::string input,
                                    CallResult& result, bool inline_timed_out = false);
  // Whether the slot's calls may try the I/O thread now.
  bool mayRunInline(const FunctionSlot& slot) const;
  // The inline attempt; false when it needed more than the budget (nothing
  // is recorded then: the call runs again on the pool).
  bool runInline(FunctionSlot& slot, const std::shared_ptr<Module>& module,
                 std::string_view input, CallResult& result);
  // The client's answer for a finished call of a route's function.
  Response functionResponse(const CallResult& result, const FunctionSlot& slot,
                            Exchange& exchange);
  Response functionFailure(int status, const CallResult& result, std::string_view parse_error,
                           const FunctionSlot& slot, const Exchange& exchange);
  void logStderr(const CallResult& result, const FunctionSlot& slot, const Exchange& exchange);
  void addDebugHeader(Response& res, const CallResult& result, const FunctionSlot& slot,
                      const Exchange& exchange);
  void recordCall(FunctionSlot& slot, const CallResult& result);
  void reloadFile(const std::filesystem::path& file);
  // The slot of a functions_dir route's function `file`.
  FunctionCache::MakeSlot dirSlotMaker(std::shared_ptr<const State> state,
                                       const config::RouteConfig& route);
  // Finds the function of a functions_dir request, waiting for its load up
  // to first_hit_wait; an early answer (404, 429, 503...) otherwise.
  asio::awaitable<std::shared_ptr<FunctionSlot>> dirFunction(const RouteRuntime& route,
                                                             Exchange& exchange,
                                                             std::optional<Response>* early,
                                                             std::string* tenant);
  void watchLoop();

  std::shared_ptr<Engine> engine_;
  FunctionPool& pool_;
  observe::Metrics& metrics_;
  observe::AccessLog* access_log_;
  Log& log_;
  const std::chrono::nanoseconds inline_budget_;
  std::atomic<std::shared_ptr<const State>> state_;
  std::mutex apply_mu_;  // one apply or reload at a time
  std::unique_ptr<FunctionCache> cache_;  // created by the first apply()

  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  std::thread watcher_;
};

// The admin listener: GET /metrics (Prometheus), GET /healthz.
class AdminApp final : public Application {
 public:
  // With `app`, also the deploy API (deploy.h) when the config has [deploy].
  explicit AdminApp(observe::Metrics& metrics, App* app = nullptr)
      : metrics_(metrics), app_(app) {}
  asio::awaitable<Decision> handle(Exchange& exchange) override;
  void finished(const Exchange&, unsigned, uint64_t, std::chrono::nanoseconds) override {}

 private:
  observe::Metrics& metrics_;
  App* app_;
};

}  // namespace jinn::http
