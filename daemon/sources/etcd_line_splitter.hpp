// Splits the watch stream of etcd's JSON gateway, one response object a line, into lines, holding
// at most one line's worth of bytes: a server that never ends its line cannot grow the buffer past
// the bound.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace flagd::etcd {

class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  // Appends `chunk` and calls `on_line(std::string_view)` for each line it completes, without the
  // "\r\n" or "\n"; empty lines are skipped. `on_line` returns false to stop: the rest of the chunk
  // is dropped and feed returns false. feed also returns false, and sets overflowed(), when a line
  // grows past the bound.
  template <class OnLine>
  bool feed(std::string_view chunk, OnLine&& on_line) {
    while (!chunk.empty()) {
      const std::size_t newline = chunk.find('\n');
      const std::string_view piece = chunk.substr(0, newline);
      if (pending_.size() + piece.size() > max_line_bytes_) {
        overflowed_ = true;
        pending_.clear();
        return false;
      }
      if (newline == std::string_view::npos) {
        pending_.append(piece);
        return true;
      }
      chunk.remove_prefix(newline + 1);
      std::string_view line = piece;
      if (!pending_.empty()) {
        pending_.append(piece);
        line = pending_;
      }
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const bool go_on = line.empty() || on_line(line);
      pending_.clear();
      if (!go_on) return false;
    }
    return true;
  }

  bool overflowed() const noexcept { return overflowed_; }
  std::size_t max_line_bytes() const noexcept { return max_line_bytes_; }

 private:
  std::size_t max_line_bytes_;
  std::string pending_;
  bool overflowed_ = false;
};

}  // namespace flagd::etcd
