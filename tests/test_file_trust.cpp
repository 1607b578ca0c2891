// The daemon trusts a flag file only as far as no other user could have chosen it: the file, and
// every directory and symbolic link on the way to it.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/interprocess/shared_memory_object.hpp>
#include <climits>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include "child_process.hpp"
#include "flag_loader.hpp"
#include "flagd/reader.hpp"
#include "named_segment.hpp"

using flagd::test::eventually;
using flagd::test::Process;

namespace {

constexpr uid_t kNobody = 65534;

std::string flags_with(const char* state) {
  return std::string(R"({"flags": {"switch": {"state": ")") + state +
         R"(", "variants": {"on": true, "off": false}, "defaultVariant": "on"}}})";
}

// A tree of directories under a fresh one, owned by whoever runs the test and mode 0755, with
// real flag files in `real/` to point links at.
struct Tree {
  std::string base;
  explicit Tree(const char* what) : base(std::filesystem::temp_directory_path() / flagd::test::unique_segment(what)) {
    std::filesystem::remove_all(base);
    directory("", 0755);
    directory("real", 0755);
    file("real/flags.json", flags_with("ENABLED"));
    file("real/other.json", flags_with("DISABLED"));
  }
  ~Tree() { std::filesystem::remove_all(base); }
  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;

  std::string at(const std::string& relative) const { return relative.empty() ? base : base + "/" + relative; }
  std::string directory(const std::string& relative, mode_t mode) const {
    std::filesystem::create_directories(at(relative));
    REQUIRE(::chmod(at(relative).c_str(), mode) == 0);
    return at(relative);
  }
  std::string file(const std::string& relative, const std::string& text) const {
    std::ofstream(at(relative)) << text;
    REQUIRE(::chmod(at(relative).c_str(), 0644) == 0);
    return at(relative);
  }
  std::string link(const std::string& relative, const std::string& target) const {
    ::unlink(at(relative).c_str());
    REQUIRE(::symlink(target.c_str(), at(relative).c_str()) == 0);
    return at(relative);
  }
};

using flagd::test::SegmentFiles;

flagd::LoadResult load(const std::string& path) { return flagd::load_flag_files({path}, flagd::FileTrust::OwnerOrRoot); }

// The first diagnostic's message, or "" when the file loaded.
std::string refusal(const std::string& path) {
  const flagd::LoadResult loaded = load(path);
  return loaded.ok() ? "" : loaded.diagnostics.front().message;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("a plain flag file in a directory only its owner can write loads") {
  Tree t("trust-plain");
  CHECK(refusal(t.at("real/flags.json")).empty());
  CHECK(refusal(t.at("real/../real/./flags.json")).empty());
}

TEST_CASE("a flag file in a directory other users can write is refused") {
  Tree t("trust-dir");
  const std::string dir = t.directory("shared", 0777);
  const std::string file = t.file("shared/flags.json", flags_with("ENABLED"));
  std::string why = refusal(file);
  INFO(why);
  CHECK(contains(why, "the directory '" + dir + "' is writable by every user (mode 0777) and not sticky"));
  CHECK(contains(why, "anyone could replace 'flags.json' there"));
  CHECK(contains(why, "chmod o-w '" + dir + "'"));

  REQUIRE(::chmod(dir.c_str(), 0775) == 0);
  why = refusal(file);
  CHECK(contains(why, "the directory '" + dir + "' is writable by its group"));

  REQUIRE(::chmod(dir.c_str(), 0755) == 0);
  CHECK(refusal(file).empty());
  CHECK(flagd::load_flag_files({file}, flagd::FileTrust::Any).ok());
}

TEST_CASE("a directory other users can write anywhere on the way is refused") {
  Tree t("trust-ancestor");
  const std::string open = t.directory("open", 0777);
  t.directory("open/inner", 0755);
  const std::string file = t.file("open/inner/flags.json", flags_with("ENABLED"));
  const std::string why = refusal(file);
  INFO(why);
  CHECK(contains(why, "the directory '" + open + "' is writable by every user"));
  CHECK(contains(why, "anyone could replace 'inner' there"));
}

TEST_CASE("a symbolic link to a trusted file, in a directory other users can write, is refused") {
  Tree t("trust-swapped");
  const std::string dir = t.directory("shared", 0777);
  const std::string link = t.link("shared/flags.json", t.at("real/other.json"));
  const flagd::LoadResult loaded = load(link);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.diagnostics.front().file == link);
  CHECK(contains(loaded.diagnostics.front().message, "the directory '" + dir + "' is writable by every user"));
  CHECK(loaded.flags.flags.empty());
}

TEST_CASE("in a sticky directory, only entries of trusted users are followed") {
  if (::geteuid() != 0) {
    WARN("SKIPPED: only root can give a symbolic link to another user");
    return;
  }
  Tree t("trust-sticky");
  t.directory("sticky", 01777);
  const std::string theirs = t.link("sticky/flags.json", t.at("real/other.json"));
  REQUIRE(::lchown(theirs.c_str(), kNobody, kNobody) == 0);
  const std::string why = refusal(theirs);
  INFO(why);
  CHECK(contains(why, "the symbolic link '" + theirs + "' (to '" + t.at("real/other.json") +
                          "') is owned by uid 65534, neither this daemon's user (uid 0) nor root"));

  const std::string ours = t.link("sticky/ours.json", t.at("real/flags.json"));
  CHECK(refusal(ours).empty());
  const std::string file = t.file("sticky/plain.json", flags_with("ENABLED"));
  CHECK(refusal(file).empty());
}

TEST_CASE("a directory owned by another user is refused") {
  if (::geteuid() != 0) {
    WARN("SKIPPED: only root can give a directory to another user");
    return;
  }
  Tree t("trust-owner");
  const std::string dir = t.directory("theirs", 0755);
  const std::string link = t.link("theirs/flags.json", "../real/flags.json");
  REQUIRE(::chown(dir.c_str(), kNobody, kNobody) == 0);
  const std::string why = refusal(link);
  INFO(why);
  CHECK(contains(why, "the directory '" + dir + "' is owned by uid 65534, neither this daemon's user (uid 0) nor root"));
}

TEST_CASE("a Kubernetes ConfigMap volume loads, through its links") {
  Tree t("trust-configmap");
  // As the kubelet lays it out: a timestamped directory, "..data" pointing to it, and each key a
  // link through "..data"; the volume's root is a tmpfs, sticky and writable by all, or not.
  for (const mode_t mode : {01777, 0755}) {
    const std::string volume = t.directory("volume", mode);
    t.directory("volume/..2024_01_01_00_00_00.123456789", 0755);
    t.file("volume/..2024_01_01_00_00_00.123456789/flags.json", flags_with("ENABLED"));
    t.link("volume/..data", "..2024_01_01_00_00_00.123456789");
    const std::string key = t.link("volume/flags.json", "..data/flags.json");
    const flagd::LoadResult loaded = load(key);
    INFO((loaded.ok() ? "" : loaded.diagnostics.front().message));
    CHECK(loaded.ok());
    CHECK(loaded.flags.flags.size() == 1);

    // And by a path relative to the working directory.
    std::array<char, PATH_MAX> cwd{};
    REQUIRE(::getcwd(cwd.data(), cwd.size()) != nullptr);
    REQUIRE(::chdir(volume.c_str()) == 0);
    const std::string relative = refusal("flags.json");
    REQUIRE(::chdir(cwd.data()) == 0);
    CHECK(relative.empty());
  }
}

TEST_CASE("what the walk refuses on its way, it says") {
  Tree t("trust-walk");
  t.link("a", "b");
  t.link("b", "a");
  CHECK(contains(refusal(t.at("a")), "more than 40 symbolic links on the way to the file"));
  t.file("plain", flags_with("ENABLED"));
  CHECK(contains(refusal(t.at("plain/flags.json")),
                 "cannot open '" + t.at("plain") + "' on the way to the file: Not a directory"));
  CHECK(refusal(t.at("missing.json")) == "cannot open the file: No such file or directory");
  CHECK(refusal(t.at("real")) == "not a regular file");
  t.link("to-dir", "real");
  CHECK(contains(refusal(t.at("to-dir")), "the file it leads to, '" + t.at("real") + "', is not a regular file"));
  t.link("dangling", "nowhere.json");
  CHECK(contains(refusal(t.at("dangling")), "cannot open '" + t.at("nowhere.json") + "' on the way to the file"));
  const std::string writable = t.file("real/writable.json", flags_with("ENABLED"));
  REQUIRE(::chmod(writable.c_str(), 0666) == 0);
  t.link("to-writable", "real/writable.json");
  CHECK(contains(refusal(t.at("to-writable")),
                 "the file it leads to, '" + writable + "', is writable by every user (mode 0666)"));
}

TEST_CASE("the daemon rejects a reload through a link swapped into a directory others can write") {
  Tree t("trust-daemon");
  const std::string dir = t.directory("flags", 0755);
  const std::string file = t.file("flags/flags.json", flags_with("ENABLED"));
  const SegmentFiles files("trust-daemon");
  const std::string& segment = files.name;
  Process daemon = Process::spawn({FLAGD_BINARY, "--flags", file, "--segment", segment, "--image-capacity", "1"},
                                  t.at("daemon.log"));
  REQUIRE(eventually([&] {
    auto attached = flagd::Reader::attach(segment);
    return attached && attached->generation() >= 1;
  }));
  auto reader = flagd::Reader::attach(segment);
  REQUIRE(reader);
  CHECK(reader->get_bool(reader->resolve("switch"), false));

  // A careless chmod, then another user swaps the file for a link to another trusted flag file.
  REQUIRE(::chmod(dir.c_str(), 0777) == 0);
  t.link("flags/flags.json", t.at("real/other.json"));
  ::kill(daemon.pid, SIGHUP);
  CHECK(eventually([&] { return reader->status().reloads_failed == 1; }));
  CHECK(reader->generation() == 1);
  CHECK(reader->get_bool(reader->resolve("switch"), false));
  CHECK(contains(reader->status().last_error, "the directory '" + dir + "' is writable by every user"));

  ::kill(daemon.pid, SIGTERM);
  CHECK(daemon.wait() == 0);
}
