// The reverse proxy: per-I/O-thread pools of kept-alive upstream
// connections, and the relay that forwards one request and streams the
// response back in fixed-size pieces (never held whole in memory).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/http_types.h"
#include "http/server.h"

namespace jinn::http {

// The buffers through which relayed bodies pass, one per relay in flight,
// kept by one I/O thread for reuse (no locking). In the relay's coroutine
// frame a buffer this size would be allocated and freed per request: asio
// caches no frame over 1 KiB, and jemalloc serves 16 KiB as a large
// allocation (callgrind: about 3,900 instructions of each proxied request).
// Declare it before the io_context whose handlers hold its leases.
class RelayBuffers {
 public:
  static constexpr size_t kSize = 16384;
  static constexpr size_t kMaxSpare = 64;  // at most 1 MiB kept per thread

  // A buffer of kSize bytes, returned to its RelayBuffers when destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept
        : data_(std::move(other.data_)), owner_(std::exchange(other.owner_, nullptr)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (owner_ != nullptr) owner_->giveBack(std::move(data_));
    }
    char* data() const { return data_.get(); }

   private:
    friend class RelayBuffers;
    Lease(std::unique_ptr<char[]> data, RelayBuffers* owner)
        : data_(std::move(data)), owner_(owner) {}
    std::unique_ptr<char[]> data_;
    RelayBuffers* owner_;
  };

  RelayBuffers() = default;
  RelayBuffers(const RelayBuffers&) = delete;
  RelayBuffers& operator=(const RelayBuffers&) = delete;

  Lease take();

 private:
  void giveBack(std::unique_ptr<char[]> data);
  std::vector<std::unique_ptr<char[]>> spare_;
};

// Idle connections to upstreams, owned by one I/O thread (no locking).
class UpstreamPool {
 public:
  static constexpr size_t kMaxIdlePerUpstream = 64;
  // A connection idle for less than this is reused by an idempotent request
  // without first checking that the upstream has not closed it (one poll()
  // per request saved under load). Upstreams close idle connections after
  // seconds (nginx 75 s, Apache and Node.js 5 s); if it was closed, the
  // request is retried once on a new connection.
  static constexpr std::chrono::milliseconds kTrustIdleFor{250};

  UpstreamPool(asio::io_context& ctx, RelayBuffers& buffers) : ctx_(ctx), buffers_(buffers) {}

  // A kept-alive idle connection (`*reused` = true) or a fresh one; null
  // with `ec` set on failure (connect timeout: beast::error::timeout).
  // `trust_recent`: a connection idle for less than kTrustIdleFor is taken
  // without the poll() that checks the upstream has not closed it; for
  // requests that may be retried when it has (retryable()).
  asio::awaitable<std::unique_ptr<beast::tcp_stream>> acquire(const Upstream& upstream,
                                                                bool trust_recent, bool* reused,
                                                                beast::error_code& ec);
  void release(const Upstream& upstream, std::unique_ptr<beast::tcp_stream> conn);
  void clear() { idle_.clear(); }
  // The thread's relay buffers.
  RelayBuffers& buffers() { return buffers_; }

 private:
  asio::io_context& ctx_;
  RelayBuffers& buffers_;
  struct Idle {
    std::unique_ptr<beast::tcp_stream> conn;
    std::chrono::steady_clock::time_point since;  // coarse (client_socket.h)
  };
  std::unordered_map<std::string, std::vector<Idle>> idle_;
};

// Rewrites a client request for the upstream: hop-by-hop headers (and those
// named by Connection) removed, X-Forwarded-For/-Proto/-Host set, target
// prefixed with the upstream's base path, HTTP/1.1 keep-alive.
void prepareUpstreamRequest(Exchange& exchange, const Upstream& upstream);
// The same rewrite of the head only, for a request whose body is streamed:
// its framing (Content-Length or chunked) is kept as the client sent it.
void prepareUpstreamHeader(bhttp::request_header<>& head, const Exchange& exchange,
                           const Upstream& upstream);

// Whether a request that failed on a kept-alive connection before any
// response byte may be sent again on a new one: only an idempotent method
// (RFC 9110, 9.2.2), as nginx does. A POST the upstream may have applied
// before it went away is answered 502, never sent twice.
bool retryable(bhttp::verb method);

// Removes hop-by-hop headers from an upstream response before relaying it.
void stripHopByHop(bhttp::fields& fields);

struct RelayResult {
  unsigned status = 0;
  uint64_t bytes = 0;     // body bytes sent to the client
  bool client_ok = true;  // false: the client connection must be closed
};

// Forwards `exchange.request` (body already read) and streams the response.
template <class ClientStream>
asio::awaitable<RelayResult> relay(ClientStream& client, Exchange& exchange,
                                   const Upstream& upstream, UpstreamPool& pool, Application& app,
                                   bool client_keep_alive,
                                   std::chrono::milliseconds client_write_timeout);

// Forwards a request whose head is parsed and whose body is still on the
// client connection: the body streams to the upstream as it arrives (bounded
// by `in`'s body limit), then the response streams back. A body that came
// whole with the head goes out in the head's write and keeps the request in
// hand (retryable, and a failure keeps the client connection); otherwise
// nothing can be retried once the body started to flow, and every failure
// closes the client connection, whose framing may be mid-body.
template <class ClientStream>
asio::awaitable<RelayResult> relayStreaming(ClientStream& client, beast::flat_buffer& client_buf,
                                            bhttp::request_parser<bhttp::buffer_body>& in,
                                            Exchange& exchange, const Upstream& upstream,
                                            UpstreamPool& pool, Application& app,
                                            bool client_keep_alive,
                                            std::chrono::milliseconds client_read_timeout,
                                            std::chrono::milliseconds client_write_timeout);

}  // namespace jinn::http

#include "http/proxy_impl.h"
