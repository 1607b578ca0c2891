// Where yaml-cpp, which reads YAML flag files here, is more lenient than libyaml, which flagd
// reads them with (gopkg.in/yaml.v3 is a port of it): text flagd refuses, or reads otherwise,
// that yaml-cpp reads without a word. Each check looks at what yaml-cpp's events say and at the
// text around them, and names what flagd would refuse. These are the differences that running
// both parsers on generated and mutated flag files found; yaml-cpp may differ in rarer ways
// still (it refuses a few odd forms libyaml reads, like "[?x]" or "&a: 1").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace flagd {

class YamlGrammarCheck {
 public:
  explicit YamlGrammarCheck(std::string_view text) noexcept : text_(text) {}

  // A problem: its byte offset in the text and what it is.
  struct Problem {
    std::size_t offset = 0;
    std::string message;
  };

  // Where a node stands, as the event handler knows it.
  struct Place {
    bool in_mapping = false;  // else in a sequence
    bool flow = false;        // in [...], {...} or a pair in a flow sequence ("[a: 1]")
    bool braced = false;      // in {...}
    bool key = false;         // the node is a mapping key (else a value or an element)
    std::size_t key_at = 0;   // a mapping value's key's offset
  };

  // libyaml's anchor names: letters, digits, '-' and '_' ("&a.b" is the anchor "a" there).
  bool anchor_name(std::string_view name, std::size_t at, Problem& problem) const;

  // The anchor and tag a node written at `at` starts with, if any, as libyaml reads them: a tag
  // of URI characters and an anchor of name characters, each followed by a space or line break
  // (an anchor also by one of "?:,]}"); a tag handle other than ! and !! only with a %TAG
  // directive (yaml-cpp keeps "!x!y" as it stands). `tag` is the tag yaml-cpp reports.
  bool properties(std::size_t at, std::string_view tag, Problem& problem) const;

  // A null yaml-cpp made of nothing at `at`: an empty flow entry ("[a, , b]"), an entry with no
  // key (": 1"), a key without ':' ("a: 1\nb\n"), or "x:" before ',' ']' '}' in flow, which
  // libyaml reads as the plain scalar "x:".
  bool empty_node(const Place& place, std::size_t at, Problem& problem) const;

  // A block mapping's value whose node starts at `at` (its anchor or tag, if any), when its
  // content stands on a line of its own, must be indented more than its key (a block sequence
  // may stand at the key's indentation).
  bool block_value(std::size_t key_at, std::size_t at, bool block_sequence, Problem& problem) const;

  // A node of a block sequence written at `at` must not be separated from its '-' by a tab.
  bool block_entry(std::size_t at, Problem& problem) const;

  // Whether a scalar yaml-cpp tags "!" and whose node starts at `at` is plain ("! 12": the
  // non-specific tag, which yaml.v3 resolves as if there were none), not quoted or a block
  // scalar (which yaml-cpp tags "!" too). `empty`: its text is empty.
  bool plain_with_bang(std::size_t at, bool empty) const;

  // A plain scalar in a flow collection must not start with ':' ("[:x]": libyaml finds no value
  // there).
  bool plain(const Place& place, std::size_t at, Problem& problem) const;

  // A scalar yaml-cpp calls non-plain, whose node starts at `at` (its anchor or tag, if any): if
  // quoted, it must be closed (yaml-cpp runs an open quote to the end of the file), and a
  // double-quoted one must not hold "\/" (YAML 1.2's escape, which libyaml lacks).
  bool quoted(std::size_t at, Problem& problem);

  // After the document: a line starting with '%' outside quoted scalars is a directive, and
  // libyaml knows only %YAML and %TAG (yaml-cpp ignores the others).
  bool directives(Problem& problem) const;

 private:
  char at(std::size_t i) const noexcept { return i < text_.size() ? text_[i] : '\0'; }
  std::size_t line_start(std::size_t i) const noexcept;

  std::string_view text_;
  std::vector<std::pair<std::size_t, std::size_t>> quoted_;  // spans of quoted scalars, in order
};

// The first byte of `text` YAML does not allow, or npos, with what it is in `why`: libyaml's
// reader takes printable Unicode, tab and line breaks, in valid UTF-8; yaml-cpp checks none of it.
std::size_t yaml_first_disallowed(std::string_view text, std::string& why);

// The offset of the first character of the node yaml-cpp marks at `at`: past its anchor and
// tag (and the spaces or comments after them).
std::size_t yaml_content_at(std::string_view text, std::size_t at) noexcept;

}  // namespace flagd
