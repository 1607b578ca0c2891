#include "daemon.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>

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
    }
  }

  void mark_running(bool running) {
    writer().update_status([&](layout::DaemonStatus& s) {
      s.daemon_pid = static_cast<std::uint32_t>(::getpid());
      s.daemon_running = running ? 1 : 0;
      if (running) s.daemon_started_unix_ns = unix_now_ns();
    });
  }

  // Loads every file and publishes a new generation, or keeps the published one and says why.
  bool load_and_publish(std::string_view why) {
    LoadResult loaded = load_flag_files(
        options_.flag_files, options_.allow_any_file_owner ? FileTrust::Any : FileTrust::OwnerOrRoot);
    std::string errors;
    for (const auto& d : loaded.diagnostics) {
      if (d.severity == Diagnostic::Severity::Warning) {
        log::warning(format(d));
      } else {
        log::error(format(d));
        errors += format(d) + "\n";
      }
    }
    if (!loaded.ok()) return reject(why, errors);
    flag_count_ = loaded.flags.flags.size();

    // Expired flags are served as written; the log and the status say so, at every load.
    const std::uint64_t loaded_at = unix_now_ns();
    const ExpiryReport expired = flags_expired_by(loaded.flags, static_cast<std::int64_t>(loaded_at / 1'000'000'000));
    for (const auto& flag : expired.flags)
      log::warning("flag '" + flag.key + "' expired on " + flag.expires +
                   (flag.owner.empty() ? "" : " (owner " + flag.owner + ")") + "; still served");

    const std::uint64_t published_at = unix_now_ns();
    const PublishOutcome outcome = publisher_.publish(loaded.flags, published_at);
    if (!outcome.published) {
      log::error("segment '" + options_.segment + "': " + outcome.error);
      return reject(why, outcome.error);
    }

    std::string sources;
    for (const auto& s : loaded.flags.sources) sources += s.sha256 + "  " + s.path + "\n";
    writer().update_status([&](layout::DaemonStatus& s) {
      s.published_generation = outcome.generation;
      s.published_unix_ns = published_at;
      s.published_flag_count = loaded.flags.flags.size();
      s.reloads_ok += 1;
      s.last_reload_unix_ns = published_at;
      s.last_reload_ok = 1;
      s.expired_flags = static_cast<std::uint32_t>(expired.flags.size());
      expired_count_ = expired.flags.size();
      set_text(s.sources, sources);
      set_text(s.last_error, "");
    });
    last_reload_ok_ = true;
    ++published_;
    image_bytes_ = outcome.image_bytes;
    last_success_unix_ns_ = published_at;
    write_metrics();
    log::info(std::string(why) + ": published generation " + std::to_string(outcome.generation) +
              " (" + std::to_string(loaded.flags.flags.size()) + " flags, " +
              std::to_string(outcome.image_bytes) + " bytes)");
    return true;
  }

  std::uint64_t generation() const noexcept { return publisher_.generation(); }

  // For systemd's STATUS=: "generation 7, 120 flags (2 expired); last reload rejected".
  std::string summary() const {
    return "generation " + std::to_string(publisher_.generation()) + ", " + std::to_string(flag_count_) + " flags" +
           (expired_count_ != 0 ? " (" + std::to_string(expired_count_) + " expired)" : "") +
           (last_reload_ok_ ? "" : "; last reload rejected, see the log");
  }

 private:
  SegmentWriter& writer() noexcept { return publisher_.writer(); }

  bool reject(std::string_view why, const std::string& errors) {
    last_reload_ok_ = false;
    ++rejected_;
    write_metrics();
    writer().update_status([&](layout::DaemonStatus& s) {
      s.reloads_failed += 1;
      s.last_reload_unix_ns = unix_now_ns();
      s.last_reload_ok = 0;
      set_text(s.last_error, errors);
    });
    log::error(std::string(why) + " rejected; still serving generation " +
               std::to_string(publisher_.generation()));
    return false;
  }

  void write_metrics() {
    if (options_.metrics_file.empty()) return;
    DaemonMetrics m;
    m.segment = options_.segment;
    m.version = FLAGD_VERSION;
    m.reloads_published = published_;
    m.reloads_rejected = rejected_;
    m.generation = publisher_.generation();
    m.last_success_unix_seconds = static_cast<double>(last_success_unix_ns_) / 1e9;
    m.flags = flag_count_;
    m.expired_flags = expired_count_;
    m.segment_bytes = segment_.size();
    m.image_bytes = image_bytes_;
    std::string error;
    if (!write_metrics_file(options_.metrics_file, m, error)) log::warning(error);
  }

  const DaemonOptions& options_;
  SharedSegment segment_;
  Publisher publisher_;
  std::uint64_t published_ = 0, rejected_ = 0;  // load attempts, by result, since the daemon started
  std::uint64_t image_bytes_ = 0;
  std::uint64_t last_success_unix_ns_ = 0;
  std::size_t flag_count_ = 0;     // of the published image
  std::size_t expired_count_ = 0;  // of the published image, when it was loaded
  bool last_reload_ok_ = true;
};

}  // namespace

int run_daemon(const DaemonOptions& options) {
  if (const std::string problem = segment_name_problem(options.segment); !problem.empty()) {
    log::error(problem);
    return 2;
  }
  // Signals arrive through a descriptor, read in the main loop: nothing runs in a handler.
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
      SharedSegment::open_or_create(options.segment, options.image_capacity, options.access, error);
  if (!segment) {
    log::error(error);
    return 1;
  }
  std::optional<Publisher> publisher = Publisher::resume(segment->data(), error);
  if (!publisher) {
    log::error("segment '" + options.segment + "': " + error + "; remove /dev/shm/" + options.segment +
               " to start afresh");
    return 1;
  }
  const Notifier systemd = Notifier::from_environment();
  Daemon daemon(options, std::move(*segment), std::move(*publisher));
  daemon.mark_running(true);
  if (!daemon.load_and_publish("start-up load")) {
    daemon.mark_running(false);
    log::error("not starting: the flag files must load at start-up");
    return 1;
  }
  std::optional<FileWatcher> watcher =
      options.watch ? FileWatcher::open(options.flag_files, error) : std::nullopt;
  if (options.watch) {
    if (!watcher) {
      log::error(error);
      daemon.mark_running(false);
      return 1;
    }
  }
  log::info("serving segment '" + options.segment + "'; SIGHUP reloads" +
            (watcher ? ", and so does a change to a flag file" : "") + "; SIGTERM stops");
  systemd.ready(daemon.summary());
  // Under Type=notify-reload systemd waits for RELOADING=1 and then READY=1 around each reload.
  const auto reload = [&](std::string_view why) {
    systemd.reloading();
    daemon.load_and_publish(why);
    systemd.ready(daemon.summary());
  };

  // A change starts the debounce; the reload waits until the files have been quiet that long
  // (an editor saves in several steps, a ConfigMap swaps several files).
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> reload_due;
  for (;;) {
    pollfd fds[2] = {{signal_fd, POLLIN, 0}, {watcher ? watcher->fd() : -1, POLLIN, 0}};
    int timeout_ms = -1;
    if (reload_due) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*reload_due - Clock::now()).count();
      timeout_ms = static_cast<int>(std::max<long long>(0, left));
    }
    const int ready = ::poll(fds, watcher ? 2 : 1, timeout_ms);
    if (ready < 0 && errno != EINTR) {
      log::error(std::string("waiting for signals failed: ") + std::strerror(errno));
      daemon.mark_running(false);
      return 1;
    }
    if (watcher && (fds[1].revents & POLLIN) != 0 && watcher->drain())
      reload_due = Clock::now() + std::chrono::milliseconds(options.watch_debounce_ms);
    if (reload_due && Clock::now() >= *reload_due) {
      reload_due.reset();
      reload("reload on a change to the flag files");
      watcher->refresh();
    }
    if ((fds[0].revents & POLLIN) == 0) continue;
    signalfd_siginfo info{};
    const ssize_t n = ::read(signal_fd, &info, sizeof info);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n != static_cast<ssize_t>(sizeof info)) {
      log::error(std::string("reading signals failed: ") + std::strerror(errno));
      daemon.mark_running(false);
      return 1;
    }
    if (info.ssi_signo == SIGHUP) {
      reload("reload on SIGHUP");
    } else {
      const std::string stopping = std::string("stopping on ") + (info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT") +
                                   "; segment '" + options.segment + "' keeps generation " +
                                   std::to_string(daemon.generation()) + " for its readers";
      systemd.stopping(stopping);
      log::info(stopping);
      daemon.mark_running(false);
      return 0;
    }
  }
}

}  // namespace flagd
