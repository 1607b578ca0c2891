#include "metrics.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <utility>

#include "flagd/file_mode.hpp"

namespace flagd {

namespace {

// A label value, escaped as the exposition format requires.
std::string label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void metric(std::string& out, const char* name, const char* type, const char* help, const std::string& labels,
            const std::string& value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  out += std::string(name) + "{" + labels + "} " + value + "\n";
}

std::string decimal(double value, int digits) {
  char text[40];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

// Each family once, with one sample per source.
void source_metrics(std::string& out, const std::string& seg, const std::vector<SourceMetrics>& sources) {
  if (sources.empty()) return;
  const auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const SourceMetrics& s : sources)
      out += std::string(name) + "{" + seg + ",uri=\"" + label(s.uri) + "\"} " + value(s) + "\n";
  };
  out += "# HELP flagd_source_info A flag source: its kind and what the image holds from it "
         "(current, stale, cached, waiting).\n# TYPE flagd_source_info gauge\n";
  for (const SourceMetrics& s : sources)
    out += "flagd_source_info{" + seg + ",uri=\"" + label(s.uri) + "\",kind=\"" + s.kind + "\",state=\"" + s.state +
           "\"} 1\n";
  family("flagd_source_up", "gauge", "1 when the source's last attempt succeeded.",
         [](const SourceMetrics& s) { return std::string(s.up ? "1" : "0"); });
  family("flagd_source_stale", "gauge", "1 when the image does not hold the source's latest document (state stale, cached or waiting).",
         [](const SourceMetrics& s) { return std::string(s.state == "current" ? "0" : "1"); });
  family("flagd_source_last_success_timestamp_seconds", "gauge", "When the source last answered (Unix time).",
         [](const SourceMetrics& s) { return decimal(s.last_success_unix_seconds, 3); });
  family("flagd_source_last_attempt_timestamp_seconds", "gauge", "When the source was last tried (Unix time).",
         [](const SourceMetrics& s) { return decimal(s.last_attempt_unix_seconds, 3); });
  family("flagd_source_bytes", "gauge", "Size of the source's last document.",
         [](const SourceMetrics& s) { return std::to_string(s.bytes); });
  family("flagd_source_fetch_latency_seconds", "gauge", "Duration of the source's last successful fetch.",
         [](const SourceMetrics& s) { return decimal(s.fetch_latency_seconds, 6); });
  family("flagd_source_documents_total", "counter", "Documents the source delivered.",
         [](const SourceMetrics& s) { return std::to_string(s.documents); });
  family("flagd_source_unchanged_total", "counter", "Answers that the document had not changed (HTTP 304).",
         [](const SourceMetrics& s) { return std::to_string(s.unchanged); });
  family("flagd_source_failures_total", "counter", "Attempts of the source that failed.",
         [](const SourceMetrics& s) { return std::to_string(s.failures); });
  family("flagd_source_refused_total", "counter", "Documents of the source that were not valid.",
         [](const SourceMetrics& s) { return std::to_string(s.refused); });
}

}  // namespace

std::string metrics_text(const DaemonMetrics& m) {
  const std::string seg = "segment=\"" + label(m.segment) + "\"";
  std::string out;
  out += "# HELP flagd_reloads_total Loads of the flag files (the start-up load included), by result.\n"
         "# TYPE flagd_reloads_total counter\n";
  out += "flagd_reloads_total{" + seg + ",result=\"published\"} " + std::to_string(m.reloads_published) + "\n";
  out += "flagd_reloads_total{" + seg + ",result=\"rejected\"} " + std::to_string(m.reloads_rejected) + "\n";
  out += "flagd_reloads_total{" + seg + ",result=\"unchanged\"} " + std::to_string(m.reloads_unchanged) + "\n";
  metric(out, "flagd_generation", "gauge", "Generation of the image readers see.", seg, std::to_string(m.generation));
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f", m.last_success_unix_seconds);
  metric(out, "flagd_last_reload_success_timestamp_seconds", "gauge",
         "When the flags were last published (Unix time).", seg, seconds);
  metric(out, "flagd_flags", "gauge", "Flags in the published image.", seg, std::to_string(m.flags));
  metric(out, "flagd_expired_flags", "gauge", "Flags of the published image past their metadata expires.", seg,
         std::to_string(m.expired_flags));
  metric(out, "flagd_load_warnings", "gauge",
         "Warnings of the published load: flags that break flagd's schema, loaded as flagd loads them.", seg,
         std::to_string(m.load_warnings));
  metric(out, "flagd_segment_bytes", "gauge", "Size of the shared-memory segment.", seg, std::to_string(m.segment_bytes));
  metric(out, "flagd_image_bytes", "gauge", "Size of the published image.", seg, std::to_string(m.image_bytes));
  source_metrics(out, seg, m.sources);
  metric(out, "flagd_build_info", "gauge", "The daemon's version.", "version=\"" + label(m.version) + "\"", "1");
  return out;
}

namespace {

struct Descriptor {
  int fd = -1;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

// Unpredictable, so that another user cannot take every name the daemon would try; O_EXCL, not
// the name, is what keeps the write from going anywhere else.
std::string random_suffix() {
  std::array<unsigned char, 9> bytes{};
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, GRND_NONBLOCK);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got < bytes.size()) {  // no entropy yet (early boot): still unique within this host
    static std::atomic<std::uint64_t> counter{0};
    const std::uint64_t mix = (static_cast<std::uint64_t>(::getpid()) << 40) ^
                              static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                              (counter.fetch_add(1) * 0x9E3779B97F4A7C15ULL);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(mix >> (8 * (i % 8)) ^ i);
  }
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  for (unsigned char b : bytes) out += kAlphabet[b & 63];
  return out;
}

// Why users other than root and this one could replace or plant files in the directory, or "".
std::string unsafe_directory(const std::string& directory, const struct stat& info) {
  const std::string where = "the --metrics-file directory '" + directory + "' ";
  if (info.st_uid != 0 && info.st_uid != ::geteuid()) {
    return where + "is owned by uid " + std::to_string(info.st_uid) +
           ", who can replace the metrics file; use a directory owned by root or this daemon's user";
  }
  if ((info.st_mode & S_IWOTH) != 0) {
    return where + "is writable by every user (mode " + octal_mode(info.st_mode) +
           "): anyone can put files there for the collector or take the metrics file's name first; use a "
           "directory only root or this daemon's user can write";
  }
  if ((info.st_mode & S_IWGRP) != 0 && (info.st_mode & S_ISVTX) == 0) {
    return where + "is writable by its group (gid " + std::to_string(info.st_gid) + ", mode " +
           octal_mode(info.st_mode) + ") and not sticky: the group's users can replace the metrics file (chmod g-w)";
  }
  return "";
}

// True the first time this process asks about `path`.
bool first_report(const std::string& path) {
  static std::mutex mutex;
  static std::set<std::string> written;
  const std::lock_guard<std::mutex> lock(mutex);
  return written.insert(path).second;
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

bool write_metrics_file(const std::string& path, const DaemonMetrics& m, std::string& error, std::string& warning) {
  error.clear();
  warning.clear();
  const std::size_t slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    error = "cannot write metrics to '" + path + "': not a file name";
    return false;
  }
  // Every step is relative to this descriptor, so the temporary file is created, renamed and
  // removed in the one directory that was checked, whatever is renamed meanwhile.
  // O_NOFOLLOW: a directory swapped for a symbolic link would send the rename anywhere.
  Descriptor dir{::open(directory.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  struct stat info{};
  if (dir.fd < 0 || ::fstat(dir.fd, &info) != 0 || !S_ISDIR(info.st_mode)) {
    error = "cannot write metrics to '" + path + "': cannot open its directory " + directory +
            (dir.fd >= 0 || errno == ENOTDIR || errno == ELOOP ? " (a symbolic link, or not a directory)"
                                                              : ": " + std::string(std::strerror(errno)));
    return false;
  }
  const std::string unsafe = unsafe_directory(directory, info);

  // O_EXCL|O_NOFOLLOW: a name someone else planted, as a file, a hard link or a symbolic link, is
  // never opened; another name is tried instead.
  std::string temporary;
  Descriptor file;
  for (int attempt = 0; attempt < 100 && file.fd < 0; ++attempt) {
    temporary = name + ".tmp." + random_suffix();
    file.fd = ::openat(dir.fd, temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (file.fd < 0 && errno != EEXIST) break;
  }
  if (file.fd < 0) {
    error = "cannot create a temporary file for the metrics in '" + directory + "': " + std::strerror(errno);
    return false;
  }
  const bool written = write_all(file.fd, metrics_text(m));
  const int saved = errno;
  const bool closed = ::close(std::exchange(file.fd, -1)) == 0;
  if (!written || !closed) {
    error = "cannot write metrics to '" + directory + "/" + temporary + "': " + std::strerror(written ? errno : saved);
    ::unlinkat(dir.fd, temporary.c_str(), 0);
    return false;
  }
  // rename replaces whatever `path` names, a symbolic link included, and never writes through it.
  if (::renameat(dir.fd, temporary.c_str(), dir.fd, name.c_str()) != 0) {
    error = "cannot rename the metrics file into place as '" + path + "': " + std::strerror(errno);
    ::unlinkat(dir.fd, temporary.c_str(), 0);
    return false;
  }
  // Only after a write that worked: a caller who shows only a failure's error would never see it.
  if (!unsafe.empty() && first_report(path)) warning = unsafe;
  return true;
}

bool write_metrics_file(const std::string& path, const DaemonMetrics& m, std::string& error) {
  std::string warning;
  if (!write_metrics_file(path, m, error, warning)) return false;
  if (warning.empty()) return true;
  error = warning + " (the metrics were written)";
  return false;
}

}  // namespace flagd
