#include "metrics.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

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

}  // namespace

std::string metrics_text(const DaemonMetrics& m) {
  const std::string seg = "segment=\"" + label(m.segment) + "\"";
  std::string out;
  out += "# HELP flagd_reloads_total Loads of the flag files (the start-up load included), by result.\n"
         "# TYPE flagd_reloads_total counter\n";
  out += "flagd_reloads_total{" + seg + ",result=\"published\"} " + std::to_string(m.reloads_published) + "\n";
  out += "flagd_reloads_total{" + seg + ",result=\"rejected\"} " + std::to_string(m.reloads_rejected) + "\n";
  metric(out, "flagd_generation", "gauge", "Generation of the image readers see.", seg, std::to_string(m.generation));
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f", m.last_success_unix_seconds);
  metric(out, "flagd_last_reload_success_timestamp_seconds", "gauge",
         "When the flags were last published (Unix time).", seg, seconds);
  metric(out, "flagd_flags", "gauge", "Flags in the published image.", seg, std::to_string(m.flags));
  metric(out, "flagd_expired_flags", "gauge", "Flags of the published image past their metadata expires.", seg,
         std::to_string(m.expired_flags));
  metric(out, "flagd_segment_bytes", "gauge", "Size of the shared-memory segment.", seg, std::to_string(m.segment_bytes));
  metric(out, "flagd_image_bytes", "gauge", "Size of the published image.", seg, std::to_string(m.image_bytes));
  metric(out, "flagd_build_info", "gauge", "The daemon's version.", "version=\"" + label(m.version) + "\"", "1");
  return out;
}

bool write_metrics_file(const std::string& path, const DaemonMetrics& m, std::string& error) {
  const std::string text = metrics_text(m);
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot write metrics to '" + temporary + "': " + std::strerror(errno);
    return false;
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  const bool written = done == text.size() && ::close(fd) == 0;
  if (!written) {
    error = "cannot write metrics to '" + temporary + "': " + std::strerror(errno);
    ::unlink(temporary.c_str());
    return false;
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    error = "cannot rename metrics file to '" + path + "': " + std::strerror(errno);
    ::unlink(temporary.c_str());
    return false;
  }
  return true;
}

}  // namespace flagd
