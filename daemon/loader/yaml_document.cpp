#include "yaml_document.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <deque>
#include <istream>
#include <streambuf>
#include <string>

#include "flagd/limits.hpp"
#include "string_view_table.hpp"
#include "yaml_grammar.hpp"
#include "yaml_scalar.hpp"

namespace flagd {

namespace {

constexpr std::uint32_t kNone = 0xFFFFFFFF;

struct Position {
  std::uint32_t line = 0, column = 0;  // 1-based
};

// The YAML as yaml-cpp's events give it, before any JSON is made of it.
struct Node {
  enum class Kind : std::uint8_t { Null, Scalar, Sequence, Mapping, Alias };
  Kind kind = Kind::Null;  // Null: an untagged plain null (~, null, empty)
  YamlTag tag = YamlTag::Plain;
  bool open = false;  // a collection whose end is still to come
  Position at;
  std::uint32_t offset = 0;  // of its mark in the text
  // Scalar: its text in Tree::chars. Collection: its children in Tree::children (a mapping's
  // key, value, key, value ...). Alias: `first` is the node it names.
  std::uint32_t first = 0, count = 0;
};

struct Tree {
  std::vector<Node> nodes;
  std::string chars;
  std::vector<std::uint32_t> children;
  std::vector<std::uint32_t> anchors;  // the node of each yaml-cpp anchor number
  std::vector<std::string> anchor_names;
  std::uint32_t root = kNone;

  void clear() {
    nodes.clear();
    chars.clear();
    children.clear();
    anchors.clear();
    anchor_names.clear();
    root = kNone;
  }
  std::string_view text(const Node& n) const { return std::string_view(chars).substr(n.first, n.count); }
  std::uint32_t child(const Node& n, std::size_t i) const { return children[n.first + i]; }
};

Position position_of(const YAML::Mark& mark) {
  return {static_cast<std::uint32_t>(mark.line + 1), static_cast<std::uint32_t>(mark.column + 1)};
}

// yaml-cpp writes the escapes \N and \_ as the single bytes 0x85 and 0xA0, not as the UTF-8 of
// U+0085 and U+00A0. The text is checked to be UTF-8 before it is parsed, so a byte that is no
// part of valid UTF-8 in a scalar comes from those escapes.
void append_scalar(std::string& out, std::string_view value) {
  for (std::size_t i = 0; i < value.size();) {
    const std::size_t n = utf8_length_at(value, i);
    if (n == 0) {
      out += '\xC2';
      out += value[i++];
    } else {
      out.append(value, i, n);
      i += n;
    }
  }
}

// Thrown through yaml-cpp from an event handler to end the parse.
struct Stop {
  Position at;
  std::string message;
};

// Records the first document's events as a Tree, refusing what flagd's parser refuses and
// yaml-cpp does not (yaml_grammar.hpp). The nesting limit is applied here too, so that a deep
// file stops early; copies made by aliases are checked again when converted.
class TreeBuilder final : public YAML::EventHandler {
 public:
  TreeBuilder(Tree& tree, std::string_view text) : tree_(tree), text_(text), grammar_(text), lines_(text) {}

  int document_start = -1;  // the offset yaml-cpp starts the document at

  // What the document holds beyond its events: directives flagd does not know.
  void finish() {
    YamlGrammarCheck::Problem problem;
    if (!grammar_.directives(problem)) stop(problem);
  }

  void OnDocumentStart(const YAML::Mark& mark) override { document_start = mark.pos; }
  void OnDocumentEnd() override {}
  void OnAnchor(const YAML::Mark& mark, const std::string& name) override {
    YamlGrammarCheck::Problem problem;
    if (!grammar_.anchor_name(name, offset_of(mark), problem)) stop(problem);
    anchor_name_ = name;
  }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    YamlGrammarCheck::Problem problem;
    if (depth_ > 0 && !grammar_.empty_node(place(), offset_of(mark), problem)) stop(problem);
    add(Node::Kind::Null, mark, anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const std::uint32_t target = anchor < tree_.anchors.size() ? tree_.anchors[anchor] : kNone;
    if (target == kNone) throw Stop{position_of(mark), "an alias names no anchor"};
    // yaml.v3: "anchor value contains itself".
    if (tree_.nodes[target].open)
      throw Stop{position_of(mark), "the alias *" + tree_.anchor_names[anchor] + " stands inside the value it names"};
    tree_.nodes[add(Node::Kind::Alias, mark, 0)].first = target;
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    YamlGrammarCheck::Problem problem;
    const bool plain = tag == "?" || (tag == "!" && grammar_.plain_with_bang(offset_of(mark), value.empty()));
    if (!plain && tag == "!" && !grammar_.quoted(offset_of(mark), problem)) stop(problem);
    if (plain && depth_ > 0 && !grammar_.plain(place(), offset_of(mark), problem)) stop(problem);
    // An empty scalar ("a: !!str") has no content whose indentation counts.
    Node& n = tree_.nodes[add(Node::Kind::Scalar, mark, anchor, tag, false, !value.empty() || (tag == "!" && !plain))];
    n.tag = plain ? YamlTag::Plain : classify_yaml_tag(tag);
    n.first = static_cast<std::uint32_t>(tree_.chars.size());
    append_scalar(tree_.chars, value);
    n.count = static_cast<std::uint32_t>(tree_.chars.size() - n.first);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value style) override {
    open(Node::Kind::Sequence, mark, anchor, tag, style);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value style) override {
    open(Node::Kind::Mapping, mark, anchor, tag, style);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Open {
    std::uint32_t node;
    YamlGrammarCheck::Place place;  // of the collection's children
  };

  [[noreturn]] void stop(const YamlGrammarCheck::Problem& problem) {
    Position at;
    lines_.locate(problem.offset, at.line, at.column);
    throw Stop{at, problem.message};
  }
  std::size_t offset_of(const YAML::Mark& mark) const noexcept {
    return mark.pos < 0 ? text_.size() : static_cast<std::size_t>(mark.pos);
  }
  // Where the next child of the innermost open collection stands.
  YamlGrammarCheck::Place place() const {
    YamlGrammarCheck::Place p = opened_.back().place;
    const std::vector<std::uint32_t>& kids = kids_[depth_ - 1];
    p.key = p.in_mapping && kids.size() % 2 == 0;
    if (p.in_mapping && !p.key) p.key_at = tree_.nodes[kids.back()].offset;
    return p;
  }

  std::uint32_t add(Node::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor, std::string_view tag = {},
                    bool block_sequence = false, bool has_content = true) {
    YamlGrammarCheck::Problem problem;
    if (!grammar_.properties(offset_of(mark), tag, problem)) stop(problem);
    if (depth_ > 0 && kind != Node::Kind::Null && has_content) {
      const YamlGrammarCheck::Place p = place();
      if (!p.in_mapping && !p.flow && !grammar_.block_entry(offset_of(mark), problem)) stop(problem);
      if (p.in_mapping && !p.flow && !p.key &&
          !grammar_.block_value(p.key_at, offset_of(mark), block_sequence, problem))
        stop(problem);
    }
    const auto index = static_cast<std::uint32_t>(tree_.nodes.size());
    Node n;
    n.kind = kind;
    n.at = position_of(mark);
    n.offset = static_cast<std::uint32_t>(offset_of(mark));
    tree_.nodes.push_back(n);
    if (depth_ > 0) {
      kids_[depth_ - 1].push_back(index);
    } else {
      tree_.root = index;
    }
    if (anchor != 0) {
      if (tree_.anchors.size() <= anchor) {
        tree_.anchors.resize(anchor + 1, kNone);
        tree_.anchor_names.resize(anchor + 1);
      }
      tree_.anchors[anchor] = index;
      tree_.anchor_names[anchor] = anchor_name_;
    }
    return index;
  }
  void open(Node::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor, std::string_view tag,
            YAML::EmitterStyle::value style) {
    if (depth_ >= limits::kMaxJsonDepth)
      throw Stop{position_of(mark), "nesting deeper than " + std::to_string(limits::kMaxJsonDepth) + " levels"};
    const bool flow = style == YAML::EmitterStyle::Flow;
    const std::uint32_t index = add(kind, mark, anchor, tag, kind == Node::Kind::Sequence && !flow);
    tree_.nodes[index].open = true;
    if (kids_.size() <= depth_) kids_.resize(depth_ + 1);
    kids_[depth_].clear();
    YamlGrammarCheck::Place children;
    children.in_mapping = kind == Node::Kind::Mapping;
    children.flow = flow;
    const std::size_t content = yaml_content_at(text_, offset_of(mark));
    children.braced = flow && content < text_.size() && text_[content] == '{';
    opened_.push_back(Open{index, children});
    ++depth_;
  }
  void close() {
    --depth_;
    Node& n = tree_.nodes[opened_.back().node];
    opened_.pop_back();
    n.open = false;
    n.first = static_cast<std::uint32_t>(tree_.children.size());
    n.count = static_cast<std::uint32_t>(kids_[depth_].size());
    tree_.children.insert(tree_.children.end(), kids_[depth_].begin(), kids_[depth_].end());
  }

  Tree& tree_;
  std::string_view text_;
  YamlGrammarCheck grammar_;
  LineIndex lines_;
  std::size_t depth_ = 0;
  std::vector<std::vector<std::uint32_t>> kids_;  // of each open collection, by depth
  std::vector<Open> opened_;
  std::string anchor_name_;
};

// Reads the documents after the first without keeping them, stopping at the first that holds
// more than a null (a file ending in "---" ignores nothing). yaml-cpp meets a token no document
// can start with (a ',' after the document) by reporting empty documents at the same place
// forever; a document that starts where the one before it did is stuck there.
class LaterDocument final : public YAML::EventHandler {
 public:
  struct Found {
    YAML::Mark mark;
  };
  struct Stuck {
    YAML::Mark mark;
  };
  explicit LaterDocument(int first_start) : start_pos_(first_start) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (mark.pos == start_pos_) throw Stuck{mark};
    start_ = mark;
    start_pos_ = mark.pos;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { throw Found{start_}; }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {
    throw Found{start_};
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    throw Found{start_};
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    throw Found{start_};
  }
  void OnMapEnd() override {}

 private:
  YAML::Mark start_;
  int start_pos_;
};

// An input stream over the text, without a copy of it.
class ViewBuffer final : public std::streambuf {
 public:
  explicit ViewBuffer(std::string_view text) {
    char* p = const_cast<char*>(text.data());  // only ever read
    setg(p, p, p + text.size());
  }
};

// yaml.v3's allowedAliasRatio: the share of decoded values that may come from aliases, falling
// from 99% for small documents to 10% past 4,000,000 values (its defence against "billion
// laughs" documents, which flagd refuses).
double allowed_alias_ratio(std::size_t decoded) {
  constexpr double kLow = 400'000, kHigh = 4'000'000;
  if (static_cast<double>(decoded) <= kLow) return 0.99;
  if (static_cast<double>(decoded) >= kHigh) return 0.10;
  return 0.99 - 0.89 * ((static_cast<double>(decoded) - kLow) / (kHigh - kLow));
}

}  // namespace

struct YamlDocument::Impl {
  Tree tree;
  std::vector<std::unique_ptr<JsonValue[]>> value_runs;
  std::vector<std::unique_ptr<JsonMember[]>> member_runs;
  std::deque<std::string> owned;  // strings that are not a scalar's text: never moved
  std::vector<Position> positions;  // of each token
  std::vector<Diagnostic> violations;
  JsonValue root;
  std::string file;
  Diagnostic* error = nullptr;
  bool duplicate_keys = false;
  std::size_t decoded = 0, aliased = 0, alias_depth = 0;
  Position expanding;  // the outermost alias being copied, where its copy's errors point
  StringViewTable<bool> seen;
  StringViewTable<bool> seen_keys;  // repeats_a_key's, kept between objects

  void reset() {
    tree.clear();
    value_runs.clear();
    member_runs.clear();
    owned.clear();
    positions.clear();
    violations.clear();
    duplicate_keys = false;
    decoded = aliased = alias_depth = 0;
  }

  bool fail(Position at, const JsonPath& path, std::string message) {
    error->line = at.line;
    error->column = at.column;
    error->json_path = path.spelled();
    error->message = std::move(message);
    return false;
  }
  void violation(Position at, const JsonPath& path, std::string message) {
    Diagnostic d;
    d.severity = Diagnostic::Severity::Violation;
    d.file = file;
    d.line = at.line;
    d.column = at.column;
    d.json_path = path.spelled();
    d.message = std::move(message);
    violations.push_back(std::move(d));
  }
  std::uint32_t token_at(Position at) {
    positions.push_back(at);
    return static_cast<std::uint32_t>(positions.size() - 1);
  }
  std::string_view own(std::string s) { return owned.emplace_back(std::move(s)); }

  // Enters (+1) or leaves (-1) the copy an alias at `at` makes.
  void alias_step(int step, Position at) {
    if (step > 0 && alias_depth == 0) expanding = at;
    alias_depth = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(alias_depth) + step);
  }
  // Where a problem of the copy an alias makes is to be fixed: at that alias.
  Position blame(Position at) const { return alias_depth > 0 ? expanding : at; }

  // Counts one decoded value as yaml.v3 does, refusing a document its aliases blow up.
  bool count(Position at, const JsonPath& path) {
    ++decoded;
    if (alias_depth > 0) ++aliased;
    if (aliased > 100 && decoded > 1000 &&
        static_cast<double>(aliased) / static_cast<double>(decoded) > allowed_alias_ratio(decoded))
      return fail(blame(at), path, "the aliases expand into too many values (flagd refuses excessive aliasing)");
    return true;
  }

  const Node& resolved(std::uint32_t index) const {
    const Node& n = tree.nodes[index];
    return n.kind == Node::Kind::Alias ? tree.nodes[n.first] : n;
  }

  bool resolve(const Node& n, GoScalar& scalar, const JsonPath& path) {
    std::string why;
    if (resolve_yaml_scalar(n.tag, tree.text(n), scalar, why)) return true;
    return fail(n.at, path, why + " (flagd refuses it)");
  }

  // yaml.v3's isStringMap: every key tagged !!str or !!merge. A key it cannot resolve is no
  // string; key_text reports it.
  bool is_string_map(const Node& m) const {
    for (std::size_t i = 0; i < m.count; i += 2) {
      const Node& key = resolved(tree.child(m, i));
      GoScalar scalar;
      std::string why;
      if (key.kind != Node::Kind::Scalar || !resolve_yaml_scalar(key.tag, tree.text(key), scalar, why) ||
          !scalar.string_tagged)
        return false;
    }
    return true;
  }

  bool is_merge_key(const Node& key) const {
    return key.kind == Node::Kind::Scalar && (key.tag == YamlTag::Plain || key.tag == YamlTag::Merge) &&
           tree.text(key) == "<<";
  }

  // The text flagd gives the key `index` of a mapping decoded as a string map (`string_keys`:
  // the key's own text) or not (Go's %v of its value). A string map drops a null key: `dropped`.
  bool key_text(std::uint32_t index, bool string_keys, const JsonPath& path, std::string_view& key, bool& dropped) {
    const Node& n = resolved(index);
    const Position at = tree.nodes[index].at;
    dropped = false;
    if (n.kind == Node::Kind::Sequence || n.kind == Node::Kind::Mapping)
      return fail(at, path,
                  std::string("a mapping key must be a scalar, not a ") +
                      (n.kind == Node::Kind::Sequence ? "sequence" : "mapping") + " (flagd refuses it)");
    GoScalar scalar;
    if (n.kind == Node::Kind::Null) {
      scalar.type = GoScalar::Type::Null;
    } else if (!resolve(n, scalar, path)) {
      return false;
    }
    if (string_keys && scalar.type == GoScalar::Type::Null) {
      dropped = true;
      violation(at, path, "a null key: flagd drops this member (a key here must read as a string)");
    } else if (scalar.decoded) {
      key = own(std::move(scalar.bytes));
    } else if (string_keys || scalar.type == GoScalar::Type::String) {
      key = tree.text(n);
    } else {
      key = own(go_key_text(scalar, tree.text(n)));
    }
    return true;
  }

  struct Pending {
    std::string_view key;
    std::uint32_t key_node;
    std::uint32_t value_node;
    bool via_alias;
    Position merged_at;  // via_alias: the alias it was merged through
  };

  // Appends the members mapping `m` gives, in order: its own, and where its << key stands those
  // of the mappings it merges that neither it nor an earlier source sets (yaml.v3's
  // mergedFields). `merging`: `m` is itself merged, `merges` deep, and `seen` holds the keys
  // already set.
  bool gather(const Node& m, bool string_keys, bool via_alias, bool merging, const JsonPath& path,
              std::vector<Pending>& out, std::size_t merges = 0) {
    const std::size_t first = out.size();
    std::uint32_t merge_value = kNone;
    std::size_t merge_at = 0;
    for (std::size_t i = 0; i < m.count; i += 2) {
      const std::uint32_t key_index = tree.child(m, i);
      const Node& key = tree.nodes[key_index];
      if (!count(key.at, path)) return false;
      if (is_merge_key(key)) {
        if (merge_value != kNone) return fail(key.at, path, "a second merge key << in one mapping (flagd refuses it)");
        merge_value = tree.child(m, i + 1);
        merge_at = out.size();
        continue;
      }
      std::string_view text;
      bool dropped = false;
      if (!key_text(key_index, string_keys, path, text, dropped)) return false;
      if (dropped || (merging && !seen.insert(text, true).second)) continue;
      out.push_back(Pending{text, key_index, tree.child(m, i + 1), via_alias, expanding});
    }
    if (merge_value == kNone) return true;
    if (!merging) {
      seen.clear(out.size() - first);
      for (std::size_t i = first; i < out.size(); ++i) seen.insert(out[i].key, true);
    }
    std::vector<Pending> merged;
    const auto source = [&](std::uint32_t index) {
      const Node& s = tree.nodes[index];
      const bool alias = s.kind == Node::Kind::Alias;
      const Node& target = resolved(index);
      if (target.kind != Node::Kind::Mapping)
        return fail(s.at, path, "a merge key << takes a mapping, an alias of one, or a sequence of them");
      // A chain of mappings each merging the one before is bounded like nesting.
      if (merges >= limits::kMaxJsonDepth)
        return fail(s.at, path, "merges nested deeper than " + std::to_string(limits::kMaxJsonDepth) + " levels");
      if (alias) alias_step(+1, s.at);
      const bool ok =
          count(s.at, path) && gather(target, string_keys, via_alias || alias, true, path, merged, merges + 1);
      if (alias) alias_step(-1, s.at);
      return ok;
    };
    const Node& value = tree.nodes[merge_value];
    if (value.kind == Node::Kind::Sequence) {
      for (std::size_t i = 0; i < value.count; ++i)
        if (!source(tree.child(value, i))) return false;
    } else if (!source(merge_value)) {
      return false;
    }
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(merge_at), merged.begin(), merged.end());
    return true;
  }

  bool scalar_value(const Node& n, std::uint32_t token, const JsonPath& path, JsonValue& out) {
    GoScalar scalar;
    if (!resolve(n, scalar, path)) return false;
    const std::string_view text = tree.text(n);
    switch (json_kind(scalar)) {
      case JsonScalarKind::Null: out = JsonValue::null(token); return true;
      case JsonScalarKind::Bool: out = JsonValue::of_bool(scalar.boolean, token); return true;
      case JsonScalarKind::Number: {
        double d = 0;
        if (!json_number(scalar, d))
          return fail(n.at, path,
                      "`" + std::string(text) +
                          "` is not a finite number, which JSON cannot hold (flagd refuses the file)");
        out = JsonValue::of_number(d, token);
        return true;
      }
      case JsonScalarKind::String: break;
    }
    if (scalar.type == GoScalar::Type::Time) {
      std::string json, why;
      if (!json_time_text(scalar.time, json, why))
        return fail(n.at, path, "the timestamp `" + std::string(text) + "`: " + why + " (flagd refuses the file)");
      out = JsonValue::of_string(own(std::move(json)), token);
      return true;
    }
    out = JsonValue::of_string(scalar.decoded ? own(std::move(scalar.bytes)) : text, token);
    return true;
  }

  // Converts node `index` into `out`, numbering its tokens in pre-order; the first is placed at
  // `at` (an alias's place for the copy it makes).
  bool convert(std::uint32_t index, Position at, std::size_t depth, const JsonPath& path, JsonValue& out) {
    const Node& n = tree.nodes[index];
    if (!count(at, path)) return false;
    if (n.kind == Node::Kind::Alias) {
      alias_step(+1, at);
      const bool ok = convert(n.first, at, depth, path, out);
      alias_step(-1, at);
      return ok;
    }
    const std::uint32_t token = token_at(at);
    switch (n.kind) {
      case Node::Kind::Null: out = JsonValue::null(token); return true;
      case Node::Kind::Scalar: return scalar_value(n, token, path, out);
      case Node::Kind::Sequence: {
        if (depth >= limits::kMaxJsonDepth)
          return fail(blame(at), path, "nesting deeper than " + std::to_string(limits::kMaxJsonDepth) + " levels");
        JsonValue* run = value_runs.emplace_back(std::make_unique<JsonValue[]>(n.count)).get();
        for (std::size_t i = 0; i < n.count; ++i) {
          const std::uint32_t item = tree.child(n, i);
          if (!convert(item, tree.nodes[item].at, depth + 1, path.element(i), run[i])) return false;
        }
        out = JsonValue::of_array(std::span<const JsonValue>(run, n.count), token);
        return true;
      }
      case Node::Kind::Mapping: {
        if (depth >= limits::kMaxJsonDepth)
          return fail(blame(at), path, "nesting deeper than " + std::to_string(limits::kMaxJsonDepth) + " levels");
        // The document decodes into a map[string]interface{}; a nested mapping into one only
        // when its keys are all strings.
        const bool string_keys = depth == 0 || is_string_map(n);
        std::vector<Pending> pending;
        if (!gather(n, string_keys, alias_depth > 0, false, path, pending)) return false;
        JsonMember* run = member_runs.emplace_back(std::make_unique<JsonMember[]>(pending.size())).get();
        for (std::size_t i = 0; i < pending.size(); ++i) {
          const Pending& p = pending[i];
          JsonMember& m = run[i];
          m.key = p.key;
          m.key_token = token_at(tree.nodes[p.key_node].at);
          // A member merged through an alias is part of that alias's copy.
          const bool enter = p.via_alias && alias_depth == 0;
          if (enter) alias_step(+1, p.merged_at);
          const bool ok = convert(p.value_node, tree.nodes[p.value_node].at, depth + 1, path.member(p.key), m.value);
          if (enter) alias_step(-1, p.merged_at);
          if (!ok) return false;
        }
        const std::span<const JsonMember> members(run, pending.size());
        if (!duplicate_keys) duplicate_keys = repeats_a_key(members, seen_keys);
        out = JsonValue::of_object(members, token);
        return true;
      }
      case Node::Kind::Alias: break;
    }
    return true;
  }
};

YamlDocument::YamlDocument() : impl_(std::make_unique<Impl>()) {}
YamlDocument::~YamlDocument() = default;

const JsonValue* YamlDocument::parse(std::string_view text, std::string_view file, Diagnostic& error) {
  Impl& p = *impl_;
  error = Diagnostic{};
  error.file = std::string(file);
  try {
    p.reset();
    p.file = std::string(file);
    p.error = &error;
    // libyaml skips a byte order mark; yaml-cpp counts no column for it.
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    if (text.substr(0, 2) == "\xFF\xFE" || text.substr(0, 2) == "\xFE\xFF" ||
        text.substr(0, 4) == std::string_view("\0\0\xFE\xFF", 4)) {
      error.message = "the file is UTF-16 or UTF-32; a YAML flag file must be UTF-8";
      return nullptr;
    }
    std::string why;
    if (const std::size_t bad = yaml_first_disallowed(text, why); bad != std::string_view::npos) {
      LineIndex(text).locate(bad, error.line, error.column);
      error.message = "invalid YAML: " + why;
      return nullptr;
    }
    ViewBuffer buffer(text);
    std::istream in(&buffer);
    YAML::Parser parser(in);
    TreeBuilder builder(p.tree, text);
    try {
      if (!parser.HandleNextDocument(builder) || p.tree.root == kNone) {
        error.message = text.find_first_not_of(" \t\r\n") == std::string_view::npos
                            ? (text.empty() ? "the file is empty" : "the file holds only white space")
                            : "the file holds no YAML document, only comments";
        return nullptr;
      }
      builder.finish();
    } catch (const Stop& stop) {
      error.line = stop.at.line;
      error.column = stop.at.column;
      error.message = "invalid YAML: " + stop.message;
      return nullptr;
    } catch (const YAML::Exception& e) {
      const Position at = position_of(e.mark);
      error.line = e.mark.is_null() ? 0 : at.line;
      error.column = e.mark.is_null() ? 0 : at.column;
      error.message = "invalid YAML: " + e.msg;
      return nullptr;
    }
    // flagd decodes the first document only: what follows is not even read.
    try {
      LaterDocument later(builder.document_start);
      while (parser.HandleNextDocument(later)) {
      }
    } catch (const LaterDocument::Stuck& stuck) {
      const Position at = position_of(stuck.mark);
      error.line = at.line;
      error.column = at.column;
      const std::size_t offset = static_cast<std::size_t>(std::max(stuck.mark.pos, 0));
      error.message = "invalid YAML: unexpected '" + std::string(text.substr(offset, 1)) + "' where a value should be";
      return nullptr;
    } catch (const LaterDocument::Found& found) {
      p.violation(position_of(found.mark), JsonPath(),
                  "flagd reads only the first YAML document of a file: this document, and any after it, is ignored");
    } catch (const YAML::Exception& e) {
      p.violation(position_of(e.mark), JsonPath(),
                  "flagd reads only the first YAML document of a file: what follows it is ignored "
                  "(it is not valid YAML: " + e.msg + ")");
    }
    const JsonPath document;
    if (!p.convert(p.tree.root, p.tree.nodes[p.tree.root].at, 0, document, p.root)) return nullptr;
    return &p.root;
  } catch (const std::exception& e) {
    error.message = std::string("cannot read the YAML: ") + e.what();
  }
  return nullptr;
}

bool YamlDocument::has_duplicate_keys() const noexcept { return impl_->duplicate_keys; }

void YamlDocument::locate(std::uint32_t token, std::uint32_t& line, std::uint32_t& column) const noexcept {
  const auto& positions = impl_->positions;
  line = token < positions.size() ? positions[token].line : 0;
  column = token < positions.size() ? positions[token].column : 0;
}

const std::vector<Diagnostic>& YamlDocument::violations() const noexcept { return impl_->violations; }

}  // namespace flagd
