// The server's configuration: plain structs filled from a TOML file, every field
// documented in schema.md (the config reference). Parsing never throws; all problems
// of a file are collected and returned together, one "file:line:col: message" per line.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jinn/jinn.h"

namespace jinn::config {

// Reads one host environment variable for `${env.NAME}` placeholders. Injected so
// tests never depend on (or modify) the real environment. nullopt: not set.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// The lookup `main` should pass: getenv(3).
EnvLookup hostEnv();

// "host:port". host is an IPv4 address, a bracket-less IPv6 address or a name;
// port 0 asks the kernel for an ephemeral port.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
  std::string text() const;  // "127.0.0.1:8080", "[::1]:8080"
};

struct AccessLogTarget {
  enum class Kind { kStdout, kOff, kFile };
  Kind kind = Kind::kStdout;
  std::filesystem::path path;  // absolute; only for kFile
};

struct ServerConfig {
  ListenAddress listen{"127.0.0.1", 8080};
  std::optional<ListenAddress> admin;
  unsigned workers = 1;           // io threads; default: hardware cores
  unsigned function_threads = 2;  // default: 2 x hardware cores
  size_t max_queue = 256;         // pending function calls before 503
  // A call first runs on the I/O thread with this much time; one that needs
  // more is re-run on the function pool (see schema.md). 0: always the pool.
  std::chrono::nanoseconds inline_budget = std::chrono::microseconds(500);
  // An I/O thread with nothing to do polls for this long before it sleeps
  // (see schema.md). 0: it sleeps at once.
  std::chrono::nanoseconds busy_poll{0};
  std::chrono::nanoseconds read_timeout = std::chrono::seconds(30);
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(60);
  size_t max_header_bytes = 16u << 10;
  size_t max_body_bytes = 8u << 20;
  std::chrono::nanoseconds shutdown_grace = std::chrono::seconds(10);
  std::filesystem::path tls_cert;  // both empty (plain HTTP) or both set; absolute
  std::filesystem::path tls_key;
  AccessLogTarget access_log;
  std::filesystem::path cache_dir;  // empty: the engine's default; absolute otherwise
  // Functions of `functions_dir` routes kept loaded (least recently used
  // ones are unloaded beyond this).
  size_t max_loaded_functions = 1000;
  // How long a request for a function not yet loaded waits for it before
  // 503 + Retry-After (the load goes on in the background).
  std::chrono::nanoseconds first_hit_wait = std::chrono::milliseconds(250);
  // Artifact trust policy (EngineConfig): Ed25519 public keys and an allow-list file.
  std::vector<std::filesystem::path> trusted_keys;  // absolute, exist
  std::filesystem::path artifact_allowlist;         // empty: none; absolute, exists
};

// One wasm program run per call: the route's function or one of its middleware.
struct FunctionConfig {
  std::filesystem::path path;  // absolute, exists
  Limits limits;               // timeout, memory_bytes, stdout_bytes, stderr_bytes
  std::vector<std::string> env;   // "KEY=VALUE", sorted by key
  std::vector<std::string> args;  // full argv: argv[0] is the file name, then `args`
  std::vector<Preopen> preopens;  // host paths absolute
  std::string debug_secret;       // empty: debug disabled
};

// "http://host:port[/base]"
struct ProxyConfig {
  std::string url;        // as written (after placeholders)
  std::string host;
  uint16_t port = 80;
  std::string base_path;  // "" or "/base" without a trailing slash
  std::chrono::nanoseconds upstream_timeout = std::chrono::seconds(30);
  std::chrono::nanoseconds connect_timeout = std::chrono::seconds(5);
};

// A route whose function is a file chosen per request from the route's
// parameters: "/t/{tenant}/{function}" with
// functions_dir = "tenants/{tenant}/{function}.wasm". Adding a file deploys
// a function; nothing is loaded until it is called.
struct FunctionsDirConfig {
  std::string pattern;       // absolute path; each {name} is a route parameter
  FunctionConfig defaults;   // settings of every function (path set per file)
  std::vector<std::string> extra_args;  // after argv[0] (the file name)
  std::string tenant_param;  // the parameter naming the tenant; "": none
  std::string tenant_env_file;  // pattern of a per-tenant KEY=VALUE file; "": none
  unsigned tenant_concurrency = 0;  // calls at once per tenant; 0: no limit
  double tenant_rate = 0;           // requests/s per tenant (burst: 1 s worth); 0: none
};

struct RouteConfig {
  std::string path;     // as written: "/api/report" or "/api/*"
  bool prefix = false;  // path ends in "/*"
  std::string name;     // for metrics and logs; default: path
  std::vector<std::string> methods;  // uppercase; empty: any method
  std::vector<FunctionConfig> middleware;  // run in order before the target
  std::optional<FunctionConfig> function;  // exactly one of function / proxy is set
  std::optional<ProxyConfig> proxy;
  std::optional<FunctionsDirConfig> functions_dir;  // instead of function / proxy
  std::vector<std::string> params;  // {parameter} names of `path`, in order
  int line = 0;  // of the [[route]] header, for messages
};

// The deploy API on the admin listener (PUT/DELETE/GET of .wasm files under
// `root`), behind a bearer token.
struct DeployConfig {
  std::string token;
  std::filesystem::path root;  // absolute, an existing directory
  size_t max_upload = 16u << 20;
};

struct Config {
  std::string source;  // the file name used in messages
  ServerConfig server;
  std::optional<DeployConfig> deploy;
  std::vector<RouteConfig> routes;  // in file order
};

// Parses and validates a config file. Relative paths resolve against the file's
// directory. Error: every problem found, one per line, each "file:line:col: message".
Result<Config> loadConfig(const std::filesystem::path& file, EnvLookup env);

// As loadConfig, from text. `source_name` appears in messages; relative paths
// resolve against `base_dir`. File existence checks still touch the filesystem.
Result<Config> parseConfig(std::string_view text, std::string_view source_name,
                           const std::filesystem::path& base_dir, EnvLookup env);

}  // namespace jinn::config
