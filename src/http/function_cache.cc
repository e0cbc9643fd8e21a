#include "http/function_cache.h"

#include <sys/stat.h>

#include <cmath>
#include <fstream>

#include "http/app.h"

namespace jinn::http {
namespace {

constexpr size_t kLoaderThreads = 2;

}  // namespace

Result<std::vector<std::string>> readEnvFile(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return Error{file.string() + ": cannot open"};
  std::vector<std::string> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    const size_t eq = line.find('=');
    if (eq == 0 || eq == std::string::npos || line.find('\0') != std::string::npos) {
      return Error{file.string() + ":" + std::to_string(n) + ": expected KEY=VALUE"};
    }
    out.push_back(line);
  }
  return out;
}

FunctionCache::FunctionCache(std::shared_ptr<Engine> engine, size_t max_loaded, Log& log)
    : engine_(std::move(engine)), max_loaded_(max_loaded == 0 ? 1 : max_loaded), log_(log) {
  for (size_t i = 0; i < kLoaderThreads; ++i) loaders_.emplace_back([this] { loaderLoop(); });
}

FunctionCache::~FunctionCache() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  for (auto& t : loaders_) t.join();
}

void FunctionCache::loaderLoop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
  }
}

std::shared_ptr<FunctionCache::Entry> FunctionCache::get(const std::string& file,
                                                         const std::string& tenant_env_file,
                                                         const MakeSlot& make_slot) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = entries_.find(file); it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second->lru);
      return it->second;
    }
  }
  // Not cached: a file that is not there costs a stat and nothing else.
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    auto missing = std::make_shared<Entry>();
    missing->state = State::kMissing;
    return missing;
  }
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = entries_.try_emplace(file);
    if (!inserted) {  // another request got here first
      lru_.splice(lru_.begin(), lru_, it->second->lru);
      return it->second;
    }
    entry = it->second = std::make_shared<Entry>();
    entry->path = file;
    lru_.push_front(file);
    entry->lru = lru_.begin();
    evictLocked();
  }
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    queue_.push_back([this, entry, tenant_env_file, make_slot] {
      std::vector<std::string> env;
      if (!tenant_env_file.empty() && std::filesystem::exists(tenant_env_file)) {
        auto read = readEnvFile(tenant_env_file);
        if (!read.ok()) {
          finish(entry, State::kFailed, nullptr, read.error().message);
          return;
        }
        env = std::move(read.value());
      }
      auto module = engine_->loadFile(entry->path);
      if (!module.ok()) {
        log_.line("function " + entry->path + " cannot be loaded: " + module.error().message);
        finish(entry, State::kFailed, nullptr, module.error().message);
        return;
      }
      finish(entry, State::kReady, make_slot(entry->path, module.value(), std::move(env)), "");
    });
  }
  queue_cv_.notify_one();
  return entry;
}

void FunctionCache::finish(const std::shared_ptr<Entry>& entry, State state,
                           std::shared_ptr<FunctionSlot> slot, std::string error) {
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard<std::mutex> lock(entry->mu);
    entry->state = state;
    entry->slot = std::move(slot);
    entry->error = std::move(error);
    waiters.swap(entry->waiters);
  }
  for (auto& wake : waiters) wake();
  if (state == State::kFailed) {
    // Not kept: the next request tries again (the file may be fixed by then).
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = entries_.find(entry->path); it != entries_.end() && it->second == entry) {
      lru_.erase(entry->lru);
      entries_.erase(it);
    }
  }
}

void FunctionCache::evictLocked() {
  while (entries_.size() > max_loaded_ && !lru_.empty()) {
    const std::string victim = lru_.back();
    lru_.pop_back();
    entries_.erase(victim);
  }
}

void FunctionCache::invalidate(const std::string& file) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = entries_.find(file); it != entries_.end()) {
    lru_.erase(it->second->lru);
    entries_.erase(it);
  }
}

void FunctionCache::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.clear();
  lru_.clear();
}

size_t FunctionCache::loaded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

bool TenantLimits::admit(const std::string& tenant, unsigned* retry_after_s) {
  std::lock_guard<std::mutex> lock(mu_);
  Tenant& t = tenants_[tenant];
  if (concurrency_ > 0 && t.inflight >= concurrency_) {
    *retry_after_s = 1;
    return false;
  }
  if (rate_ > 0) {
    const auto now = std::chrono::steady_clock::now();
    if (t.refilled == std::chrono::steady_clock::time_point{}) {
      t.tokens = rate_;  // a new tenant starts with a full bucket
    } else {
      const double elapsed = std::chrono::duration<double>(now - t.refilled).count();
      t.tokens = std::min(rate_, t.tokens + elapsed * rate_);
    }
    t.refilled = now;
    if (t.tokens < 1) {
      *retry_after_s = static_cast<unsigned>(std::ceil((1 - t.tokens) / rate_));
      if (*retry_after_s == 0) *retry_after_s = 1;
      return false;
    }
    t.tokens -= 1;
  }
  ++t.inflight;
  return true;
}

void TenantLimits::release(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = tenants_.find(tenant); it != tenants_.end() && it->second.inflight > 0) {
    --it->second.inflight;
  }
}

}  // namespace jinn::http
