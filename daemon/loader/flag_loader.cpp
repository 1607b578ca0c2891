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

#include "document_loader.hpp"
#include "flagd/limits.hpp"
#include "json_parse.hpp"
#include "sha256.hpp"
#include "trusted_file.hpp"
#include "yaml_document.hpp"

namespace flagd {

namespace {

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

// Positions in JSON text: the parser knows each token's offset, the line index its line.
class JsonLocator final : public TokenLocator {
 public:
  JsonLocator(std::string_view text, JsonParser& parser) : text_(text), lines_(text), parser_(parser) {}
  void locate(std::uint32_t token, std::uint32_t& line, std::uint32_t& column) override {
    lines_.locate(parser_.offset_of(token), line, column);
  }
  std::optional<std::size_t> source_bytes(std::uint32_t token) override {
    return json_value_bytes(text_, parser_.offset_of(token));
  }

 private:
  std::string_view text_;
  LineIndex lines_;
  JsonParser& parser_;
};

// The parser's buffers are kept per thread: each reload of the daemon reuses the last one's.
JsonParser& thread_parser() {
  thread_local JsonParser parser;
  return parser;
}

// Positions in YAML text: the document records each token's line and column as it reads it.
class YamlLocator final : public TokenLocator {
 public:
  explicit YamlLocator(const YamlDocument& yaml) : yaml_(yaml) {}
  void locate(std::uint32_t token, std::uint32_t& line, std::uint32_t& column) override {
    yaml_.locate(token, line, column);
  }
  std::optional<std::size_t> source_bytes(std::uint32_t) override { return std::nullopt; }

 private:
  const YamlDocument& yaml_;
};

void load_yaml_document(std::string_view text, std::string_view name, std::vector<FlagDefinition>& flags,
                        std::vector<Diagnostic>& diagnostics) {
  thread_local YamlDocument yaml;
  Diagnostic parse_error;
  const JsonValue* root = yaml.parse(text, name, parse_error);
  if (root == nullptr) {
    diagnostics.push_back(std::move(parse_error));
    return;
  }
  for (const Diagnostic& d : yaml.violations()) diagnostics.push_back(d);
  YamlLocator locator(yaml);
  load_document_flags(*root, yaml.has_duplicate_keys() ? RepeatedKeys::Refused : RepeatedKeys::None, name, locator,
                      flags, diagnostics);
}

void load_document(std::string_view text, std::string_view name, FlagFormat format, bool padded,
                   std::vector<FlagDefinition>& flags, std::vector<Diagnostic>& diagnostics) {
  if (format == FlagFormat::Yaml) return load_yaml_document(text, name, flags, diagnostics);
  JsonParser& parser = thread_parser();
  Diagnostic parse_error;
  const JsonValue* root = parser.parse(text, name, parse_error, padded);
  if (root == nullptr) {
    diagnostics.push_back(std::move(parse_error));
    return;
  }
  JsonLocator locator(text, parser);
  load_document_flags(*root, parser.has_duplicate_keys() ? RepeatedKeys::LastCounts : RepeatedKeys::None, name,
                      locator, flags, diagnostics);
}

}  // namespace

bool read_flag_file(const std::string& path, FileTrust trust, std::string& contents, Diagnostic& error) {
  std::string_view text;
  if (!read_file(path, trust, contents, text, error)) return false;
  contents.resize(text.size());
  return true;
}

LoadResult load_flag_text(std::string_view text, std::string_view name) {
  return load_flag_text(text, name, format_named(name));
}

LoadResult load_flag_text(std::string_view text, std::string_view name, FlagFormat format) {
  LoadResult result;
  load_document(text, name, format, false, result.flags.flags, result.diagnostics);
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
    const auto first_source = static_cast<std::uint32_t>(merged.sources.size());
    for (FlagDefinition& flag : set.flags) flag.source += first_source;
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
    load_document(text, path, format_named(path), true, set.flags, result.diagnostics);
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
