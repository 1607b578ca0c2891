// Reading a YAML flag file (.yaml, .yml) into the loader's JSON value tree (json_value.hpp).
// flagd converts YAML to JSON before it loads it (core/pkg/utils/yaml.go: gopkg.in/yaml.v3
// decodes the first document into Go maps, encoding/json writes them), so the tree here is the
// one JsonParser gives for that JSON, with each value and member key numbered in the same
// pre-order and placed at its line and column in the YAML:
//   - scalars as yaml.v3 resolves them (yaml_scalar.hpp);
//   - mappings become objects, members in the order written (flagd's JSON has them sorted,
//     which no flagd semantics depends on); keys of the top-level mapping, and of a mapping
//     whose keys are all strings, are their text; other keys are Go's %v of their value
//     ("1", "true", "<nil>"), as flagd's convertMapKeys writes them; a key that is a sequence
//     or mapping is an error, as in yaml.v3;
//   - aliases are copies of the anchored value (its first value placed at the alias, the rest
//     where the anchor wrote them), within yaml.v3's limit on excessive aliasing;
//   - merge keys (<<: *base, <<: [*a, *b]) add the members the mapping does not set itself, an
//     earlier source winning over a later one, at the place of the << key.
// Repeated keys are kept, for the loader to report (yaml.v3 refuses them, so does flagd). Later
// documents are ignored, as flagd ignores them, with a violation. The file must be UTF-8 (yaml.v3
// would also read UTF-16), with only the characters YAML allows. yaml-cpp parses the text; what
// it reads and flagd's parser refuses (or reads otherwise) is refused (yaml_grammar.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "diagnostic.hpp"
#include "json_value.hpp"

namespace flagd {

class YamlDocument {
 public:
  YamlDocument();
  ~YamlDocument();
  YamlDocument(const YamlDocument&) = delete;
  YamlDocument& operator=(const YamlDocument&) = delete;

  // Parses `text` (the contents of `file`). On failure returns null and sets `error` (file,
  // line:column where known, JSON path where known, reason); never throws. The tree, and every
  // view into it, stays valid until the next parse; `text` need not.
  const JsonValue* parse(std::string_view text, std::string_view file, Diagnostic& error);

  // Whether an object of the last parsed document repeats a key (the loader then names each).
  bool has_duplicate_keys() const noexcept;

  // Line and column (1-based; columns in bytes, after a leading byte order mark) of the value or
  // member key numbered `token` in the last parse; 0 and 0 for a token it does not have.
  void locate(std::uint32_t token, std::uint32_t& line, std::uint32_t& column) const noexcept;

  // What the last parse found that flagd loads without a word yet surely is not meant: later
  // documents, members dropped for a null key. Severity Violation, with file and position.
  const std::vector<Diagnostic>& violations() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flagd
