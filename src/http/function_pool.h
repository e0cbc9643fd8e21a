// Threads that run guest functions, apart from the I/O threads, so a function
// spinning for its whole timeout delays nothing but its own request. Bounded:
// when every thread is busy and `max_queue` calls wait, submit() refuses at
// once (the server answers 503) instead of queueing without end.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace jinn::http {

class FunctionPool {
 public:
  FunctionPool(size_t threads, size_t max_queue);
  ~FunctionPool();  // finishes queued work, then joins
  FunctionPool(const FunctionPool&) = delete;
  FunctionPool& operator=(const FunctionPool&) = delete;

  // Runs `task` on a pool thread. False (and `task` dropped) when saturated
  // or stopping.
  bool submit(std::function<void()> task);

  size_t queued() const;
  size_t busy() const;

 private:
  void work();

  const size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  size_t busy_ = 0;
  size_t idle_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace jinn::http
