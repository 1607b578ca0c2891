#include "etcd_source.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "backoff.hpp"
#include "source_thread.hpp"
#include "etcd_base64.hpp"
#include "etcd_gateway.hpp"
#include "etcd_http.hpp"
#include "etcd_line_splitter.hpp"
#include "flagd/limits.hpp"
#include "flagd/printable.hpp"

namespace flagd {
namespace {

using namespace std::chrono_literals;
using etcd::GatewayHttp;

// An answer holds one value, base64-encoded, in a small JSON envelope; anything longer is refused
// before it is buffered whole.
constexpr std::size_t kMaxAnswerBytes = etcd::base64_encoded_size(limits::kMaxFileBytes) + (64u << 10);

// etcd sends a progress notification on an idle watch (progress_notify), every 10 minutes by
// default: a stream silent for much longer than that is dead even if TCP keepalive has not said so
// (a proxy in between that answers keepalives for a server that is gone).
constexpr std::chrono::milliseconds kSilenceLimit = 25min;

std::uint64_t unix_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

std::string bracketed_host(const std::string& host) {
  return host.find(':') != std::string::npos && host.front() != '[' ? "[" + host + "]" : host;
}

class EtcdSource final : public ThreadedSource {
 public:
  explicit EtcdSource(const SourceConfig& config)
      : config_(config),
        endpoint_(bracketed_host(config.host) + ":" + std::to_string(config.port)),
        display_uri_(!config.uri.empty() ? config.uri
                                         : (config.tls ? "etcds://" : "etcd://") + endpoint_ +
                                               (config.key.front() == '/' ? "" : "/") + config.key),
        where_("etcd at " + endpoint_),
        key_(printable(config.key)),
        http_({(config.tls ? "https://" : "http://") + endpoint_, config.ca_file, config.connect_timeout}),
        backoff_(config.backoff_initial, config.backoff_max) {}

  ~EtcdSource() override { stop(); }

  const std::string& display_uri() const noexcept override { return display_uri_; }

 private:
  // How a watch stream came to an end, as its answers said.
  enum class WatchEnd { None, Compacted, Canceled, BadAnswer, Rewound };

  void interrupt() noexcept override { http_.interrupt(); }

  void run() noexcept override {
    while (!thread().stopping()) {
      bool succeeded = false;
      try {
        succeeded = read_needed_ ? read_key() : watch();
      } catch (const std::exception& e) {  // out of memory, most likely: try again later
        fail_quietly(e.what());
      } catch (...) {
        fail_quietly("unknown failure");
      }
      if (!succeeded && !thread().stopping()) thread().wait(backoff_.after_failure());
    }
  }

  void report() { sink_->health(index_, health_); }

  // From a catch block of the noexcept thread function, where nothing may throw again.
  void fail_quietly(const char* why) noexcept {
    try {
      fail("etcd source for key " + key_ + " failed: " + why);
    } catch (...) {
      ++health_.failures;
    }
  }

  void fail(std::string error) {
    health_.last_attempt_unix_ns = unix_ns();
    health_.last_error = std::move(error);
    ++health_.failures;
    report();
  }

  // The source holds etcd's current state: what the key holds, or that it holds nothing.
  void in_sync() {
    health_.last_attempt_unix_ns = unix_ns();
    if (key_absent_) {
      health_.last_error = absent_message_;
    } else {
      health_.last_success_unix_ns = health_.last_attempt_unix_ns;
      health_.last_error.clear();
    }
  }

  // Reads the key: delivers its value if newer than the last delivered, and sets the revision the
  // watch starts from. False if the read failed.
  bool read_key() {
    const auto started = std::chrono::steady_clock::now();
    std::string body;
    bool too_long = false;
    const GatewayHttp::Result result =
        http_.post("/v3/kv/range", etcd::range_request(config_.key), config_.timeout, 0ms, [&](std::string_view chunk) {
          if (body.size() + chunk.size() > kMaxAnswerBytes) return !(too_long = true);
          body.append(chunk);
          return true;
        });
    if (result.end == GatewayHttp::End::Interrupted) return false;
    if (too_long) {
      fail(where_ + " answered the read of key " + key_ + " with more than " + std::to_string(kMaxAnswerBytes) +
           " bytes; refused");
      return false;
    }
    if (result.end != GatewayHttp::End::Complete) {
      fail(result.status == 0 ? "cannot connect to " + where_ + ": " + result.error
                              : "reading key " + key_ + " from " + where_ + " failed: " + result.error);
      return false;
    }
    std::string error;
    const std::optional<etcd::RangeAnswer> answer = etcd::parse_range_answer(body, error);
    if (!answer || result.status != 200) {
      fail(where_ + " refused the read of key " + key_ + " (HTTP " + std::to_string(result.status) +
           "): " + printable(answer ? std::string("unexpected status") : error));
      return false;
    }
    backoff_.succeeded();
    health_.fetch_latency_us = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
    // etcd's revision went back: the cluster was restored from a backup, and its history is not
    // the one delivered from, so whatever the key holds now is the truth.
    const bool history_rewound = rewound_ && answer->revision + 1 < watch_from_;
    rewound_ = false;
    watch_from_ = answer->revision + 1;
    read_needed_ = false;
    if (!answer->kv) {
      key_absent_ = true;
      absent_message_ = delivered_revision_ > 0
                            ? "key " + key_ + " no longer exists in " + where_ + " (revision " +
                                  std::to_string(answer->revision) + "); keeping the last document"
                            : "key " + key_ + " does not exist in " + where_ + " (revision " +
                                  std::to_string(answer->revision) + "); waiting for it to be put";
      in_sync();
      report();
      return true;
    }
    take_value(*answer->kv, history_rewound);
    return true;
  }

  // A value the key holds (from a read or a PUT): delivered unless it is not newer than the last
  // delivered, too large, or not base64.
  void take_value(const etcd::KeyValue& kv, bool history_rewound = false) {
    key_absent_ = false;
    const std::string revision = std::to_string(kv.mod_revision);
    if (kv.mod_revision <= delivered_revision_ && !(history_rewound && kv.mod_revision != delivered_revision_)) {
      in_sync();
      report();
      return;
    }
    if (const std::size_t size = etcd::base64_decoded_size(kv.value_base64); size > limits::kMaxFileBytes) {
      fail("the value of key " + key_ + " in " + where_ + " at revision " + revision + " is " + std::to_string(size) +
           " bytes, over the limit of " + std::to_string(limits::kMaxFileBytes) +
           " bytes; keeping the last document");
      return;
    }
    std::optional<std::string> value = etcd::base64_decode(kv.value_base64);
    if (!value) {
      fail("the value of key " + key_ + " in " + where_ + " at revision " + revision +
           " is not valid base64 as etcd's gateway sends it; keeping the last document");
      return;
    }
    delivered_revision_ = kv.mod_revision;
    health_.version = revision;
    health_.bytes = value->size();
    ++health_.documents;
    sink_->document(index_, std::move(*value), revision, format_named(key_));
    in_sync();
    report();
  }

  // Watches the key from watch_from_ until the stream ends. False if it ended by a failure (to be
  // retried after backoff); true if it ended for a fresh read to follow at once, or for stop().
  bool watch() {
    etcd::LineSplitter lines(kMaxAnswerBytes);
    WatchEnd end = WatchEnd::None;
    std::string end_error;
    bool created = false;
    const GatewayHttp::Result result = http_.post(
        "/v3/watch", etcd::watch_request(config_.key, watch_from_), 0ms, kSilenceLimit, [&](std::string_view chunk) {
          return lines.feed(chunk, [&](std::string_view line) { return take_watch_answer(line, created, end, end_error); });
        });
    if (result.end == GatewayHttp::End::Interrupted) return true;
    const std::string status = result.status != 200 && result.status != 0
                                   ? " (HTTP " + std::to_string(result.status) + ")"
                                   : std::string();
    if (lines.overflowed()) {
      read_needed_ = true;  // the read answers with the one current value, however long the backlog
      fail(where_ + " sent a watch answer for key " + key_ + " longer than " + std::to_string(kMaxAnswerBytes) +
           " bytes; re-reading the key");
      return false;
    }
    switch (end) {
      case WatchEnd::Compacted:
        read_needed_ = true;
        // A compaction right after a fresh read means etcd compacts faster than the source can
        // follow (or misbehaves): back off rather than read in a loop.
        if (compactions_in_a_row_ > 1) {
          ++health_.failures;
          report();
          return false;
        }
        return true;
      case WatchEnd::Rewound:
        read_needed_ = true;
        rewound_ = true;
        fail(end_error);
        return false;
      case WatchEnd::Canceled:
      case WatchEnd::BadAnswer:
        fail(end_error + status);
        return false;
      case WatchEnd::None:
        break;
    }
    switch (result.end) {
      case GatewayHttp::End::Silent:
        fail("no answer from " + where_ + " on the watch of key " + key_ + " for " +
             std::to_string(std::chrono::duration_cast<std::chrono::minutes>(kSilenceLimit).count()) +
             " minutes, not even a progress notification; reconnecting from revision " + std::to_string(watch_from_));
        break;
      case GatewayHttp::End::Failed:
        fail(result.status == 0 && !created
                 ? "cannot connect to " + where_ + ": " + result.error
                 : "the watch of key " + key_ + " on " + where_ + " broke: " + result.error + "; resuming from revision " +
                       std::to_string(watch_from_));
        break;
      default:
        fail(where_ + " ended the watch of key " + key_ + status + "; resuming from revision " +
             std::to_string(watch_from_));
        break;
    }
    return false;
  }

  // One answer of the watch stream. False ends the stream, with `end` saying why.
  bool take_watch_answer(std::string_view line, bool& created, WatchEnd& end, std::string& end_error) {
    std::string error;
    const std::optional<etcd::WatchAnswer> answer = etcd::parse_watch_answer(line, error);
    if (!answer) {
      end = WatchEnd::BadAnswer;
      end_error = "the watch of key " + key_ + " on " + where_ + " failed: " + printable(error);
      return false;
    }
    if (answer->canceled) {
      if (answer->compact_revision > 0) {
        ++compactions_in_a_row_;
        end = WatchEnd::Compacted;
        health_.last_attempt_unix_ns = unix_ns();
        health_.last_error = "revision " + std::to_string(watch_from_) + " of " + where_ +
                             " was compacted (the oldest kept is " + std::to_string(answer->compact_revision) +
                             "); re-reading key " + key_;
        report();
      } else {
        end = WatchEnd::Canceled;
        end_error = "the watch of key " + key_ + " on " + where_ + " was canceled: " +
                    (answer->cancel_reason.empty() ? std::string("no reason given") : printable(answer->cancel_reason));
      }
      return false;
    }
    if (answer->created) {
      if (answer->revision > 0 && answer->revision + 1 < watch_from_) {
        end = WatchEnd::Rewound;
        end_error = where_ + " is at revision " + std::to_string(answer->revision) + ", before revision " +
                    std::to_string(watch_from_ - 1) + " which this source has seen (restored from a backup?); re-reading key " +
                    key_;
        return false;
      }
      created = true;
      backoff_.succeeded();
      in_sync();
      report();
      return true;
    }
    compactions_in_a_row_ = 0;
    if (answer->event_count == 0) {  // a progress notification: nothing for the key up to its revision
      watch_from_ = std::max(watch_from_, answer->revision + 1);
      in_sync();
      report();
      return true;
    }
    // The events of one answer cover the key's changes up to the last event's revision, not
    // necessarily up to the header's: more may follow in the next answer.
    watch_from_ = std::max(watch_from_, answer->last.mod_revision + 1);
    if (answer->last_is_delete) {
      key_absent_ = true;
      absent_message_ = "key " + key_ + " was deleted at revision " + std::to_string(answer->last.mod_revision) +
                        "; keeping the last document";
      in_sync();
      report();
      return true;
    }
    take_value(answer->last);
    return true;
  }

  const SourceConfig config_;
  const std::string endpoint_;     // HOST:PORT
  const std::string display_uri_;
  const std::string where_;        // "etcd at HOST:PORT", for messages
  const std::string key_;          // printable, for messages
  GatewayHttp http_;
  Backoff backoff_;


  // Owned by the source's thread.
  SourceHealth health_;
  bool read_needed_ = true;            // read the key before (re)starting the watch
  std::int64_t watch_from_ = 0;        // the first revision the watch has not yet seen
  std::int64_t delivered_revision_ = 0;
  bool key_absent_ = false;            // the key does not exist, as of the last read or event
  std::string absent_message_;
  bool rewound_ = false;               // etcd's revision went back; the next read says how far
  int compactions_in_a_row_ = 0;
};

}  // namespace

std::unique_ptr<RemoteSource> make_etcd_source(const SourceConfig& config) {
  if (config.kind != SourceKind::Etcd) throw std::invalid_argument("not an etcd source: " + config.uri);
  if (config.host.empty() || config.port == 0)
    throw std::invalid_argument("etcd source " + config.uri + " names no HOST:PORT (etcd://HOST:PORT/KEY)");
  if (config.key.empty()) throw std::invalid_argument("etcd source " + config.uri + " names no key (etcd://HOST:PORT/KEY)");
  return std::make_unique<EtcdSource>(config);
}

}  // namespace flagd
