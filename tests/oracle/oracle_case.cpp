#include "oracle_case.hpp"

namespace flagd::oracle {

namespace {

// Blanks after the separators outside strings: the same document, differently spelled.
std::string spaced_out(const std::string& compact) {
  std::string out;
  bool in_string = false;
  for (std::size_t i = 0; i < compact.size(); ++i) {
    const char c = compact[i];
    out += c;
    if (in_string) {
      if (c == '\\' && i + 1 < compact.size()) out += compact[++i];
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == ':' || c == ',') {
      out += ' ';
    }
  }
  return out;
}

}  // namespace

std::string file_text(const Case& c) {
  std::string text = dump(c.file);
  if (c.spaced) text = spaced_out(text);
  switch (c.breakage) {
    case Case::Breakage::None: break;
    case Case::Breakage::Truncated: text.pop_back(); break;
    case Case::Breakage::TrailingText: text += " x"; break;
  }
  return text + "\n";
}

std::string requests_text(const Case& c) {
  std::string out;
  for (const auto& r : c.requests) {
    dump_to(out, r);
    out += '\n';
  }
  return out;
}

std::string printable(const Case& c) {
  std::string out = "flags.json:\n  " + file_text(c);
  out += "requests.jsonl:\n";
  for (const auto& r : c.requests) out += "  " + dump(r) + "\n";
  return out;
}

}  // namespace flagd::oracle
