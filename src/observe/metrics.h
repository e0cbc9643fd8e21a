// Metrics in the Prometheus text format (0.0.4), without dependencies.
//
// Every metric is a member of `Metrics`, generated from metrics.def. A member is
// a family; `with(label values)` finds or creates the child for one label set
// under a lock and returns a reference that stays valid for the registry's
// lifetime. Resolve children once (per route at config load, per function at
// module load) and keep the reference: the hot path is then one relaxed atomic
// add, no lock, no lookup.
//
//   Metrics metrics;
//   Counter& ok = metrics.requests_total.with({"report", "2xx"});  // once
//   ok.inc();                                                      // per request
//   std::string page = metrics.render();                           // GET /metrics
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jinn::observe {

// Bucket upper bounds, seconds. Function times go down to a microsecond: a
// small call instantiates in a few of them.
inline constexpr double kFunctionBuckets[] = {1e-6,   2.5e-6, 5e-6,   1e-5,   2.5e-5, 5e-5, 1e-4,
                                              2.5e-4, 5e-4,   1e-3,   2.5e-3, 5e-3,   1e-2, 2.5e-2,
                                              5e-2,   0.1,    0.25,   0.5,    1};
inline constexpr double kRequestBuckets[] = {1e-4,  2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2,
                                             5e-2,  0.1,    0.25, 0.5,  1,      2.5,  5,    10, 30};
inline constexpr double kCompileBuckets[] = {1e-3, 1e-2, 0.05, 0.1, 0.25, 0.5, 1,
                                             2.5,  5,    10,   30,  60,   120, 300};

class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void add(int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  void sub(int64_t n = 1) { value_.fetch_sub(n, std::memory_order_relaxed); }
  void set(int64_t n) { value_.store(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Histogram {
 public:
  // `bounds`: ascending upper bounds, excluding +Inf. Not copied: static storage.
  explicit Histogram(std::span<const double> bounds);
  void observe(double value);
  std::span<const double> bounds() const { return bounds_; }
  // Per-bucket (not cumulative) counts; the last one is the +Inf overflow.
  uint64_t bucketCount(size_t i) const { return counts_[i].load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::span<const double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

enum class MetricType { kCounter, kGauge, kHistogram };

// One metric name: its help, label names and one child per label set.
template <typename T>
class Family {
 public:
  Family(std::string_view name, std::string_view help,
         std::initializer_list<std::string_view> label_names,
         std::span<const double> buckets = {});
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // Finds or creates a child. The number of values must equal the number of
  // label names (a programming error otherwise: aborts). Takes a lock: call
  // once per label set and keep the reference.
  T& with(std::initializer_list<std::string_view> values = {});

  std::string_view name() const { return name_; }
  void render(std::string& out) const;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::span<const double> buckets_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

// The registry. Build one in main and pass it by reference; no global.
class Metrics {
 public:
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

#define JINN_LABEL_LIST_(...) {__VA_ARGS__}
#define JINN_COUNTER(member, help, labels) \
  Family<Counter> member{"jinn_" #member, help, JINN_LABEL_LIST_ labels};
#define JINN_GAUGE(member, help, labels) \
  Family<Gauge> member{"jinn_" #member, help, JINN_LABEL_LIST_ labels};
#define JINN_HISTOGRAM(member, help, labels, buckets) \
  Family<Histogram> member{"jinn_" #member, help, JINN_LABEL_LIST_ labels, buckets};
#include "observe/metrics.def"
#undef JINN_COUNTER
#undef JINN_GAUGE
#undef JINN_HISTOGRAM
#undef JINN_LABEL_LIST_

  // The exposition page, Content-Type: text/plain; version=0.0.4.
  std::string render() const;
  void renderTo(std::string& out) const;
};

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// "1xx".."5xx" for the status label; anything else is "other".
std::string_view statusClass(int status);

// Appends `value` escaped for a label value: backslash, double quote, newline.
void appendLabelValue(std::string& out, std::string_view value);

}  // namespace jinn::observe
