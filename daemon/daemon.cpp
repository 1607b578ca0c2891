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
#include <set>
#include <thread>

#include "cache_writer.hpp"
#include "expiry.hpp"
#include "flagd/source_status.hpp"
#include "grpc_sync_source.hpp"
#include "remote_sources.hpp"
#include "sha256.hpp"
#include "source_cache.hpp"
#include "source_inbox.hpp"
#include "source_load.hpp"
#include "source_uri.hpp"
#include "file_watcher.hpp"
#include "flag_loader.hpp"
#include "flagd/segment_name.hpp"
#include "flagd/wall_clock.hpp"
#include "log.hpp"
#include "metrics.hpp"
#include "segment_lock.hpp"
#include "publication_audit.hpp"
#include "publisher.hpp"
#include "replace_file.hpp"
#include "serve_process.hpp"
#include "sync_document.hpp"
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

// One load of the sources: what the worker thread judged, merged and compiled, for the main
// thread to publish or reject.
struct LoadJob {
  std::string why;  // "reload on SIGHUP", for the log
  std::vector<SourceInput> inputs;
  Digest published{};  // of the image readers see when the load started
  SourcesLoad result;
  std::vector<ExpiringFlag> expiring;  // every flag with an "expires", soonest first
  std::int64_t loaded_unix_seconds = 0;
  std::uint64_t published_at = 0;
  bool compiled = false;
  std::string failure;               // why it could not be compiled, when the documents were valid
  std::vector<FlagFacts> facts;      // of the compiled flags, for the publication's audit
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

  void start(LoadJob job) {
    {
      std::lock_guard lock(mutex_);
      pending_ = std::move(job);
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
      } catch (...) {
        job.compiled = false;
        job.failure = "the load failed";
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

// A source as the daemon keeps it: its configuration, its thread (remote sources), the document
// it has in the merge, and what it last did.
struct SourceSlot {
  SourceConfig config;
  std::string name;                     // the path, or the URI without credentials
  std::unique_ptr<RemoteSource> remote;  // null for a file
  SourceDocument good;      // its latest valid document, in the next merge
  SourceDocument in_image;  // its document in the published image; empty if none (or not known)
  SourceDocument pending;   // received, judged at the next load
  SourceDocument cached;    // from --cache-dir: judged while the source has given nothing valid
  bool answered = false;   // the source reported since the daemon started
  SourceHealth health;
  std::string refusal;     // why its latest document was refused; "" if it was accepted
  std::uint64_t refused = 0;

  SourceState state() const noexcept {
    if (!in_image) return good ? SourceState::Stale : SourceState::Waiting;
    if (in_image.from_cache) return SourceState::Cached;
    // A valid document the image does not hold (its load was rejected as a whole) is not served.
    if (in_image.sha256 != good.sha256 || !refusal.empty() || !health.last_error.empty()) return SourceState::Stale;
    return SourceState::Current;
  }
};

const char* kind_name(SourceKind kind) {
  switch (kind) {
    case SourceKind::File: return "file";
    case SourceKind::Http: return "http";
    case SourceKind::Etcd: return "etcd";
    case SourceKind::Grpc: return "grpc";
  }
  return "?";
}

// What a load came to.
enum class LoadOutcome { Published, Unchanged, Rejected, Waiting };

class Daemon {
 public:
  Daemon(const DaemonOptions& options, SharedSegment segment, Publisher publisher)
      : options_(options), segment_(std::move(segment)), publisher_(std::move(publisher)),
        cache_(options.cache_dir, options.segment),
        cache_writer_(cache_, options.sources, [](const std::string& e) { log::warning("cached copy: " + e); }),
        inbox_(options.sources.size()), audit_(options.segment, options.audit_log, options.access) {
    if (segment_.created()) {
      log::info("created segment '" + options_.segment + "' with two image slots of " +
                std::to_string(writer().slot_bytes()) + " bytes");
    } else {
      log::info("reopened segment '" + options_.segment + "' at generation " +
                std::to_string(publisher_.generation()) + " with " +
                std::to_string(publisher_.known_keys()) + " known flag keys");
      // Until this daemon publishes, it serves the image an earlier one left: its summary and
      // metrics describe that image.
      writer().update_status([&](const layout::DaemonStatus& s) {
        expired_count_ = s.expired_flags;
        load_warnings_ = s.load_warnings;
      });
    }
    retire_replaced();
    for (const SourceConfig& config : options_.sources) {
      SourceSlot& slot = slots_.emplace_back();
      slot.config = config;
      slot.name = config.kind == SourceKind::File ? config.path : display_uri(config);
    }
  }

  bool inbox_usable() const noexcept { return inbox_.usable(); }
  int inbox_fd() const noexcept { return inbox_.fd(); }

  // Reads the cached copies and starts the remote sources' threads; false and `error` if one
  // cannot be made.
  bool start_sources(std::string& error) {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      SourceSlot& slot = slots_[i];
      if (slot.config.kind == SourceKind::File) continue;
      std::string problem;
      if (std::optional<CachedCopy> copy = cache_.load(slot.config, problem)) {
        slot.cached = make_document(std::move(copy->text), "", true, copy->format);
        log::info("source " + slot.name + ": found its cached copy " + cache_.path_for(slot.config, copy->format));
      } else if (!problem.empty()) {
        log::warning("source " + slot.name + ": " + problem);
      }
      slot.remote = make_remote_source(slot.config, error);
      if (!slot.remote) {
        error = "source " + slot.name + ": " + error;
        return false;
      }
      slot.remote->start(inbox_, i);
    }
    return true;
  }

  // Every remote source has answered once (a document or a failure) since the start.
  bool sources_answered() const noexcept {
    return std::all_of(slots_.begin(), slots_.end(), [](const SourceSlot& s) { return !s.remote || s.answered; });
  }

  // A file source has never given a valid document: a start-up that cannot serve it must fail.
  bool files_missing() const noexcept {
    return std::any_of(slots_.begin(), slots_.end(),
                       [](const SourceSlot& s) { return s.config.kind == SourceKind::File && !s.good; });
  }

  bool has_remote_sources() const noexcept {
    return std::any_of(slots_.begin(), slots_.end(), [](const SourceSlot& s) { return s.config.kind != SourceKind::File; });
  }

  std::vector<std::string> file_paths() const {
    std::vector<std::string> paths;
    for (const SourceSlot& s : slots_)
      if (s.config.kind == SourceKind::File) paths.push_back(s.config.path);
    return paths;
  }

  // Takes what the remote sources delivered; true if a document waits for a load.
  bool take_arrivals() {
    SourceInbox::Arrivals arrivals = inbox_.take();
    bool documents = false, health = false;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      SourceSlot& slot = slots_[i];
      if (arrivals.health[i]) {
        const bool was_failing = !slot.health.last_error.empty();
        slot.health = std::move(*arrivals.health[i]);
        slot.answered = true;
        health = true;
        if (!slot.health.last_error.empty() && !was_failing)
          log::warning("source " + slot.name + ": " + slot.health.last_error +
                       (slot.good ? "; its last good flags stay published" : ""));
        else if (slot.health.last_error.empty() && was_failing)
          log::info("source " + slot.name + ": answering again");
      }
      if (arrivals.documents[i]) {
        ReceivedDocument& d = *arrivals.documents[i];
        slot.pending = make_document(std::move(d.text), std::move(d.version), false, d.format);
        slot.answered = true;
        documents = true;
      }
    }
    if (health && !documents) publish_sources_status();
    return documents;
  }
  bool documents_waiting() const noexcept {
    return std::any_of(slots_.begin(), slots_.end(), [](const SourceSlot& s) { return bool(s.pending); });
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
    if (running) beat();
  }

  // The metrics file between loads, so that its heartbeat timestamp moves.
  void refresh_metrics() { write_metrics(); }

  // What the metrics' info series says of the published flags: their hash, and the distinct
  // flagSetId and version values of their metadata (a set's, or a flag's own), so that a fleet
  // can be checked for agreement.
  void remember_published(const FlagSet& flags) {
    published_sha256_ = to_hex(flags.sha256);
    std::set<std::string> ids, versions;
    for (const FlagDefinition& flag : flags.flags)
      for (const MetadataItem& item : flag.metadata) {
        if (item.kind != layout::MetadataKind::String) continue;
        if (item.key == "flagSetId") ids.insert(item.text);
        if (item.key == "version") versions.insert(item.text);
      }
    const auto joined = [](const std::set<std::string>& values) {
      std::string out;
      for (const std::string& v : values) out += (out.empty() ? "" : ",") + v;
      return out;
    };
    published_flag_set_ids_ = joined(ids);
    published_versions_ = joined(versions);
  }

  // The heartbeat readers judge the daemon by, from the main thread: it stops when that thread
  // does, however the rest of the process fares.
  void beat() {
    last_beat_unix_ns_ = unix_now_ns();
    writer().beat(last_beat_unix_ns_, static_cast<std::uint32_t>(options_.heartbeat_ms),
                  static_cast<std::uint32_t>(::getpid()));
  }

  // On the main thread: what the next load judges. Pending documents move into the job. The
  // start-up load always publishes, even documents the image already holds: the image may have
  // been compiled by another version of the daemon.
  void prepare(LoadJob& job, bool start_up) {
    job.published = start_up ? Digest{} : published_digest();
    for (SourceSlot& slot : slots_) {
      SourceInput& input = job.inputs.emplace_back();
      input.kind = slot.config.kind;
      input.name = slot.name;
      input.path = slot.config.path;
      input.good = slot.good;
      if (slot.pending) {
        input.candidate = std::move(slot.pending);
        slot.pending = {};
      }
      if (!slot.good) input.fallback = slot.cached;
    }
  }

  // On the worker thread: judges and merges the sources and compiles the image, publishing
  // nothing. It uses only what Publisher::compile allows beside the main thread's status writes.
  void load(LoadJob& job) {
    job.result = load_sources(job.inputs, options_.allow_any_file_owner ? FileTrust::Any : FileTrust::OwnerOrRoot,
                              job.published, options_.strictness);
    if (!job.result.complete || job.result.unchanged || !job.result.loaded.ok(options_.strictness)) return;
    job.loaded_unix_seconds = static_cast<std::int64_t>(unix_now_ns() / 1'000'000'000);
    constexpr std::int64_t kCentury = std::int64_t{100} * 366 * 86400;
    job.expiring = flags_expired_by(job.result.loaded.flags, job.loaded_unix_seconds, kCentury).flags;
    job.published_at = unix_now_ns();
    job.compiled = publisher_.compile(job.result.loaded.flags, job.published_at, job.failure);
    if (job.compiled) job.facts = flag_facts(job.result.loaded.flags);  // here, not on the main thread
  }

  // On the main thread, once load() is done: publishes a new generation, or keeps the published
  // one and says why.
  LoadOutcome finish(LoadJob& job) {
    if (job.result.sources.size() != slots_.size()) {
      // The load itself failed (out of memory, say): what it took from the sources goes back, so
      // that the next load judges it; sources do not send the same document twice.
      for (std::size_t i = 0; i < slots_.size() && i < job.inputs.size(); ++i)
        if (!slots_[i].pending) slots_[i].pending = std::move(job.inputs[i].candidate);
      log::error(job.failure);
      return reject(job.why, job.failure);
    }
    std::string errors;
    // The warnings counted are those of the documents the merge holds: a refused document's are
    // logged, not counted (the merge holds its source's last good document, parsed again).
    std::uint32_t warnings = 0;
    std::string first_warning;
    const auto report = [&](const Diagnostic& d, bool in_merge) {
      const std::string text = format(d, options_.strictness);
      if (!is_error(d, options_.strictness)) {
        log::warning(text);
        if (in_merge && warnings++ == 0) first_warning = text;
      } else {
        log::error(text);
        errors += text + "\n";
      }
    };
    bool refused = false;
    std::string missing;
    const std::uint64_t now = unix_now_ns();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      SourceSlot& slot = slots_[i];
      SourceOutcome& o = job.result.sources[i];
      for (const Diagnostic& d : o.diagnostics) report(d, static_cast<bool>(o.accepted));
      if (o.accepted) {
        // The cache holds bytes: a new version of the same bytes leaves it as it is. Written on
        // the cache writer's thread, so the publication below does not wait for its fsync.
        if (slot.remote && !o.accepted.from_cache && !(slot.good && slot.good.sha256 == o.accepted.sha256 &&
                                                     o.accepted.format == slot.good.format && !slot.good.from_cache))
          cache_writer_.store(i, o.accepted.text, o.accepted.format);
        slot.good = o.accepted;
        slot.cached = {};
        slot.refusal.clear();
      } else if (o.refused) {
        refused = true;
        ++slot.refused;
        slot.refusal = o.diagnostics.empty() ? "refused" : format(o.diagnostics.front(), options_.strictness);
        if (slot.good)
          log::error("source " + slot.name + " refused; its last good document stays in the merge");
      } else if (job.inputs[i].candidate || slot.config.kind == SourceKind::File) {
        // Its good document's bytes again, after a refused one: its latest document is valid.
        slot.refusal.clear();
      }
      if (slot.config.kind == SourceKind::File) {
        slot.health.last_attempt_unix_ns = now;
        if (!o.refused) slot.health.last_success_unix_ns = now;
        slot.health.last_error = o.refused ? slot.refusal : "";
      }
      if (slot.good) slot.health.bytes = slot.good.text->size();
      if (!o.used) missing += (missing.empty() ? "" : ", ") + slot.name;
      if (job.inputs[i].fallback) slot.cached = {};  // judged: in the merge now, or of no use
    }
    for (const Diagnostic& d : job.result.loaded.diagnostics) report(d, true);

    if (!job.result.complete) {
      publish_sources_status();
      if (refused) return reject(job.why, errors);
      log::info(job.why + ": waiting for " + missing + " (no document yet" +
                (cache_.enabled() ? ", no cached copy)" : ")") + "; " + serving_text());
      return LoadOutcome::Waiting;
    }
    if (job.result.unchanged) {
      mark_in_image(job);
      // Flags expire while the image stays: the count and the warnings follow the clock.
      if (expiring_known_) {
        expired_count_ = report_expired(expiring_, static_cast<std::int64_t>(now / 1'000'000'000));
        writer().update_status([&](layout::DaemonStatus& s) { s.expired_flags = static_cast<std::uint32_t>(expired_count_); });
      }
      publish_sources_status();
      if (refused) return reject(job.why, errors);  // counted as rejected, not also as unchanged
      ++unchanged_;
      last_reload_ok_ = true;
      writer().update_status([&](layout::DaemonStatus& s) {
        s.last_reload_unix_ns = now;
        s.last_reload_ok = 1;
        set_text(s.last_error, "");
      });
      write_metrics();
      write_unwritten_sync_document();
      log::info(job.why + ": unchanged; generation " + std::to_string(served_generation()) + " stays");
      return LoadOutcome::Unchanged;
    }
    if (!job.result.loaded.ok(options_.strictness)) return reject(job.why, errors);
    if (!job.compiled) {
      log::error("segment '" + options_.segment + "': " + job.failure);
      return reject(job.why, job.failure);
    }

    // Expired flags are served as written; the log and the status say so, at every load.
    const std::size_t expired = report_expired(job.expiring, job.loaded_unix_seconds);

    const PublishOutcome outcome = publisher_.commit();
    if (!outcome.published) {
      log::error("segment '" + options_.segment + "': " + outcome.error);
      return reject(job.why, outcome.error);
    }

    const FlagSet& flags = job.result.loaded.flags;
    remember_published(flags);
    write_sync_document(flags);
    writer().update_status([&](layout::DaemonStatus& s) {
      s.published_generation = outcome.generation;
      s.published_unix_ns = job.published_at;
      s.published_flag_count = flags.flags.size();
      s.reloads_ok += 1;
      s.reloads_failed += refused ? 1 : 0;
      s.last_reload_unix_ns = job.published_at;
      s.last_reload_ok = refused ? 0 : 1;
      s.expired_flags = static_cast<std::uint32_t>(expired);
      s.load_warnings = warnings;
      set_text(s.first_warning, first_warning);
      set_text(s.last_error, errors);
    });
    load_warnings_ = warnings;
    expired_count_ = expired;
    expiring_ = std::move(job.expiring);
    expiring_known_ = true;
    mark_in_image(job);
    last_reload_ok_ = !refused;
    ++published_;
    if (refused) ++rejected_;
    publish_sources_status();
    retire_replaced();
    log::info(job.why + ": published generation " + std::to_string(outcome.generation) + " (" +
              std::to_string(flags.flags.size()) + " flags, " + std::to_string(outcome.image_bytes) + " bytes)" +
              (refused ? "; refused sources keep their last good flags" : ""));
    audit_.published(std::move(job.facts), flags, outcome.generation, job.published_at);
    return LoadOutcome::Published;
  }

  std::uint64_t generation() const noexcept { return publisher_.generation(); }
  // The generation readers see; 0 while the segment has no image.
  std::uint64_t served_generation() const noexcept { return publisher_.published().generation; }

  // For systemd's STATUS=: "generation 7, 120 flags (2 expired); last reload rejected".
  std::string summary() const {
    // A file is stale only when it was refused, which the rejection already says.
    const std::size_t stale = static_cast<std::size_t>(std::count_if(slots_.begin(), slots_.end(), [](const SourceSlot& s) {
      return s.remote != nullptr && s.state() != SourceState::Current;
    }));
    return "generation " + std::to_string(served_generation()) + ", " + std::to_string(flag_count()) + " flags" +
           (expired_count_ != 0 ? " (" + std::to_string(expired_count_) + " expired)" : "") +
           (last_reload_ok_ ? "" : "; last reload rejected, see the log") +
           (stale != 0 ? "; " + std::to_string(stale) + (stale == 1 ? " remote source" : " remote sources") + " not current" : "");
  }

 private:
  SegmentWriter& writer() noexcept { return publisher_.writer(); }
  std::uint64_t flag_count() const noexcept { return publisher_.published().present_count; }
  Digest published_digest() const noexcept {
    Digest d{};
    if (served_generation() != 0) std::memcpy(d.data(), publisher_.published().source_sha256, d.size());
    return d;
  }
  std::string serving_text() const {
    return served_generation() == 0 ? std::string("nothing is published yet")
                                    : "still serving generation " + std::to_string(served_generation());
  }

  // Logs the flags of `soonest_first` expired by `now` and returns how many there are.
  static std::size_t report_expired(const std::vector<ExpiringFlag>& soonest_first, std::int64_t now) {
    std::size_t expired = 0;
    for (; expired < soonest_first.size() && soonest_first[expired].at <= now; ++expired) {
      const ExpiringFlag& flag = soonest_first[expired];
      log::warning("flag '" + flag.key + "' expired on " + flag.expires +
                   (flag.owner.empty() ? "" : " (owner " + flag.owner + ")") + "; still served");
    }
    return expired;
  }

  // After a load the image holds (published, or the same as published): what it holds of each.
  void mark_in_image(const LoadJob& job) {
    for (std::size_t i = 0; i < slots_.size(); ++i) slots_[i].in_image = job.result.sources[i].used;
  }

  // The sources' health, in the status and the metrics.
  void publish_sources_status() {
    std::vector<SourceStatus> list;
    for (const SourceSlot& slot : slots_) {
      SourceStatus& s = list.emplace_back();
      s.uri = slot.name;
      s.state = slot.state();
      if (slot.in_image) s.sha256 = to_hex(slot.in_image.sha256);
      // A source that answered the same bytes under a new version (an ETag) delivered nothing:
      // its health has the version it now serves them under.
      s.version = s.state == SourceState::Current && slot.remote && !slot.health.version.empty() ? slot.health.version
                  : slot.in_image ? slot.in_image.version
                                  : "";
      s.last_success_unix_ns = slot.health.last_success_unix_ns;
      s.last_attempt_unix_ns = slot.health.last_attempt_unix_ns;
      s.bytes = slot.health.bytes;
      s.fetch_latency_us = slot.health.fetch_latency_us;
      s.error = !slot.health.last_error.empty() ? slot.health.last_error : slot.refusal;
    }
    const std::string text = encode_source_status(list, layout::kSourcesTextBytes);
    writer().update_status([&](layout::DaemonStatus& s) { set_text(s.sources, text); });
    write_metrics();
  }

  LoadOutcome reject(const std::string& why, const std::string& errors) {
    last_reload_ok_ = false;
    ++rejected_;
    write_metrics();
    writer().update_status([&](layout::DaemonStatus& s) {
      s.reloads_failed += 1;
      s.last_reload_unix_ns = unix_now_ns();
      s.last_reload_ok = 0;
      set_text(s.last_error, errors);
    });
    log::error(why + " rejected; " + serving_text());
    return LoadOutcome::Rejected;
  }

  void write_metrics() {
    if (options_.metrics_file.empty()) return;
    const layout::ImageHeader& image = publisher_.published();
    DaemonMetrics m;
    m.segment = options_.segment;
    m.version = FLAGD_VERSION;
    m.heartbeat_unix_seconds = static_cast<double>(last_beat_unix_ns_) / 1e9;
    m.image_sha256 = published_sha256_;
    m.flag_set_ids = published_flag_set_ids_;
    m.flag_set_versions = published_versions_;
    m.reloads_published = published_;
    m.reloads_rejected = rejected_;
    m.reloads_unchanged = unchanged_;
    m.generation = served_generation();
    m.last_success_unix_seconds = static_cast<double>(image.published_unix_ns) / 1e9;
    m.flags = image.present_count;
    m.expired_flags = expired_count_;
    m.load_warnings = load_warnings_;
    m.segment_bytes = segment_.size();
    m.image_bytes = image.image_bytes;
    for (const SourceSlot& slot : slots_) {
      SourceMetrics& s = m.sources.emplace_back();
      s.uri = slot.name;
      s.kind = kind_name(slot.config.kind);
      s.state = std::string(source_state_name(slot.state()));
      s.up = slot.health.last_attempt_unix_ns != 0 && slot.health.last_error.empty();
      s.last_success_unix_seconds = static_cast<double>(slot.health.last_success_unix_ns) / 1e9;
      s.last_attempt_unix_seconds = static_cast<double>(slot.health.last_attempt_unix_ns) / 1e9;
      s.bytes = slot.health.bytes;
      s.fetch_latency_seconds = static_cast<double>(slot.health.fetch_latency_us) / 1e6;
      s.documents = slot.health.documents;
      s.unchanged = slot.health.unchanged;
      s.failures = slot.health.failures;
      s.refused = slot.refused;
    }
    // Written at every source's answer: a failure is logged when it starts or changes, not each time.
    std::string error;
    if (write_metrics_file(options_.metrics_file, m, error)) {
      metrics_error_.clear();
    } else if (error != metrics_error_) {
      log::warning(error);
      metrics_error_ = error;
    }
  }

  // After each publication, when serving: the flags as sync clients are sent them (flagd-serve
  // reads it on its rename). Its failure is logged; the publication stands.
  void write_sync_document(const FlagSet& flags) {
    if (!options_.serve.serves()) return;
    unwritten_sync_document_ = sync_document(flags);
    write_unwritten_sync_document();
  }

  // The sync document the last publication could not write, tried again at each load that
  // publishes or finds the flags unchanged: a cause removed (a full disk, a missing directory) is
  // recovered without waiting for a flag change.
  void write_unwritten_sync_document() {
    if (!unwritten_sync_document_) return;
    const ReplacedFile what{"the sync document", "the sync document", "--sync-document",
                            static_cast<mode_t>(options_.access.readable_by_all ? 0644 : 0640), options_.access.group};
    std::string error, warning;
    if (replace_file(options_.serve.sync_document, *unwritten_sync_document_, what, error, warning)) {
      if (!sync_document_error_.empty()) log::info("the sync document is written again: sync clients have the flags");
      unwritten_sync_document_.reset();
      sync_document_error_.clear();
    } else if (error != sync_document_error_) {  // logged when it starts or changes, not at each load
      log::error(error + "; sync clients keep the flags before it (tried again at the next reload)");
      sync_document_error_ = error;
    }
    if (!warning.empty()) log::warning(warning);
  }

  const DaemonOptions& options_;
  SharedSegment segment_;
  Publisher publisher_;
  SourceCache cache_;
  CacheWriter cache_writer_;       // after cache_, which it writes through
  SourceInbox inbox_;              // outlives the remote sources that deliver to it
  std::vector<SourceSlot> slots_;  // in merge order; their threads stop before the inbox goes
  std::uint64_t published_ = 0, rejected_ = 0, unchanged_ = 0;  // loads, by result, since the start
  std::size_t expired_count_ = 0;  // of the published image, at the last load
  std::uint32_t load_warnings_ = 0;  // of the published image's load
  std::vector<ExpiringFlag> expiring_;  // of the image this daemon published, soonest first
  bool expiring_known_ = false;         // false while the image is an earlier daemon's
  bool last_reload_ok_ = true;
  std::string metrics_error_;  // the last failure to write the metrics, logged once
  std::uint64_t last_beat_unix_ns_ = 0;
  // Of the published flags: their sets' flagSetId and version values, for the metrics' info.
  std::string published_sha256_, published_flag_set_ids_, published_versions_;
  std::optional<std::string> unwritten_sync_document_;  // the last publication's, until it is written
  std::string sync_document_error_;                    // the last failure to write it, logged once
  PublicationAudit audit_;  // what each publication changed: the log's lines, the --audit-log file
};

// Ends the daemon with `code`. A load still running on the worker is abandoned, not awaited (it
// may take seconds, and a stop must not): the process ends at once, without the destructors that
// would pull its memory from under it. The worker writes nothing outside the process.
// flagd-serve, if the daemon started it, stops first: it must not outlive the daemon.
int leave(const LoadWorker& worker, std::optional<ServeProcess>& serve, int code) {
  if (serve) serve->stop();
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
  if (options.serve.serves()) sigaddset(&signals, SIGCHLD);  // flagd-serve ended
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
  // gRPC's own errors repeat what the source reports (as a warning, once per failure spell).
  route_grpc_log([](bool is_error, std::string_view message) {
    if (is_error) log::warning(message); else log::info(message);
  });
  const Notifier systemd = Notifier::from_environment();
  Daemon daemon(options, std::move(*segment), std::move(*publisher));
  daemon.mark_running(true);
  if (!daemon.inbox_usable()) {
    log::error(std::string("cannot create an eventfd: ") + std::strerror(errno));
    daemon.mark_running(false);
    return 1;
  }
  // Watching starts before the first load, so that a file fixed while a rejected start-up load
  // is being reported is seen.
  const std::vector<std::string> files = daemon.file_paths();
  std::optional<FileWatcher> watcher =
      options.watch && !files.empty() ? FileWatcher::open(files, error) : std::nullopt;
  if (options.watch && !files.empty() && !watcher) {
    log::error(error);
    daemon.mark_running(false);
    return 1;
  }
  std::optional<ServeProcess> serve;
  if (options.serve.serves()) {
    serve.emplace(ServeProcess::binary_beside_this_one(), serve::serve_arguments(options.serve));
    if (!serve->start(error)) log::error(error + "; trying again in 1 s");
  }
  LoadWorker worker([&](LoadJob& job) { daemon.load(job); });
  if (!worker.usable()) {
    log::error(std::string("cannot create an eventfd: ") + std::strerror(errno));
    daemon.mark_running(false);
    return 1;
  }
  if (!daemon.start_sources(error)) {
    log::error(error);
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
  // The heartbeat, and the metrics file rewritten between loads, on their periods.
  const auto heartbeat = std::chrono::milliseconds(options.heartbeat_ms);
  const auto metrics_interval = std::chrono::seconds(options.metrics_interval_s);
  Clock::time_point next_beat = Clock::now() + heartbeat, metrics_due = Clock::now() + metrics_interval;
  bool serving = false;              // the start-up load is done (READY sent)
  // The start-up load waits for every remote source's first answer, so that a restarted daemon
  // does not publish its cached copies a moment before the sources' current documents; a source
  // that has not answered by then is loaded from its cache.
  bool started = false;
  const Clock::time_point start_due = Clock::now() + std::chrono::milliseconds(options.startup_wait_ms);

  // Under Type=notify-reload systemd waits for RELOADING=1 and then READY=1 around each reload.
  const auto start_load = [&](std::string why) {
    // This load reads the files as they are now: it covers the changes seen so far.
    changed = false;
    if (serving) systemd.reloading();
    const std::size_t sources = options.sources.size();
    log::info(why + ": loading " + std::to_string(sources) + (sources == 1 ? " source" : " sources"));
    LoadJob job;
    job.why = std::move(why);
    daemon.prepare(job, !serving);
    worker.start(std::move(job));
  };

  for (;;) {
    pollfd fds[4] = {{signal_fd, POLLIN, 0},
                     {worker.fd(), POLLIN, 0},
                     {daemon.inbox_fd(), POLLIN, 0},
                     {watcher ? watcher->fd() : -1, POLLIN, 0}};
    int timeout_ms = -1;
    const auto wait_until = [&](Clock::time_point due) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(due - Clock::now()).count();
      const int ms = static_cast<int>(std::clamp<long long>(left, 0, 3'600'000));
      timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
    };
    wait_until(next_beat);
    if (!options.metrics_file.empty()) wait_until(metrics_due);
    if (!started) wait_until(daemon.sources_answered() ? Clock::now() : start_due);
    if (started && changed && !worker.busy()) wait_until(reload_due);
    if (serve && !serve->running()) wait_until(serve->restart_due());
    const int ready = ::poll(fds, watcher ? 4 : 3, timeout_ms);
    if (ready < 0 && errno != EINTR) {
      log::error(std::string("waiting for signals failed: ") + std::strerror(errno));
      daemon.mark_running(false);
      return leave(worker, serve, 1);
    }
    if (const auto now = Clock::now(); now >= next_beat) {
      daemon.beat();
      next_beat = now + heartbeat;
      if (!options.metrics_file.empty() && now >= metrics_due) {
        daemon.refresh_metrics();
        metrics_due = now + metrics_interval;
      }
    }

    if ((fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      const ssize_t n = ::read(signal_fd, &info, sizeof info);
      if (n != static_cast<ssize_t>(sizeof info) && !(n < 0 && (errno == EINTR || errno == EAGAIN))) {
        log::error(std::string("reading signals failed: ") + std::strerror(errno));
        daemon.mark_running(false);
        return leave(worker, serve, 1);
      }
      if (n == static_cast<ssize_t>(sizeof info)) {
        if (info.ssi_signo == SIGHUP) {
          if (started) asked = "reload on SIGHUP";
        } else if (info.ssi_signo == SIGCHLD) {
          if (std::optional<std::string> how = serve ? serve->reap() : std::nullopt)
            log::error("flagd-serve (serving sync and OFREP clients) " + *how + "; publication goes on, and it is "
                       "started again in " + std::to_string(std::chrono::ceil<std::chrono::seconds>(
                                                              serve->restart_due() - Clock::now()).count()) + " s");
        } else {
          // Prompt even during a load: the image readers see stays, the load is not published.
          const std::string stopping =
              std::string("stopping on ") + (info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT") + "; segment '" +
              options.segment + "' keeps generation " + std::to_string(daemon.served_generation()) + " for its readers" +
              (worker.busy() ? "; the load in progress is abandoned" : "");
          systemd.stopping(stopping);
          log::info(stopping);
          daemon.mark_running(false);
          return leave(worker, serve, 0);
        }
      }
    }

    if ((fds[1].revents & POLLIN) != 0) {
      if (std::optional<LoadJob> job = worker.take()) {
        const LoadOutcome outcome = daemon.finish(*job);
        if (!serving) {
          // A remote source's refusal is waited out (its next document may be good); a file's is not.
          if (outcome == LoadOutcome::Rejected && daemon.served_generation() == 0 &&
              (daemon.files_missing() || !daemon.has_remote_sources())) {
            daemon.mark_running(false);
            log::error("not starting: the flag files must load at start-up when the segment has no image to serve");
            return leave(worker, serve, 1);
          }
          if (outcome == LoadOutcome::Rejected && daemon.files_missing())
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

    if ((fds[2].revents & POLLIN) != 0 && daemon.take_arrivals() && started && !asked)
      asked = "reload on a new document";

    if (watcher && (fds[3].revents & POLLIN) != 0 && watcher->drain()) {
      const auto now = Clock::now();
      if (!changed) burst_started = now;
      changed = true;
      reload_due = std::min(now + debounce, burst_started + max_wait);
    }

    if (serve && !serve->running() && Clock::now() >= serve->restart_due()) {
      if (serve->start(error)) log::info("flagd-serve started again");
      else log::error(error);
    }

    if (worker.busy()) continue;
    if (!started) {
      if (!daemon.sources_answered() && Clock::now() < start_due) continue;
      started = true;
      changed = false;
      asked.reset();
      start_load("start-up load");
    } else if (asked) {
      start_load(std::move(*asked));
      asked.reset();
    } else if (changed && Clock::now() >= reload_due) {
      start_load("reload on a change to the flag files");
    } else if (daemon.documents_waiting()) {
      start_load("reload on a new document");
    }
  }
}

}  // namespace flagd
