#include "config/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <toml++/toml.h>

#include "util/text.h"
#include "util/units.h"

namespace jinn::config {
namespace {

namespace fs = std::filesystem;

constexpr auto kMaxBusyPoll = std::chrono::milliseconds(10);
constexpr std::string_view kServerKeys[] = {
    "listen",           "admin",          "workers",      "function_threads", "max_queue",
    "read_timeout",     "idle_timeout",   "max_header_bytes", "max_body_bytes",
    "shutdown_grace",   "tls_cert",       "tls_key",      "access_log",       "cache_dir",
    "inline_budget",    "max_loaded_functions", "first_hit_wait", "busy_poll",
    "trusted_keys",     "artifact_allowlist"};
constexpr std::string_view kRouteKeys[] = {
    "path",       "name",        "methods",      "function",         "proxy",
    "middleware", "timeout",     "memory",       "stdout_max",       "stderr_max",
    "env",        "args",        "dirs",         "debug_secret",     "upstream_timeout",
    "connect_timeout", "functions_dir", "tenant", "tenant_env_file", "tenant_concurrency",
    "tenant_rate"};
constexpr std::string_view kTenantKeys[] = {"tenant", "tenant_env_file", "tenant_concurrency",
                                            "tenant_rate"};
constexpr std::string_view kDeployKeys[] = {"token", "root", "max_upload"};
// Keys that only mean something when the route runs wasm (function or middleware).
constexpr std::string_view kFunctionOnlyKeys[] = {"timeout", "memory",  "stdout_max", "stderr_max",
                                                  "env",     "args",    "dirs",       "debug_secret"};
constexpr std::string_view kProxyOnlyKeys[] = {"upstream_timeout", "connect_timeout"};
constexpr std::string_view kDirKeys[] = {"host", "guest", "writable"};
constexpr std::string_view kTopKeys[] = {"server", "route", "deploy"};

// Edit distance, for "did you mean". Keys are short, so the O(n*m) table is fine.
size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

template <size_t N>
bool contains(const std::string_view (&list)[N], std::string_view key) {
  return std::find(std::begin(list), std::end(list), key) != std::end(list);
}

std::string_view typeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

struct Problem {
  int line;
  int column;
  std::string message;
};

// Messages quote keys and values, which TOML escapes can fill with any
// character: controls are shown as \xNN so one problem stays one line.
bool isEnvName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Parses "host:port" / "[v6]:port". nullopt + reason on failure.
std::optional<ListenAddress> parseHostPort(std::string_view text, std::string* why) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      *why = "expected \"[ipv6]:port\"";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    in6_addr addr6;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &addr6) != 1) {
      *why = "'" + std::string(host) + "' is not an IPv6 address";
      return std::nullopt;
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      *why = "expected \"host:port\"";
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.empty()) {
      *why = "missing host (use 0.0.0.0 for every interface)";
      return std::nullopt;
    }
    if (host.find(':') != std::string_view::npos) {
      *why = "write IPv6 addresses in brackets: \"[::1]:8080\"";
      return std::nullopt;
    }
    const bool numeric = std::all_of(host.begin(), host.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
    });
    in_addr addr4;
    if (numeric && inet_pton(AF_INET, std::string(host).c_str(), &addr4) != 1) {
      *why = "'" + std::string(host) + "' is not an IPv4 address";
      return std::nullopt;
    }
    const bool name_ok = std::all_of(host.begin(), host.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
    });
    if (!name_ok) {
      *why = "'" + std::string(host) + "' is not a host name";
      return std::nullopt;
    }
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
      std::stoul(std::string(port)) > 65535) {
    *why = "port must be a number from 0 to 65535";
    return std::nullopt;
  }
  return ListenAddress{std::string(host), static_cast<uint16_t>(std::stoul(std::string(port)))};
}

class Parser {
 public:
  Parser(std::string_view source, fs::path base_dir, EnvLookup env)
      : source_(source), base_dir_(std::move(base_dir)), env_(std::move(env)) {}

  Result<Config> run(std::string_view text) {
    Config config;
    config.source = source_;
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    config.server.workers = cores;
    config.server.function_threads = 2 * cores;

    toml::table root;
    try {
      root = toml::parse(text, source_);
    } catch (const toml::parse_error& e) {
      add(e.source().begin, std::string(e.description()));
      return finish(std::move(config));
    }

    checkKeys(root, kTopKeys, "top-level key");
    if (const toml::node* server = root.get("server")) {
      if (const toml::table* table = server->as_table()) {
        parseServer(*table, config.server);
      } else {
        add(*server, "[server] must be a table");
      }
    }
    if (const toml::node* routes = root.get("route")) {
      const toml::array* array = routes->as_array();
      if (array == nullptr || !array->is_array_of_tables()) {
        add(*routes, "routes are written [[route]] (an array of tables)");
      } else {
        for (const toml::node& node : *array) parseRoute(*node.as_table(), config.routes);
      }
    }
    if (const toml::node* deploy = root.get("deploy")) {
      if (const toml::table* table = deploy->as_table()) {
        config.deploy = parseDeploy(*table);
        if (config.deploy && !config.server.admin) {
          add(*deploy, "[deploy] needs an admin listener ([server] admin = \"127.0.0.1:9090\")");
        }
      } else {
        add(*deploy, "[deploy] must be a table");
      }
    }
    return finish(std::move(config));
  }

 private:
  Result<Config> finish(Config config) {
    if (problems_.empty()) return config;
    // toml++ tables iterate in key order, so restore file order for the reader.
    std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    std::string message;
    for (const Problem& p : problems_) {
      if (!message.empty()) message += '\n';
      message += source_ + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": " +
                 util::printable(p.message);
    }
    return Error{std::move(message)};
  }

  void add(const toml::source_position& at, std::string message) {
    problems_.push_back({static_cast<int>(at.line), static_cast<int>(at.column), std::move(message)});
  }
  void add(const toml::node& node, std::string message) { add(node.source().begin, std::move(message)); }

  template <size_t N>
  void checkKeys(const toml::table& table, const std::string_view (&known)[N], std::string_view what) {
    for (auto&& [key, value] : table) {
      if (contains(known, key.str())) continue;
      std::string message = "unknown " + std::string(what) + " '" + std::string(key.str()) + "'";
      std::string_view best;
      size_t best_distance = 3;  // suggest only close names
      for (std::string_view candidate : known) {
        const size_t d = editDistance(key.str(), candidate);
        if (d < best_distance && d < std::max<size_t>(candidate.size() / 2, 1)) {
          best_distance = d;
          best = candidate;
        }
      }
      if (!best.empty()) message += "; did you mean '" + std::string(best) + "'?";
      add(key.source().begin, std::move(message));
    }
  }

  // Replaces ${env.NAME}; "$${" is a literal "${".
  std::optional<std::string> expand(const toml::node& node, std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
      if (text.compare(i, 3, "$${") == 0) {
        out += "${";
        i += 3;
        continue;
      }
      if (text.compare(i, 2, "${") != 0) {
        out += text[i++];
        continue;
      }
      const size_t close = text.find('}', i + 2);
      if (close == std::string_view::npos) {
        add(node, "unterminated placeholder '" + std::string(text.substr(i)) +
                      "' (write $${ for a literal ${)");
        return std::nullopt;
      }
      const std::string_view inner = text.substr(i + 2, close - i - 2);
      if (inner.substr(0, 4) != "env." || !isEnvName(inner.substr(4))) {
        add(node, "unknown placeholder '${" + std::string(inner) +
                      "}': only ${env.NAME} is supported (write $${ for a literal ${)");
        return std::nullopt;
      }
      const std::string_view name = inner.substr(4);
      std::optional<std::string> value = env_ ? env_(name) : std::nullopt;
      if (!value) {
        add(node, "environment variable '" + std::string(name) + "' is not set");
        return std::nullopt;
      }
      out += *value;
      i = close + 1;
    }
    return out;
  }

  std::optional<std::string> string(const toml::node& node, std::string_view key) {
    const auto* value = node.as_string();
    if (value == nullptr) {
      add(node, "'" + std::string(key) + "' must be a string, not " + std::string(typeName(node)));
      return std::nullopt;
    }
    // No path, argument or environment entry can hold a NUL: the host would
    // silently cut the string there.
    if (value->get().find('\0') != std::string::npos) {
      add(node, "'" + std::string(key) + "' contains a NUL character");
      return std::nullopt;
    }
    return expand(node, value->get());
  }

  std::optional<std::chrono::nanoseconds> duration(const toml::node& node, std::string_view key,
                                                   bool allow_zero = false) {
    if (node.is_integer() || node.is_floating_point()) {
      add(node, "'" + std::string(key) + "' needs a unit, e.g. \"500ms\" or \"30s\"");
      return std::nullopt;
    }
    std::optional<std::string> text = string(node, key);
    if (!text) return std::nullopt;
    std::optional<std::chrono::nanoseconds> value = util::parseDuration(*text);
    if (!value) {
      add(node, "'" + std::string(key) + "': bad duration \"" + *text +
                    "\" (units: ns, us, ms, s, m, h)");
      return std::nullopt;
    }
    if (value->count() < 0 || (value->count() == 0 && !allow_zero)) {
      add(node, "'" + std::string(key) + "' must be greater than zero");
      return std::nullopt;
    }
    return value;
  }

  std::optional<uint64_t> size(const toml::node& node, std::string_view key) {
    if (const auto* integer = node.as_integer()) {
      if (integer->get() <= 0) {
        add(node, "'" + std::string(key) + "' must be greater than zero");
        return std::nullopt;
      }
      return static_cast<uint64_t>(integer->get());
    }
    std::optional<std::string> text = string(node, key);
    if (!text) return std::nullopt;
    std::optional<uint64_t> value = util::parseSize(*text);
    if (!value) {
      add(node, "'" + std::string(key) + "': bad size \"" + *text +
                    "\" (e.g. \"64KiB\", \"16MiB\", or a number of bytes)");
      return std::nullopt;
    }
    if (*value == 0) {
      add(node, "'" + std::string(key) + "' must be greater than zero");
      return std::nullopt;
    }
    return value;
  }

  std::optional<int64_t> integer(const toml::node& node, std::string_view key, int64_t min,
                                 int64_t max) {
    const auto* value = node.as_integer();
    if (value == nullptr) {
      add(node, "'" + std::string(key) + "' must be an integer, not " + std::string(typeName(node)));
      return std::nullopt;
    }
    if (value->get() < min || value->get() > max) {
      add(node, "'" + std::string(key) + "' must be from " + std::to_string(min) + " to " +
                    std::to_string(max));
      return std::nullopt;
    }
    return value->get();
  }

  std::optional<std::vector<std::string>> stringList(const toml::node& node, std::string_view key) {
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      add(node, "'" + std::string(key) + "' must be an array of strings, not " +
                    std::string(typeName(node)));
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (const toml::node& item : *array) {
      if (!item.is_string()) {
        add(item, "'" + std::string(key) + "' entries must be strings, not " +
                      std::string(typeName(item)));
        ok = false;
      } else if (std::optional<std::string> s = string(item, key)) {
        out.push_back(std::move(*s));
      } else {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }

  fs::path resolve(const std::string& text) const {
    fs::path path(text);
    if (path.is_relative()) path = base_dir_ / path;
    return path.lexically_normal();
  }

  std::optional<fs::path> existingFile(const toml::node& node, std::string_view key) {
    std::optional<std::string> text = string(node, key);
    if (!text) return std::nullopt;
    if (text->empty()) {
      add(node, "'" + std::string(key) + "' is empty");
      return std::nullopt;
    }
    fs::path path = resolve(*text);
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      add(node, "'" + std::string(key) + "': no such file '" + *text + "' (looked for " +
                    path.string() + ")");
      return std::nullopt;
    }
    return path;
  }

  std::optional<ListenAddress> address(const toml::node& node, std::string_view key) {
    std::optional<std::string> text = string(node, key);
    if (!text) return std::nullopt;
    std::string why;
    std::optional<ListenAddress> address = parseHostPort(*text, &why);
    if (!address) add(node, "'" + std::string(key) + "': bad address \"" + *text + "\": " + why);
    return address;
  }

  void parseServer(const toml::table& table, ServerConfig& server) {
    checkKeys(table, kServerKeys, "key in [server]");
    auto get = [&](std::string_view key) { return table.get(key); };
    if (auto* n = get("listen")) {
      if (auto v = address(*n, "listen")) server.listen = *v;
    }
    if (auto* n = get("admin")) server.admin = address(*n, "admin");
    if (auto* n = get("workers")) {
      if (auto v = integer(*n, "workers", 1, 1024)) server.workers = static_cast<unsigned>(*v);
    }
    if (auto* n = get("function_threads")) {
      if (auto v = integer(*n, "function_threads", 1, 4096)) {
        server.function_threads = static_cast<unsigned>(*v);
      }
    }
    if (auto* n = get("max_queue")) {
      if (auto v = integer(*n, "max_queue", 0, 1 << 20)) server.max_queue = static_cast<size_t>(*v);
    }
    if (auto* n = get("read_timeout")) {
      if (auto v = duration(*n, "read_timeout")) server.read_timeout = *v;
    }
    if (auto* n = get("inline_budget")) {
      if (auto v = duration(*n, "inline_budget", true)) server.inline_budget = *v;
    }
    if (auto* n = get("busy_poll")) {
      if (auto v = duration(*n, "busy_poll", true)) {
        if (*v > kMaxBusyPoll) {
          add(*n, "'busy_poll' must be at most 10ms (it spins a core that long after each burst)");
        } else {
          server.busy_poll = *v;
        }
      }
    }
    if (auto* n = get("idle_timeout")) {
      if (auto v = duration(*n, "idle_timeout")) server.idle_timeout = *v;
    }
    if (auto* n = get("shutdown_grace")) {
      if (auto v = duration(*n, "shutdown_grace")) server.shutdown_grace = *v;
    }
    if (auto* n = get("max_header_bytes")) {
      if (auto v = size(*n, "max_header_bytes")) server.max_header_bytes = *v;
    }
    if (auto* n = get("max_body_bytes")) {
      if (auto v = size(*n, "max_body_bytes")) server.max_body_bytes = *v;
    }
    const toml::node* cert = get("tls_cert");
    const toml::node* key = get("tls_key");
    if ((cert == nullptr) != (key == nullptr)) {
      add(cert ? *cert : *key, "tls_cert and tls_key go together: set both or neither");
    } else if (cert != nullptr) {
      if (auto v = existingFile(*cert, "tls_cert")) server.tls_cert = *v;
      if (auto v = existingFile(*key, "tls_key")) server.tls_key = *v;
    }
    if (auto* n = get("access_log")) {
      if (auto v = string(*n, "access_log")) {
        if (*v == "-") {
          server.access_log = {AccessLogTarget::Kind::kStdout, {}};
        } else if (*v == "off") {
          server.access_log = {AccessLogTarget::Kind::kOff, {}};
        } else if (v->empty()) {
          add(*n, "'access_log' is empty (use \"-\" for stdout or \"off\")");
        } else {
          server.access_log = {AccessLogTarget::Kind::kFile, resolve(*v)};
        }
      }
    }
    if (auto* n = get("cache_dir")) {
      if (auto v = string(*n, "cache_dir")) {
        if (v->empty()) add(*n, "'cache_dir' is empty");
        else server.cache_dir = resolve(*v);
      }
    }
    if (auto* n = get("max_loaded_functions")) {
      if (auto v = integer(*n, "max_loaded_functions", 1, 10'000'000)) {
        server.max_loaded_functions = static_cast<size_t>(*v);
      }
    }
    if (auto* n = get("first_hit_wait")) {
      if (auto v = duration(*n, "first_hit_wait", true)) server.first_hit_wait = *v;
    }
    if (auto* n = get("trusted_keys")) {
      if (auto list = stringList(*n, "trusted_keys")) {
        for (const std::string& text : *list) {
          std::error_code ec;
          if (fs::path path = resolve(text); fs::is_regular_file(path, ec)) {
            server.trusted_keys.push_back(path);
          } else {
            add(*n, "'trusted_keys': no such file '" + text + "' (looked for " + path.string() + ")");
          }
        }
      }
    }
    if (auto* n = get("artifact_allowlist")) {
      if (auto v = existingFile(*n, "artifact_allowlist")) server.artifact_allowlist = *v;
    }
  }

  std::optional<DeployConfig> parseDeploy(const toml::table& table) {
    checkKeys(table, kDeployKeys, "key in [deploy]");
    DeployConfig deploy;
    bool ok = true;
    if (auto* n = table.get("token")) {
      if (auto v = string(*n, "token")) {
        if (v->size() < 16) {
          add(*n, "the deploy token must be at least 16 characters");
          ok = false;
        }
        deploy.token = *v;
      } else {
        ok = false;
      }
    } else {
      add(table, "[deploy] needs a 'token' (e.g. token = \"${env.JINN_DEPLOY_TOKEN}\")");
      ok = false;
    }
    if (auto* n = table.get("root")) {
      if (auto v = string(*n, "root")) {
        deploy.root = resolve(*v);
        std::error_code ec;
        if (!fs::is_directory(deploy.root, ec)) {
          add(*n, "deploy root " + deploy.root.string() + " is not a directory");
          ok = false;
        }
      } else {
        ok = false;
      }
    } else {
      add(table, "[deploy] needs a 'root' directory");
      ok = false;
    }
    if (auto* n = table.get("max_upload")) {
      if (auto v = size(*n, "max_upload")) deploy.max_upload = *v;
    }
    if (!ok) return std::nullopt;
    return deploy;
  }

  // Checks a route path: "/exact" or "/prefix/*". Sets *prefix.
  bool routePath(const toml::node& node, const std::string& path, bool* prefix) {
    if (path.empty() || path.front() != '/') {
      add(node, "route path \"" + path + "\" must start with '/'");
      return false;
    }
    for (char c : path) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '?' || c == '#') {
        add(node, "route path \"" + path + "\" may not contain spaces, controls, '?' or '#'");
        return false;
      }
    }
    const size_t star = path.find('*');
    *prefix = star != std::string::npos;
    if (*prefix && (star != path.size() - 1 || path[star - 1] != '/')) {
      add(node, "route path \"" + path + "\": '*' is allowed only as a final \"/*\" (prefix)");
      return false;
    }
    return true;
  }

  // The {name} segments of a route path; false (reported) when one is
  // malformed or repeated.
  bool routeParams(const toml::node& node, const std::string& path,
                   std::vector<std::string>* params) {
    size_t at = 0;
    while ((at = path.find_first_of("{}", at)) != std::string::npos) {
      const size_t close = path.find('}', at);
      const bool whole = path[at] == '{' && close != std::string::npos && path[at - 1] == '/' &&
                         (close + 1 == path.size() || path[close + 1] == '/');
      std::string name = whole ? path.substr(at + 1, close - at - 1) : "";
      const bool good = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      });
      if (!good) {
        add(node, "route path \"" + path +
                      "\": a parameter is a whole segment \"{name}\" (lowercase letters, digits, _)");
        return false;
      }
      if (std::find(params->begin(), params->end(), name) != params->end()) {
        add(node, "route path \"" + path + "\": parameter {" + name + "} appears twice");
        return false;
      }
      params->push_back(std::move(name));
      at = close + 1;
    }
    return true;
  }

  // "tenants/{tenant}/{function}.wasm": every {name} a route parameter.
  bool paramPattern(const toml::node& node, std::string_view key, const std::string& pattern,
                    const std::vector<std::string>& params) {
    for (size_t at = pattern.find('{'); at != std::string::npos; at = pattern.find('{', at + 1)) {
      const size_t close = pattern.find('}', at);
      const std::string name =
          close == std::string::npos ? "" : pattern.substr(at + 1, close - at - 1);
      if (std::find(params.begin(), params.end(), name) == params.end()) {
        add(node, "'" + std::string(key) + "': {" + name +
                      "} is not a parameter of the route's path");
        return false;
      }
    }
    return true;
  }

  std::optional<ProxyConfig> proxyUrl(const toml::node& node) {
    std::optional<std::string> url = string(node, "proxy");
    if (!url) return std::nullopt;
    auto fail = [&](std::string why) {
      add(node, "'proxy': bad upstream \"" + *url + "\": " + why);
      return std::nullopt;
    };
    std::string lower(*url);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (lower.rfind("https://", 0) == 0) {
      return fail("https upstreams are not supported yet; use http:// (e.g. to a local TLS proxy)");
    }
    if (lower.rfind("http://", 0) != 0) return fail("expected http://host:port[/base]");
    std::string_view rest = std::string_view(*url).substr(7);
    const size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view base = slash == std::string_view::npos ? "" : rest.substr(slash);
    if (authority.find('@') != std::string_view::npos) return fail("credentials in the URL are not supported");
    if (base.find_first_of("?#") != std::string_view::npos) return fail("no query or fragment allowed");
    ProxyConfig proxy;
    proxy.url = *url;
    const size_t bracket = authority.rfind(']');
    const bool has_port =
        authority.find(':', bracket == std::string_view::npos ? 0 : bracket) != std::string_view::npos;
    std::string why;
    std::optional<ListenAddress> hp =
        parseHostPort(has_port ? std::string(authority) : std::string(authority) + ":80", &why);
    if (!hp) return fail(why);
    if (hp->port == 0) return fail("port 0 is not a valid upstream port");
    proxy.host = hp->host;
    proxy.port = hp->port;
    while (!base.empty() && base.back() == '/') base.remove_suffix(1);
    proxy.base_path = std::string(base);
    return proxy;
  }

  void parseEnv(const toml::node& node, std::vector<std::string>& out) {
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      add(node, "'env' must be a table of strings, e.g. env = { KEY = \"value\" }");
      return;
    }
    for (auto&& [key, value] : *table) {
      if (key.str().empty() || key.str().find('=') != std::string_view::npos ||
          key.str().find('\0') != std::string_view::npos) {
        add(key.source().begin, "env name '" + std::string(key.str()) + "' is not valid");
        continue;
      }
      if (auto v = string(value, "env." + std::string(key.str()))) {
        out.push_back(std::string(key.str()) + "=" + *v);
      }
    }
  }

  void parseDirs(const toml::node& node, std::vector<Preopen>& out) {
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      add(node, "'dirs' must be an array of tables { host = \"...\", guest = \"...\" }");
      return;
    }
    for (const toml::node& item : *array) {
      const toml::table* table = item.as_table();
      if (table == nullptr) {
        add(item, "'dirs' entries must be tables { host = \"...\", guest = \"...\" }");
        continue;
      }
      checkKeys(*table, kDirKeys, "key in dirs entry");
      Preopen preopen;
      bool ok = true;
      if (const toml::node* host = table->get("host")) {
        if (auto v = string(*host, "host")) {
          preopen.host_path = resolve(*v);
          std::error_code ec;
          if (!fs::is_directory(preopen.host_path, ec)) {
            add(*host, "dirs host '" + *v + "' is not a directory (looked for " +
                           preopen.host_path.string() + ")");
            ok = false;
          }
        } else {
          ok = false;
        }
      } else {
        add(item, "dirs entry needs 'host'");
        ok = false;
      }
      if (const toml::node* guest = table->get("guest")) {
        if (auto v = string(*guest, "guest")) {
          if (v->empty()) {
            add(*guest, "dirs guest path is empty");
            ok = false;
          }
          preopen.guest_path = *v;
        } else {
          ok = false;
        }
      } else {
        add(item, "dirs entry needs 'guest'");
        ok = false;
      }
      if (const toml::node* writable = table->get("writable")) {
        if (const auto* b = writable->as_boolean()) preopen.writable = b->get();
        else add(*writable, "'writable' must be true or false");
      }
      if (ok) out.push_back(std::move(preopen));
    }
  }

  void parseTenant(const toml::table& table, const std::vector<std::string>& params,
                   FunctionsDirConfig& dir) {
    if (auto* n = table.get("tenant")) {
      if (auto v = string(*n, "tenant")) {
        if (std::find(params.begin(), params.end(), *v) == params.end()) {
          add(*n, "'tenant': \"" + *v + "\" is not a parameter of the route's path");
        } else {
          dir.tenant_param = *v;
        }
      }
    } else if (std::find(params.begin(), params.end(), "tenant") != params.end()) {
      dir.tenant_param = "tenant";
    }
    const bool have_tenant = !dir.tenant_param.empty();
    auto needTenant = [&](const toml::node& n, std::string_view key) {
      if (have_tenant) return true;
      add(n, "'" + std::string(key) +
                 "' needs a tenant: a {tenant} parameter in the path, or 'tenant = \"<param>\"'");
      return false;
    };
    if (auto* n = table.get("tenant_env_file")) {
      if (auto v = string(*n, "tenant_env_file"); v && needTenant(*n, "tenant_env_file")) {
        const std::string pattern = resolve(*v).string();
        if (paramPattern(*n, "tenant_env_file", pattern, {dir.tenant_param})) {
          dir.tenant_env_file = pattern;
        }
      }
    }
    if (auto* n = table.get("tenant_concurrency")) {
      if (auto v = integer(*n, "tenant_concurrency", 1, 1 << 20);
          v && needTenant(*n, "tenant_concurrency")) {
        dir.tenant_concurrency = static_cast<unsigned>(*v);
      }
    }
    if (auto* n = table.get("tenant_rate")) {
      std::optional<double> rate;
      if (auto i = n->as_integer()) rate = static_cast<double>(i->get());
      if (auto f = n->as_floating_point()) rate = f->get();
      if (!rate || !(*rate > 0) || *rate > 1e9) {
        add(*n, "'tenant_rate' must be a number of requests per second above 0");
      } else if (needTenant(*n, "tenant_rate")) {
        dir.tenant_rate = *rate;
      }
    }
  }

  void parseRoute(const toml::table& table, std::vector<RouteConfig>& routes) {
    checkKeys(table, kRouteKeys, "key in [[route]]");
    RouteConfig route;
    route.line = static_cast<int>(table.source().begin.line);
    auto get = [&](std::string_view key) { return table.get(key); };
    bool path_ok = false;
    if (auto* n = get("path")) {
      if (auto v = string(*n, "path")) {
        route.path = *v;
        path_ok = routePath(*n, route.path, &route.prefix) &&
                  routeParams(*n, route.path, &route.params);
      }
    } else {
      add(table, "[[route]] needs a 'path'");
    }
    route.name = route.path;
    if (auto* n = get("name")) {
      if (auto v = string(*n, "name")) route.name = *v;
    }
    const toml::node* methods_node = get("methods");
    if (methods_node) {
      if (auto v = stringList(*methods_node, "methods")) {
        for (const std::string& m : *v) {
          const bool token = !m.empty() && std::all_of(m.begin(), m.end(), [](char c) {
            return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
          });
          if (!token) {
            std::string upper(m);
            std::transform(upper.begin(), upper.end(), upper.begin(),
                           [](unsigned char c) { return std::toupper(c); });
            add(*methods_node, "method \"" + m + "\" must be an uppercase HTTP method" +
                                   (upper != m ? " (\"" + upper + "\")" : ""));
            continue;
          }
          if (std::find(route.methods.begin(), route.methods.end(), m) == route.methods.end()) {
            route.methods.push_back(m);
          }
        }
        if (v->empty()) add(*methods_node, "'methods' is empty; leave it out to accept any method");
      }
    }

    // Shared by the function and its middleware.
    FunctionConfig common;
    common.limits.timeout = std::chrono::seconds(1);
    common.limits.memory_bytes = 64ull << 20;
    common.limits.stdout_bytes = 1u << 20;
    common.limits.stderr_bytes = 64u << 10;
    if (auto* n = get("timeout")) {
      if (auto v = duration(*n, "timeout")) {
        // Round up: a "500ns" timeout must not become zero.
        common.limits.timeout = std::chrono::ceil<std::chrono::microseconds>(*v);
      }
    }
    if (auto* n = get("memory")) {
      if (auto v = size(*n, "memory")) common.limits.memory_bytes = *v;
    }
    if (auto* n = get("stdout_max")) {
      if (auto v = size(*n, "stdout_max")) common.limits.stdout_bytes = *v;
    }
    if (auto* n = get("stderr_max")) {
      if (auto v = size(*n, "stderr_max")) common.limits.stderr_bytes = *v;
    }
    if (auto* n = get("env")) parseEnv(*n, common.env);
    std::sort(common.env.begin(), common.env.end());
    std::vector<std::string> args;
    if (auto* n = get("args")) {
      if (auto v = stringList(*n, "args")) args = std::move(*v);
    }
    if (auto* n = get("dirs")) parseDirs(*n, common.preopens);
    if (auto* n = get("debug_secret")) {
      if (auto v = string(*n, "debug_secret")) {
        if (v->empty()) add(*n, "'debug_secret' is empty; leave it out to disable debugging");
        common.debug_secret = *v;
      }
    }
    auto program = [&](const fs::path& path) {
      FunctionConfig f = common;
      f.path = path;
      f.args.clear();
      f.args.push_back(path.filename().string());
      f.args.insert(f.args.end(), args.begin(), args.end());
      return f;
    };

    const toml::node* function_node = get("function");
    const toml::node* proxy_node = get("proxy");
    const toml::node* middleware_node = get("middleware");
    const toml::node* dir_node = get("functions_dir");
    if ((function_node != nullptr) + (proxy_node != nullptr) + (dir_node != nullptr) > 1) {
      add(proxy_node != nullptr ? *proxy_node : *dir_node,
          "a route has one of 'function', 'functions_dir' or 'proxy'");
    } else if (!function_node && !proxy_node && !dir_node) {
      add(table, "[[route]] needs 'function', 'functions_dir' or 'proxy'");
    }
    if (dir_node && !function_node && !proxy_node) {
      if (auto v = string(*dir_node, "functions_dir")) {
        FunctionsDirConfig dir;
        dir.pattern = resolve(*v).string();
        dir.defaults = common;
        dir.extra_args = args;
        if (route.params.empty() && path_ok) {
          add(*dir_node, "'functions_dir' needs a route path with parameters, e.g. "
                         "\"/t/{tenant}/{function}\"");
        } else if (dir.pattern.find('{') == std::string::npos) {
          add(*dir_node, "'functions_dir' must name route parameters, e.g. "
                         "\"tenants/{tenant}/{function}.wasm\"");
        } else if (path_ok && paramPattern(*dir_node, "functions_dir", dir.pattern, route.params)) {
          parseTenant(table, route.params, dir);
          route.functions_dir = std::move(dir);
        }
      }
    }
    if (!dir_node) {
      for (std::string_view key : kTenantKeys) {
        if (auto* n = get(key)) add(*n, "'" + std::string(key) + "' applies only to functions_dir routes");
      }
    }
    if (function_node) {
      if (auto v = existingFile(*function_node, "function")) route.function = program(*v);
    }
    if (proxy_node && !function_node) {
      route.proxy = proxyUrl(*proxy_node);
    }
    if (middleware_node) {
      const toml::array* array = middleware_node->as_array();
      if (array == nullptr) {
        add(*middleware_node, "'middleware' must be an array of .wasm paths");
      } else {
        for (const toml::node& item : *array) {
          if (auto v = existingFile(item, "middleware")) route.middleware.push_back(program(*v));
        }
      }
    }
    if (auto* n = get("upstream_timeout")) {
      if (auto v = duration(*n, "upstream_timeout"); v && route.proxy) route.proxy->upstream_timeout = *v;
    }
    if (auto* n = get("connect_timeout")) {
      if (auto v = duration(*n, "connect_timeout"); v && route.proxy) route.proxy->connect_timeout = *v;
    }
    // Keys that would be silently ignored are mistakes worth naming.
    if (!function_node && !middleware_node && !dir_node) {
      for (std::string_view key : kFunctionOnlyKeys) {
        if (auto* n = get(key)) {
          add(*n, "'" + std::string(key) + "' applies to functions and middleware; this route only proxies");
        }
      }
    }
    if (!proxy_node) {
      for (std::string_view key : kProxyOnlyKeys) {
        if (auto* n = get(key)) add(*n, "'" + std::string(key) + "' applies only to proxy routes");
      }
    }

    if (path_ok) {
      for (const RouteConfig& other : routes) {
        if (other.path != route.path) continue;
        const bool overlap = other.methods.empty() || route.methods.empty() ||
                             std::any_of(route.methods.begin(), route.methods.end(), [&](auto& m) {
                               return std::find(other.methods.begin(), other.methods.end(), m) !=
                                      other.methods.end();
                             });
        if (overlap) {
          add(*get("path"), "duplicate route \"" + route.path +
                                "\" with overlapping methods (first defined on line " +
                                std::to_string(other.line) + ")");
          break;
        }
      }
      routes.push_back(std::move(route));
    }
  }

  std::string source_;
  fs::path base_dir_;
  EnvLookup env_;
  std::vector<Problem> problems_;
};

}  // namespace

std::string ListenAddress::text() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

EnvLookup hostEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<Config> parseConfig(std::string_view text, std::string_view source_name,
                           const std::filesystem::path& base_dir, EnvLookup env) {
  return Parser(source_name, base_dir, std::move(env)).run(text);
}

Result<Config> loadConfig(const std::filesystem::path& file, EnvLookup env) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error{file.string() + ": cannot read config file"};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error{file.string() + ": read error"};
  std::error_code ec;
  fs::path base = fs::absolute(file, ec).parent_path();
  return parseConfig(text.str(), file.string(), base, std::move(env));
}

}  // namespace jinn::config
