// A client connection's socket with a coarse deadline, and the per-I/O-thread
// sweep that enforces it.
//
// beast::tcp_stream arms an asio timer around every read and write: a timer
// queue insert and removal, often a timerfd_settime, and a handler
// allocation per operation, for a deadline that almost never fires. Here a
// connection only stores its deadline (one coarse clock read); the sweep of its
// I/O thread wakes every kSweepInterval and cancels the pending operations of
// the connections past theirs. Timeouts are therefore late by up to one
// interval, which is nothing next to the seconds they are set to.
//
// A cancelled operation completes with asio::error::operation_aborted and
// timed_out() turns true, so the caller can still answer (408) before it
// closes. The sweep also knows which connections wait idle between requests,
// for a graceful stop.
#pragma once

#include <time.h>

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <type_traits>
#include <utility>

#include "http/draining_recv.h"

namespace jinn::http {

namespace asio = boost::asio;

// steady_clock (CLOCK_MONOTONIC) as of the kernel's last tick, a few ms old:
// CLOCK_MONOTONIC_COARSE reads no TSC, which in a VM costs several times
// less, and a request sets three deadlines that a 100 ms sweep checks.
inline std::chrono::steady_clock::time_point coarseNow() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::chrono::steady_clock::time_point(std::chrono::seconds(ts.tv_sec) +
                                               std::chrono::nanoseconds(ts.tv_nsec));
}

class DeadlineSweep;

class ClientSocket {
 public:
  using socket_type = asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;
  using lowest_layer_type = socket_type::lowest_layer_type;

  ClientSocket(socket_type socket, DeadlineSweep& sweep);
  // For stream adapters that construct their next layer from one argument
  // (beast::ssl_stream).
  explicit ClientSocket(std::pair<socket_type, DeadlineSweep*> parts)
      : ClientSocket(std::move(parts.first), *parts.second) {}
  ~ClientSocket();
  ClientSocket(const ClientSocket&) = delete;
  ClientSocket& operator=(const ClientSocket&) = delete;

  // The deadline for the operations from now on (replaces the previous one).
  void expires_after(std::chrono::steady_clock::duration timeout) {
    deadline_ = coarseNow() + timeout;
  }
  void expires_never() { deadline_ = std::chrono::steady_clock::time_point::max(); }
  // Whether the sweep cancelled this connection's operations. Sticky.
  bool timed_out() const { return timed_out_; }
  // Waiting for the next request of a kept-alive connection: a graceful
  // stop shuts it down at once.
  void set_idle(bool idle) { idle_ = idle; }

  socket_type& socket() { return socket_; }
  executor_type get_executor() { return socket_.get_executor(); }
  lowest_layer_type& lowest_layer() { return socket_.lowest_layer(); }

  // A read into one buffer goes through DrainingBuffer (draining_recv.h):
  // after a short read, the next one waits for epoll instead of trying the
  // socket first.
  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    if constexpr (JINN_DRAINING_RECV && std::is_convertible_v<const Buffers&, asio::mutable_buffer>) {
      return socket_.async_read_some(DrainingBuffer(buffers), std::forward<Token>(token));
    } else {
      return socket_.async_read_some(buffers, std::forward<Token>(token));
    }
  }
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return socket_.async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  friend class DeadlineSweep;

  socket_type socket_;
  DeadlineSweep& sweep_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  bool timed_out_ = false;
  bool idle_ = false;
  // The sweep's intrusive list (no allocation per connection).
  ClientSocket* prev_ = nullptr;
  ClientSocket* next_ = nullptr;
};

// The connections of one I/O thread; used only from that thread. It must
// outlive them (declare it before the io_context whose handlers own them).
// Its owner calls sweep() every kSweepInterval.
class DeadlineSweep {
 public:
  static constexpr std::chrono::milliseconds kSweepInterval{100};

  DeadlineSweep() = default;
  DeadlineSweep(const DeadlineSweep&) = delete;
  DeadlineSweep& operator=(const DeadlineSweep&) = delete;

  // Cancels the pending operations of every connection past its deadline.
  void sweep(std::chrono::steady_clock::time_point now);
  // Shuts down the connections waiting idle for a next request (graceful
  // stop: their pending read ends at once).
  void closeIdle();
  size_t connections() const { return count_; }

 private:
  friend class ClientSocket;
  void add(ClientSocket* c);
  void remove(ClientSocket* c);

  ClientSocket* head_ = nullptr;
  size_t count_ = 0;
};

}  // namespace jinn::http
