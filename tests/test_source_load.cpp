// One load of several sources: each judged alone, a refused one keeping its last good document,
// a merge of the documents already published recognised without a parse; the status lines the
// daemon writes for them; the cached copies of remote sources.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "flagd/source_status.hpp"
#include "scratch_directory.hpp"
#include "source_cache.hpp"
#include "source_load.hpp"

namespace {

std::string flag_document(const char* key, const char* variant) {
  return std::string(R"({"flags": {")") + key +
         R"(": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": ")" + variant + R"("}}})";
}

flagd::SourceInput remote(const char* name, flagd::SourceDocument candidate, flagd::SourceDocument good = {}) {
  flagd::SourceInput input;
  input.kind = flagd::SourceKind::Http;
  input.name = name;
  input.candidate = std::move(candidate);
  input.good = std::move(good);
  return input;
}

const flagd::FlagDefinition* find(const flagd::FlagSet& set, const std::string& key) {
  for (const auto& f : set.flags)
    if (f.key == key) return &f;
  return nullptr;
}

}  // namespace

TEST_CASE("a later source's flag replaces an earlier one's, and the merge names its digest") {
  std::vector<flagd::SourceInput> inputs;
  inputs.push_back(remote("a", flagd::make_document(flag_document("x", "on"), "1", false)));
  inputs.push_back(remote("b", flagd::make_document(flag_document("x", "off"), "7", false)));
  const flagd::SourcesLoad load = flagd::load_sources(inputs, flagd::FileTrust::Any, flagd::Digest{});
  REQUIRE(load.complete);
  CHECK_FALSE(load.unchanged);
  REQUIRE(load.loaded.ok());
  REQUIRE(find(load.loaded.flags, "x") != nullptr);
  const flagd::FlagDefinition& x = *find(load.loaded.flags, "x");
  REQUIRE(x.default_variant);
  CHECK(x.variants[*x.default_variant].key == "off");
  CHECK(load.loaded.flags.sha256 == load.merged_sha256);
  CHECK(load.merged_sha256 == flagd::merged_digest({inputs[0].candidate.sha256, inputs[1].candidate.sha256}));
  CHECK(load.sources[0].accepted);
  CHECK(load.sources[1].accepted.version == "7");
}

TEST_CASE("a refused document leaves its source's last good one in the merge") {
  const flagd::SourceDocument good = flagd::make_document(flag_document("x", "on"), "1", false);
  std::vector<flagd::SourceInput> inputs;
  inputs.push_back(remote("broken", flagd::make_document(R"({"flags": )", "2", false), good));
  inputs.push_back(remote("other", flagd::make_document(flag_document("y", "off"), "1", false)));
  const flagd::SourcesLoad load = flagd::load_sources(inputs, flagd::FileTrust::Any, flagd::Digest{});
  REQUIRE(load.complete);
  CHECK(load.sources[0].refused);
  CHECK_FALSE(load.sources[0].accepted);
  REQUIRE_FALSE(load.sources[0].diagnostics.empty());
  CHECK(load.sources[0].diagnostics.front().file == "broken");
  CHECK(load.sources[0].used.sha256 == good.sha256);
  REQUIRE(load.loaded.ok());
  CHECK(find(load.loaded.flags, "x") != nullptr);  // from the last good document
  CHECK(find(load.loaded.flags, "y") != nullptr);
}

TEST_CASE("a source with no document yet leaves the merge incomplete") {
  std::vector<flagd::SourceInput> inputs;
  inputs.push_back(remote("first", flagd::make_document(flag_document("x", "on"), "", false)));
  inputs.push_back(remote("silent", {}));
  const flagd::SourcesLoad load = flagd::load_sources(inputs, flagd::FileTrust::Any, flagd::Digest{});
  CHECK_FALSE(load.complete);
  CHECK(load.sources[0].accepted);  // judged all the same: it is the source's good document now
  CHECK_FALSE(load.sources[1].used);
}

TEST_CASE("a cached copy stands in while the source has given nothing valid") {
  const flagd::SourceDocument cached = flagd::make_document(flag_document("x", "on"), "", true);
  flagd::SourceInput unanswered = remote("quiet", {});
  unanswered.fallback = cached;
  const flagd::SourcesLoad quiet = flagd::load_sources({unanswered}, flagd::FileTrust::Any, flagd::Digest{});
  REQUIRE(quiet.complete);
  CHECK(quiet.sources[0].accepted.from_cache);
  CHECK_FALSE(quiet.sources[0].refused);

  // Its first document refused: the copy is judged in the same load, the refusal still said.
  flagd::SourceInput refused = remote("bad-first", flagd::make_document(R"({"flags": 1})", "1", false));
  refused.fallback = cached;
  const flagd::SourcesLoad load = flagd::load_sources({refused}, flagd::FileTrust::Any, flagd::Digest{});
  REQUIRE(load.complete);
  CHECK(load.sources[0].refused);
  CHECK(load.sources[0].used.sha256 == cached.sha256);
  CHECK(load.loaded.ok());

  // A cached copy that does not validate either: nothing from the source.
  refused.fallback = flagd::make_document("[]", "", true);
  const flagd::SourcesLoad neither = flagd::load_sources({refused}, flagd::FileTrust::Any, flagd::Digest{});
  CHECK_FALSE(neither.complete);
  CHECK(neither.sources[0].refused);
}

TEST_CASE("the documents already published are recognised before any parse") {
  const flagd::SourceDocument a = flagd::make_document(flag_document("x", "on"), "1", false);
  const flagd::SourceDocument b = flagd::make_document(flag_document("y", "on"), "1", false);
  const flagd::Digest published = flagd::merged_digest({a.sha256, b.sha256});
  std::vector<flagd::SourceInput> inputs;
  inputs.push_back(remote("a", flagd::make_document(*a.text, "2", false), a));  // the same bytes again
  inputs.push_back(remote("b", {}, b));
  const flagd::SourcesLoad load = flagd::load_sources(inputs, flagd::FileTrust::Any, published);
  CHECK(load.complete);
  CHECK(load.unchanged);
  CHECK(load.loaded.flags.flags.empty());  // nothing was parsed
  REQUIRE(load.sources[0].accepted);        // the same bytes, under the source's latest version
  CHECK(load.sources[0].accepted.version == "2");
  CHECK(load.sources[0].accepted.sha256 == a.sha256);
  CHECK_FALSE(load.sources[1].accepted);

  // A cached copy confirmed by the source itself is no longer only the cache.
  const flagd::SourceDocument cached = flagd::make_document(*a.text, "", true);
  std::vector<flagd::SourceInput> again;
  again.push_back(remote("a", flagd::make_document(*a.text, "etag-9", false), cached));
  const flagd::SourcesLoad confirmed = flagd::load_sources(again, flagd::FileTrust::Any, a.sha256);
  CHECK(confirmed.unchanged);
  REQUIRE(confirmed.sources[0].accepted);
  CHECK_FALSE(confirmed.sources[0].accepted.from_cache);
  CHECK(confirmed.sources[0].accepted.version == "etag-9");
}

TEST_CASE("a file source is read at each load and refused when it cannot be") {
  flagd::test::ScratchDirectory dir("source-load");
  const std::string path = dir.path() + "/flags.json";
  std::ofstream(path) << flag_document("x", "on");
  flagd::SourceInput file;
  file.kind = flagd::SourceKind::File;
  file.name = file.path = path;
  const flagd::SourcesLoad first = flagd::load_sources({file}, flagd::FileTrust::Any, flagd::Digest{});
  REQUIRE(first.sources[0].accepted);
  file.good = first.sources[0].accepted;
  CHECK(flagd::load_sources({file}, flagd::FileTrust::Any, first.merged_sha256).unchanged);
  std::filesystem::remove(path);
  const flagd::SourcesLoad gone = flagd::load_sources({file}, flagd::FileTrust::Any, first.merged_sha256);
  CHECK(gone.sources[0].refused);
  CHECK(gone.unchanged);  // the last good document stays, so the merge is the published one
}

TEST_CASE("source status lines round-trip, and a full field says how many were left out") {
  std::vector<flagd::SourceStatus> sources(2);
  sources[0].uri = "https://cdn.example.com/flags.json?…";
  sources[0].state = flagd::SourceState::Stale;
  sources[0].sha256 = std::string(64, 'a');
  sources[0].version = "W/\"6571-1a2b\"";
  sources[0].last_success_unix_ns = 1'700'000'000'000'000'000;
  sources[0].last_attempt_unix_ns = 1'700'000'005'000'000'000;
  sources[0].bytes = 4096;
  sources[0].fetch_latency_us = 1234;
  sources[0].error = "HTTP 500 from\thttps://cdn\nexample";
  sources[1].uri = "etcd://127.0.0.1:2379/flags";
  sources[1].state = flagd::SourceState::Cached;
  const std::string text = flagd::encode_source_status(sources, 2048);
  const std::vector<flagd::SourceStatus> back = flagd::decode_source_status(text);
  REQUIRE(back.size() == 2);
  CHECK(back[0].uri == sources[0].uri);
  CHECK(back[0].state == flagd::SourceState::Stale);
  CHECK(back[0].sha256 == sources[0].sha256);
  CHECK(back[0].version == sources[0].version);
  CHECK(back[0].last_success_unix_ns == sources[0].last_success_unix_ns);
  CHECK(back[0].last_attempt_unix_ns == sources[0].last_attempt_unix_ns);
  CHECK(back[0].bytes == 4096);
  CHECK(back[0].fetch_latency_us == 1234);
  CHECK(back[0].error == "HTTP 500 from https://cdn example");  // no tab or line break survives
  CHECK(back[1].state == flagd::SourceState::Cached);

  std::vector<flagd::SourceStatus> many(40, sources[0]);
  const std::string cut = flagd::encode_source_status(many, 2048);
  CHECK(cut.size() < 2048);
  const std::size_t kept = flagd::decode_source_status(cut).size();
  CHECK(kept < 40);
  CHECK(cut.find("(" + std::to_string(40 - kept) + " more sources") != std::string::npos);
}

TEST_CASE("a remote source's cached copy is written privately and read back") {
  flagd::test::ScratchDirectory dir("source-cache");
  const flagd::SourceCache cache(dir.path() + "/cache/flagd", "seg");
  flagd::SourceConfig source;
  source.kind = flagd::SourceKind::Http;
  source.uri = "http://127.0.0.1:1/flags.json";
  std::string error;
  CHECK_FALSE(cache.load(source, error));
  CHECK(error.empty());  // none yet is not an error
  REQUIRE(cache.store(source, "{\"flags\": {}}", flagd::FlagFormat::Json, error));
  struct stat info{};
  REQUIRE(::stat(cache.path_for(source).c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  REQUIRE(::stat((dir.path() + "/cache/flagd").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0700);
  const std::optional<flagd::CachedCopy> back = cache.load(source, error);
  REQUIRE(back);
  CHECK(back->text == "{\"flags\": {}}");
  CHECK(back->format == flagd::FlagFormat::Json);

  flagd::SourceConfig other = source;
  other.uri = "http://127.0.0.1:2/flags.json";
  CHECK(cache.path_for(other) != cache.path_for(source));
  flagd::SourceConfig team_a = source, team_b = source;  // one sync server, two selectors
  team_a.selector = "team=a";
  team_b.selector = "team=b";
  CHECK(cache.path_for(team_a) != cache.path_for(team_b));
  CHECK(cache.path_for(team_a) != cache.path_for(source));

  // A YAML document is kept as YAML, and replaces the JSON copy.
  REQUIRE(cache.store(source, "flags: {}\n", flagd::FlagFormat::Yaml, error));
  const std::optional<flagd::CachedCopy> yaml = cache.load(source, error);
  REQUIRE(yaml);
  CHECK(yaml->text == "flags: {}\n");
  CHECK(yaml->format == flagd::FlagFormat::Yaml);
  CHECK(::stat(cache.path_for(source, flagd::FlagFormat::Json).c_str(), &info) != 0);
  REQUIRE(cache.store(source, "{\"flags\": {}}", flagd::FlagFormat::Json, error));
  CHECK(::stat(cache.path_for(source, flagd::FlagFormat::Yaml).c_str(), &info) != 0);

  ::chmod(cache.path_for(source).c_str(), 0666);  // writable by every user: not trusted
  CHECK_FALSE(cache.load(source, error));
  CHECK(error.find("is not used") != std::string::npos);
  CHECK_FALSE(flagd::SourceCache("", "seg").load(source, error));
}
