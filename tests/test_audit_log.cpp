// What each publication changed, as the daemon says it: its log's lines and the --audit-log file's
// JSON lines, across a start and reloads; an audit file that cannot be written, one rotated away,
// and the files the audit log refuses to append to.
#include <catch2/catch.hpp>

#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "audit_log.hpp"
#include "child_process.hpp"
#include "flag_changes.hpp"
#include "flagd/reader.hpp"
#include "flagd/wall_clock.hpp"
#include "named_segment.hpp"
#include "publication_audit.hpp"
#include "published_reader.hpp"
#include "scratch_directory.hpp"
#include "sha256.hpp"

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = text.find('\n', at);
    if (end == std::string::npos) {
      lines.push_back(text.substr(at) + "<no newline>");
      break;
    }
    lines.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return lines;
}

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

std::string sha256_hex(const std::string& text) {
  flagd::Sha256 digest;
  digest.update(text);
  return flagd::to_hex(digest.finish());
}


// A daemon on one flag file with --audit-log, and a reader of its segment.
class AuditedDaemon {
 public:
  AuditedDaemon(const char* name, const flagd::test::ScratchDirectory& dir, const std::string& flags,
                const std::string& audit)
      : segment_(name), file_(dir / "flags.json"), audit_(audit), log_(dir / "daemon.log") {
    write(flags);
    process_ = flagd::test::Process::spawn(
        {FLAGD_BINARY, "--flags", file_, "--segment", segment_.name, "--audit-log", audit_}, log_);
    reader_ = flagd::test::attach_when_published(segment_.name);
    if (!reader_) FAIL("the daemon published nothing; its log:\n" << log());
    remember();
  }
  ~AuditedDaemon() {
    ::kill(process_.pid, SIGTERM);
    process_.wait();
  }

  void write(const std::string& flags) {
    text_ = R"({"flags": {)" + flags + "}}";
    std::ofstream(file_) << text_;
  }
  // Writes `flags`, sends SIGHUP and waits for generation `generation` to be published.
  void reload(const std::string& flags, std::uint64_t generation) {
    write(flags);
    ::kill(process_.pid, SIGHUP);
    REQUIRE(flagd::test::eventually([&] { return reader_->generation() == generation; }));
    remember();
  }
  std::string log() const { return flagd::test::read_file(log_); }
  flagd::Reader& reader() { return *reader_; }
  const std::string& file() const { return file_; }
  const std::string& text() const { return text_; }
  const std::string& segment() const { return segment_.name; }
  pid_t pid() const { return process_.pid; }
  // The fingerprint of `key` in generation `generation`, as the image holds it.
  std::string fingerprint(std::uint64_t generation, const std::string& key) {
    return flagd::fingerprint_hex(fingerprints_.at(generation).at(key));
  }
  // When generation `generation` was published.
  std::uint64_t published_ns(std::uint64_t generation) const { return published_ns_.at(generation); }

 private:
  void remember() {
    const flagd::SegmentStatus status = reader_->status();
    published_ns_[status.image_generation] = status.image_published_unix_ns;
    for (const flagd::FlagSummary& f : reader_->list()) fingerprints_[status.image_generation][f.key] = f.fingerprint;
  }

  flagd::test::SegmentFiles segment_;
  std::string file_, audit_, log_, text_;
  flagd::test::Process process_;
  std::optional<flagd::Reader> reader_;
  std::map<std::uint64_t, std::map<std::string, std::uint64_t>> fingerprints_;
  std::map<std::uint64_t, std::uint64_t> published_ns_;
};

// The audit file's lines once it has `count` (bounded wait), each checked to be one JSON object.
std::vector<std::string> audit_lines(const std::string& path, std::size_t count) {
  std::vector<std::string> lines;
  flagd::test::eventually([&] { return (lines = lines_of(flagd::test::read_file(path))).size() >= count; });
  return lines;
}

const std::string kA = R"("a": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"})";
const std::string kB = R"("b": {"state": "ENABLED", "variants": {"v": "x"}, "defaultVariant": "v"})";

}  // namespace

TEST_CASE("audit_line: generation, time in RFC 3339 UTC, segment, start, sources, image digest and changes") {
  flagd::FlagSet set;
  set.sources = {{"flags.json", std::string(64, 'a')}, {"https://example.test/flags", std::string(64, 'b')}};
  set.sha256.fill(0xcd);
  const std::vector<flagd::FlagDiff> changes = flagd::diff_flags({}, {flagd::FlagFacts{"k", true, flagd::layout::ValueKind::Boolean, "on", {}, "", {}, 7}});
  const flagd::PublicationRecord record{12, 1796239271'123456789ull, "flagd", true, &set, &changes};
  CHECK(flagd::audit_line(record) ==
        R"({"generation":12,"time":"2026-12-02T19:21:11.123Z","segment":"flagd","start":true,"sources":[)"
        R"({"uri":"flags.json","sha256":")" + std::string(64, 'a') + R"("},{"uri":"https://example.test/flags","sha256":")" +
            std::string(64, 'b') + R"("}],"image_sha256":")" + flagd::to_hex(set.sha256) +
            R"(","changes":[{"key":"k","change":"added","state":[null,"ENABLED"],"defaultVariant":[null,"on"]}]})" + "\n");
  const flagd::PublicationRecord later{13, 1796239272'000000000ull, "flagd", false, &set, &changes};
  CHECK(flagd::audit_line(later).find("\"start\"") == std::string::npos);
}

TEST_CASE("flagd --audit-log: a JSON line per publication, and the log's lines per flag, across a start and two reloads") {
  flagd::test::ScratchDirectory dir("flagd-audit");
  const std::string audit = dir / "audit.jsonl";
  AuditedDaemon daemon("audit", dir, kA + "," + kB, audit);
  std::vector<std::string> texts{daemon.text()};

  daemon.reload(R"("a": {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"},)"
                R"("b": {"state": "ENABLED", "variants": {"v": "y"}, "defaultVariant": "v"},)"
                R"("c": {"state": "ENABLED", "variants": {"s": "t"}, "defaultVariant": "s"})",
                2);
  texts.push_back(daemon.text());
  const std::string rule = R"({"if":[{"==":[{"var":"tier"},"gold"]},"on","off"]})";
  daemon.reload(R"("a": {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",)"
                R"( "targeting": {"if": [{"==": [{"var": "tier"}, "gold"]}, "on", "off"]}},)"
                R"("c": {"state": "ENABLED", "variants": {"s": "t"}, "defaultVariant": "s", "metadata": {"owner": "team-a"}})",
                3);
  texts.push_back(daemon.text());

  // An unchanged reload publishes nothing and writes nothing.
  ::kill(daemon.pid(), SIGHUP);
  REQUIRE(flagd::test::eventually([&] { return daemon.log().find("unchanged; generation 3 stays") != std::string::npos; }));

  const std::vector<std::string> lines = audit_lines(audit, 3);
  REQUIRE(lines.size() == 3);
  const std::string fa = "\"" + daemon.fingerprint(1, "a") + "\"", fa2 = "\"" + daemon.fingerprint(2, "a") + "\"",
                    fa3 = "\"" + daemon.fingerprint(3, "a") + "\"", fb = "\"" + daemon.fingerprint(1, "b") + "\"",
                    fb2 = "\"" + daemon.fingerprint(2, "b") + "\"", fc = "\"" + daemon.fingerprint(2, "c") + "\"",
                    fc3 = "\"" + daemon.fingerprint(3, "c") + "\"";
  const std::vector<std::string> changes{
      R"([{"key":"a","change":"added","state":[null,"ENABLED"],"defaultVariant":[null,"off"]},)"
      R"({"key":"b","change":"added","state":[null,"ENABLED"],"defaultVariant":[null,"v"]}])",
      R"([{"key":"a","change":"changed","state":["ENABLED","DISABLED"],"fingerprint":[)" + fa + "," + fa2 + "]}," +
          R"({"key":"b","change":"changed","variants":{"changed":{"v":["x","y"]}},"fingerprint":[)" + fb + "," + fb2 + "]}," +
          R"({"key":"c","change":"added","state":[null,"ENABLED"],"defaultVariant":[null,"s"]}])",
      R"([{"key":"a","change":"changed","rule":{"fingerprint":[null,")" + flagd::rule_fingerprint(rule) +
          R"("],"before":null,"after":)" + rule + R"(},"fingerprint":[)" + fa2 + "," + fa3 + "]}," +
          R"({"key":"b","change":"removed"},)" +
          R"({"key":"c","change":"changed","metadata":{"added":{"owner":"team-a"}},"fingerprint":[)" + fc + "," + fc3 + "]}]"};
  simdjson::dom::parser parser;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    INFO("line " << i + 1 << ": " << lines[i]);
    const simdjson::dom::element line = parser.parse(lines[i]);
    const std::uint64_t generation = i + 1;
    CHECK(std::uint64_t(line["generation"]) == generation);
    CHECK(std::string_view(line["time"]) == flagd::rfc3339_utc(daemon.published_ns(generation)));
    CHECK(std::string_view(line["segment"]) == daemon.segment());
    CHECK((line["start"].error() == simdjson::SUCCESS) == (i == 0));
    if (i == 0) CHECK(bool(line["start"]));
    const simdjson::dom::array sources = line["sources"];
    REQUIRE(sources.size() == 1);
    CHECK(std::string_view(sources.at(0)["uri"]) == daemon.file());
    CHECK(std::string_view(sources.at(0)["sha256"]) == sha256_hex(texts[i]));
    // One file: the image's digest is the file's.
    CHECK(std::string_view(line["image_sha256"]) == sha256_hex(texts[i]));
    CHECK(simdjson::minify(line["changes"]) == changes[i]);
  }
  CHECK(daemon.reader().status().image_sha256 == sha256_hex(texts[2]));

  const std::string log = daemon.log();
  CHECK(log.find("generation 1: this daemon's first publication, 2 flags, not compared with the image before it; "
                 "the audit log lists them") != std::string::npos);
  CHECK(log.find("generation 1: flag") == std::string::npos);  // the start is not said flag by flag
  CHECK(log.find("generation 2: flag 'a' changed: state ENABLED -> DISABLED\n") != std::string::npos);
  CHECK(log.find(R"(generation 2: flag 'b' changed: variants ~v ("x" -> "y"))") != std::string::npos);
  CHECK(log.find("generation 2: flag 'c' added: ENABLED, default variant 's'") != std::string::npos);
  CHECK(log.find("generation 3: flag 'a' changed: rule none -> " + rule) != std::string::npos);
  CHECK(log.find("generation 3: flag 'b' removed") != std::string::npos);
  CHECK(log.find(R"(generation 3: flag 'c' changed: metadata +owner ("team-a"))") != std::string::npos);
  CHECK(log.find("generation 4") == std::string::npos);

  struct stat info{};
  REQUIRE(::stat(audit.c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0640);  // as the segment: its group may read it
}

TEST_CASE("flagd's log says at most 20 flag changes per publication, then how many more") {
  flagd::test::ScratchDirectory dir("flagd-audit-many");
  const auto flags = [](const std::string& value) {
    std::string members;
    for (int i = 0; i < 25; ++i)
      members += (i ? "," : "") + std::string("\"f") + std::to_string(10 + i) + R"(": {"state": "ENABLED", "variants": {"v": ")" +
                 value + R"("}, "defaultVariant": "v"})";
    return members;
  };
  const std::string audit = dir / "audit.jsonl";
  AuditedDaemon daemon("audit-many", dir, flags("one"), audit);
  daemon.reload(flags("two"), 2);
  const std::vector<std::string> lines = audit_lines(audit, 2);
  REQUIRE(lines.size() == 2);
  simdjson::dom::parser parser;
  CHECK(simdjson::dom::array(parser.parse(lines[1])["changes"]).size() == 25);
  REQUIRE(flagd::test::eventually([&] { return daemon.log().find("generation 2: ... and") != std::string::npos; }));
  const std::string log = daemon.log();
  CHECK(occurrences(log, "generation 2: flag '") == 20);
  CHECK(log.find("generation 2: flag 'f29' changed") != std::string::npos);  // the first 20, by key
  CHECK(log.find("generation 2: flag 'f30'") == std::string::npos);
  CHECK(log.find("generation 2: ... and 5 more flag changes (all in the audit log)") != std::string::npos);
}

TEST_CASE("flagd publishes when its audit log cannot be written, says so once, and says what it missed") {
  flagd::test::ScratchDirectory dir("flagd-audit-fail");
  const std::string missing = dir / "not-yet";
  const std::string audit = missing + "/audit.jsonl";
  AuditedDaemon daemon("audit-fail", dir, kA, audit);
  CHECK(daemon.reader().get_bool(daemon.reader().resolve("a"), true) == false);
  daemon.reload(R"("a": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"})", 2);
  CHECK(daemon.reader().get_bool(daemon.reader().resolve("a"), false) == true);  // published all the same

  REQUIRE(::mkdir(missing.c_str(), 0755) == 0);
  daemon.reload(kA, 3);
  REQUIRE(flagd::test::eventually([&] { return daemon.log().find("is written again") != std::string::npos; }));
  const std::string log = daemon.log();
  CHECK(occurrences(log, "cannot append to the audit log '" + audit + "': No such file or directory") == 1);
  CHECK(log.find("the audit log '" + audit + "' is written again; generations 1 to 2 are missing from it") != std::string::npos);
  const std::vector<std::string> lines = audit_lines(audit, 1);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find(R"({"generation":3,)") == 0);
  CHECK(lines[0].find("\"start\"") == std::string::npos);  // the start was generation 1
}

TEST_CASE("flagd's audit log follows logrotate: a file renamed away or truncated") {
  flagd::test::ScratchDirectory dir("flagd-audit-rotate");
  const std::string audit = dir / "audit.jsonl";
  AuditedDaemon daemon("audit-rotate", dir, kA, audit);
  REQUIRE(audit_lines(audit, 1).size() == 1);

  REQUIRE(std::rename(audit.c_str(), (audit + ".1").c_str()) == 0);  // logrotate's default
  daemon.reload(kA + "," + kB, 2);
  std::vector<std::string> lines = audit_lines(audit, 1);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find(R"({"generation":2,)") == 0);
  const std::vector<std::string> rotated = lines_of(flagd::test::read_file(audit + ".1"));
  REQUIRE(rotated.size() == 1);
  CHECK(rotated[0].find(R"({"generation":1,)") == 0);

  REQUIRE(::truncate(audit.c_str(), 0) == 0);  // copytruncate: appended at the new end
  daemon.reload(kB, 3);
  lines = audit_lines(audit, 1);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find(R"({"generation":3,)") == 0);
}

TEST_CASE("AuditFile refuses a symbolic link, a FIFO and a file with other names, and appends whole lines") {
  flagd::test::ScratchDirectory dir("flagd-audit-file");
  std::string error;

  REQUIRE(::symlink((dir / "elsewhere").c_str(), (dir / "link").c_str()) == 0);
  flagd::AuditFile link(dir / "link", 0640, std::nullopt);
  CHECK_FALSE(link.append("{}\n", error));
  CHECK(error == "cannot append to the audit log '" + dir / "link" + "': it is a symbolic link; give the file's own path");
  CHECK(::access((dir / "elsewhere").c_str(), F_OK) != 0);  // nothing made through it

  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  flagd::AuditFile fifo(dir / "fifo", 0640, std::nullopt);
  CHECK_FALSE(fifo.append("{}\n", error));  // and does not wait for a reader of it
  CHECK(error.find("cannot append to the audit log '" + dir / "fifo" + "'") == 0);

  std::ofstream(dir / "linked") << "";
  REQUIRE(::link((dir / "linked").c_str(), (dir / "other-name").c_str()) == 0);
  flagd::AuditFile linked(dir / "linked", 0640, std::nullopt);
  CHECK_FALSE(linked.append("{}\n", error));
  CHECK(error == "cannot append to the audit log '" + dir / "linked" + "': it has 2 hard links; give it a name of its own");

  flagd::AuditFile file(dir / "audit.jsonl", 0600, std::nullopt);
  REQUIRE(file.append("{\"n\":1}\n", error));
  REQUIRE(file.append("{\"n\":2}\n", error));
  CHECK(flagd::test::read_file(dir / "audit.jsonl") == "{\"n\":1}\n{\"n\":2}\n");
  struct stat info{};
  REQUIRE(::stat((dir / "audit.jsonl").c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0600);
  REQUIRE(::unlink((dir / "audit.jsonl").c_str()) == 0);  // removed: made again at the next line
  REQUIRE(file.append("{\"n\":3}\n", error));
  CHECK(flagd::test::read_file(dir / "audit.jsonl") == "{\"n\":3}\n");
}
