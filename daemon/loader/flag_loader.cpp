#include "flag_loader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "expiry.hpp"
#include "flagd/limits.hpp"
#include "json_parse.hpp"
#include "rule_compiler.hpp"
#include "sha256.hpp"
#include "trusted_file.hpp"

namespace flagd {

namespace {

using Kind = JsonValue::Kind;

// Validates one parsed document and adds its flags to the set. Paths and source positions are
// worked out only for the diagnostics that are listed (DiagnosticLimiter).
class DocumentLoader {
 public:
  DocumentLoader(std::string_view text, std::string_view file, JsonParser& parser, std::vector<Diagnostic>& out)
      : lines_(text), file_(file), parser_(parser), out_(out) {}

  void load(const JsonValue& root, std::vector<FlagDefinition>& flags) {
    check(root, flags);
    limiter_.report_omitted(file_, out_);
  }

 private:
  void check(const JsonValue& root, std::vector<FlagDefinition>& flags) {
    const JsonPath document;
    if (parser_.has_duplicate_keys()) check_duplicate_keys(root, document);
    if (root.kind() != Kind::Object) {
      error(document, root.token(),
            "the document must be an object with a \"flags\" member, not " + std::string(kind_name(root.kind())));
      return;
    }
    std::vector<MetadataItem> set_metadata;
    const JsonValue* flag_map = nullptr;
    evaluators_ = root.find("$evaluators");
    for (const auto& m : root.members()) {
      if (m.key == "flags") {
        flag_map = &m.value;
      } else if (m.key == "metadata") {
        load_metadata(m.value, document.member("metadata"), set_metadata);
      } else if (m.key == "$evaluators") {
        if (m.value.kind() != Kind::Object)
          error(document.member("$evaluators"), m.value.token(),
                "must be an object of named rules, not " + std::string(kind_name(m.value.kind())));
      } else if (m.key != "$schema") {
        warning(document.member(m.key), m.key_token, "unknown top-level member is ignored");
      }
    }
    if (flag_map == nullptr) {
      error(document, root.token(), "the required member \"flags\" is missing");
      return;
    }
    const JsonPath flags_path = document.member("flags");
    if (flag_map->kind() != Kind::Object) {
      error(flags_path, flag_map->token(),
            "must be an object keyed by flag key, not " + std::string(kind_name(flag_map->kind())));
      return;
    }
    flags.reserve(flags.size() + flag_map->members().size());
    for (const auto& m : flag_map->members()) {
      FlagDefinition flag;
      if (load_flag(m, flags_path.member(m.key), set_metadata, flag)) flags.push_back(std::move(flag));
    }
  }

  void report(Diagnostic::Severity severity, const JsonPath& path, std::uint32_t token, std::string message) {
    errors_ += severity == Diagnostic::Severity::Error;
    if (!limiter_.admit(severity, message)) return;
    Diagnostic d;
    d.severity = severity;
    d.file = file_;
    d.json_path = path.spelled();
    lines_.locate(parser_.offset_of(token), d.line, d.column);
    d.message = std::move(message);
    out_.push_back(std::move(d));
  }
  void error(const JsonPath& path, std::uint32_t token, std::string message) {
    report(Diagnostic::Severity::Error, path, token, std::move(message));
  }
  void warning(const JsonPath& path, std::uint32_t token, std::string message) {
    report(Diagnostic::Severity::Warning, path, token, std::move(message));
  }

  // JSON allows repeated keys and most parsers keep the last silently; in a flag file that hides
  // a mistake, so every repetition is an error.
  void check_duplicate_keys(const JsonValue& v, const JsonPath& path) {
    if (v.kind() == Kind::Object) {
      // Small objects compare their keys pairwise; large ones (the flag map) through a hash set.
      constexpr std::size_t kPairwise = 16;
      const auto members = v.members();
      std::unordered_set<std::string_view> seen;
      if (members.size() > kPairwise) seen.reserve(members.size());
      for (std::size_t i = 0; i < members.size(); ++i) {
        const JsonMember& m = members[i];
        bool duplicate = false;
        if (members.size() > kPairwise) {
          duplicate = !seen.insert(m.key).second;
        } else {
          for (std::size_t j = 0; j < i && !duplicate; ++j) duplicate = members[j].key == m.key;
        }
        const JsonPath step = path.member(m.key);
        if (duplicate) error(step, m.key_token, "duplicate key \"" + std::string(m.key) + "\"");
        check_duplicate_keys(m.value, step);
      }
    } else if (v.kind() == Kind::Array) {
      const auto items = v.items();
      for (std::size_t i = 0; i < items.size(); ++i) check_duplicate_keys(items[i], path.element(i));
    }
  }

  void load_metadata(const JsonValue& v, const JsonPath& path, std::vector<MetadataItem>& out) {
    if (v.kind() != Kind::Object) {
      error(path, v.token(), "metadata must be an object, not " + std::string(kind_name(v.kind())));
      return;
    }
    if (v.members().size() > limits::kMaxMetadataEntries) {
      error(path, v.token(), "more than " + std::to_string(limits::kMaxMetadataEntries) + " metadata entries");
      return;
    }
    for (const auto& m : v.members()) {
      if (m.key == "expires" && (m.value.kind() != Kind::String || !parse_instant(m.value.text())))
        warning(path.member(m.key), m.value.token(),
                "not an ISO-8601 date or date-time (2026-06-30, 2026-06-30T17:00:00Z); the flag is not checked "
                "for expiry");
      MetadataItem item;
      item.key = m.key;
      switch (m.value.kind()) {
        case Kind::Bool:
          item.kind = layout::MetadataKind::Boolean;
          item.boolean = m.value.boolean();
          break;
        case Kind::Number:
          item.kind = layout::MetadataKind::Number;
          item.number = m.value.number();
          break;
        case Kind::String:
          if (!check_string_size(m.value, path.member(m.key))) continue;
          item.kind = layout::MetadataKind::String;
          item.text = m.value.text();
          break;
        default:
          error(path.member(m.key), m.value.token(),
                "metadata values must be strings, numbers or booleans, not " +
                    std::string(kind_name(m.value.kind())));
          continue;
      }
      bool replaced = false;
      for (auto& existing : out)
        if (existing.key == item.key) {
          existing = item;
          replaced = true;
        }
      if (!replaced) out.push_back(std::move(item));
    }
  }

  // String constants of a rule that name one of the flag's variants carry its index, so that a
  // rule answering with one needs no string comparison. Names JSON would escape never match in
  // flagd (it names variants after the JSON text of the result), so they get no index.
  static void name_variants(FlagDefinition& flag) {
    for (auto& node : flag.rule) {
      if (node.op != layout::RuleOp::String) continue;
      bool plain = true;
      for (char c : node.text)
        plain = plain && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' && static_cast<unsigned char>(c) >= 0x20;
      for (std::size_t v = 0; plain && v < flag.variants.size(); ++v)
        if (flag.variants[v].key == node.text) node.variant_hint = static_cast<std::uint16_t>(v + 1);
    }
  }

  bool check_string_size(const JsonValue& v, const JsonPath& path) {
    if (v.text().size() <= limits::kMaxStringBytes) return true;
    error(path, v.token(), "string of " + std::to_string(v.text().size()) + " bytes exceeds the limit of " +
                               std::to_string(limits::kMaxStringBytes));
    return false;
  }

  bool load_flag(const JsonMember& member, const JsonPath& path, const std::vector<MetadataItem>& set_metadata,
                 FlagDefinition& flag) {
    const JsonValue& v = member.value;
    const std::size_t errors_before = errors_;
    flag.key = member.key;
    if (member.key.empty()) error(path, member.key_token, "a flag key must not be empty");
    if (member.key.size() > limits::kMaxFlagKeyBytes)
      error(path, member.key_token, "flag key is longer than " + std::to_string(limits::kMaxFlagKeyBytes) + " bytes");
    if (v.kind() != Kind::Object) {
      error(path, v.token(), "a flag must be an object, not " + std::string(kind_name(v.kind())));
      return false;
    }

    const JsonValue* state = nullptr;
    const JsonValue* variants = nullptr;
    const JsonValue* default_variant = nullptr;
    const JsonValue* targeting = nullptr;
    const JsonValue* metadata = nullptr;
    for (const auto& m : v.members()) {  // the first of a repeated member, as find() would
      const JsonValue** slot = m.key == "state"            ? &state
                               : m.key == "variants"       ? &variants
                               : m.key == "defaultVariant" ? &default_variant
                               : m.key == "targeting"      ? &targeting
                               : m.key == "metadata"       ? &metadata
                                                           : nullptr;
      if (slot == nullptr) {
        warning(path.member(m.key), m.key_token, "unknown flag member is ignored");
      } else if (*slot == nullptr) {
        *slot = &m.value;
      }
    }

    if (state == nullptr) {
      error(path, v.token(), "the required member \"state\" is missing");
    } else if (state->kind() != Kind::String) {
      error(path.member("state"), state->token(),
            "must be the string \"ENABLED\" or \"DISABLED\", not " + std::string(kind_name(state->kind())));
    } else if (state->text() == "ENABLED" || state->text() == "DISABLED") {
      flag.enabled = state->text() == "ENABLED";
    } else {
      error(path.member("state"), state->token(),
            "unknown state \"" + std::string(state->text()) + "\" (expected \"ENABLED\" or \"DISABLED\")");
    }

    load_variants(variants, v, path, flag);

    if (default_variant != nullptr && default_variant->kind() != Kind::Null) {
      if (default_variant->kind() != Kind::String) {
        error(path.member("defaultVariant"), default_variant->token(),
              "must be a variant key (a string) or null, not " + std::string(kind_name(default_variant->kind())));
      } else if (variants != nullptr && variants->kind() == Kind::Object) {
        for (std::size_t i = 0; i < flag.variants.size(); ++i)
          if (flag.variants[i].key == default_variant->text()) flag.default_variant = static_cast<std::uint16_t>(i);
        if (!flag.default_variant)
          error(path.member("defaultVariant"), default_variant->token(),
                "\"" + std::string(default_variant->text()) + "\" is not one of the flag's variants");
      }
    }

    if (targeting != nullptr) {
      // Absent or {}: no rule (STATIC). Anything else is compiled (rule_compiler.cpp), null too:
      // flagd's Go engine runs it as a rule that answers null, so its reason is DEFAULT.
      const bool empty = targeting->kind() == Kind::Object && targeting->members().empty();
      if (!empty) {
        const RuleReporter reporter = [this](Diagnostic::Severity severity, const JsonPath& where,
                                             std::uint32_t token, std::string message) {
          report(severity, where, token, std::move(message));
        };
        compile_rule(*targeting, evaluators_, path.member("targeting"), reporter, flag.rule);
        name_variants(flag);
      }
    }

    flag.metadata = set_metadata;
    if (metadata != nullptr) load_metadata(*metadata, path.member("metadata"), flag.metadata);
    return errors_ == errors_before;
  }

  void load_variants(const JsonValue* variants, const JsonValue& flag_value, const JsonPath& flag_path,
                     FlagDefinition& flag) {
    const JsonPath path = flag_path.member("variants");
    if (variants == nullptr) {
      error(flag_path, flag_value.token(), "the required member \"variants\" is missing");
      return;
    }
    if (variants->kind() != Kind::Object) {
      error(path, variants->token(),
            "must be an object of variant values, not " + std::string(kind_name(variants->kind())));
      return;
    }
    const auto members = variants->members();
    if (members.empty()) {
      error(path, variants->token(), "a flag needs at least one variant");
      return;
    }
    if (members.size() > limits::kMaxVariants) {
      error(path, variants->token(),
            std::to_string(members.size()) + " variants exceed the limit of " + std::to_string(limits::kMaxVariants));
      return;
    }
    flag.variants.reserve(members.size());
    const JsonMember* first = nullptr;
    for (const auto& m : members) {
      const JsonPath variant_path = path.member(m.key);
      if (m.key.size() > limits::kMaxStringBytes) {
        error(variant_path, m.key_token, "variant key is too long");
        continue;
      }
      Variant variant;
      switch (m.value.kind()) {
        case Kind::Bool:
          variant.value.kind = layout::ValueKind::Boolean;
          variant.value.boolean = m.value.boolean();
          break;
        case Kind::Number:
          variant.value.kind = layout::ValueKind::Number;
          variant.value.number = m.value.number();
          break;
        case Kind::String:
          if (!check_string_size(m.value, variant_path)) continue;
          variant.value.kind = layout::ValueKind::String;
          variant.value.text = m.value.text();
          break;
        case Kind::Object:
          variant.value.kind = layout::ValueKind::Object;
          variant.value.text = to_json(m.value);
          if (variant.value.text.size() > limits::kMaxStringBytes) {
            error(variant_path, m.value.token(),
                  "object value exceeds the limit of " + std::to_string(limits::kMaxStringBytes) + " bytes");
            continue;
          }
          break;
        default:
          error(variant_path, m.value.token(),
                "a variant value must be a boolean, string, number or object, not " +
                    std::string(kind_name(m.value.kind())));
          continue;
      }
      if (first == nullptr) {
        first = &m;
        flag.kind = variant.value.kind;
      } else if (variant.value.kind != flag.kind) {
        error(variant_path, m.value.token(),
              "variant \"" + std::string(m.key) + "\" is " + std::string(kind_name(m.value.kind())) +
                  " but variant \"" + std::string(first->key) + "\" is " +
                  std::string(kind_name(first->value.kind())) + "; all variants of a flag must have one type");
        continue;
      }
      variant.key = m.key;
      flag.variants.push_back(std::move(variant));
    }
  }

  LineIndex lines_;
  std::string file_;
  JsonParser& parser_;
  std::vector<Diagnostic>& out_;
  DiagnosticLimiter limiter_;
  std::size_t errors_ = 0;  // listed or not
  const JsonValue* evaluators_ = nullptr;
};

// Adds a file's flags to the set; a flag of a key the set has replaces the earlier one. The
// first file's flags are moved in whole (a file has no repeated keys: they are errors), and the
// positions of keys are indexed only when a second file arrives.
class FlagMerger {
 public:
  void merge(std::vector<FlagDefinition>&& incoming, FlagSet& set) {
    if (set.flags.empty()) {
      set.flags = std::move(incoming);
      return;
    }
    if (position_.empty()) {
      position_.reserve(set.flags.size() + incoming.size());
      for (std::size_t i = 0; i < set.flags.size(); ++i) position_.emplace(set.flags[i].key, i);
    }
    for (auto& flag : incoming) {
      auto [it, inserted] = position_.emplace(flag.key, set.flags.size());
      if (inserted) {
        set.flags.push_back(std::move(flag));
      } else {
        set.flags[it->second] = std::move(flag);
      }
    }
  }

 private:
  std::unordered_map<std::string, std::size_t> position_;
};

// Checks and reads the file through one descriptor, so that what is checked is what is read.
// `contents` gets the file's bytes followed by the parser's padding (zeros).
bool read_file(const std::string& path, FileTrust trust, std::string& contents, std::string_view& text,
               Diagnostic& error) {
  error = Diagnostic{};
  error.file = path;
  // Trusted: the file and the way to it (directories, symbolic links), as trusted_file.hpp says.
  const int fd = trust == FileTrust::OwnerOrRoot ? open_trusted_file(path, error.message)
                                                 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (trust == FileTrust::Any) error.message = std::string("cannot open the file: ") + std::strerror(errno);
    return false;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info{};
  if (::fstat(fd, &info) != 0) {
    error.message = std::string("cannot read the file's status: ") + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(info.st_mode)) {
    error.message = "not a regular file";
    return false;
  }
  const auto size = static_cast<std::size_t>(info.st_size);
  if (size > limits::kMaxFileBytes) {
    error.message = "the file is " + std::to_string(size) + " bytes, over the limit of " +
                    std::to_string(limits::kMaxFileBytes);
    return false;
  }
  contents.assign(size + JsonParser::kPadding, '\0');
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, contents.data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  if (done != size) {
    error.message = "cannot read the whole file (did it change while being read?)";
    return false;
  }
  text = std::string_view(contents.data(), size);
  return true;
}

// The parser's buffers are kept per thread: each reload of the daemon reuses the last one's.
JsonParser& thread_parser() {
  thread_local JsonParser parser;
  return parser;
}

void load_document(std::string_view text, std::string_view name, bool padded, std::vector<FlagDefinition>& flags,
                   std::vector<Diagnostic>& diagnostics) {
  JsonParser& parser = thread_parser();
  Diagnostic parse_error;
  const JsonValue* root = parser.parse(text, name, parse_error, padded);
  if (root == nullptr) {
    diagnostics.push_back(std::move(parse_error));
    return;
  }
  DocumentLoader(text, name, parser, diagnostics).load(*root, flags);
}

}  // namespace

bool read_flag_file(const std::string& path, FileTrust trust, std::string& contents, Diagnostic& error) {
  std::string_view text;
  if (!read_file(path, trust, contents, text, error)) return false;
  contents.resize(text.size());
  return true;
}

LoadResult load_flag_text(std::string_view text, std::string_view name) {
  LoadResult result;
  load_document(text, name, false, result.flags.flags, result.diagnostics);
  Sha256 digest;
  digest.update(text);
  result.flags.sha256 = digest.finish();
  result.flags.sources.push_back(SourceFile{std::string(name), to_hex(result.flags.sha256)});
  return result;
}

std::array<std::uint8_t, 32> merged_digest(const std::vector<std::array<std::uint8_t, 32>>& digests) {
  if (digests.size() == 1) return digests.front();
  Sha256 all;
  for (const auto& d : digests) all.update(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
  return all.finish();
}

FlagSet merge_flag_sets(std::vector<FlagSet>&& sets, std::vector<Diagnostic>& diagnostics) {
  FlagSet merged;
  FlagMerger merger;
  bool over_limit = false;
  std::vector<std::array<std::uint8_t, 32>> digests;
  for (FlagSet& set : sets) {
    digests.push_back(set.sha256);
    const std::string last_source = set.sources.empty() ? std::string() : set.sources.back().path;
    for (SourceFile& source : set.sources) merged.sources.push_back(std::move(source));
    merger.merge(std::move(set.flags), merged);
    if (merged.flags.size() > limits::kMaxFlags && !over_limit) {
      over_limit = true;  // reported once, at the source that passed it
      Diagnostic d;
      d.file = last_source;
      d.message = std::to_string(merged.flags.size()) + " flags (in this source and those before it) exceed the limit of " +
                  std::to_string(limits::kMaxFlags);
      diagnostics.push_back(std::move(d));
    }
  }
  merged.sha256 = merged_digest(digests);
  return merged;
}

LoadResult load_flag_files(const std::vector<std::string>& paths, FileTrust trust) {
  LoadResult result;
  std::vector<FlagSet> sets;
  sets.reserve(paths.size());
  for (const auto& path : paths) {
    std::string contents;
    std::string_view text;
    Diagnostic error;
    if (!read_file(path, trust, contents, text, error)) {
      result.diagnostics.push_back(std::move(error));
      continue;
    }
    FlagSet& set = sets.emplace_back();
    Sha256 digest;
    digest.update(text);
    set.sha256 = digest.finish();
    set.sources.push_back(SourceFile{path, to_hex(set.sha256)});
    load_document(text, path, true, set.flags, result.diagnostics);
  }
  if (paths.empty()) {
    Diagnostic d;
    d.message = "no flag file given";
    result.diagnostics.push_back(std::move(d));
  }
  result.flags = merge_flag_sets(std::move(sets), result.diagnostics);
  return result;
}

}  // namespace flagd
