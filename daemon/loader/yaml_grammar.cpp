#include "yaml_grammar.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "yaml_scalar.hpp"

namespace flagd {

namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// libyaml's characters of a tag's URI (yaml_parser_scan_tag_uri), besides name characters.
bool is_uri_char(char c) noexcept {
  return is_name_char(c) || std::string_view(";/?:@&=+$,.!~*'()[]%").find(c) != std::string_view::npos;
}

}  // namespace

std::size_t yaml_content_at(std::string_view text, std::size_t at) noexcept {
  while (at < text.size()) {
    if (text[at] == '&' || text[at] == '!') {
      while (at < text.size() && !is_space(text[at])) ++at;
    } else if (is_space(text[at])) {
      ++at;
    } else if (text[at] == '#') {
      while (at < text.size() && text[at] != '\n') ++at;
    } else {
      break;
    }
  }
  return at;
}

std::size_t yaml_first_disallowed(std::string_view text, std::string& why) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      ++i;
      continue;
    }
    const std::size_t n = utf8_length_at(text, i);
    char buf[64];
    if (n == 0) {
      std::snprintf(buf, sizeof buf, "invalid UTF-8 byte 0x%02x", c);
      why = buf;
      return i;
    }
    std::uint32_t cp = n == 1 ? c : c & (0xFFu >> (n + 1));
    for (std::size_t k = 1; k < n; ++k) cp = cp << 6 | (static_cast<unsigned char>(text[i + k]) & 0x3Fu);
    const bool allowed = cp == 0x09 || cp == 0x0A || cp == 0x0D || cp == 0x85 || (cp >= 0xA0 && cp <= 0xD7FF) ||
                         (cp >= 0xE000 && cp <= 0xFFFD) || cp >= 0x10000;
    if (!allowed) {
      std::snprintf(buf, sizeof buf, "the character U+%04X is not allowed in YAML", static_cast<unsigned>(cp));
      why = buf;
      return i;
    }
    i += n;
  }
  return std::string_view::npos;
}

std::size_t YamlGrammarCheck::line_start(std::size_t i) const noexcept {
  const std::size_t newline = i == 0 ? std::string_view::npos : text_.rfind('\n', i - 1);
  return newline == std::string_view::npos ? 0 : newline + 1;
}

bool YamlGrammarCheck::anchor_name(std::string_view name, std::size_t at, Problem& problem) const {
  for (char c : name)
    if (!is_name_char(c)) {
      problem = {at, "the anchor name \"" + std::string(name) +
                         "\" holds a character other than letters, digits, '-' and '_' (flagd refuses it)"};
      return false;
    }
  return true;
}

bool YamlGrammarCheck::properties(std::size_t i, std::string_view tag, Problem& problem) const {
  if (tag.size() > 2 && tag[0] == '!' && tag.find('!', 1) != std::string_view::npos) {
    problem = {i, "the tag handle " + std::string(tag.substr(0, tag.find('!', 1) + 1)) +
                      " is not declared by a %TAG directive (flagd refuses it)"};
    return false;
  }
  while (at(i) == '!' || at(i) == '&') {
    const bool anchor = at(i) == '&';
    std::size_t end = i + 1;
    if (anchor) {
      while (is_name_char(at(end))) ++end;
    } else if (at(end) == '<') {
      end = text_.find('>', end);
      end = end == std::string_view::npos ? text_.size() : end + 1;
    } else {
      while (is_uri_char(at(end))) ++end;
      // yaml-cpp ends a tag at ',', '[' or ']'; libyaml reads on.
      const std::string_view run = text_.substr(i, end - i);
      if (run.find_first_of(",[]") != std::string_view::npos) {
        problem = {i, "a tag holding ',', '[' or ']' (flagd reads them as part of the tag; put a space after the tag)"};
        return false;
      }
    }
    const char next = at(end);
    const bool ends = next == '\0' || is_space(next) ||
                      (anchor && std::string_view("?:,]}%@`").find(next) != std::string_view::npos);
    if (!ends) {
      problem = {end, std::string(anchor ? "an anchor" : "a tag") +
                          " must be followed by a space or a line break (flagd refuses it)"};
      return false;
    }
    i = end;
    while (at(i) == ' ' || at(i) == '\t') ++i;
  }
  return true;
}

bool YamlGrammarCheck::empty_node(const Place& place, std::size_t i, Problem& problem) const {
  const char c = at(i);
  if (!place.in_mapping) {
    if (place.flow && (c == ',' || c == ']')) {
      problem = {i, "an empty entry in a flow sequence (flagd refuses it; write null for a null)"};
      return false;
    }
    return true;
  }
  if (place.key) {
    if (c == ':' || (place.braced && (c == ',' || c == '}'))) {
      problem = {i, "a mapping entry without a key (flagd refuses it)"};
      return false;
    }
    return true;
  }
  if (place.flow && (c == ',' || c == ']' || c == '}') && i > 0 && at(i - 1) == ':') {
    problem = {i - 1, "':' right before '" + std::string(1, c) +
                          "': flagd reads it as part of the key; put a space after ':', or quote the key"};
    return false;
  }
  // yaml-cpp marks the missing value of "key" (no ':') where the key stands.
  if (!place.flow && i == place.key_at) {
    problem = {i, "a mapping key without ':' after it (flagd refuses it)"};
    return false;
  }
  return true;
}

bool YamlGrammarCheck::block_value(std::size_t key_at, std::size_t node_at, bool block_sequence,
                                   Problem& problem) const {
  const std::size_t i = yaml_content_at(text_, node_at);
  const std::size_t line = line_start(i);
  if (block_sequence || line <= key_at) return true;
  if (!std::all_of(text_.begin() + static_cast<std::ptrdiff_t>(line), text_.begin() + static_cast<std::ptrdiff_t>(i),
                   [](char c) { return c == ' ' || c == '\t'; }))
    return true;  // after an explicit ": " of "? key"
  if (i - line > key_at - line_start(key_at)) return true;
  problem = {i, "a mapping value on a line of its own must be indented more than its key (flagd refuses it)"};
  return false;
}

bool YamlGrammarCheck::block_entry(std::size_t i, Problem& problem) const {
  std::size_t start = i;
  while (start > 0 && (text_[start - 1] == ' ' || text_[start - 1] == '\t')) --start;
  if (start == 0 || text_[start - 1] != '-' || text_.substr(start, i - start).find('\t') == std::string_view::npos)
    return true;
  problem = {start, "a tab after '-' (flagd refuses it; use spaces)"};
  return false;
}

bool YamlGrammarCheck::plain_with_bang(std::size_t node_at, bool empty) const {
  const std::size_t content = yaml_content_at(text_, node_at);
  const char c = at(content);
  if (c != '"' && c != '\'' && c != '|' && c != '>') return true;
  // "a: !" then a quoted key on the next line: the tag stands on an empty plain scalar.
  return empty && text_.substr(node_at, content - node_at).find('\n') != std::string_view::npos;
}

bool YamlGrammarCheck::plain(const Place& place, std::size_t node_at, Problem& problem) const {
  const std::size_t start = yaml_content_at(text_, node_at);
  if (!place.flow || at(start) != ':') return true;
  problem = {start, "a plain scalar starting with ':' in a flow collection (flagd refuses it; quote it)"};
  return false;
}

bool YamlGrammarCheck::quoted(std::size_t node_at, Problem& problem) {
  const std::size_t open = yaml_content_at(text_, node_at);
  const char quote = at(open);
  if (quote != '"' && quote != '\'') return true;
  for (std::size_t i = open + 1; i < text_.size(); ++i) {
    if (quote == '\'' && text_[i] == '\'') {
      if (at(i + 1) == '\'') {
        ++i;
        continue;
      }
      quoted_.emplace_back(open, i);
      return true;
    }
    if (quote == '"' && text_[i] == '\\') {
      if (at(i + 1) == '/') {
        problem = {i, "the escape \\/ in a double-quoted string (flagd refuses it; write / alone)"};
        return false;
      }
      ++i;
      continue;
    }
    if (quote == '"' && text_[i] == '"') {
      quoted_.emplace_back(open, i);
      return true;
    }
  }
  problem = {open, "a quoted string is not closed before the end of the file"};
  return false;
}

bool YamlGrammarCheck::directives(Problem& problem) const {
  std::size_t span = 0;
  for (std::size_t line = 0; line < text_.size();) {
    if (text_[line] == '%') {
      while (span < quoted_.size() && quoted_[span].second < line) ++span;
      const bool inside = span < quoted_.size() && quoted_[span].first < line;
      std::size_t end = line + 1;
      while (end < text_.size() && !is_space(text_[end])) ++end;
      const std::string_view name = text_.substr(line + 1, end - line - 1);
      if (!inside && name != "YAML" && name != "TAG") {
        problem = {line, "the directive %" + std::string(name) + " (flagd knows only %YAML and %TAG)"};
        return false;
      }
    }
    const std::size_t newline = text_.find('\n', line);
    if (newline == std::string_view::npos) break;
    line = newline + 1;
  }
  return true;
}

}  // namespace flagd
