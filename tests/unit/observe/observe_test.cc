#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/src.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <map>
#include <set>
#include <thread>

#include "observe/access_log.h"
#include "observe/metrics.h"
#include "observe/trace.h"

namespace jinn::observe {
namespace {

// ---- A reader for the text exposition format, to check our writer against ----

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> help;
  std::map<std::string, std::string> type;
  std::vector<Sample> samples;

  // The value of the one sample with this name and these labels; fails otherwise.
  double value(const std::string& name, const std::map<std::string, std::string>& labels) const {
    const Sample* found = nullptr;
    for (const Sample& s : samples) {
      if (s.name == name && s.labels == labels) {
        EXPECT_EQ(found, nullptr) << "duplicate sample " << name;
        found = &s;
      }
    }
    EXPECT_NE(found, nullptr) << "no sample " << name;
    return found ? found->value : -1;
  }
};

bool isNameChar(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

// Strict: any deviation from the grammar fails the test with the line.
Exposition parseExposition(const std::string& text) {
  Exposition out;
  EXPECT_TRUE(text.empty() || text.back() == '\n');
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) {
    SCOPED_TRACE(line);
    EXPECT_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      const std::string rest = line.substr(7);
      const size_t space = rest.find(' ');
      EXPECT_NE(space, std::string::npos);
      const std::string name = rest.substr(0, space);
      auto& table = line[2] == 'H' ? out.help : out.type;
      EXPECT_EQ(table.count(name), 0u);
      table[name] = rest.substr(space + 1);
      continue;
    }
    EXPECT_NE(line[0], '#');
    Sample sample;
    size_t i = 0;
    while (i < line.size() && isNameChar(line[i], i == 0)) ++i;
    EXPECT_GT(i, 0u);
    sample.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t start = i;
        while (i < line.size() && isNameChar(line[i], i == start)) ++i;
        const std::string label = line.substr(start, i - start);
        EXPECT_FALSE(label.empty());
        EXPECT_EQ(line.substr(i, 2), "=\"");
        i += 2;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\') {
            ++i;
            EXPECT_LT(i, line.size());
            if (line[i] == 'n') value += '\n';
            else if (line[i] == '\\' || line[i] == '"') value += line[i];
            else ADD_FAILURE() << "bad escape \\" << line[i];
          } else {
            value += line[i];
          }
          ++i;
        }
        EXPECT_EQ(line[i], '"');
        ++i;
        EXPECT_EQ(sample.labels.count(label), 0u);
        sample.labels[label] = value;
        if (line[i] == ',') ++i;
      }
      EXPECT_EQ(line[i], '}');
      ++i;
    }
    EXPECT_EQ(line[i], ' ');
    const std::string number = line.substr(i + 1);
    char* end = nullptr;
    sample.value = std::strtod(number.c_str(), &end);
    EXPECT_EQ(*end, '\0') << "bad number '" << number << "'";
    out.samples.push_back(std::move(sample));
  }
  return out;
}

TEST(Metrics, ExpositionFormat) {
  Metrics metrics;
  metrics.requests_total.with({"/api/report", "2xx"}).inc();
  metrics.requests_total.with({"/api/report", "2xx"}).inc(2);
  metrics.requests_total.with({"/api/report", "5xx"}).inc();
  metrics.inflight_requests.with().add(3);
  metrics.inflight_requests.with().sub();
  metrics.function_run_seconds.with({"report.wasm"}).observe(3e-6);
  metrics.compiles_total.with({"hit"}).inc();

  const std::string page = metrics.render();
  const Exposition e = parseExposition(page);

  // Every family announces itself, in metrics.def order, even without samples.
  const std::vector<std::pair<std::string, std::string>> families = {
      {"jinn_requests_total", "counter"},
      {"jinn_request_duration_seconds", "histogram"},
      {"jinn_inflight_requests", "gauge"},
      {"jinn_function_outcomes_total", "counter"},
      {"jinn_function_instantiate_seconds", "histogram"},
      {"jinn_function_run_seconds", "histogram"},
      {"jinn_function_inline_overruns_total", "counter"},
      {"jinn_function_pool_only_total", "counter"},
      {"jinn_function_queue_rejections_total", "counter"},
      {"jinn_tenant_rejections_total", "counter"},
      {"jinn_pool_slots_in_use", "gauge"},
      {"jinn_modules_loaded", "gauge"},
      {"jinn_compile_seconds", "histogram"},
      {"jinn_compiles_total", "counter"},
      {"jinn_upstream_errors_total", "counter"},
  };
  size_t last = 0;
  for (size_t i = 0; i < families.size(); ++i) {
    const auto& [name, type] = families[i];
    EXPECT_EQ(e.type.at(name), type) << name;
    EXPECT_FALSE(e.help.at(name).empty()) << name;
    const size_t at = page.find("# HELP " + name + " ");
    ASSERT_NE(at, std::string::npos) << name;
    if (i > 0) {
      EXPECT_GT(at, last) << name;
    }
    EXPECT_EQ(page.substr(page.find('\n', at) + 1, 7 + name.size() + 1), "# TYPE " + name + " ");
    last = at;
  }
  EXPECT_EQ(e.help.size(), families.size());

  EXPECT_EQ(e.value("jinn_requests_total", {{"route", "/api/report"}, {"status", "2xx"}}), 3);
  EXPECT_EQ(e.value("jinn_requests_total", {{"route", "/api/report"}, {"status", "5xx"}}), 1);
  EXPECT_EQ(e.value("jinn_inflight_requests", {}), 2);
  EXPECT_EQ(e.value("jinn_function_queue_rejections_total", {}), 0);
  EXPECT_EQ(e.value("jinn_pool_slots_in_use", {}), 0);
  EXPECT_EQ(e.value("jinn_compiles_total", {{"result", "hit"}}), 1);
  EXPECT_EQ(e.value("jinn_function_run_seconds_count", {{"function", "report.wasm"}}), 1);
  EXPECT_DOUBLE_EQ(e.value("jinn_function_run_seconds_sum", {{"function", "report.wasm"}}), 3e-6);
  EXPECT_EQ(e.value("jinn_function_run_seconds_bucket", {{"function", "report.wasm"}, {"le", "1e-06"}}), 0);
  EXPECT_EQ(e.value("jinn_function_run_seconds_bucket", {{"function", "report.wasm"}, {"le", "5e-06"}}), 1);
  EXPECT_EQ(e.value("jinn_function_run_seconds_bucket", {{"function", "report.wasm"}, {"le", "+Inf"}}), 1);
  // An unlabelled histogram renders its empty child.
  EXPECT_EQ(e.value("jinn_compile_seconds_count", {}), 0);

  // The exact text of a few lines.
  EXPECT_NE(page.find("\njinn_requests_total{route=\"/api/report\",status=\"2xx\"} 3\n"),
            std::string::npos);
  EXPECT_NE(page.find("\njinn_compile_seconds_bucket{le=\"+Inf\"} 0\n"), std::string::npos);
  EXPECT_NE(page.find("\njinn_inflight_requests 2\n"), std::string::npos);
}

TEST(Metrics, LabelEscaping) {
  Metrics metrics;
  const std::string nasty = "a\"b\\c\nd{e}=,f \xc3\xa9";
  metrics.upstream_errors_total.with({nasty, "connect"}).inc();
  const std::string page = metrics.render();
  EXPECT_NE(page.find(R"(upstream="a\"b\\c\nd{e}=,f é")"), std::string::npos) << page;
  const Exposition e = parseExposition(page);
  EXPECT_EQ(e.value("jinn_upstream_errors_total", {{"upstream", nasty}, {"kind", "connect"}}), 1);
}

TEST(Metrics, HandlesAreStable) {
  Metrics metrics;
  Counter& a = metrics.function_outcomes_total.with({"f", "exited"});
  for (int i = 0; i < 100; ++i) metrics.function_outcomes_total.with({"f", std::to_string(i)});
  EXPECT_EQ(&a, &metrics.function_outcomes_total.with({"f", "exited"}));
}

TEST(Metrics, ConcurrentIncrementsSum) {
  Metrics metrics;
  Counter& shared = metrics.requests_total.with({"r", "2xx"});
  Histogram& histogram = metrics.request_duration_seconds.with({"r"});
  Gauge& gauge = metrics.inflight_requests.with();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Also resolves handles concurrently with increments and renders.
      Counter& mine = metrics.requests_total.with({"r", "t" + std::to_string(t)});
      for (int i = 0; i < kPerThread; ++i) {
        gauge.add();
        shared.inc();
        mine.inc();
        histogram.observe(0.001);
        gauge.sub();
        if (i % 20000 == 0) metrics.render();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(shared.value(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(gauge.value(), 0);
  const Exposition e = parseExposition(metrics.render());
  EXPECT_EQ(e.value("jinn_requests_total", {{"route", "r"}, {"status", "2xx"}}), kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(e.value("jinn_requests_total", {{"route", "r"}, {"status", "t" + std::to_string(t)}}),
              kPerThread);
  }
  EXPECT_EQ(e.value("jinn_request_duration_seconds_count", {{"route", "r"}}), kThreads * kPerThread);
  EXPECT_NEAR(e.value("jinn_request_duration_seconds_sum", {{"route", "r"}}),
              kThreads * kPerThread * 0.001, 1e-6);
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Metrics metrics;
  Histogram& h = metrics.function_instantiate_seconds.with({"f"});
  // On a bound counts in that bound's bucket ("le"); beyond the last goes to +Inf only.
  for (double v : {0.0, 1e-6, 2e-6, 1e-3, 1e-3, 0.7, 1.0, 5.0}) h.observe(v);
  const Exposition e = parseExposition(metrics.render());
  std::vector<double> counts;
  std::vector<std::string> les;
  for (const Sample& s : e.samples) {
    if (s.name == "jinn_function_instantiate_seconds_bucket") {
      counts.push_back(s.value);
      les.push_back(s.labels.at("le"));
    }
  }
  ASSERT_EQ(counts.size(), std::size(kFunctionBuckets) + 1);
  EXPECT_EQ(les.back(), "+Inf");
  for (size_t i = 0; i + 1 < les.size(); ++i) {
    EXPECT_EQ(std::strtod(les[i].c_str(), nullptr), kFunctionBuckets[i]);
    EXPECT_LE(counts[i], counts[i + 1]);
  }
  auto at = [&](const std::string& le) {
    return e.value("jinn_function_instantiate_seconds_bucket", {{"function", "f"}, {"le", le}});
  };
  EXPECT_EQ(at("1e-06"), 2);
  EXPECT_EQ(at("2.5e-06"), 3);
  EXPECT_EQ(at("0.001"), 5);
  EXPECT_EQ(at("0.5"), 5);
  EXPECT_EQ(at("1"), 7);
  EXPECT_EQ(at("+Inf"), 8);
  EXPECT_EQ(e.value("jinn_function_instantiate_seconds_count", {{"function", "f"}}), 8);
  EXPECT_DOUBLE_EQ(e.value("jinn_function_instantiate_seconds_sum", {{"function", "f"}}),
                   0.0 + 1e-6 + 2e-6 + 1e-3 + 1e-3 + 0.7 + 1.0 + 5.0);
}

TEST(Metrics, StatusClass) {
  EXPECT_EQ(statusClass(200), "2xx");
  EXPECT_EQ(statusClass(404), "4xx");
  EXPECT_EQ(statusClass(503), "5xx");
  EXPECT_EQ(statusClass(101), "1xx");
  EXPECT_EQ(statusClass(99), "other");
  EXPECT_EQ(statusClass(600), "other");
}

TEST(MetricsDeathTest, WrongLabelCountAborts) {
  Metrics metrics;
  EXPECT_DEATH(metrics.requests_total.with({"only-route"}), "takes 2 label values, got 1");
}

// ---- Access log ----

AccessEntry sampleEntry() {
  AccessEntry e;
  e.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1714566896789));
  e.remote = "127.0.0.1:50312";
  e.method = "GET";
  e.path = "/api/report?x=1";
  e.status = 200;
  e.bytes = 512;
  e.duration = std::chrono::microseconds(1234);
  e.route = "/api/report";
  e.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  e.outcome = "exited";
  return e;
}

TEST(AccessLog, FormatExact) {
  std::string line;
  AccessLog::format(sampleEntry(), line);
  EXPECT_EQ(line,
            "{\"time\":\"2024-05-01T12:34:56.789Z\",\"remote\":\"127.0.0.1:50312\",\"method\":\"GET\","
            "\"path\":\"/api/report?x=1\",\"status\":200,\"bytes\":512,\"duration_ms\":1.234,"
            "\"route\":\"/api/report\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
            "\"outcome\":\"exited\"}\n");
  AccessEntry no_outcome = sampleEntry();
  no_outcome.outcome = {};
  line.clear();
  AccessLog::format(no_outcome, line);
  EXPECT_EQ(line.find("outcome"), std::string::npos);
  boost::json::object o = boost::json::parse(line).as_object();
  EXPECT_EQ(o.at("status").as_int64(), 200);
  EXPECT_DOUBLE_EQ(o.at("duration_ms").to_number<double>(), 1.234);
}

TEST(AccessLog, NastyStringsStayValidJson) {
  const std::string nasty[] = {
      std::string("quote\" backslash\\ slash/ "),
      std::string("controls \x01\x02\x1f\x7f\n\r\t\b\f end"),
      std::string("nul\0inside", 10),
      std::string("valid utf8: \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
      std::string("lone continuation \x80 and lead \xc3"),
      std::string("overlong \xc0\xaf and \xe0\x80\xaf"),
      std::string("surrogate \xed\xa0\x80 above max \xf4\x90\x80\x80 \xf5\x80\x80\x80 \xff"),
      std::string("truncated \xe2\x82"),
      std::string("\xf0\x9f\x98"),
  };
  for (const std::string& s : nasty) {
    AccessEntry e = sampleEntry();
    e.path = s;
    e.method = s;
    e.remote = s;
    std::string line;
    AccessLog::format(e, line);
    ASSERT_EQ(line.back(), '\n');
    ASSERT_EQ(line.find('\n'), line.size() - 1) << "one line per entry";
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << ec.message() << "\n" << line;
    const std::string path(v.as_object().at("path").as_string());
    // Valid text survives unchanged; only invalid bytes become U+FFFD.
    if (s.find("valid utf8") == 0 || s.find("quote") == 0 || s.find("controls") == 0 ||
        s.find("nul") == 0) {
      EXPECT_EQ(path, s);
    } else {
      EXPECT_NE(path.find("\xef\xbf\xbd"), std::string::npos) << path;
    }
  }
  std::string out;
  appendJsonString(out, std::string("a\x80\xc3\xa9", 4));
  EXPECT_EQ(out, "\"a\\ufffd\xc3\xa9\"");
  out.clear();
  appendJsonString(out, "\x01\x7f");
  EXPECT_EQ(out, "\"\\u0001\\u007f\"");
}

TEST(AccessLog, ConcurrentWritesNeverInterleave) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string received;
  std::thread reader([&] {
    char buffer[65536];
    for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) received.append(buffer, n);
  });
  constexpr int kThreads = 4;
  constexpr int kLines = 500;
  {
    AccessLog log(fds[1], true);
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&, t] {
        // Long paths, so a line exceeds PIPE_BUF and only the lock keeps it whole.
        const std::string path = "/" + std::string(6000, static_cast<char>('a' + t));
        for (int i = 0; i < kLines; ++i) {
          AccessEntry e = sampleEntry();
          e.path = path;
          e.status = 200 + t;
          log.write(e);
        }
      });
    }
    for (auto& w : writers) w.join();
    EXPECT_EQ(log.droppedLines(), 0u);
  }  // closes the write end
  reader.join();
  close(fds[0]);
  std::stringstream in(received);
  std::map<int64_t, int> per_status;
  size_t lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    boost::json::object o = boost::json::parse(line).as_object();
    const int64_t status = o.at("status").as_int64();
    ++per_status[status];
    EXPECT_EQ(o.at("path").as_string().size(), 6001u);
    EXPECT_EQ(o.at("path").as_string()[1], static_cast<char>('a' + (status - 200)));
  }
  EXPECT_EQ(lines, size_t{kThreads} * kLines);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(per_status[200 + t], kLines);
}

TEST(AccessLog, OpenAppends) {
  char tmpl[] = "/tmp/jinn_access_log.XXXXXX";
  const int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  for (int i = 0; i < 2; ++i) {
    auto log = AccessLog::open(tmpl);
    ASSERT_TRUE(log.ok()) << log.error().message;
    log.value()->write(sampleEntry());
  }
  std::ifstream in(tmpl);
  std::string a, b, c;
  EXPECT_TRUE(std::getline(in, a));
  EXPECT_TRUE(std::getline(in, b));
  EXPECT_FALSE(std::getline(in, c));
  EXPECT_EQ(a, b);
  unlink(tmpl);
  EXPECT_FALSE(AccessLog::open("/nonexistent-dir/x.log").ok());
}

// ---- Trace ids ----

TEST(Trace, AcceptsValidTraceparent) {
  auto c = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(c->parent_id, "00f067aa0ba902b7");
  EXPECT_EQ(c->flags, 1);
  c = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->flags, 0xff);
  // A future version may append fields.
  EXPECT_TRUE(parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
  EXPECT_TRUE(parseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
}

TEST(Trace, RejectsMalformedTraceparent) {
  const char* bad[] = {
      "",
      "00",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",            // short flags
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",          // v00 trailing
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",          // v00 too long
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",           // version ff
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",          // future, no '-'
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",           // zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",           // zero parent id
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",           // uppercase
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",           // not hex
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",           // separator
      "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
      "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01",
  };
  for (const char* h : bad) EXPECT_FALSE(parseTraceparent(h).has_value()) << "'" << h << "'";
}

TEST(Trace, NewIdsAreHexAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = newTraceId();
    ASSERT_EQ(id.size(), 32u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 10000u);
  const std::string span = newSpanId();
  EXPECT_EQ(span.size(), 16u);
  // Another thread has its own generator, seeded independently.
  std::string other;
  std::thread([&] { other = newTraceId(); }).join();
  EXPECT_EQ(seen.count(other), 0u);
}

TEST(Trace, TraceIdForAndFormat) {
  const std::string header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  EXPECT_EQ(traceIdFor(header), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(traceIdFor("garbage").size(), 32u);
  EXPECT_NE(traceIdFor(""), traceIdFor(""));
  const std::string formatted = formatTraceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1);
  EXPECT_EQ(formatted, header);
  const std::string fresh = formatTraceparent(newTraceId(), newSpanId(), 0);
  EXPECT_TRUE(parseTraceparent(fresh).has_value()) << fresh;
}

}  // namespace
}  // namespace jinn::observe
