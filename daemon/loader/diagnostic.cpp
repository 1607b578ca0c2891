#include "diagnostic.hpp"

#include <algorithm>

#include "flagd/limits.hpp"

namespace flagd {

std::string format(const Diagnostic& d, Strictness strictness) {
  std::string s;
  s.append(d.file.empty() ? std::string_view("<input>") : std::string_view(d.file));
  if (d.line != 0) s += ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
  s += is_error(d, strictness) ? ": error: " : ": warning: ";
  if (!d.json_path.empty()) s += d.json_path + ": ";
  s += d.message;
  return s;
}

bool is_error(const Diagnostic& d, Strictness strictness) noexcept {
  return d.severity == Diagnostic::Severity::Error ||
         (d.severity == Diagnostic::Severity::Violation && strictness == Strictness::Strict);
}

bool has_errors(const std::vector<Diagnostic>& diagnostics, Strictness strictness) noexcept {
  return std::any_of(diagnostics.begin(), diagnostics.end(),
                     [strictness](const Diagnostic& d) { return is_error(d, strictness); });
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

namespace {

// The message with its quoted text (from the first quote to the last, so that a quote inside
// a key cannot split it) and each run of digits replaced, after a letter for the severity.
std::string kind_template(Diagnostic::Severity severity, std::string_view message) {
  std::string t(1, "EVW"[static_cast<int>(severity)]);
  const auto add_unquoted = [&t](std::string_view part) {
    for (std::size_t i = 0; i < part.size(); ++i) {
      const bool digit = part[i] >= '0' && part[i] <= '9';
      if (!digit) t += part[i];
      else if (i == 0 || part[i - 1] < '0' || part[i - 1] > '9') t += '#';
    }
  };
  const std::size_t first = message.find('"');
  const std::size_t last = message.rfind('"');
  if (first == last) {
    add_unquoted(message);
  } else {
    add_unquoted(message.substr(0, first));
    t += "\"\"";
    add_unquoted(message.substr(last + 1));
  }
  return t;
}

}  // namespace

bool DiagnosticLimiter::admit(Diagnostic::Severity severity, std::string_view message) {
  const auto [it, inserted] = index_.try_emplace(kind_template(severity, message), kinds_.size());
  if (inserted) kinds_.push_back(Kind{severity, std::string(message)});
  return ++kinds_[it->second].count <= limits::kMaxDiagnosticsPerKind;
}

void DiagnosticLimiter::report_omitted(std::string_view file, std::vector<Diagnostic>& out) const {
  for (const Kind& kind : kinds_) {
    if (kind.count <= limits::kMaxDiagnosticsPerKind) continue;
    const std::size_t omitted = kind.count - limits::kMaxDiagnosticsPerKind;
    Diagnostic d;
    d.severity = kind.severity;
    d.file = std::string(file);
    const char* noun = kind.severity == Diagnostic::Severity::Error       ? "error"
                       : kind.severity == Diagnostic::Severity::Violation ? "schema violation"
                                                                          : "warning";
    d.message = std::to_string(omitted) + " more " + noun + (omitted == 1 ? "" : "s") + " not listed, like: " +
                kind.example + " (a file lists at most " + std::to_string(limits::kMaxDiagnosticsPerKind) +
                " of each kind)";
    out.push_back(std::move(d));
  }
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
