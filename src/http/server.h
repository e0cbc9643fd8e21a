// The HTTP/1.1 server: one io_context per I/O thread, each with its own
// acceptor on the same port (SO_REUSEPORT), so the kernel spreads
// connections and no lock is shared between threads on the request path.
// Keep-alive and pipelining; a read timeout on every read (slowloris);
// header and body limits; the strict request rules of request_checks.h;
// optional TLS; graceful shutdown (in-flight requests finish).
#pragma once

#include <boost/asio/ssl.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http/http_types.h"
#include "jinn/jinn.h"

namespace jinn::http {

class UpstreamPool;

// What a listener serves. handle() runs on the connection's I/O thread and
// must not block it (functions run on the FunctionPool).
class Application {
 public:
  virtual ~Application() = default;
  virtual asio::awaitable<Decision> handle(Exchange& exchange) = 0;
  // Decides at once, without a coroutine, when that is possible (a function
  // that ran inline and finished): true with `decision` set. False: call
  // handle(), which also knows what was tried here.
  virtual bool handleNow(Exchange& exchange, Decision& decision) { return false; }
  // Asked once the head is parsed, before the body is read: the upstream to
  // stream the body to when the request's route relays it unchanged (a proxy
  // route without middleware), filling the exchange's route fields; nullptr
  // to have the body read whole and handle() called.
  virtual const Upstream* streamingUpstream(const bhttp::request_header<>& head,
                                            Exchange& exchange) {
    return nullptr;
  }
  // Called once per request after the response went out (or failed).
  virtual void finished(const Exchange& exchange, unsigned status, uint64_t body_bytes,
                        std::chrono::nanoseconds duration) = 0;
  // Proxy failures, for metrics ("connect", "timeout", "protocol").
  virtual void upstreamError(const Upstream& upstream, std::string_view kind) {}
};

struct ServerLimits {
  std::chrono::milliseconds read_timeout{30000};   // each read of a request
  std::chrono::milliseconds idle_timeout{60000};   // between keep-alive requests
  std::chrono::milliseconds write_timeout{30000};
  size_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = 8ull << 20;
  std::chrono::milliseconds shutdown_grace{10000};
  // How long an I/O thread that ran out of work keeps polling before it
  // sleeps in epoll_wait (0: at once). See runWorker in server.cc.
  std::chrono::nanoseconds busy_poll{0};
};

class Server {
 public:
  Server(size_t io_threads, ServerLimits limits);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port (port 0: an ephemeral port, the same for every I/O
  // thread) serving `app`, with TLS when `tls` is set. Returns the bound port.
  // Call before start().
  Result<uint16_t> listen(const std::string& host, uint16_t port, Application& app,
                          std::shared_ptr<asio::ssl::context> tls = nullptr);

  void start();
  // Graceful stop: stop accepting, close idle keep-alive connections, let
  // in-flight requests finish for up to shutdown_grace, then stop. Safe
  // from any thread, but not from a signal handler.
  void stop();
  // Blocks until stop() has completed.
  void wait();

  size_t inflight() const { return inflight_.load(); }

  struct Worker;

 private:
  ServerLimits limits_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<size_t> inflight_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
};

}  // namespace jinn::http
