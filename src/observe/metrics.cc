#include "observe/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace jinn::observe {
namespace {

void appendDouble(std::string& out, double value) {
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  char buffer[32];
  // Shortest text that reads back to the same double.
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

void appendHelp(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

// {a="x",b="y"} plus an optional extra label (le for buckets). Nothing if empty.
void appendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    appendLabelValue(out, values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

template <typename T>
constexpr std::string_view typeText() {
  if constexpr (std::is_same_v<T, Counter>) return "counter";
  else if constexpr (std::is_same_v<T, Gauge>) return "gauge";
  else return "histogram";
}

void renderChild(std::string& out, const std::string& name, const std::vector<std::string>& names,
                 const std::vector<std::string>& values, const Counter& c) {
  out += name;
  appendLabels(out, names, values);
  out += ' ';
  out += std::to_string(c.value());
  out += '\n';
}

void renderChild(std::string& out, const std::string& name, const std::vector<std::string>& names,
                 const std::vector<std::string>& values, const Gauge& g) {
  out += name;
  appendLabels(out, names, values);
  out += ' ';
  out += std::to_string(g.value());
  out += '\n';
}

void renderChild(std::string& out, const std::string& name, const std::vector<std::string>& names,
                 const std::vector<std::string>& values, const Histogram& h) {
  // Buckets are stored per bucket so observe() touches one counter; the format
  // wants them cumulative. Concurrent observes may make sum and count disagree
  // by a sample, which Prometheus tolerates.
  uint64_t cumulative = 0;
  std::string le;
  for (size_t i = 0; i <= h.bounds().size(); ++i) {
    cumulative += h.bucketCount(i);
    le.clear();
    if (i < h.bounds().size()) appendDouble(le, h.bounds()[i]);
    else le = "+Inf";
    out += name;
    out += "_bucket";
    appendLabels(out, names, values, "le", le);
    out += ' ';
    out += std::to_string(cumulative);
    out += '\n';
  }
  out += name;
  out += "_sum";
  appendLabels(out, names, values);
  out += ' ';
  appendDouble(out, h.sum());
  out += '\n';
  out += name;
  out += "_count";
  appendLabels(out, names, values);
  out += ' ';
  out += std::to_string(cumulative);
  out += '\n';
}

}  // namespace

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double value) {
  // "le": a value equal to a bound belongs to that bound's bucket.
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

template <typename T>
Family<T>::Family(std::string_view name, std::string_view help,
                  std::initializer_list<std::string_view> label_names,
                  std::span<const double> buckets)
    : name_(name), help_(help), label_names_(label_names.begin(), label_names.end()),
      buckets_(buckets) {
  // A metric without labels has exactly one child; create it so it renders 0.
  if (label_names_.empty()) with({});
}

template <typename T>
T& Family<T>::with(std::initializer_list<std::string_view> values) {
  if (values.size() != label_names_.size()) {
    std::fprintf(stderr, "jinn: metric %s takes %zu label values, got %zu\n", name_.c_str(),
                 label_names_.size(), values.size());
    std::abort();
  }
  std::vector<std::string> key(values.begin(), values.end());
  std::lock_guard lock(mutex_);
  auto it = children_.find(key);
  if (it == children_.end()) {
    std::unique_ptr<T> child;
    if constexpr (std::is_same_v<T, Histogram>) child = std::make_unique<T>(buckets_);
    else child = std::make_unique<T>();
    it = children_.emplace(std::move(key), std::move(child)).first;
  }
  return *it->second;
}

template <typename T>
void Family<T>::render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  appendHelp(out, help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += typeText<T>();
  out += '\n';
  std::lock_guard lock(mutex_);
  for (const auto& [values, child] : children_) renderChild(out, name_, label_names_, values, *child);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Metrics::Metrics() = default;

std::string Metrics::render() const {
  std::string out;
  renderTo(out);
  return out;
}

void Metrics::renderTo(std::string& out) const {
#define JINN_COUNTER(member, help, labels) member.render(out);
#define JINN_GAUGE(member, help, labels) member.render(out);
#define JINN_HISTOGRAM(member, help, labels, buckets) member.render(out);
#include "observe/metrics.def"
#undef JINN_COUNTER
#undef JINN_GAUGE
#undef JINN_HISTOGRAM
}

std::string_view statusClass(int status) {
  switch (status / 100) {
    case 1: return "1xx";
    case 2: return "2xx";
    case 3: return "3xx";
    case 4: return "4xx";
    case 5: return "5xx";
    default: return "other";
  }
}

void appendLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

}  // namespace jinn::observe
