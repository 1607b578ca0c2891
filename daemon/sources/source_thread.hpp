// The thread a remote source runs on, and the one way it stops: a flag, waits that the flag ends
// at once, an interruption of the call in progress, a join. Every source is a ThreadedSource.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "remote_source.hpp"

namespace flagd {

class SourceThread {
 public:
  SourceThread() = default;
  // The owner calls stop() in its own destructor, while what the thread uses still exists.
  ~SourceThread() { stop([] {}); }
  SourceThread(const SourceThread&) = delete;
  SourceThread& operator=(const SourceThread&) = delete;

  // Runs `body` on the thread; once only, and not after stop().
  template <class Body>
  void start(Body body) {
    std::lock_guard lock(mutex_);
    if (thread_.joinable() || stopping()) return;
    thread_ = std::thread(std::move(body));
  }

  // Raises the flag, calls `interrupt` under the lock that locked() takes, so that a call
  // registered there is either cancelled now or never made, wakes wait(), and joins. Idempotent;
  // from any thread but the source's own.
  template <class Interrupt>
  void stop(Interrupt interrupt) noexcept {
    {
      std::lock_guard lock(mutex_);
      stopping_.store(true, std::memory_order_release);
      interrupt();
    }
    wake_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

  bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }
  // The flag itself, for a transfer loop that polls it (curl::Multi::perform).
  const std::atomic<bool>& stop_flag() const noexcept { return stopping_; }

  // Sleeps `delay`, or until stop(); true if the source goes on.
  bool wait(std::chrono::milliseconds delay) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, delay, [this] { return stopping(); });
    return !stopping();
  }

  // Runs `f` under the lock stop() interrupts under.
  template <class F>
  decltype(auto) locked(F&& f) {
    std::lock_guard lock(mutex_);
    return std::forward<F>(f)();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// A remote source on a SourceThread: start() and stop() are the same for every kind, which
// implements the thread's body and the interruption of its call in progress.
class ThreadedSource : public RemoteSource {
 public:
  void start(SourceSink& sink, std::size_t index) final {
    thread_.locked([&] {
      if (sink_ != nullptr) return;
      sink_ = &sink;
      index_ = index;
    });
    thread_.start([this] { run(); });
  }
  void stop() noexcept final {
    thread_.stop([this] { interrupt(); });
  }

 protected:
  // Every kind's destructor calls stop() first, while the members run() uses still exist.
  virtual void run() noexcept = 0;
  // Ends the call in progress; under the lock thread().locked() takes.
  virtual void interrupt() noexcept = 0;
  SourceThread& thread() noexcept { return thread_; }
  const SourceThread& thread() const noexcept { return thread_; }

  SourceSink* sink_ = nullptr;  // set once, by start()
  std::size_t index_ = 0;

 private:
  SourceThread thread_;
};

}  // namespace flagd
