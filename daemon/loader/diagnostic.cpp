#include "diagnostic.hpp"

#include <algorithm>

namespace flagd {

std::string format(const Diagnostic& d) {
  std::string s;
  s.append(d.file.empty() ? std::string_view("<input>") : std::string_view(d.file));
  if (d.line != 0) s += ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
  s += d.severity == Diagnostic::Severity::Error ? ": error: " : ": warning: ";
  if (!d.json_path.empty()) s += d.json_path + ": ";
  s += d.message;
  return s;
}

bool has_errors(const std::vector<Diagnostic>& diagnostics) noexcept {
  return std::any_of(diagnostics.begin(), diagnostics.end(),
                     [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::Error; });
}

void LineIndex::locate(std::size_t offset, std::uint32_t& line, std::uint32_t& column) {
  if (starts_.empty()) {
    starts_.reserve(1 + static_cast<std::size_t>(std::count(text_.begin(), text_.end(), '\n')));
    starts_.push_back(0);
    for (std::size_t i = text_.find('\n'); i != std::string_view::npos; i = text_.find('\n', i + 1))
      starts_.push_back(static_cast<std::uint32_t>(i + 1));
  }
  offset = std::min(offset, text_.size());
  const auto after = std::upper_bound(starts_.begin(), starts_.end(), offset);
  line = static_cast<std::uint32_t>(after - starts_.begin());
  column = static_cast<std::uint32_t>(offset - *(after - 1) + 1);
}

std::string path_join(std::string_view path, std::string_view key) {
  const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '$';
  });
  std::string s(path);
  if (plain) {
    if (!s.empty()) s += '.';
    s += key;
  } else {
    s += "[\"";
    for (char c : key) {
      if (c == '"' || c == '\\') s += '\\';
      s += c;
    }
    s += "\"]";
  }
  return s;
}

std::string path_index(std::string_view path, std::size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

std::string JsonPath::spelled() const {
  if (parent_ == nullptr) return "";
  const std::string base = parent_->spelled();
  return is_index_ ? path_index(base, index_) : path_join(base, key_);
}

}  // namespace flagd
