#include "http/app.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstring>
#include <set>

#include "contract/request.h"
#include "contract/response.h"
#include "contract/status.h"
#include "http/deploy.h"
#include "http/wire.h"
#include "observe/trace.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>

namespace jinn::http {
namespace {

constexpr size_t kDebugHeaderMax = 4096;  // bytes of stderr in X-Jinn-Stderr
constexpr size_t kStderrLogMax = 16384;   // bytes of stderr logged per call

size_t classIndex(unsigned status) {
  if (status >= 100 && status < 600) return status / 100 - 1;
  return 5;
}

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

// "ip:port" into `buf`, which has room for any (an IPv6 address is at most
// 45 characters).
std::string_view remoteAddress(const Exchange& ex, std::array<char, 64>& buf) {
  const size_t n = std::min(ex.remote_ip.size(), buf.size() - 7);
  std::memcpy(buf.data(), ex.remote_ip.data(), n);
  buf[n] = ':';
  const auto end = std::to_chars(buf.data() + n + 1, buf.data() + buf.size(), ex.remote_port).ptr;
  return {buf.data(), static_cast<size_t>(end - buf.data())};
}

// Builds the function's view of the request.
void envelopeInto(const Exchange& ex, std::string& out) {
  std::array<char, 64> remote;
  jinn::http::envelopeInto(ex.request, ex.trace_id, remoteAddress(ex, remote), ex.route, ex.params,
                           out);
}

std::string envelopeFor(const Exchange& ex) {
  std::string out;
  envelopeInto(ex, out);
  return out;
}

// Header-safe rendering of guest bytes: printable ASCII kept, the rest
// escaped, so a guest cannot split or corrupt the response.
std::string headerSafe(std::string_view text, size_t max) {
  std::string out;
  for (unsigned char c : text) {
    if (out.size() + 4 > max) break;
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

Upstream upstreamFor(const config::ProxyConfig& p) {
  Upstream u;
  u.host = p.host;
  u.port = p.port;
  u.base_path = p.base_path;
  u.connect_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(p.connect_timeout);
  u.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(p.upstream_timeout);
  u.name = p.host + ":" + std::to_string(p.port);
  return u;
}

}  // namespace

App::App(std::shared_ptr<Engine> engine, FunctionPool& pool, observe::Metrics& metrics,
         observe::AccessLog* access_log, Log& log, std::chrono::nanoseconds inline_budget)
    : engine_(std::move(engine)),
      pool_(pool),
      metrics_(metrics),
      access_log_(access_log),
      log_(log),
      inline_budget_(inline_budget) {}

App::~App() { stopWatching(); }

Result<bool> App::apply(config::Config config) {
  std::lock_guard<std::mutex> lock(apply_mu_);
  if (!cache_) {
    cache_ = std::make_unique<FunctionCache>(engine_, config.server.max_loaded_functions, log_);
  }
  auto state = std::make_shared<State>();
  state->config = std::move(config);
  state->router = std::make_unique<config::Router>(state->config.routes);
  std::string errors;
  // One load per file: the engine caches by content, this avoids even the hash.
  std::map<std::filesystem::path, std::shared_ptr<Module>> loaded;
  auto makeSlot = [&](const config::FunctionConfig& fc) -> std::shared_ptr<FunctionSlot> {
    auto slot = std::make_shared<FunctionSlot>();
    slot->config = fc;
    slot->name = fc.path.filename().string();
    slot->options.args = fc.args;
    slot->options.env = fc.env;
    slot->options.preopens = fc.preopens;
    slot->options.limits = fc.limits;
    for (const auto& p : fc.preopens) slot->may_run_inline = slot->may_run_inline && !p.writable;
    auto it = loaded.find(fc.path);
    if (it == loaded.end()) {
      const auto t0 = std::chrono::steady_clock::now();
      auto module = engine_->loadFile(fc.path);
      metrics_.compile_seconds.with().observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      metrics_.compiles_total.with({module.ok() ? "ok" : "failed"}).inc();
      if (!module.ok()) {
        errors += module.error().message + "\n";
        return nullptr;
      }
      it = loaded.emplace(fc.path, module.value()).first;
    }
    slot->module.store(it->second);
    slot->instantiate_seconds = &metrics_.function_instantiate_seconds.with({slot->name});
    slot->run_seconds = &metrics_.function_run_seconds.with({slot->name});
    state->by_file.emplace(fc.path, slot);
    return slot;
  };
  for (const auto& route : state->config.routes) {
    RouteRuntime rt;
    rt.config = &route;
    for (const auto& m : route.middleware) rt.middleware.push_back(makeSlot(m));
    if (route.function) rt.function = makeSlot(*route.function);
    if (route.proxy) rt.upstream = upstreamFor(*route.proxy);
    if (const auto& dir = route.functions_dir;
        dir && (dir->tenant_concurrency > 0 || dir->tenant_rate > 0)) {
      rt.tenants = std::make_shared<TenantLimits>(dir->tenant_concurrency, dir->tenant_rate);
    }
    rt.duration = &metrics_.request_duration_seconds.with({route.name});
    static constexpr std::string_view kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
    for (size_t i = 0; i < 6; ++i) rt.by_class[i] = &metrics_.requests_total.with({route.name, kClasses[i]});
    state->routes.emplace(&route, std::move(rt));
  }
  if (!errors.empty()) {
    errors.pop_back();
    return Error{errors};
  }
  state_.store(std::move(state));
  cache_->clear();  // loaded again with the new settings on their next call
  return true;
}

FunctionCache::MakeSlot App::dirSlotMaker(std::shared_ptr<const State> state,
                                          const config::RouteConfig& route) {
  return [this, state, &route](const std::filesystem::path& file, std::shared_ptr<Module> module,
                               std::vector<std::string> tenant_env) {
    const config::FunctionsDirConfig& dir = *route.functions_dir;
    auto slot = std::make_shared<FunctionSlot>();
    slot->config = dir.defaults;
    slot->config.path = file;
    // One metrics series per route, not per file: thousands of tenants'
    // functions would make /metrics unreadable.
    slot->name = route.name;
    slot->options.args.push_back(file.filename().string());
    slot->options.args.insert(slot->options.args.end(), dir.extra_args.begin(),
                              dir.extra_args.end());
    // The tenant's values win over the route's.
    std::vector<std::string> env = std::move(tenant_env);
    for (const std::string& kv : dir.defaults.env) {
      const std::string key = kv.substr(0, kv.find('='));
      const bool overridden = std::any_of(env.begin(), env.end(), [&](const std::string& t) {
        return t.compare(0, key.size() + 1, key + "=") == 0;
      });
      if (!overridden) env.push_back(kv);
    }
    std::sort(env.begin(), env.end());
    slot->options.env = std::move(env);
    slot->options.preopens = dir.defaults.preopens;
    slot->options.limits = dir.defaults.limits;
    for (const auto& p : dir.defaults.preopens) {
      slot->may_run_inline = slot->may_run_inline && !p.writable;
    }
    slot->module.store(std::move(module));
    slot->instantiate_seconds = &metrics_.function_instantiate_seconds.with({slot->name});
    slot->run_seconds = &metrics_.function_run_seconds.with({slot->name});
    return slot;
  };
}

namespace {

// A parameter value that may name a file: letters, digits, '-', '_' and
// '.', not starting with '.' (no "..", no hidden files, no '/').
bool safeFileComponent(std::string_view v) {
  if (v.empty() || v.size() > 128 || v.front() == '.') return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
  });
}

// `pattern` with each {name} replaced by its value; "" if a value is unsafe.
std::string expandPattern(std::string_view pattern,
                          const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  size_t at = 0;
  for (size_t open = pattern.find('{'); open != std::string_view::npos;
       open = pattern.find('{', at)) {
    const size_t close = pattern.find('}', open);
    out.append(pattern.substr(at, open - at));
    const std::string_view name = pattern.substr(open + 1, close - open - 1);
    auto it = std::find_if(params.begin(), params.end(),
                           [&](const auto& p) { return p.first == name; });
    if (it == params.end() || !safeFileComponent(it->second)) return "";
    out += it->second;
    at = close + 1;
  }
  out.append(pattern.substr(at));
  return out;
}

// Waits until `entry` is loaded or `max` has passed.
asio::awaitable<void> waitForLoad(std::shared_ptr<FunctionCache::Entry> entry,
                                  std::chrono::nanoseconds max) {
  auto executor = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(executor);
  timer->expires_after(max);
  {
    std::lock_guard<std::mutex> lock(entry->mu);
    if (entry->state != FunctionCache::State::kLoading) co_return;
    entry->waiters.push_back([timer, executor] {
      asio::post(executor, [timer] { timer->cancel(); });
    });
  }
  co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace

asio::awaitable<std::shared_ptr<FunctionSlot>> App::dirFunction(const RouteRuntime& route,
                                                                Exchange& ex,
                                                                std::optional<Response>* early,
                                                                std::string* tenant) {
  const config::FunctionsDirConfig& dir = *route.config->functions_dir;
  const unsigned version = ex.request.version();
  const std::string file = expandPattern(dir.pattern, ex.params);
  auto state = std::static_pointer_cast<const State>(ex.pin);
  std::shared_ptr<FunctionCache::Entry> entry;
  if (!file.empty()) {
    std::string env_file;
    if (!dir.tenant_env_file.empty()) env_file = expandPattern(dir.tenant_env_file, ex.params);
    entry = cache_->get(std::filesystem::path(file).lexically_normal().string(), env_file,
                        dirSlotMaker(state, *route.config));
  }
  if (!entry || entry->state == FunctionCache::State::kMissing) {
    *early = textResponse(404, "no such function", version);
    co_return nullptr;
  }
  if (route.tenants) {
    for (const auto& [name, value] : ex.params) {
      if (name == dir.tenant_param) *tenant = value;
    }
    unsigned retry_after = 1;
    if (!route.tenants->admit(*tenant, &retry_after)) {
      tenant->clear();
      metrics_.tenant_rejections_total.with({route.config->name}).inc();
      Response res = textResponse(429, "tenant limit reached", version);
      res.set(bhttp::field::retry_after, std::to_string(retry_after));
      *early = std::move(res);
      co_return nullptr;
    }
  }
  co_await waitForLoad(entry, state->config.server.first_hit_wait);
  std::lock_guard<std::mutex> lock(entry->mu);
  switch (entry->state) {
    case FunctionCache::State::kReady:
      co_return entry->slot;
    case FunctionCache::State::kFailed:
      *early = textResponse(500, "function cannot be loaded", version);
      co_return nullptr;
    default: {
      Response res = textResponse(503, "function is loading", version);
      res.set(bhttp::field::retry_after, "1");
      *early = std::move(res);
      co_return nullptr;
    }
  }
}

void App::deployed(const std::filesystem::path& file, std::shared_ptr<Module> module) {
  // A functions_dir function loads again on its next call: its artifact is
  // compiled and mapped already, so that costs a hash and a lookup.
  if (cache_) cache_->invalidate(file.lexically_normal().string());
  if (!module) return;
  // Routes naming the file directly take the new module at once.
  auto state = state_.load();
  auto [first, last] = state->by_file.equal_range(file);
  for (auto it = first; it != last; ++it) it->second->module.store(module);
}

void App::reloadConfig(const std::filesystem::path& file) {
  auto config = config::loadConfig(file, config::hostEnv());
  if (!config.ok()) {
    log_.line("reload: config refused, the old one keeps serving:\n" + config.error().message);
    return;
  }
  // Trusted keys and the allow-list go with the config: the functions it
  // loads, and every artifact loaded from now on, verify against them.
  const config::ServerConfig& next = config.value().server;
  if (auto trust = engine_->setTrust(next.trusted_keys, next.artifact_allowlist); !trust.ok()) {
    log_.line("reload: config refused, the old one keeps serving:\n" + trust.error().message);
    return;
  }
  const config::ServerConfig previous = state_.load()->config.server;
  auto applied = apply(std::move(config.value()));
  if (!applied.ok()) {
    if (auto back = engine_->setTrust(previous.trusted_keys, previous.artifact_allowlist);
        !back.ok()) {
      log_.line("reload: the old trusted keys cannot be read again, the new ones stay: " +
                back.error().message);
    }
    log_.line("reload: functions failed, the old config keeps serving:\n" +
              applied.error().message);
    return;
  }
  log_.line("reload: config applied from " + file.string());
  if (inotify_fd_ >= 0) {
    stopWatching();
    startWatching();
  }
}

void App::reloadFile(const std::filesystem::path& file) {
  auto state = state_.load();
  auto [first, last] = state->by_file.equal_range(file);
  if (first == last) return;
  const auto t0 = std::chrono::steady_clock::now();
  auto module = engine_->loadFile(file);
  metrics_.compile_seconds.with().observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  metrics_.compiles_total.with({module.ok() ? "ok" : "failed"}).inc();
  if (!module.ok()) {
    log_.line("reload: " + file.string() + " refused, the old version keeps serving: " +
              module.error().message);
    return;
  }
  for (auto it = first; it != last; ++it) it->second->module.store(module.value());
  log_.line("reload: " + file.string() + " now serving " + module.value()->hash().substr(0, 12));
}

void App::startWatching() {
  if (inotify_fd_ >= 0) return;
  inotify_fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (inotify_fd_ < 0 || wake_fd_ < 0) {
    log_.line("hot reload unavailable: inotify/eventfd failed");
    return;
  }
  watcher_ = std::thread([this] { watchLoop(); });
}

void App::stopWatching() {
  if (inotify_fd_ < 0) return;
  uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof one);
  if (watcher_.joinable()) watcher_.join();
  ::close(inotify_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  inotify_fd_ = wake_fd_ = -1;
}

void App::watchLoop() {
  // Watch directories, not files: editors and deploy tools replace a file by
  // renaming a new one over it, which a watch on the old inode never sees.
  std::map<int, std::filesystem::path> dirs;
  {
    auto state = state_.load();
    std::set<std::filesystem::path> wanted;
    for (const auto& [file, slot] : state->by_file) wanted.insert(file.parent_path());
    for (const auto& dir : wanted) {
      int wd = inotify_add_watch(inotify_fd_, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
      if (wd >= 0) dirs.emplace(wd, dir);
    }
  }
  alignas(inotify_event) char buf[8192];
  for (;;) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    std::set<std::filesystem::path> changed;
    for (;;) {
      const ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        auto* ev = reinterpret_cast<inotify_event*>(buf + off);
        auto dir = dirs.find(ev->wd);
        if (dir != dirs.end() && ev->len > 0) changed.insert(dir->second / ev->name);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      }
    }
    for (const auto& file : changed) reloadFile(file);
  }
}

bool App::runInline(FunctionSlot& slot, const std::shared_ptr<Module>& module,
                    std::string_view input, CallResult& result) {
  const auto full = slot.options.limits.timeout;
  const auto budget = std::chrono::duration_cast<std::chrono::microseconds>(inline_budget_);
  module->call(slot.options, input, std::min(full, budget), result);
  return result.outcome != Outcome::kTimeout || full <= budget;
}

namespace {
int64_t steadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

bool App::mayRunInline(const FunctionSlot& slot) const {
  if (inline_budget_.count() <= 0 || !slot.may_run_inline) return false;
  const int64_t until = slot.pool_only_until_ns.load(std::memory_order_relaxed);
  return until == 0 || steadyNowNs() >= until;
}

asio::awaitable<bool> App::runFunction(std::shared_ptr<FunctionSlot> slot, std::string input,
                                       CallResult& result, bool inline_timed_out) {
  std::shared_ptr<Module> module = slot->module.load();
  bool tried_inline = inline_timed_out;
  if (!tried_inline && mayRunInline(*slot)) {
    if (runInline(*slot, module, input, result)) {
      recordCall(*slot, result);
      co_return true;
    }
    tried_inline = true;
  }
  // Rare (a lookup under a lock is fine): one per call re-run on the pool.
  if (tried_inline) metrics_.function_inline_overruns_total.with({slot->name}).inc();
  auto executor = co_await asio::this_coro::executor;
  bool accepted = co_await asio::async_initiate<decltype(asio::use_awaitable), void(bool)>(
      [&](auto handler) {
        auto done = std::make_shared<decltype(handler)>(std::move(handler));
        const bool queued = pool_.submit([slot, module, &input, &result, done, executor] {
          module->call(slot->options, input, slot->options.limits.timeout, result);
          asio::post(executor, [done]() mutable { (*done)(true); });
        });
        if (!queued) asio::post(executor, [done]() mutable { (*done)(false); });
      },
      asio::use_awaitable);
  if (!accepted) co_return false;
  // The inline budget is wall time, and a thread preempted in the middle of
  // a short call overruns it too (often, on a busy machine). So the run on
  // the pool decides: only a function that needed the budget there as well
  // skips the inline attempt for the next second.
  if (tried_inline && (result.outcome == Outcome::kTimeout ||
                       std::chrono::microseconds(static_cast<int64_t>(result.timings.run_us)) >=
                           inline_budget_)) {
    slot->pool_only_until_ns.store(steadyNowNs() + 1'000'000'000, std::memory_order_relaxed);
    metrics_.function_pool_only_total.with({slot->name}).inc();
  }
  recordCall(*slot, result);
  co_return true;
}

void App::recordCall(FunctionSlot& slot, const CallResult& result) {
  auto& cached = slot.outcome_counters[static_cast<size_t>(result.outcome)];
  observe::Counter* counter = cached.load(std::memory_order_acquire);
  if (counter == nullptr) {
    counter = &metrics_.function_outcomes_total.with({slot.name, outcomeName(result.outcome)});
    cached.store(counter, std::memory_order_release);
  }
  counter->inc();
  slot.calls.fetch_add(1, std::memory_order_relaxed);
  slot.instantiate_seconds->observe(result.timings.instantiate_us / 1e6);
  slot.run_seconds->observe(result.timings.run_us / 1e6);
}

void App::logStderr(const CallResult& result, const FunctionSlot& slot, const Exchange& ex) {
  if (result.stderr_data.empty()) return;
  std::string_view rest(result.stderr_data.data(),
                        std::min(result.stderr_data.size(), kStderrLogMax));
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty()) continue;
    log_.line("function " + slot.name + " route=" + ex.route + " trace=" + ex.trace_id +
              ": " + headerSafe(line, 1024));
  }
}

void App::addDebugHeader(Response& res, const CallResult& result, const FunctionSlot& slot,
                         const Exchange& ex) {
  if (slot.config.debug_secret.empty()) return;
  auto it = ex.request.find("X-Jinn-Debug");
  if (it == ex.request.end() || sv(it->value()) != slot.config.debug_secret) return;
  res.set("X-Jinn-Stderr", headerSafe(result.stderr_data, kDebugHeaderMax));
  res.set("X-Jinn-Outcome", std::string(outcomeName(result.outcome)));
}

Response App::functionFailure(int status, const CallResult& result,
                              std::string_view parse_error, const FunctionSlot& slot,
                              const Exchange& ex) {
  const bool response_ok = parse_error.empty();
  Response res = textResponse(
      status, contract::failureReason(result.outcome, result.exit_code, response_ok, parse_error),
      ex.request.version());
  return res;
}

const RouteRuntime* App::route(const bhttp::request_header<>& head, Exchange& ex,
                               std::optional<Response>* early) {
  std::shared_ptr<const State> state = state_.load();
  ex.pin = state;
  auto tp = head.find("traceparent");
  ex.trace_id = observe::traceIdFor(tp == head.end() ? std::string_view() : sv(tp->value()));
  const unsigned version = head.version();
  const std::string_view target = sv(head.target());
  const std::string_view path = target.substr(0, target.find('?'));
  if (path.empty() || path.front() != '/') {
    *early = textResponse(400, "bad request target", version);
    return nullptr;
  }
  const config::RouteMatch match = state->router->match(sv(head.method_string()), path);
  if (match.kind == config::RouteMatch::Kind::kNotFound) {
    *early = textResponse(404, "no route", version);
    return nullptr;
  }
  if (match.kind == config::RouteMatch::Kind::kMethodNotAllowed) {
    Response res = textResponse(405, "method not allowed", version);
    res.set(bhttp::field::allow, match.allow);
    *early = std::move(res);
    return nullptr;
  }
  const RouteRuntime* route = &state->routes.at(match.route);
  ex.route = route->config->name;
  for (const auto& [name, value] : match.params) ex.params.emplace_back(name, value);
  ex.app_route = route;
  return route;
}

const Upstream* App::streamingUpstream(const bhttp::request_header<>& head, Exchange& ex) {
  std::optional<Response> early;
  const RouteRuntime* rt = route(head, ex, &early);
  if (rt == nullptr || !rt->upstream || !rt->middleware.empty() || rt->function) return nullptr;
  return &*rt->upstream;
}

asio::awaitable<Decision> App::handle(Exchange& ex) {
  const unsigned version = ex.request.version();
  std::optional<Response> early;
  // Routed already when the head was read (streamingUpstream), unless that
  // found no route: then again, for the answer.
  const RouteRuntime* found = ex.app_route != nullptr
                                  ? static_cast<const RouteRuntime*>(ex.app_route)
                                  : route(ex.request.base(), ex, &early);
  if (found == nullptr) co_return Decision{std::move(early)};
  const RouteRuntime& route = *found;

  CallResult result;
  for (const auto& mw : route.middleware) {
    if (!co_await runFunction(mw, envelopeFor(ex), result)) {
      metrics_.function_queue_rejections_total.with().inc();
      Response res = textResponse(503, "server busy", version);
      res.set(bhttp::field::retry_after, "1");
      co_return Decision{std::move(res)};
    }
    ex.outcome = outcomeName(result.outcome);
    logStderr(result, *mw, ex);
    const bool clean = result.outcome == Outcome::kExited && result.exit_code == 0;
    contract::MiddlewareResult parsed =
        clean ? contract::parseMiddleware(result.stdout_data)
              : contract::MiddlewareResult(Error{""});
    const int status = contract::httpStatusFor(result.outcome, result.exit_code, parsed.ok());
    if (status != contract::kUseFunctionStatus) {
      Response res = functionFailure(status, result, parsed.ok() ? "" : parsed.error().message,
                                     *mw, ex);
      addDebugHeader(res, result, *mw, ex);
      co_return Decision{std::move(res)};
    }
    if (auto* respond = std::get_if<contract::MiddlewareRespond>(&parsed.value())) {
      Response res = toHttp(std::move(respond->response), version);
      addDebugHeader(res, result, *mw, ex);
      co_return Decision{std::move(res)};
    }
    auto& cont = std::get<contract::MiddlewareContinue>(parsed.value());
    for (const auto& name : cont.remove_headers) ex.request.erase(name);
    std::set<std::string> replaced;
    for (const auto& [name, value] : cont.set_headers) {
      if (replaced.insert(name).second) ex.request.erase(name);
      ex.request.insert(name, value);
    }
    if (cont.body) {
      ex.request.body() = std::move(*cont.body);
      ex.request.prepare_payload();
    }
  }

  std::shared_ptr<FunctionSlot> function = route.function;
  // A functions_dir route: the function named by the path, within its
  // tenant's limits (released when the call is over).
  struct TenantRelease {
    TenantLimits* limits = nullptr;
    std::string tenant;
    ~TenantRelease() {
      if (limits != nullptr) limits->release(tenant);
    }
  } tenant_release;
  if (route.config->functions_dir) {
    std::string tenant;
    function = co_await dirFunction(route, ex, &early, &tenant);
    if (route.tenants && (function || !tenant.empty())) {
      tenant_release.limits = route.tenants.get();
      tenant_release.tenant = std::move(tenant);
    }
    if (!function) co_return Decision{std::move(early)};
  }
  if (function) {
    // handleNow tried this route's function inline already when it could.
    const bool timed_out_inline = ex.inline_timed_out && function == route.function;
    if (!co_await runFunction(function, envelopeFor(ex), result, timed_out_inline)) {
      metrics_.function_queue_rejections_total.with().inc();
      Response res = textResponse(503, "server busy", version);
      res.set(bhttp::field::retry_after, "1");
      co_return Decision{std::move(res)};
    }
    co_return Decision{functionResponse(result, *function, ex)};
  }
  if (route.upstream) {
    Decision d;
    d.upstream = &*route.upstream;
    co_return d;
  }
  co_return Decision{textResponse(500, "route has no target", version)};
}

Response App::functionResponse(const CallResult& result, const FunctionSlot& slot,
                               Exchange& ex) {
  ex.outcome = outcomeName(result.outcome);
  logStderr(result, slot, ex);
  const bool clean = result.outcome == Outcome::kExited && result.exit_code == 0;
  contract::ParseResult parsed = clean ? contract::parseResponse(result.stdout_data)
                                       : contract::ParseResult(Error{""});
  const int status = contract::httpStatusFor(result.outcome, result.exit_code, parsed.ok());
  Response res = status == contract::kUseFunctionStatus
                     ? toHttp(std::move(parsed.value()), ex.request.version())
                     : functionFailure(status, result, parsed.ok() ? "" : parsed.error().message,
                                       slot, ex);
  addDebugHeader(res, result, slot, ex);
  return res;
}

bool App::handleNow(Exchange& ex, Decision& decision) {
  // Routed already when the head was read (streamingUpstream), unless the
  // request had no body to read.
  const auto* route = static_cast<const RouteRuntime*>(ex.app_route);
  if (route == nullptr) {
    std::optional<Response> early;
    route = this->route(ex.request.base(), ex, &early);
    if (route == nullptr) {
      decision.response = std::move(early);
      return true;
    }
  }
  if (!route->function || !route->middleware.empty() ||
      route->config->functions_dir || !mayRunInline(*route->function)) {
    return false;
  }
  FunctionSlot& slot = *route->function;
  const std::shared_ptr<Module> module = slot.module.load();
  // Per I/O thread and reused: nothing here suspends, and the envelope and
  // the captured output are the buffers a request would otherwise allocate.
  thread_local std::string input;
  thread_local CallResult result;
  // On either way out, a rare large request or output does not stay
  // allocated for good.
  struct Trim {
    ~Trim() {
      constexpr size_t kKeepBytes = 64u << 10;
      for (std::string* s : {&input, &result.stdout_data, &result.stderr_data}) {
        if (s->capacity() > kKeepBytes) std::string().swap(*s);
      }
    }
  } trim;
  envelopeInto(ex, input);
  if (!runInline(slot, module, input, result)) {
    ex.inline_timed_out = true;
    return false;
  }
  recordCall(slot, result);
  decision.response = functionResponse(result, slot, ex);
  return true;
}

void App::finished(const Exchange& ex, unsigned status, uint64_t body_bytes,
                   std::chrono::nanoseconds duration) {
  if (const auto* rt = static_cast<const RouteRuntime*>(ex.app_route)) {
    rt->by_class[classIndex(status)]->inc();
    rt->duration->observe(std::chrono::duration<double>(duration).count());
  }
  if (access_log_ != nullptr) {
    const std::string remote = ex.remote_ip + ":" + std::to_string(ex.remote_port);
    observe::AccessEntry e;
    e.time = std::chrono::system_clock::now() -
             std::chrono::duration_cast<std::chrono::system_clock::duration>(duration);
    e.remote = remote;
    e.method = sv(ex.request.method_string());
    e.path = sv(ex.request.target());
    e.status = static_cast<int>(status);
    e.bytes = body_bytes;
    e.duration = duration;
    e.route = ex.route == "-" ? std::string_view() : std::string_view(ex.route);
    e.trace_id = ex.trace_id;
    e.outcome = ex.outcome;
    access_log_->write(e);
  }
}

void App::upstreamError(const Upstream& upstream, std::string_view kind) {
  metrics_.upstream_errors_total.with({upstream.name, kind}).inc();
}

asio::awaitable<Decision> AdminApp::handle(Exchange& ex) {
  if (app_ != nullptr) {
    if (std::optional<Response> res = co_await handleDeploy(*app_, ex)) {
      co_return Decision{std::move(*res)};
    }
  }
  const std::string_view target = sv(ex.request.target());
  const std::string_view path = target.substr(0, target.find('?'));
  const unsigned version = ex.request.version();
  if (path == "/metrics" && ex.request.method() == bhttp::verb::get) {
    Response res{bhttp::status::ok, version};
    res.set(bhttp::field::content_type, observe::kMetricsContentType);
    if (app_ != nullptr) {  // the engine's gauges, read when scraped
      const Engine::Stats stats = app_->engine().stats();
      metrics_.pool_slots_in_use.with().set(static_cast<int64_t>(stats.pool_slots_in_use));
      metrics_.modules_loaded.with().set(static_cast<int64_t>(stats.loaded_modules));
    }
    res.body() = metrics_.render();
    res.prepare_payload();
    co_return Decision{std::move(res)};
  }
  if (path == "/healthz") co_return Decision{textResponse(200, "ok", version)};
  co_return Decision{textResponse(404, "not found", version)};
}

}  // namespace jinn::http
