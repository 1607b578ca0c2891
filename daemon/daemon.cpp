#include "daemon.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "expiry.hpp"
#include "file_watcher.hpp"
#include "flag_loader.hpp"
#include "flagd/segment_name.hpp"
#include "flagd/wall_clock.hpp"
#include "log.hpp"
#include "metrics.hpp"
#include "segment_lock.hpp"
#include "publisher.hpp"
#include "sd_notify.hpp"
#include "shared_segment.hpp"

namespace flagd {

namespace {

// Copies `text` into a fixed status field, cut at a line boundary with a marker if it is too long.
template <std::size_t N>
void set_text(char (&field)[N], const std::string& text) {
  std::string fitted = text;
  if (fitted.size() >= N) {
    const std::string marker = "\n(more in the daemon log)";
    fitted.resize(N - 1 - marker.size());
    fitted += marker;
  }
  std::memset(field, 0, N);
  std::memcpy(field, fitted.data(), fitted.size());
}

// One load of the flag files: what the worker thread found and compiled, for the main thread to
// publish or reject.
struct LoadJob {
  std::string why;  // "reload on SIGHUP", for the log
  LoadResult loaded;
  ExpiryReport expired;
  std::uint64_t published_at = 0;
  bool compiled = false;
  std::string failure;  // why it could not be compiled, when the files themselves were valid
};

// The thread that loads and compiles, so that the main thread keeps reading signals while a
// large file takes seconds. One thread for the daemon's life: the loader's thread_local buffers
// then serve every load. The main thread learns that a job is done from an eventfd it polls.
class LoadWorker {
 public:
  explicit LoadWorker(std::function<void(LoadJob&)> work) : work_(std::move(work)) {
    done_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (done_fd_ >= 0) thread_ = std::thread([this] { run(); });
  }
  LoadWorker(const LoadWorker&) = delete;
  LoadWorker& operator=(const LoadWorker&) = delete;
  // Only an idle worker is joined; a busy one is left to the process's exit (see leave()).
  ~LoadWorker() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
    if (done_fd_ >= 0) ::close(done_fd_);
  }

  bool usable() const noexcept { return done_fd_ >= 0; }
  int fd() const noexcept { return done_fd_; }  // readable when the job is done
  bool busy() const noexcept { return busy_; }

  void start(std::string why) {
    {
      std::lock_guard lock(mutex_);
      pending_.emplace();
      pending_->why = std::move(why);
    }
    busy_ = true;
    wake_.notify_one();
  }

  // The finished job, once fd() is readable.
  std::optional<LoadJob> take() {
    std::uint64_t count = 0;
    if (::read(done_fd_, &count, sizeof count) != static_cast<ssize_t>(sizeof count)) return std::nullopt;
    std::lock_guard lock(mutex_);
    std::optional<LoadJob> job = std::move(done_);
    done_.reset();
    if (job) busy_ = false;
    return job;
  }

 private:
  void run() {
    for (;;) {
      LoadJob job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || pending_; });
        if (stop_) return;
        job = std::move(*pending_);
        pending_.reset();
      }
      try {
        work_(job);
      } catch (const std::exception& e) {
        job.compiled = false;
        job.failure = std::string("the load failed: ") + e.what();
      }
      {
        std::lock_guard lock(mutex_);
        done_ = std::move(job);
      }
      const std::uint64_t one = 1;
      [[maybe_unused]] const ssize_t ignored = ::write(done_fd_, &one, sizeof one);
    }
  }

  std::function<void(LoadJob&)> work_;
  int done_fd_ = -1;
  bool busy_ = false;  // the main thread's own: from start() to the take() that returns the job
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<LoadJob> pending_, done_;
  bool stop_ = false;
  std::thread thread_;
};

class Daemon {
 public:
  Daemon(const DaemonOptions& options, SharedSegment segment, Publisher publisher)
      : options_(options), segment_(std::move(segment)), publisher_(std::move(publisher)) {
    if (segment_.created()) {
      log::info("created segment '" + options_.segment + "' with two image slots of " +
                std::to_string(writer().slot_bytes()) + " bytes");
    } else {
      log::info("reopened segment '" + options_.segment + "' at generation " +
                std::to_string(publisher_.generation()) + " with " +
                std::to_string(publisher_.known_keys()) + " known flag keys");
      // Until this daemon publishes, it serves the image an earlier one left: its summary and
      // metrics describe that image.
      writer().update_status([&](const layout::DaemonStatus& s) { expired_count_ = s.expired_flags; });
    }
    retire_replaced();
  }

  // Once this segment serves an image, the segments it replaced send their readers here.
  void retire_replaced() {
    if (const std::string done = segment_.retire_replaced(); !done.empty())
      log::info("segment '" + options_.segment + "': " + done);
  }

  void mark_running(bool running) {
    writer().update_status([&](layout::DaemonStatus& s) {
      s.daemon_pid = static_cast<std::uint32_t>(::getpid());
      s.daemon_running = running ? 1 : 0;
      if (running) s.daemon_started_unix_ns = unix_now_ns();
    });
  }

  // On the worker thread: loads every file and compiles the image, publishing nothing. It uses
  // only what Publisher::compile allows beside the main thread's status writes.
  void load(LoadJob& job) {
    job.loaded = load_flag_files(options_.flag_files,
                                 options_.allow_any_file_owner ? FileTrust::Any : FileTrust::OwnerOrRoot);
    if (!job.loaded.ok()) return;
    const std::uint64_t loaded_at = unix_now_ns();
    job.expired = flags_expired_by(job.loaded.flags, static_cast<std::int64_t>(loaded_at / 1'000'000'000));
    job.published_at = unix_now_ns();
    job.compiled = publisher_.compile(job.loaded.flags, job.published_at, job.failure);
  }

  // On the main thread, once load() is done: publishes a new generation, or keeps the published
  // one and says why.
  bool finish(LoadJob& job) {
    std::string errors;
    for (const auto& d : job.loaded.diagnostics) {
      if (d.severity == Diagnostic::Severity::Warning) {
        log::warning(format(d));
      } else {
        log::error(format(d));
        errors += format(d) + "\n";
      }
    }
    if (!job.loaded.ok()) return reject(job.why, errors);
    if (!job.compiled) {
      log::error("segment '" + options_.segment + "': " + job.failure);
      return reject(job.why, job.failure);
    }

    // Expired flags are served as written; the log and the status say so, at every load.
    for (const auto& flag : job.expired.flags)
      log::warning("flag '" + flag.key + "' expired on " + flag.expires +
                   (flag.owner.empty() ? "" : " (owner " + flag.owner + ")") + "; still served");

    const PublishOutcome outcome = publisher_.commit();
    if (!outcome.published) {
      log::error("segment '" + options_.segment + "': " + outcome.error);
      return reject(job.why, outcome.error);
    }

    const FlagSet& flags = job.loaded.flags;
    std::string sources;
    for (const auto& s : flags.sources) sources += s.sha256 + "  " + s.path + "\n";
    writer().update_status([&](layout::DaemonStatus& s) {
      s.published_generation = outcome.generation;
      s.published_unix_ns = job.published_at;
      s.published_flag_count = flags.flags.size();
      s.reloads_ok += 1;
      s.last_reload_unix_ns = job.published_at;
      s.last_reload_ok = 1;
      s.expired_flags = static_cast<std::uint32_t>(job.expired.flags.size());
      set_text(s.sources, sources);
      set_text(s.last_error, "");
    });
    expired_count_ = job.expired.flags.size();
    last_reload_ok_ = true;
    ++published_;
    retire_replaced();
    write_metrics();
    log::info(job.why + ": published generation " + std::to_string(outcome.generation) + " (" +
              std::to_string(flags.flags.size()) + " flags, " + std::to_string(outcome.image_bytes) + " bytes)");
    return true;
  }

  std::uint64_t generation() const noexcept { return publisher_.generation(); }
  // The generation readers see; 0 while the segment has no image.
  std::uint64_t served_generation() const noexcept { return publisher_.published().generation; }

  // For systemd's STATUS=: "generation 7, 120 flags (2 expired); last reload rejected".
  std::string summary() const {
    return "generation " + std::to_string(served_generation()) + ", " + std::to_string(flag_count()) + " flags" +
           (expired_count_ != 0 ? " (" + std::to_string(expired_count_) + " expired)" : "") +
           (last_reload_ok_ ? "" : "; last reload rejected, see the log");
  }

 private:
  SegmentWriter& writer() noexcept { return publisher_.writer(); }
  std::uint64_t flag_count() const noexcept { return publisher_.published().present_count; }

  bool reject(const std::string& why, const std::string& errors) {
    last_reload_ok_ = false;
    ++rejected_;
    write_metrics();
    writer().update_status([&](layout::DaemonStatus& s) {
      s.reloads_failed += 1;
      s.last_reload_unix_ns = unix_now_ns();
      s.last_reload_ok = 0;
      set_text(s.last_error, errors);
    });
    log::error(why + " rejected; " +
               (served_generation() == 0 ? std::string("nothing is published yet")
                                         : "still serving generation " + std::to_string(served_generation())));
    return false;
  }

  void write_metrics() {
    if (options_.metrics_file.empty()) return;
    const layout::ImageHeader& image = publisher_.published();
    DaemonMetrics m;
    m.segment = options_.segment;
    m.version = FLAGD_VERSION;
    m.reloads_published = published_;
    m.reloads_rejected = rejected_;
    m.generation = served_generation();
    m.last_success_unix_seconds = static_cast<double>(image.published_unix_ns) / 1e9;
    m.flags = image.present_count;
    m.expired_flags = expired_count_;
    m.segment_bytes = segment_.size();
    m.image_bytes = image.image_bytes;
    std::string error;
    if (!write_metrics_file(options_.metrics_file, m, error)) log::warning(error);
  }

  const DaemonOptions& options_;
  SharedSegment segment_;
  Publisher publisher_;
  std::uint64_t published_ = 0, rejected_ = 0;  // load attempts, by result, since the daemon started
  std::size_t expired_count_ = 0;  // of the published image, when it was loaded
  bool last_reload_ok_ = true;
};

// Ends the daemon with `code`. A load still running on the worker is abandoned, not awaited (it
// may take seconds, and a stop must not): the process ends at once, without the destructors that
// would pull its memory from under it. The worker writes nothing outside the process.
int leave(const LoadWorker& worker, int code) {
  if (!worker.busy()) return code;
  std::fflush(nullptr);
  ::_exit(code);
}

}  // namespace

int run_daemon(const DaemonOptions& options) {
  if (const std::string problem = segment_name_problem(options.segment); !problem.empty()) {
    log::error(problem);
    return 2;
  }
  // Signals arrive through a descriptor, read in the main loop: nothing runs in a handler.
  // Blocked before any thread starts, so that every thread leaves them to the descriptor.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  if (sigprocmask(SIG_BLOCK, &signals, nullptr) != 0) {
    log::error(std::string("cannot block signals: ") + std::strerror(errno));
    return 1;
  }
  const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
  if (signal_fd < 0) {
    log::error(std::string("cannot create a signalfd: ") + std::strerror(errno));
    return 1;
  }

  std::string error;
  std::optional<SegmentLock> lock = SegmentLock::acquire(options.segment, error);
  if (!lock) {
    log::error(error);
    return 1;
  }
  std::optional<SharedSegment> segment =
      SharedSegment::open_or_create(options.segment, options.image_capacity, options.access, options.grow_segment, error);
  if (!segment) {
    log::error(error);
    return 1;
  }
  for (const std::string& note : segment->notes()) log::info("segment '" + options.segment + "': " + note);
  std::optional<Publisher> publisher = Publisher::resume(segment->data(), error);
  if (!publisher) {
    log::error("segment '" + options.segment + "': " + error + "; remove /dev/shm/" + options.segment +
               " to start afresh");
    return 1;
  }
  const Notifier systemd = Notifier::from_environment();
  Daemon daemon(options, std::move(*segment), std::move(*publisher));
  daemon.mark_running(true);
  // Watching starts before the first load, so that a file fixed while a rejected start-up load
  // is being reported is seen.
  std::optional<FileWatcher> watcher =
      options.watch ? FileWatcher::open(options.flag_files, error) : std::nullopt;
  if (options.watch && !watcher) {
    log::error(error);
    daemon.mark_running(false);
    return 1;
  }
  LoadWorker worker([&](LoadJob& job) { daemon.load(job); });
  if (!worker.usable()) {
    log::error(std::string("cannot create an eventfd: ") + std::strerror(errno));
    daemon.mark_running(false);
    return 1;
  }

  using Clock = std::chrono::steady_clock;
  // A change starts the debounce; the reload waits until the files have been quiet that long (an
  // editor saves in several steps, a ConfigMap swaps several files), but never longer than the
  // maximum wait after the burst's first change: a file touched without pause is still reloaded.
  const auto debounce = std::chrono::milliseconds(options.watch_debounce_ms);
  const auto max_wait = std::chrono::milliseconds(std::max(options.watch_max_wait_ms, options.watch_debounce_ms));
  bool changed = false;  // a change to the files that no load has read yet
  Clock::time_point burst_started{}, reload_due{};
  std::optional<std::string> asked;  // a reload asked for while a load runs: it starts after it
  bool serving = false;              // the start-up load is done (READY sent)

  // Under Type=notify-reload systemd waits for RELOADING=1 and then READY=1 around each reload.
  const auto start_load = [&](std::string why) {
    // This load reads the files as they are now: it covers the changes seen so far.
    changed = false;
    if (serving) systemd.reloading();
    const std::size_t files = options.flag_files.size();
    log::info(why + ": loading " + std::to_string(files) + (files == 1 ? " flag file" : " flag files"));
    worker.start(std::move(why));
  };
  start_load("start-up load");

  for (;;) {
    pollfd fds[3] = {{signal_fd, POLLIN, 0}, {worker.fd(), POLLIN, 0}, {watcher ? watcher->fd() : -1, POLLIN, 0}};
    int timeout_ms = -1;
    if (changed && !worker.busy()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(reload_due - Clock::now()).count();
      timeout_ms = static_cast<int>(std::max<long long>(0, left));
    }
    const int ready = ::poll(fds, watcher ? 3 : 2, timeout_ms);
    if (ready < 0 && errno != EINTR) {
      log::error(std::string("waiting for signals failed: ") + std::strerror(errno));
      daemon.mark_running(false);
      return leave(worker, 1);
    }

    if ((fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      const ssize_t n = ::read(signal_fd, &info, sizeof info);
      if (n != static_cast<ssize_t>(sizeof info) && !(n < 0 && (errno == EINTR || errno == EAGAIN))) {
        log::error(std::string("reading signals failed: ") + std::strerror(errno));
        daemon.mark_running(false);
        return leave(worker, 1);
      }
      if (n == static_cast<ssize_t>(sizeof info)) {
        if (info.ssi_signo == SIGHUP) {
          asked = "reload on SIGHUP";
        } else {
          // Prompt even during a load: the image readers see stays, the load is not published.
          const std::string stopping =
              std::string("stopping on ") + (info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT") + "; segment '" +
              options.segment + "' keeps generation " + std::to_string(daemon.served_generation()) + " for its readers" +
              (worker.busy() ? "; the load in progress is abandoned" : "");
          systemd.stopping(stopping);
          log::info(stopping);
          daemon.mark_running(false);
          return leave(worker, 0);
        }
      }
    }

    if ((fds[1].revents & POLLIN) != 0) {
      if (std::optional<LoadJob> job = worker.take()) {
        const bool published = daemon.finish(*job);
        if (!serving) {
          if (!published && daemon.served_generation() == 0) {
            daemon.mark_running(false);
            log::error("not starting: the flag files must load at start-up when the segment has no image to serve");
            return 1;
          }
          if (!published)
            log::error("serving the segment's last good image, generation " + std::to_string(daemon.served_generation()) +
                       ", until the flag files load: fix them, then send SIGHUP" +
                       (watcher ? " or save them (--watch)" : ""));
          log::info("serving segment '" + options.segment + "'; SIGHUP reloads" +
                    (watcher ? ", and so does a change to a flag file" : "") + "; SIGTERM stops");
          serving = true;
        }
        systemd.ready(daemon.summary());
        if (watcher) watcher->refresh();
      }
    }

    if (watcher && (fds[2].revents & POLLIN) != 0 && watcher->drain()) {
      const auto now = Clock::now();
      if (!changed) burst_started = now;
      changed = true;
      reload_due = std::min(now + debounce, burst_started + max_wait);
    }

    if (worker.busy()) continue;
    if (asked) {
      start_load(std::move(*asked));
      asked.reset();
    } else if (changed && Clock::now() >= reload_due) {
      start_load("reload on a change to the flag files");
    }
  }
}

}  // namespace flagd
