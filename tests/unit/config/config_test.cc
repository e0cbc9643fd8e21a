#include "config/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <map>
#include <thread>

#include "config/router.h"

namespace jinn::config {
namespace {

namespace fs = std::filesystem;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::string_view kIssueExample = R"(
[server]
listen = "127.0.0.1:8080"
admin  = "127.0.0.1:9090"        # /metrics and, later, the deploy API

[[route]]
path = "/api/report"             # exact; "/api/*" is a prefix; the longest match wins
function = "functions/report.wasm"
timeout = "50ms"
memory = "16MiB"
env = { API_KEY = "${env.SECRET_KEY}" }   # placeholders read from the host environment

[[route]]
path = "/api/orders/*"
middleware = ["functions/verify_hmac.wasm"]
proxy = "http://127.0.0.1:9000"

[[route]]
path = "/*"
proxy = "http://127.0.0.1:9000"
)";

// A scratch directory holding the function files the configs name.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/jinn_config_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ / "functions");
    fs::create_directories(dir_ / "data");
    for (const char* name : {"functions/report.wasm", "functions/verify_hmac.wasm", "a.wasm",
                             "b.wasm", "cert.pem", "key.pem"}) {
      std::ofstream(dir_ / name) << "x";
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result<Config> parse(std::string_view text) {
    return parseConfig(text, "jinn.toml", dir_, [this](std::string_view name) {
      auto it = env_.find(std::string(name));
      return it == env_.end() ? std::nullopt : std::optional<std::string>(it->second);
    });
  }
  // Parses text that must fail; returns the message.
  std::string errors(std::string_view text) {
    Result<Config> result = parse(text);
    EXPECT_FALSE(result.ok());
    return result.ok() ? "" : result.error().message;
  }

  fs::path dir_;
  std::map<std::string, std::string> env_{{"SECRET_KEY", "s3cret"}};
};

TEST_F(ConfigTest, IssueExampleParses) {
  Result<Config> result = parse(kIssueExample);
  ASSERT_TRUE(result.ok()) << result.error().message;
  const Config& c = result.value();
  EXPECT_EQ(c.server.listen.text(), "127.0.0.1:8080");
  ASSERT_TRUE(c.server.admin.has_value());
  EXPECT_EQ(c.server.admin->port, 9090);
  ASSERT_EQ(c.routes.size(), 3u);

  const RouteConfig& report = c.routes[0];
  EXPECT_EQ(report.path, "/api/report");
  EXPECT_FALSE(report.prefix);
  EXPECT_EQ(report.line, 6);
  ASSERT_TRUE(report.function.has_value());
  EXPECT_FALSE(report.proxy.has_value());
  EXPECT_EQ(report.function->path, dir_ / "functions/report.wasm");
  EXPECT_EQ(report.function->limits.timeout, milliseconds(50));
  EXPECT_EQ(report.function->limits.memory_bytes, 16u << 20);
  EXPECT_EQ(report.function->env, std::vector<std::string>{"API_KEY=s3cret"});
  EXPECT_EQ(report.function->args, std::vector<std::string>{"report.wasm"});

  const RouteConfig& orders = c.routes[1];
  EXPECT_TRUE(orders.prefix);
  EXPECT_FALSE(orders.function.has_value());
  ASSERT_TRUE(orders.proxy.has_value());
  EXPECT_EQ(orders.proxy->host, "127.0.0.1");
  EXPECT_EQ(orders.proxy->port, 9000);
  EXPECT_EQ(orders.proxy->base_path, "");
  ASSERT_EQ(orders.middleware.size(), 1u);
  EXPECT_EQ(orders.middleware[0].path, dir_ / "functions/verify_hmac.wasm");
  EXPECT_EQ(c.routes[2].path, "/*");
}

TEST_F(ConfigTest, ServerDefaults) {
  Result<Config> result = parse("");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const ServerConfig& s = result.value().server;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(s.listen.text(), "127.0.0.1:8080");
  EXPECT_FALSE(s.admin.has_value());
  EXPECT_EQ(s.workers, cores);
  EXPECT_EQ(s.function_threads, 2 * cores);
  EXPECT_EQ(s.max_queue, 256u);
  EXPECT_EQ(s.read_timeout, seconds(30));
  EXPECT_EQ(s.idle_timeout, seconds(60));
  EXPECT_EQ(s.max_header_bytes, 16u << 10);
  EXPECT_EQ(s.max_body_bytes, 8u << 20);
  EXPECT_EQ(s.shutdown_grace, seconds(10));
  EXPECT_TRUE(s.tls_cert.empty());
  EXPECT_TRUE(s.tls_key.empty());
  EXPECT_EQ(s.access_log.kind, AccessLogTarget::Kind::kStdout);
  EXPECT_TRUE(s.cache_dir.empty());
  EXPECT_EQ(s.busy_poll.count(), 0);
  EXPECT_TRUE(result.value().routes.empty());
}

TEST_F(ConfigTest, ServerValuesAndRelativePaths) {
  Result<Config> result = parse(R"(
[server]
listen = "[::1]:0"
workers = 3
function_threads = 5
max_queue = 0
read_timeout = "250ms"
idle_timeout = "2m"
max_header_bytes = "32KiB"
max_body_bytes = 1048576
shutdown_grace = "1s"
tls_cert = "cert.pem"
tls_key = "key.pem"
access_log = "logs/access.log"
cache_dir = "cache"
busy_poll = "200us"
)");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const ServerConfig& s = result.value().server;
  EXPECT_EQ(s.listen.host, "::1");
  EXPECT_EQ(s.listen.port, 0);
  EXPECT_EQ(s.listen.text(), "[::1]:0");
  EXPECT_EQ(s.workers, 3u);
  EXPECT_EQ(s.function_threads, 5u);
  EXPECT_EQ(s.max_queue, 0u);
  EXPECT_EQ(s.read_timeout, milliseconds(250));
  EXPECT_EQ(s.idle_timeout, seconds(120));
  EXPECT_EQ(s.max_header_bytes, 32u << 10);
  EXPECT_EQ(s.max_body_bytes, 1u << 20);
  EXPECT_EQ(s.tls_cert, dir_ / "cert.pem");
  EXPECT_EQ(s.tls_key, dir_ / "key.pem");
  EXPECT_EQ(s.access_log.kind, AccessLogTarget::Kind::kFile);
  EXPECT_EQ(s.access_log.path, dir_ / "logs/access.log");
  EXPECT_EQ(s.cache_dir, dir_ / "cache");
  EXPECT_EQ(s.busy_poll, microseconds(200));

  Result<Config> off = parse("[server]\naccess_log = \"off\"\n");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off.value().server.access_log.kind, AccessLogTarget::Kind::kOff);
}

TEST_F(ConfigTest, FunctionDefaults) {
  Result<Config> result = parse("[[route]]\npath = \"/f\"\nfunction = \"a.wasm\"\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const RouteConfig& r = result.value().routes[0];
  EXPECT_EQ(r.name, "/f");
  EXPECT_TRUE(r.methods.empty());
  ASSERT_TRUE(r.function.has_value());
  const FunctionConfig& f = *r.function;
  EXPECT_EQ(f.limits.timeout, seconds(1));
  EXPECT_EQ(f.limits.memory_bytes, 64u << 20);
  EXPECT_EQ(f.limits.stdout_bytes, 1u << 20);
  EXPECT_EQ(f.limits.stderr_bytes, 64u << 10);
  EXPECT_TRUE(f.env.empty());
  EXPECT_EQ(f.args, std::vector<std::string>{"a.wasm"});
  EXPECT_TRUE(f.preopens.empty());
  EXPECT_TRUE(f.debug_secret.empty());
}

TEST_F(ConfigTest, FunctionValues) {
  Result<Config> result = parse(R"(
[[route]]
path = "/f"
name = "eff"
methods = ["GET", "POST"]
function = "a.wasm"
middleware = ["b.wasm", "functions/verify_hmac.wasm"]
timeout = "250us"
memory = 131072
stdout_max = "2MiB"
stderr_max = "1KiB"
env = { B = "2", A = "1" }
args = ["--verbose", "x"]
dirs = [{ host = "data", guest = "/data" }, { host = ".", guest = "/tmp", writable = true }]
debug_secret = "hunter2hunter2"
)");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const RouteConfig& r = result.value().routes[0];
  EXPECT_EQ(r.name, "eff");
  EXPECT_EQ(r.methods, (std::vector<std::string>{"GET", "POST"}));
  const FunctionConfig& f = *r.function;
  EXPECT_EQ(f.limits.timeout, std::chrono::microseconds(250));
  EXPECT_EQ(f.limits.memory_bytes, 131072u);
  EXPECT_EQ(f.limits.stdout_bytes, 2u << 20);
  EXPECT_EQ(f.limits.stderr_bytes, 1024u);
  EXPECT_EQ(f.env, (std::vector<std::string>{"A=1", "B=2"}));
  EXPECT_EQ(f.args, (std::vector<std::string>{"a.wasm", "--verbose", "x"}));
  ASSERT_EQ(f.preopens.size(), 2u);
  EXPECT_EQ(f.preopens[0].host_path, dir_ / "data");
  EXPECT_EQ(f.preopens[0].guest_path, "/data");
  EXPECT_FALSE(f.preopens[0].writable);
  EXPECT_EQ(f.preopens[1].host_path, dir_.lexically_normal() / "");
  EXPECT_TRUE(f.preopens[1].writable);
  EXPECT_EQ(f.debug_secret, "hunter2hunter2");
  // Middleware share the route's limits, env, dirs; argv[0] is their own name.
  ASSERT_EQ(r.middleware.size(), 2u);
  EXPECT_EQ(r.middleware[0].path, dir_ / "b.wasm");
  EXPECT_EQ(r.middleware[1].args[0], "verify_hmac.wasm");
  EXPECT_EQ(r.middleware[0].limits.timeout, f.limits.timeout);
  EXPECT_EQ(r.middleware[0].env, f.env);
  EXPECT_EQ(r.middleware[0].preopens.size(), 2u);
}

TEST_F(ConfigTest, ProxyValues) {
  Result<Config> result = parse(R"(
[[route]]
path = "/p/*"
proxy = "HTTP://backend.internal:8081/base/"
upstream_timeout = "3s"
connect_timeout = "100ms"
[[route]]
path = "/q"
proxy = "http://example.com"
)");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const ProxyConfig& p = *result.value().routes[0].proxy;
  EXPECT_EQ(p.host, "backend.internal");
  EXPECT_EQ(p.port, 8081);
  EXPECT_EQ(p.base_path, "/base");
  EXPECT_EQ(p.upstream_timeout, seconds(3));
  EXPECT_EQ(p.connect_timeout, milliseconds(100));
  const ProxyConfig& q = *result.value().routes[1].proxy;
  EXPECT_EQ(q.port, 80);
  EXPECT_EQ(q.upstream_timeout, seconds(30));
  EXPECT_EQ(q.connect_timeout, seconds(5));
}

TEST_F(ConfigTest, LoadConfigResolvesAgainstFileDirectory) {
  std::ofstream(dir_ / "jinn.toml") << "[[route]]\npath = \"/x\"\nfunction = \"functions/report.wasm\"\n";
  Result<Config> result = loadConfig(dir_ / "jinn.toml", [](std::string_view) { return std::nullopt; });
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result.value().routes[0].function->path, dir_ / "functions/report.wasm");

  Result<Config> missing = loadConfig(dir_ / "nope.toml", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nope.toml"), std::string::npos);
}

TEST_F(ConfigTest, Placeholders) {
  env_["HOST"] = "10.0.0.1";
  env_["EMPTY"] = "";
  Result<Config> result = parse(R"(
[server]
listen = "${env.HOST}:8080"
[[route]]
path = "/f"
function = "a.wasm"
env = { A = "pre-${env.SECRET_KEY}-${env.EMPTY}-post", B = "$${env.SECRET_KEY}", C = "cost: $5 ${env.HOST}" }
)");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result.value().server.listen.host, "10.0.0.1");
  EXPECT_EQ(result.value().routes[0].function->env,
            (std::vector<std::string>{"A=pre-s3cret--post", "B=${env.SECRET_KEY}",
                                      "C=cost: $5 10.0.0.1"}));
}

TEST_F(ConfigTest, PlaceholderErrors) {
  const std::string message = errors(R"([[route]]
path = "/f"
function = "a.wasm"
env = { A = "${env.NOPE}", B = "${home}", C = "${env.X" }
)");
  EXPECT_NE(message.find("jinn.toml:4:13: environment variable 'NOPE' is not set"), std::string::npos)
      << message;
  EXPECT_NE(message.find("jinn.toml:4:32: unknown placeholder '${home}'"), std::string::npos) << message;
  EXPECT_NE(message.find("jinn.toml:4:47: unterminated placeholder"), std::string::npos) << message;
}

TEST_F(ConfigTest, SyntaxErrorHasLine) {
  const std::string message = errors("[server]\nlisten = \"127.0.0.1:80\"\nworkers = = 3\n");
  EXPECT_EQ(message.rfind("jinn.toml:3:", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

// One case per kind of error: the text, and the start of the expected line.
struct ErrorCase {
  const char* text;
  const char* expected;
};

TEST_F(ConfigTest, EachErrorKindWithItsLine) {
  const ErrorCase cases[] = {
      {"[server]\nlisen = \"1.2.3.4:80\"\n",
       "jinn.toml:2:1: unknown key in [server] 'lisen'; did you mean 'listen'?"},
      {"[server]\nzzz = 1\n", "jinn.toml:2:1: unknown key in [server] 'zzz'"},
      {"[servre]\n", "jinn.toml:1:2: unknown top-level key 'servre'; did you mean 'server'?"},
      {"[server]\nworkers = \"4\"\n", "jinn.toml:2:11: 'workers' must be an integer, not a string"},
      {"[server]\nworkers = 0\n", "jinn.toml:2:11: 'workers' must be from 1 to 1024"},
      {"[server]\nread_timeout = \"30 parsecs\"\n",
       "jinn.toml:2:16: 'read_timeout': bad duration \"30 parsecs\""},
      {"[server]\nread_timeout = 30\n", "jinn.toml:2:16: 'read_timeout' needs a unit"},
      {"[server]\nbusy_poll = \"1s\"\n", "jinn.toml:2:13: 'busy_poll' must be at most 10ms"},
      {"[server]\nbusy_poll = \"-5us\"\n", "jinn.toml:2:13: 'busy_poll': bad duration"},
      {"[server]\nmax_body_bytes = \"8 MiBs\"\n", "jinn.toml:2:18: 'max_body_bytes': bad size"},
      {"[server]\nlisten = \"127.0.0.1\"\n",
       "jinn.toml:2:10: 'listen': bad address \"127.0.0.1\": expected \"host:port\""},
      {"[server]\nlisten = \"127.0.0.1:99999\"\n", "jinn.toml:2:10: 'listen': bad address"},
      {"[server]\nlisten = \"300.1.1.1:80\"\n", "jinn.toml:2:10: 'listen': bad address \"300.1.1.1:80\": '300.1.1.1' is not an IPv4 address"},
      {"[server]\nadmin = \":9090\"\n", "jinn.toml:2:9: 'admin': bad address \":9090\": missing host"},
      {"[server]\ntls_cert = \"cert.pem\"\n",
       "jinn.toml:2:12: tls_cert and tls_key go together"},
      {"[server]\ntls_cert = \"cert.pem\"\ntls_key = \"nokey.pem\"\n",
       "jinn.toml:3:11: 'tls_key': no such file 'nokey.pem'"},
      {"[route]\npath = \"/\"\n", "jinn.toml:1:1: routes are written [[route]]"},
      {"[[route]]\nfunction = \"a.wasm\"\n", "jinn.toml:1:1: [[route]] needs a 'path'"},
      {"\n[[route]]\npath = \"/x\"\n", "jinn.toml:2:1: [[route]] needs 'function', 'functions_dir' or 'proxy'"},
      {"[[route]]\npath = \"x\"\nfunction = \"a.wasm\"\n",
       "jinn.toml:2:8: route path \"x\" must start with '/'"},
      {"[[route]]\npath = \"/a*\"\nfunction = \"a.wasm\"\n",
       "jinn.toml:2:8: route path \"/a*\": '*' is allowed only"},
      {"[[route]]\npath = \"/a/*/b\"\nfunction = \"a.wasm\"\n", "jinn.toml:2:8: route path"},
      {"[[route]]\npath = \"/a\"\nfunction = \"missing.wasm\"\n",
       "jinn.toml:3:12: 'function': no such file 'missing.wasm'"},
      {"[[route]]\npath = \"/a\"\nproxy = \"http://h:1\"\nmiddleware = [\"a.wasm\", \"gone.wasm\"]\n",
       "jinn.toml:4:25: 'middleware': no such file 'gone.wasm'"},
      {"[[route]]\npath = \"/a\"\nfunction = \"a.wasm\"\nproxy = \"http://h:1\"\n",
       "jinn.toml:4:9: a route has one of 'function', 'functions_dir' or 'proxy'"},
      {"[[route]]\npath = \"/t/{tenant}/{fn}\"\nfunctions_dir = \"x/{tenant}/{nope}.wasm\"\n",
       "jinn.toml:3:17: 'functions_dir': {nope} is not a parameter of the route's path"},
      {"[[route]]\npath = \"/t/{Tenant}\"\nproxy = \"http://h:1\"\n",
       "jinn.toml:2:8: route path \"/t/{Tenant}\": a parameter is a whole segment"},
      {"[[route]]\npath = \"/t/{fn}\"\nfunctions_dir = \"x/{fn}.wasm\"\ntenant_rate = 5\n",
       "jinn.toml:4:15: 'tenant_rate' needs a tenant"},
      {"[[route]]\npath = \"/t/{fn}\"\nproxy = \"http://h:1\"\ntenant_concurrency = 2\n",
       "jinn.toml:4:22: 'tenant_concurrency' applies only to functions_dir routes"},
      {"[[route]]\npath = \"/a\"\nproxy = \"https://h:443\"\n",
       "jinn.toml:3:9: 'proxy': bad upstream \"https://h:443\": https upstreams are not supported yet"},
      {"[[route]]\npath = \"/a\"\nproxy = \"ftp://h\"\n", "jinn.toml:3:9: 'proxy': bad upstream"},
      {"[[route]]\npath = \"/a\"\nproxy = \"http://h:1?x=1\"\n", "jinn.toml:3:9: 'proxy': bad upstream"},
      {"[[route]]\npath = \"/a\"\nproxy = \"http://h:1\"\ntimeout = \"1s\"\n",
       "jinn.toml:4:11: 'timeout' applies to functions and middleware"},
      {"[[route]]\npath = \"/a\"\nfunction = \"a.wasm\"\nconnect_timeout = \"1s\"\n",
       "jinn.toml:4:19: 'connect_timeout' applies only to proxy routes"},
      {"[[route]]\npath = \"/a\"\nfunction = \"a.wasm\"\nmethods = [\"get\"]\n",
       "jinn.toml:4:11: method \"get\" must be an uppercase HTTP method (\"GET\")"},
      {"[[route]]\npath = \"/a\"\nfunction = \"a.wasm\"\nmethods = \"GET\"\n",
       "jinn.toml:4:11: 'methods' must be an array of strings, not a string"},
      {"[[route]]\npath = \"/a\"\nfunction = \"a.wasm\"\nmemory = \"-1MiB\"\n",
       "jinn.toml:4:10: 'memory': bad size"},
      {"[[route]]\npath = \"/a\"\nfunction = \"a.wasm\"\ntimeout = \"0s\"\n",
       "jinn.toml:4:11: 'timeout' must be greater than zero"},
      {"[[route]]\npath = \"/a\"\nfunction = \"a.wasm\"\nenv = { A = 1 }\n",
       "jinn.toml:4:13: 'env.A' must be a string, not an integer"},
      {"[[route]]\npath = \"/a\"\nfunction = \"a.wasm\"\ndirs = [{ host = \"nodir\", guest = \"/d\" }]\n",
       "jinn.toml:4:18: dirs host 'nodir' is not a directory"},
      {"[[route]]\npath = \"/a\"\nfunction = \"a.wasm\"\ndirs = [{ host = \"data\" }]\n",
       "jinn.toml:4:9: dirs entry needs 'guest'"},
      {"[[route]]\npath = \"/a\"\nfunction = \"a.wasm\"\ndirs = [{ host = \"data\", guest = \"/d\", writeable = true }]\n",
       "jinn.toml:4:40: unknown key in dirs entry 'writeable'; did you mean 'writable'?"},
      {"[[route]]\npath = \"/a\"\nfunction = \"a.wasm\"\ntimeot = \"1s\"\n",
       "jinn.toml:4:1: unknown key in [[route]] 'timeot'; did you mean 'timeout'?"},
      {"[[route]]\npath = \"/a\"\nfunction = \"a.wasm\"\n[[route]]\npath = \"/a\"\nfunction = \"b.wasm\"\n",
       "jinn.toml:5:8: duplicate route \"/a\" with overlapping methods (first defined on line 1)"},
      {"[[route]]\npath = \"/a\"\nfunction = \"a.wasm\"\nmethods = [\"GET\", \"POST\"]\n"
       "[[route]]\npath = \"/a\"\nfunction = \"b.wasm\"\nmethods = [\"PUT\", \"POST\"]\n",
       "jinn.toml:6:8: duplicate route \"/a\""},
  };
  for (const ErrorCase& c : cases) {
    const std::string message = errors(c.text);
    EXPECT_EQ(message.rfind(c.expected, 0), 0u) << "config:\n" << c.text << "\ngot:\n" << message;
  }
}

TEST_F(ConfigTest, DisjointMethodsOnOnePathAreFine) {
  Result<Config> result = parse(
      "[[route]]\npath = \"/a\"\nfunction = \"a.wasm\"\nmethods = [\"GET\"]\n"
      "[[route]]\npath = \"/a\"\nfunction = \"b.wasm\"\nmethods = [\"POST\"]\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
}

TEST_F(ConfigTest, AllErrorsReportedTogetherInFileOrder) {
  const std::string message = errors(R"([server]
listen = "nowhere"
workers = -1
zorkers = 2

[[route]]
path = "api"
function = "missing.wasm"
timeout = "fast"

[[route]]
path = "/ok"
proxy = "https://secure:443"
)");
  std::vector<std::string> lines;
  std::stringstream in(message);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 7u) << message;
  EXPECT_EQ(lines[0].rfind("jinn.toml:2:", 0), 0u) << message;
  EXPECT_EQ(lines[1].rfind("jinn.toml:3:", 0), 0u) << message;
  EXPECT_EQ(lines[2].rfind("jinn.toml:4:1: unknown key in [server] 'zorkers'; did you mean 'workers'?", 0), 0u)
      << message;
  EXPECT_EQ(lines[3].rfind("jinn.toml:7:", 0), 0u) << message;
  EXPECT_EQ(lines[4].rfind("jinn.toml:8:", 0), 0u) << message;
  EXPECT_EQ(lines[5].rfind("jinn.toml:9:", 0), 0u) << message;
  EXPECT_EQ(lines[6].rfind("jinn.toml:13:", 0), 0u) << message;
}

// ---- Router ----

class RouterTest : public ConfigTest {
 protected:
  const RouteConfig* route(std::string_view method, std::string_view path) {
    RouteMatch m = router_->match(method, path);
    return m.kind == RouteMatch::Kind::kFound ? m.route : nullptr;
  }
  std::string name(std::string_view method, std::string_view path) {
    const RouteConfig* r = route(method, path);
    return r ? r->name : "<none>";
  }
  void build(std::string_view text) {
    Result<Config> result = parse(text);
    ASSERT_TRUE(result.ok()) << result.error().message;
    config_ = std::move(result.value());
    router_ = std::make_unique<Router>(config_.routes);
  }
  Config config_;
  std::unique_ptr<Router> router_;
};

TEST_F(RouterTest, Precedence) {
  build(R"(
[[route]]
path = "/*"
name = "root"
proxy = "http://127.0.0.1:9000"
[[route]]
path = "/api/*"
name = "api"
proxy = "http://127.0.0.1:9000"
[[route]]
path = "/api/orders/*"
name = "orders"
proxy = "http://127.0.0.1:9000"
[[route]]
path = "/api/orders/special"
name = "special"
function = "a.wasm"
)");
  EXPECT_EQ(name("GET", "/"), "root");
  EXPECT_EQ(name("GET", "/anything/else"), "root");
  EXPECT_EQ(name("GET", "/api"), "api");
  EXPECT_EQ(name("GET", "/api/"), "api");
  EXPECT_EQ(name("GET", "/apix"), "root");
  EXPECT_EQ(name("GET", "/api/report"), "api");
  EXPECT_EQ(name("GET", "/api/orders"), "orders");
  EXPECT_EQ(name("GET", "/api/orders/1"), "orders");
  EXPECT_EQ(name("GET", "/api/orders/special"), "special");
  EXPECT_EQ(name("GET", "/api/orders/special/x"), "orders");
}

TEST_F(RouterTest, ExactOnlyIsNotFoundElsewhere) {
  build("[[route]]\npath = \"/a\"\nfunction = \"a.wasm\"\n");
  EXPECT_EQ(name("GET", "/a"), "/a");
  EXPECT_EQ(router_->match("GET", "/a/").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router_->match("GET", "/b").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router_->match("GET", "").kind, RouteMatch::Kind::kNotFound);
}

TEST_F(RouterTest, MethodsAnd405) {
  build(R"(
[[route]]
path = "/items"
name = "read"
methods = ["GET"]
function = "a.wasm"
[[route]]
path = "/items"
name = "write"
methods = ["POST", "PUT"]
function = "b.wasm"
[[route]]
path = "/admin/*"
name = "admin"
methods = ["DELETE"]
function = "a.wasm"
)");
  EXPECT_EQ(name("GET", "/items"), "read");
  EXPECT_EQ(name("HEAD", "/items"), "read");
  EXPECT_EQ(name("POST", "/items"), "write");
  EXPECT_EQ(name("PUT", "/items"), "write");
  RouteMatch m = router_->match("PATCH", "/items");
  EXPECT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allow, "GET, HEAD, POST, PUT");

  m = router_->match("GET", "/admin/users");
  EXPECT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "DELETE");
  EXPECT_EQ(router_->match("GET", "/other").kind, RouteMatch::Kind::kNotFound);
}

TEST_F(RouterTest, MethodFilterFallsThroughToShorterPrefix) {
  build(R"(
[[route]]
path = "/api/*"
name = "api-get"
methods = ["GET"]
function = "a.wasm"
[[route]]
path = "/*"
name = "root"
proxy = "http://127.0.0.1:9000"
)");
  EXPECT_EQ(name("GET", "/api/x"), "api-get");
  EXPECT_EQ(name("POST", "/api/x"), "root");
}

// The artifact trust policy: key files and the allow-list resolve against the
// config's directory and must exist; the values reach ServerConfig as is.
TEST_F(ConfigTest, ArtifactTrustKeys) {
  std::ofstream(dir_ / "ci.pub") << "x";
  std::ofstream(dir_ / "old.pub") << "x";
  std::ofstream(dir_ / "allowed.txt") << "";
  Result<Config> result = parse(R"(
[server]
trusted_keys = ["ci.pub", "old.pub"]
artifact_allowlist = "allowed.txt"
)");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const ServerConfig& s = result.value().server;
  EXPECT_EQ(s.trusted_keys, (std::vector<fs::path>{dir_ / "ci.pub", dir_ / "old.pub"}));
  EXPECT_EQ(s.artifact_allowlist, dir_ / "allowed.txt");

  Result<Config> defaults = parse("");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults.value().server.trusted_keys.empty());
  EXPECT_TRUE(defaults.value().server.artifact_allowlist.empty());

  Result<Config> bad = parse(R"(
[server]
trusted_keys = ["ci.pub", "missing.pub"]
artifact_allowlist = "nowhere.txt"
)");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("jinn.toml:3:"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("missing.pub"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("jinn.toml:4:"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("nowhere.txt"), std::string::npos) << bad.error().message;

  Result<Config> wrong_type = parse(R"(
[server]
trusted_keys = "ci.pub"
)");
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.error().message.find("trusted_keys"), std::string::npos)
      << wrong_type.error().message;
}

}  // namespace
}  // namespace jinn::config
