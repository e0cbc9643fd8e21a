// `jinn serve -c FILE` and `jinn check -c FILE`: wiring of config, engine,
// function pool, application and server. No logic of its own.
#include "cli/serve.h"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>

#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "config/config.h"
#include "http/app.h"
#include "http/server.h"

namespace jinn::cli {
namespace {

class StderrLog final : public http::Log {
 public:
  void line(std::string_view text) override {
    std::string out = "jinn: ";
    out.append(text);
    out += '\n';
    std::lock_guard<std::mutex> lock(mu_);
    std::fwrite(out.data(), 1, out.size(), stderr);
    std::fflush(stderr);
  }

 private:
  std::mutex mu_;
};

std::shared_ptr<Engine> engineFor(const config::Config& cfg) {
  EngineConfig ec;
  ec.cache_dir = cfg.server.cache_dir;
  ec.trusted_keys = cfg.server.trusted_keys;
  ec.artifact_allowlist = cfg.server.artifact_allowlist;
  auto engine = Engine::create(ec);
  if (!engine.ok()) {
    std::cerr << "jinn: " << engine.error().message << "\n";
    return nullptr;
  }
  return engine.value();
}

std::optional<std::string> configPath(const std::vector<std::string>& argv) {
  for (size_t i = 0; i < argv.size(); ++i) {
    if ((argv[i] == "-c" || argv[i] == "--config") && i + 1 < argv.size()) return argv[i + 1];
    if (argv[i].rfind("--config=", 0) == 0) return argv[i].substr(9);
  }
  return std::nullopt;
}

}  // namespace

int check(const std::vector<std::string>& argv) {
  auto path = configPath(argv);
  if (!path) {
    std::cerr << "usage: jinn check -c FILE\n";
    return 2;
  }
  auto cfg = config::loadConfig(*path, config::hostEnv());
  if (!cfg.ok()) {
    std::cerr << cfg.error().message << "\n";
    return 1;
  }
  auto engine = engineFor(cfg.value());
  if (!engine) return 1;
  int failures = 0;
  size_t functions = 0;
  auto compile = [&](const config::FunctionConfig& f) {
    ++functions;
    auto m = engine->loadFile(f.path);
    if (!m.ok()) {
      std::cerr << m.error().message << "\n";
      ++failures;
    }
  };
  for (const auto& r : cfg.value().routes) {
    for (const auto& m : r.middleware) compile(m);
    if (r.function) compile(*r.function);
  }
  if (failures > 0) return 1;
  std::cout << *path << ": ok (" << cfg.value().routes.size() << " routes, " << functions
            << " functions compiled)\n";
  return 0;
}

int serve(const std::vector<std::string>& argv) {
  auto path = configPath(argv);
  if (!path) {
    std::cerr << "usage: jinn serve -c FILE\n";
    return 2;
  }
  auto loaded = config::loadConfig(*path, config::hostEnv());
  if (!loaded.ok()) {
    std::cerr << loaded.error().message << "\n";
    return 1;
  }
  config::Config cfg = std::move(loaded.value());
  const config::ServerConfig server_cfg = cfg.server;
  auto engine = engineFor(cfg);
  if (!engine) return 1;

  StderrLog log;
  observe::Metrics metrics;
  std::unique_ptr<observe::AccessLog> access_log;
  if (server_cfg.access_log.kind == config::AccessLogTarget::Kind::kStdout) {
    access_log = std::make_unique<observe::AccessLog>(stdout);
  } else if (server_cfg.access_log.kind == config::AccessLogTarget::Kind::kFile) {
    auto opened = observe::AccessLog::open(server_cfg.access_log.path);
    if (!opened.ok()) {
      std::cerr << "jinn: " << opened.error().message << "\n";
      return 1;
    }
    access_log = std::move(opened.value());
  }

  http::FunctionPool pool(server_cfg.function_threads, server_cfg.max_queue);
  http::App app(engine, pool, metrics, access_log.get(), log, server_cfg.inline_budget);
  if (auto applied = app.apply(std::move(cfg)); !applied.ok()) {
    std::cerr << applied.error().message << "\n";
    return 1;
  }
  app.startWatching();

  http::ServerLimits limits;
  auto ms = [](std::chrono::nanoseconds d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d);
  };
  limits.read_timeout = ms(server_cfg.read_timeout);
  limits.idle_timeout = ms(server_cfg.idle_timeout);
  limits.max_header_bytes = server_cfg.max_header_bytes;
  limits.max_body_bytes = server_cfg.max_body_bytes;
  limits.shutdown_grace = ms(server_cfg.shutdown_grace);
  limits.busy_poll = server_cfg.busy_poll;
  http::Server server(server_cfg.workers, limits);

  std::shared_ptr<boost::asio::ssl::context> tls;
  if (!server_cfg.tls_cert.empty()) {
    tls = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
    boost::system::error_code ec;
    tls->set_options(boost::asio::ssl::context::default_workarounds |
                         boost::asio::ssl::context::no_sslv2 | boost::asio::ssl::context::no_sslv3 |
                         boost::asio::ssl::context::no_tlsv1 | boost::asio::ssl::context::no_tlsv1_1,
                     ec);
    tls->use_certificate_chain_file(server_cfg.tls_cert.string(), ec);
    if (!ec) tls->use_private_key_file(server_cfg.tls_key.string(), boost::asio::ssl::context::pem, ec);
    if (ec) {
      std::cerr << "jinn: TLS: " << ec.message() << "\n";
      return 1;
    }
  }
  auto port = server.listen(server_cfg.listen.host, server_cfg.listen.port, app, tls);
  if (!port.ok()) {
    std::cerr << "jinn: " << port.error().message << "\n";
    return 1;
  }
  http::AdminApp admin(metrics, &app);
  std::optional<uint16_t> admin_port;
  if (server_cfg.admin) {
    auto p = server.listen(server_cfg.admin->host, server_cfg.admin->port, admin);
    if (!p.ok()) {
      std::cerr << "jinn: " << p.error().message << "\n";
      return 1;
    }
    admin_port = p.value();
  }
  server.start();
  // One line tests and scripts can wait for: the bound ports.
  std::string ready = "listening on " + server_cfg.listen.host + ":" + std::to_string(port.value());
  if (admin_port) ready += " admin " + server_cfg.admin->host + ":" + std::to_string(*admin_port);
  log.line(ready);

  // Signals are handled on this thread: SIGTERM/SIGINT stop gracefully,
  // SIGHUP reloads the config.
  boost::asio::io_context signals_ctx;
  boost::asio::signal_set signals(signals_ctx, SIGTERM, SIGINT, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          log.line("SIGHUP: reloading " + *path);
          app.reloadConfig(*path);
          signals.async_wait(on_signal);
          return;
        }
        log.line("shutting down");
        server.stop();
      };
  signals.async_wait(on_signal);
  std::thread signal_thread([&] { signals_ctx.run(); });
  server.wait();
  signals_ctx.stop();
  signal_thread.join();
  app.stopWatching();
  return 0;
}

}  // namespace jinn::cli
