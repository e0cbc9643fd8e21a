#include "http/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/beast/ssl.hpp>

#include <list>
#include <optional>

#include "http/client_socket.h"
#include "http/proxy.h"
#include "http/request_checks.h"
#include "http/wire.h"

namespace jinn::http {

using asio::as_tuple;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

struct Server::Worker {
  // Before ctx: the connections that ctx's handlers own unlink from it when
  // ctx is destroyed.
  DeadlineSweep connections;
  RelayBuffers relay_buffers;  // before ctx too: relays in its handlers hold them
  asio::io_context ctx{1};
  asio::steady_timer sweep_timer{ctx};
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  UpstreamPool upstreams{ctx, relay_buffers};
  std::thread thread;

  void sweepEvery() {
    sweep_timer.expires_after(DeadlineSweep::kSweepInterval);
    sweep_timer.async_wait([this](const beast::error_code& ec) {
      if (ec) return;
      connections.sweep(std::chrono::steady_clock::now());
      sweepEvery();
    });
  }
};

namespace {

struct ConnectionEnv {
  Server::Worker* worker;
  Application* app;
  const ServerLimits* limits;
  std::atomic<size_t>* inflight;
  std::atomic<bool>* stopping;
  bool tls;
};

template <class Stream>
void setDeadline(Stream& stream, std::chrono::milliseconds timeout) {
  beast::get_lowest_layer(stream).expires_after(timeout);
}

template <class Stream>
bool timedOut(Stream& stream) {
  return beast::get_lowest_layer(stream).timed_out();
}

// The part of a response's write that never suspends: serializes `res` into
// `out` and, on a plain socket, sends what the socket takes at once (almost
// always all of it: one non-blocking send; the socket is in non-blocking mode,
// see servePlain). Returns how many bytes of `out` went out, or nullopt when
// the connection failed. The hot path calls it directly, so a request whose
// answer fits the send buffer costs no coroutine frame for its write.
template <class Stream>
std::optional<size_t> sendNow(Stream& stream, const Response& res, bool head_only, std::string& out) {
  out.clear();
  serializeResponse(res, head_only, out);
  if constexpr (std::is_same_v<Stream, ClientSocket>) {
    beast::error_code ec;
    const size_t sent = stream.socket().write_some(asio::buffer(out), ec);
    if (!ec) return sent;
    if (ec != asio::error::would_block && ec != asio::error::try_again) return std::nullopt;
  }
  return 0;
}

// The rest of `out`, from byte `sent` on, under the write timeout.
template <class Stream>
asio::awaitable<bool> sendRest(Stream& stream, const std::string& out, size_t sent,
                               const ServerLimits& limits) {
  setDeadline(stream, limits.write_timeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(out.data() + sent, out.size() - sent),
                                            as_tuple(use_awaitable));
  co_return !ec;
}

// One response in one write (see wire.h).
template <class Stream>
asio::awaitable<bool> writeResponse(Stream& stream, const Response& res, bool head_only,
                                    const ServerLimits& limits, std::string& out) {
  const std::optional<size_t> sent = sendNow(stream, res, head_only, out);
  if (!sent) co_return false;
  if (*sent == out.size()) co_return true;
  co_return co_await sendRest(stream, out, *sent, limits);
}

// Answers a request that could not be read or was refused, then the
// connection closes: after a framing error the rest of the stream cannot be
// trusted (request smuggling).
template <class Stream>
asio::awaitable<void> refuse(Stream& stream, unsigned status, std::string_view reason,
                             const ServerLimits& limits) {
  Response res = textResponse(status, reason);
  res.keep_alive(false);
  std::string out;
  co_await writeResponse(stream, res, false, limits, out);
}

// The length of the request head at the start of `have`, through the blank
// line; nullopt while it is not all there. Bytes before `searched` were
// scanned already. A bare LF also ends the head (the length includes the
// LF), so checkRawHead refuses it at once: a client ending lines with LF
// alone never sends CRLF CRLF and would otherwise wait for the read timeout.
std::optional<size_t> headLength(std::string_view have, size_t searched) {
  const size_t from = searched >= 3 ? searched - 3 : 0;
  const size_t at = have.find("\r\n\r\n", from);
  if (at != std::string_view::npos) return at + 4;
  for (size_t lf = have.find('\n', searched); lf != std::string_view::npos; lf = have.find('\n', lf + 1)) {
    if (lf == 0 || have[lf - 1] != '\r') return lf + 1;
  }
  return std::nullopt;
}

std::string_view buffered(const beast::flat_buffer& buffer) {
  return {static_cast<const char*>(buffer.data().data()), buffer.size()};
}

// The next read of a request head: up to 4 KiB, and never past `max`.
asio::mutable_buffer headSpace(beast::flat_buffer& buffer, size_t max) {
  return buffer.prepare(std::min<size_t>(4096, max - buffer.size()));
}

// Commits `n` bytes just read. Once the first bytes of a request arrive on a
// connection that was idle, the rest of the head gets `read_timeout`.
template <class Stream>
void commitHeadBytes(Stream& stream, beast::flat_buffer& buffer, size_t n,
                     std::chrono::milliseconds read_timeout) {
  if (buffer.size() == 0 && n > 0) {
    auto& socket = beast::get_lowest_layer(stream);
    socket.set_idle(false);
    socket.expires_after(read_timeout);
  }
  buffer.commit(n);
}

// Reads until the buffer holds a whole request head (headLength). Returns
// its length; asio::error::not_found when it would exceed `max` bytes.
// (asio::async_read_until would copy a beast::flat_buffer, so this small loop
// reads straight into ours.)
template <class Stream>
asio::awaitable<std::tuple<beast::error_code, size_t>> readHead(
    Stream& stream, beast::flat_buffer& buffer, size_t max,
    std::chrono::milliseconds read_timeout) {
  size_t searched = 0;
  for (;;) {
    if (auto length = headLength(buffered(buffer), searched)) {
      co_return std::tuple{beast::error_code{}, *length};
    }
    searched = buffer.size();
    if (buffer.size() >= max) co_return std::tuple{beast::error_code(asio::error::not_found), 0};
    auto [ec, n] = co_await stream.async_read_some(headSpace(buffer, max), as_tuple(use_awaitable));
    if (ec) co_return std::tuple{ec, 0};
    commitHeadBytes(stream, buffer, n, read_timeout);
  }
}

unsigned statusForParseError(const beast::error_code& ec) {
  if (ec == bhttp::error::body_limit) return 413;
  if (ec == bhttp::error::header_limit) return 431;
  return 400;
}

template <class Stream>
asio::awaitable<void> serveRequests(Stream& stream, ConnectionEnv env, std::string remote_ip,
                                    uint16_t remote_port) {
  const ServerLimits& limits = *env.limits;
  beast::flat_buffer buffer(limits.max_header_bytes);
  std::string out;  // the serialized response, reused across requests
  auto& socket = beast::get_lowest_layer(stream);
  bool first = true;
  for (;;) {
    if (env.stopping->load()) co_return;
    // 1. The request head, raw, so the strict checks see the bytes as sent.
    setDeadline(stream, first ? limits.read_timeout : limits.idle_timeout);
    // Idle between requests: a graceful stop closes it at once. Once the
    // first byte of a request is here, the read timeout applies.
    socket.set_idle(!first && buffer.size() == 0);
    // The common case, a head that one read brings whole, is read here:
    // readHead's own coroutine frame would cost every request.
    beast::error_code hec;
    size_t head_bytes = 0;
    std::optional<size_t> head = headLength(buffered(buffer), 0);
    if (!head && buffer.size() < limits.max_header_bytes) {
      auto [ec, n] = co_await stream.async_read_some(headSpace(buffer, limits.max_header_bytes),
                                                     as_tuple(use_awaitable));
      hec = ec;
      if (!ec) {
        commitHeadBytes(stream, buffer, n, limits.read_timeout);
        head = headLength(buffered(buffer), 0);
      }
    }
    if (head) {
      head_bytes = *head;
    } else if (!hec) {
      std::tie(hec, head_bytes) = co_await readHead(stream, buffer, limits.max_header_bytes,
                                                    limits.read_timeout);
    }
    socket.set_idle(false);
    first = false;
    if (hec) {
      if (hec == asio::error::not_found) {
        // The request line alone filled the limit: 414, as nginx answers.
        if (buffered(buffer).find('\n') == std::string_view::npos) {
          co_await refuse(stream, 414, "request URI too long", limits);
        } else {
          co_await refuse(stream, 431, "request header too large", limits);
        }
      } else if (timedOut(stream) && buffer.size() > 0) {
        co_await refuse(stream, 408, "request timeout", limits);
      }
      co_return;
    }
    const auto start = std::chrono::steady_clock::now();
    env.inflight->fetch_add(1);
    struct InflightGuard {
      std::atomic<size_t>* n;
      ~InflightGuard() { n->fetch_sub(1); }
    } guard{env.inflight};

    const std::string_view raw(static_cast<const char*>(buffer.data().data()), head_bytes);
    if (auto why = checkRawHead(raw)) {
      co_await refuse(stream, 400, *why, limits);
      co_return;
    }

    // 2. Parse the head, apply the strict rules, then read the body.
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);
    setDeadline(stream, limits.read_timeout);
    // The whole head is buffered: parse exactly it, without reading on. A
    // head the parser still finds incomplete is malformed (Beast wants 8
    // bytes for the version, so "GET / a" asks for more): refuse it now
    // instead of waiting for bytes that cannot make it valid.
    beast::error_code pec;
    const size_t parsed = parser.put(asio::buffer(buffer.data().data(), head_bytes), pec);
    if (!pec && (!parser.is_header_done() || parsed != head_bytes)) pec = bhttp::error::partial_message;
    if (pec) {
      co_await refuse(stream, statusForParseError(pec), "bad request", limits);
      co_return;
    }
    buffer.consume(parsed);
    if (auto why = checkParsedHead(parser.get())) {
      co_await refuse(stream, 400, *why, limits);
      co_return;
    }
    if (auto why = normalizeTarget(parser.get())) {
      co_await refuse(stream, 400, *why, limits);
      co_return;
    }
    if (parser.content_length() && *parser.content_length() > limits.max_body_bytes) {
      co_await refuse(stream, 413, "request body too large", limits);
      co_return;
    }
    Exchange exchange;
    exchange.remote_ip = remote_ip;
    exchange.remote_port = remote_port;
    exchange.tls = env.tls;
    // A small body usually arrives with its head: parse it from the buffer
    // at once, without the composed read (the common POST needs no read),
    // and without asking the application whether to stream it (a body that
    // is all here goes to an upstream as well from memory).
    if (!parser.is_done() && !parser.chunked() && parser.content_length() &&
        buffer.size() >= *parser.content_length()) {
      beast::error_code bec;
      const size_t used = parser.put(buffer.data(), bec);
      if (!bec && parser.is_done()) {
        buffer.consume(used);
      } else {
        co_await refuse(stream, statusForParseError(bec), "bad request body", limits);
        co_return;
      }
    }
    // A proxied request whose body is still coming streams it to the
    // upstream as it arrives.
    if (!parser.is_done()) {
      if (const Upstream* upstream = env.app->streamingUpstream(parser.get().base(), exchange)) {
        const bool keep_alive = parser.get().keep_alive() && !env.stopping->load();
        if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
          bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
          setDeadline(stream, limits.write_timeout);
          auto [cec, cn] = co_await bhttp::async_write(stream, cont, as_tuple(use_awaitable));
          if (cec) co_return;
        }
        const bhttp::request_header<> original = parser.get().base();  // for the log
        bhttp::request_parser<bhttp::buffer_body> body_parser{std::move(parser)};
        body_parser.body_limit(limits.max_body_bytes);
        RelayResult r = co_await relayStreaming(stream, buffer, body_parser, exchange, *upstream,
                                                env.worker->upstreams, *env.app, keep_alive,
                                                limits.read_timeout, limits.write_timeout);
        exchange.request.base() = original;
        env.app->finished(exchange, r.status, r.bytes, std::chrono::steady_clock::now() - start);
        if (!r.client_ok) co_return;
        continue;
      }
    }
    // Beast merges the trailer fields of a chunked body into the header,
    // past the strict checks: the header stays as checked (trailers are
    // dropped, as nginx does), so a trailer never poses as Host or
    // Content-Length.
    std::optional<bhttp::request_header<>> checked_head;
    if (parser.chunked()) checked_head = parser.get().base();
    if (!parser.is_done()) {
      if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        setDeadline(stream, limits.write_timeout);
        auto [cec, cn] = co_await bhttp::async_write(stream, cont, as_tuple(use_awaitable));
        if (cec) co_return;
      }
      setDeadline(stream, limits.read_timeout);
      auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, as_tuple(use_awaitable));
      if (bec) {
        if (timedOut(stream)) {
          co_await refuse(stream, 408, "request timeout", limits);
        } else if (bec != bhttp::error::end_of_stream && bec != asio::error::eof) {
          co_await refuse(stream, statusForParseError(bec), "bad request body", limits);
        }
        co_return;
      }
    }

    // 3. The application decides; we answer or relay.
    exchange.request = parser.release();
    if (checked_head) exchange.request.base() = std::move(*checked_head);
    const bool keep_alive = exchange.request.keep_alive() && !env.stopping->load();
    const unsigned version = exchange.request.version();
    Decision decision;
    const bool decided_now = env.app->handleNow(exchange, decision);
    if (!decided_now) decision = co_await env.app->handle(exchange);

    unsigned status = 0;
    uint64_t bytes = 0;
    bool ok = true;
    if (decision.response) {
      Response& res = *decision.response;
      res.version(version == 10 ? 10 : 11);
      res.keep_alive(keep_alive);
      // An answer made inline waits behind the handlers already queued (the
      // other connections whose requests came in the same epoll batch), so
      // the batch's responses leave together: the client is woken once for
      // several instead of once each, and a wake-up of an idle CPU is the
      // dearest part of a loopback send. wrk -c64 on order_tax, one core:
      // 92,200 -> 99,700 req/s, with p50 and single-connection latency
      // unchanged, though the hop costs some 1,300 instructions.
      if (decided_now) co_await asio::post(co_await asio::this_coro::executor, use_awaitable);
      // HEAD: keep Content-Length, send no body.
      const std::optional<size_t> sent =
          sendNow(stream, res, exchange.request.method() == bhttp::verb::head, out);
      ok = sent && (*sent == out.size() || co_await sendRest(stream, out, *sent, limits));
      status = res.result_int();
      bytes = res.body().size();
      ok = ok && keep_alive;
    } else if (decision.upstream != nullptr) {
      RelayResult r = co_await relay(stream, exchange, *decision.upstream,
                                     env.worker->upstreams, *env.app, keep_alive,
                                     limits.write_timeout);
      status = r.status;
      bytes = r.bytes;
      ok = r.client_ok;
    } else {
      Response res = textResponse(500, "no decision", version);
      res.keep_alive(false);
      co_await writeResponse(stream, res, false, limits, out);
      status = 500;
      ok = false;
    }
    env.app->finished(exchange, status, bytes, std::chrono::steady_clock::now() - start);
    if (!ok) co_return;
  }
}

asio::awaitable<void> servePlain(tcp::socket socket, ConnectionEnv env) {
  beast::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  socket.set_option(tcp::no_delay(true), ec);
  // For writeResponse's direct send; asio's asynchronous operations do not
  // depend on this mode.
  socket.non_blocking(true, ec);
  ClientSocket stream(std::move(socket), env.worker->connections);
  co_await serveRequests(stream, env, remote.address().to_string(), remote.port());
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> serveTls(tcp::socket socket, ConnectionEnv env,
                               std::shared_ptr<asio::ssl::context> tls) {
  beast::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  socket.set_option(tcp::no_delay(true), ec);
  beast::ssl_stream<ClientSocket> stream(std::pair(std::move(socket), &env.worker->connections),
                                         *tls);
  setDeadline(stream, env.limits->read_timeout);
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                               as_tuple(use_awaitable));
  if (hec) co_return;
  co_await serveRequests(stream, env, remote.address().to_string(), remote.port());
  setDeadline(stream, std::chrono::milliseconds(1000));
  co_await stream.async_shutdown(as_tuple(use_awaitable));
}

asio::awaitable<void> acceptLoop(tcp::acceptor& acceptor, ConnectionEnv env,
                                 std::shared_ptr<asio::ssl::context> tls) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(as_tuple(use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      continue;  // EMFILE and friends: keep accepting
    }
    auto executor = acceptor.get_executor();
    if (tls) {
      asio::co_spawn(executor, serveTls(std::move(socket), env, tls), asio::detached);
    } else {
      asio::co_spawn(executor, servePlain(std::move(socket), env), asio::detached);
    }
  }
}

}  // namespace

Server::Server(size_t io_threads, ServerLimits limits) : limits_(limits) {
  if (io_threads == 0) io_threads = 1;
  for (size_t i = 0; i < io_threads; ++i) workers_.push_back(std::make_unique<Worker>());
}

Server::~Server() {
  stop();
  wait();
}

Result<uint16_t> Server::listen(const std::string& host, uint16_t port, Application& app,
                                std::shared_ptr<asio::ssl::context> tls) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return Error{"bad listen address '" + host + "': " + ec.message()};
  uint16_t bound = port;
  for (auto& w : workers_) {
    auto acceptor = std::make_unique<tcp::acceptor>(w->ctx);
    tcp::endpoint ep(address, bound);
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        ec = beast::error_code(errno, boost::system::system_category());
      }
    }
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Error{"cannot listen on " + host + ":" + std::to_string(bound) + ": " + ec.message()};
    }
    bound = acceptor->local_endpoint().port();
    ConnectionEnv env{w.get(), &app, &limits_, &inflight_, &stopping_, tls != nullptr};
    asio::co_spawn(w->ctx, acceptLoop(*acceptor, env, tls), asio::detached);
    w->acceptors.push_back(std::move(acceptor));
  }
  return bound;
}

namespace {

// Runs `ctx` until it is stopped. With `spin` > 0, a thread that finds no
// handler ready keeps polling (epoll_wait with a zero timeout) for up to
// `spin` before it sleeps. A thread that sleeps between two bursts of
// requests is woken by an interrupt, which in a VM is a trip through the
// hypervisor, and comes back to cold caches; a core that stays busy by
// choice answers the next burst at once. HAProxy's `busy-polling` does
// the same for the same reason. The price is CPU time: at most `spin` per
// idle gap (the 100 ms deadline sweep makes one even on an idle server),
// and a core at 100 % while requests keep coming.
// wrk -c64 on order_tax, one core, alternating runs of 4 s: 104,180 ->
// 107,446 req/s (+3 %) with 1 ms.
void runWorker(asio::io_context& ctx, std::chrono::nanoseconds spin) {
  if (spin.count() <= 0) {
    ctx.run();
    return;
  }
  while (!ctx.stopped()) {
    if (ctx.poll() > 0) continue;
    const auto until = std::chrono::steady_clock::now() + spin;
    bool worked = false;
    while (!worked && !ctx.stopped() && std::chrono::steady_clock::now() < until) {
      worked = ctx.poll() > 0;
    }
    if (!worked && !ctx.stopped()) ctx.run_one();
  }
}

}  // namespace

void Server::start() {
  for (auto& w : workers_) {
    w->thread = std::thread([w = w.get(), spin = limits_.busy_poll] {
      auto guard = asio::make_work_guard(w->ctx);
      w->sweepEvery();
      runWorker(w->ctx, spin);
    });
  }
}

void Server::stop() {
  if (stopping_.exchange(true)) return;
  for (auto& w : workers_) {
    asio::post(w->ctx, [w = w.get()] {
      for (auto& a : w->acceptors) {
        beast::error_code ignored;
        a->close(ignored);
      }
      w->connections.closeIdle();
      w->upstreams.clear();
    });
  }
  std::thread([this] {
    const auto deadline = std::chrono::steady_clock::now() + limits_.shutdown_grace;
    while (inflight_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    for (auto& w : workers_) w->ctx.stop();
    for (auto& w : workers_) {
      if (w->thread.joinable()) w->thread.join();
    }
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopped_ = true;
    stop_cv_.notify_all();
  }).detach();
}

void Server::wait() {
  std::unique_lock<std::mutex> lock(stop_mu_);
  stop_cv_.wait(lock, [this] { return stopped_.load(); });
}

}  // namespace jinn::http
