// A socket read that remembers when it emptied the receive queue, so the
// next read does not ask the kernel again before epoll reports new data.
//
// Why: asio tries every read on a stream socket at once ("speculatively")
// when the reactor has not seen the descriptor run dry. A server answering a
// request therefore issues, per request: recv (the request), send (the
// response), recv again (EAGAIN: the client has not sent its next request
// yet), then epoll_wait. That EAGAIN recv is a whole system call, about
// 0.5 us here, for nothing. nginx skips it: a read that returned less than it
// asked for means the queue was empty at that moment, and nginx waits for the
// next readiness event before it reads again (ngx_unix_recv clears
// rev->ready).
//
// asio has the mechanism, the reactor's per-descriptor try_speculative_ flag,
// but sets it only for a read that hits end of file. A read op whose
// perform() returns done_and_exhausted clears the flag, under the
// descriptor's lock; the next epoll event for the descriptor sets it again.
// Reading into a DrainingBuffer selects the specialization below, whose
// perform() also says "exhausted" for a short read. That is safe: data that
// arrives after the short read raises a new edge-triggered event, which the
// reactor can only handle after the flag was cleared (both happen under the
// descriptor's lock), so the flag ends up set and no data waits unseen.
//
// This specializes a class in boost::asio::detail for a type of ours, so it
// depends on asio's internals: it is enabled for the Boost version it was
// written and tested against (Debian 12's 1.81) and for the epoll reactor;
// elsewhere ClientSocket reads with a plain buffer.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/detail/reactive_socket_recv_op.hpp>
#include <boost/version.hpp>

#if BOOST_VERSION == 108100 && defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#define JINN_DRAINING_RECV 1
#else
#define JINN_DRAINING_RECV 0
#endif

namespace jinn::http {

// One buffer to read into; a read that fills less of it than its size marks
// the socket as drained.
struct DrainingBuffer : boost::asio::mutable_buffer {
  explicit DrainingBuffer(const boost::asio::mutable_buffer& b) : boost::asio::mutable_buffer(b) {}
};

}  // namespace jinn::http

#if JINN_DRAINING_RECV
namespace boost::asio::detail {

// Replaces the generic base of asio's receive op for DrainingBuffer; the op
// itself (reactive_socket_recv_op, which completes the handler) is asio's.
template <>
class reactive_socket_recv_op_base<jinn::http::DrainingBuffer> : public reactor_op {
 public:
  reactive_socket_recv_op_base(const boost::system::error_code& success_ec, socket_type socket,
                               socket_ops::state_type state, const jinn::http::DrainingBuffer& buffer,
                               socket_base::message_flags flags, func_type complete_func)
      : reactor_op(success_ec, &reactive_socket_recv_op_base::do_perform, complete_func),
        socket_(socket),
        state_(state),
        buffer_(buffer),
        flags_(flags) {}

  static status do_perform(reactor_op* base) {
    auto* o = static_cast<reactive_socket_recv_op_base*>(base);
    const bool stream = (o->state_ & socket_ops::stream_oriented) != 0;
    if (!socket_ops::non_blocking_recv1(o->socket_, o->buffer_.data(), o->buffer_.size(), o->flags_,
                                        stream, o->ec_, o->bytes_transferred_)) {
      return not_done;  // EAGAIN: wait for the reactor
    }
    if (!stream) return done;
    // End of file or an error (asio's own rule), or a short read (ours).
    if (o->bytes_transferred_ == 0) return done_and_exhausted;
    if (!o->ec_ && o->flags_ == 0 && o->bytes_transferred_ < o->buffer_.size()) {
      return done_and_exhausted;
    }
    return done;
  }

 private:
  socket_type socket_;
  socket_ops::state_type state_;
  jinn::http::DrainingBuffer buffer_;
  socket_base::message_flags flags_;
};

}  // namespace boost::asio::detail
#endif
