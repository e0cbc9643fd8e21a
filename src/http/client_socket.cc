#include "http/client_socket.h"

namespace jinn::http {

ClientSocket::ClientSocket(socket_type socket, DeadlineSweep& sweep)
    : socket_(std::move(socket)), sweep_(sweep) {
  sweep_.add(this);
}

ClientSocket::~ClientSocket() { sweep_.remove(this); }

void DeadlineSweep::add(ClientSocket* c) {
  c->prev_ = nullptr;
  c->next_ = head_;
  if (head_ != nullptr) head_->prev_ = c;
  head_ = c;
  ++count_;
}

void DeadlineSweep::remove(ClientSocket* c) {
  if (c->prev_ != nullptr) {
    c->prev_->next_ = c->next_;
  } else {
    head_ = c->next_;
  }
  if (c->next_ != nullptr) c->next_->prev_ = c->prev_;
  c->prev_ = c->next_ = nullptr;
  --count_;
}

void DeadlineSweep::sweep(std::chrono::steady_clock::time_point now) {
  for (ClientSocket* c = head_; c != nullptr; c = c->next_) {
    if (c->deadline_ > now) continue;
    c->deadline_ = std::chrono::steady_clock::time_point::max();
    c->timed_out_ = true;
    boost::system::error_code ignored;
    c->socket_.cancel(ignored);
  }
}

void DeadlineSweep::closeIdle() {
  for (ClientSocket* c = head_; c != nullptr; c = c->next_) {
    if (!c->idle_) continue;
    boost::system::error_code ignored;
    c->socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  }
}

}  // namespace jinn::http
