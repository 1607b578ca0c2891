// The fast forms of common rule shapes (flagd/fast_form.hpp, compiled by the loader and run by
// libreader/src/fast_form_eval.hpp) against the general
// interpreter (rule_eval.hpp), on the same compiled image: generated rules of the shapes the fast
// path takes, with their edge cases (absent attributes, attributes of other types, paths naming
// list elements, invalid versions, odd weights), and generated contexts. Wherever the fast path
// decides, its answer must be the interpreter's; and it must decide most of these rules, or the
// speed it exists for is not there.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <string>

#include "fast_form_eval.hpp"
#include "flag_loader.hpp"
#include "image_builder.hpp"
#include "first_rule.hpp"
#include "rule_eval.hpp"

namespace {

using flagd::Context;
using flagd::detail::FastDecision;
using flagd::detail::RuleOutcome;

class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  std::string rule() {
    switch (below(4)) {
      case 0: return fractional();
      default: return if_chain(0);
    }
  }

  void context(Context& c) {
    c.clear();
    static const char* const kCountries[] = {"DE", "FR", "", "United Kingdom of GB", "de"};
    static const char* const kEmails[] = {"ann@example.com", "bob@corp.example", "@example.com", "x", ""};
    static const char* const kVersions[] = {"1.2.3", "2.0.0", "v2.10.3", "1.2", "2", "01.2.3", "1.2.3-rc.1",
                                            "1.2.3+build", "not", "", "1.2.3.4", "V1.0.0", "99999999999999999999.0.0"};
    if (below(5) != 0) {
      if (below(6) == 0) c.set("country", 49.0);
      else c.set("country", kCountries[below(5)]);
    }
    if (below(5) != 0) c.set("email", kEmails[below(5)]);
    if (below(5) != 0) {
      if (below(8) == 0) c.set("version", 2.0);
      else c.set("version", kVersions[below(13)]);
    }
    if (below(5) != 0) {
      if (below(6) == 0) c.set("tier", "3");
      else if (below(8) == 0) c.set("tier", std::nan(""));
      else c.set("tier", static_cast<double>(below(7)) - 1);
    }
    if (below(4) == 0) {
      const Context::Item items[] = {Context::Item::of("DE"), Context::Item::of("FR")};
      c.set_list("tags", items);
    }
    if (below(6) == 0) c.set_null("plan");
    else if (below(5) != 0) c.set("plan", below(2) ? "pro" : "enterprise");
    if (below(8) != 0) {
      keys_.push_back("user-" + std::to_string(below(100000)));  // the context keeps a view of it
      c.set_targeting_key(keys_.back());
    }
    if (below(10) == 0) c.set("tags.0", "DE");
    if (below(3) == 0) {
      const Context::Item items[] = {Context::Item::of("FR"), Context::Item::of(below(2) ? "DE" : "x")};
      c.set_object("obj").set_list("obj.tags", items);
    }
  }

 private:
  std::uint32_t below(std::uint32_t n) { return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(rng_); }
  template <std::size_t N>
  const char* pick(const char* const (&list)[N]) { return list[below(N)]; }

  std::string attribute() {
    // Paths into lists read a segment as a number ("tags.x" is tags.0), whatever it is.
    static const char* const kPaths[] = {"country", "email", "plan", "tier", "missing", "tags.0", "tags.1", "tags",
                                         "tags.x", "tags.01", "obj.tags.1", "obj.missing"};
    return std::string("{\"var\": \"") + pick(kPaths) + "\"}";
  }
  std::string text() {
    static const char* const kTexts[] = {"\"DE\"", "\"FR\"", "\"\"", "\"@example.com\"", "\"ann\"", "\"pro\"",
                                         "\"United Kingdom of GB\"", "\"enterprise\""};
    return pick(kTexts);
  }

  std::string condition(int depth) {
    switch (depth > 2 ? below(7) : below(10)) {
      case 0: return "{\"" + std::string(below(2) ? "==" : "===") + "\": [" + attribute() + ", " + text() + "]}";
      case 1: return "{\"" + std::string(below(2) ? "!=" : "!==") + "\": [" + text() + ", " + attribute() + "]}";
      case 2: return "{\"in\": [" + attribute() + ", [" + text() + ", " + text() + "]]}";
      case 3: return "{\"" + std::string(below(2) ? "starts_with" : "ends_with") + "\": [" + attribute() + ", " + text() + "]}";
      case 4: {
        static const char* const kOps[] = {"=", "!=", "<", "<=", ">", ">=", "^", "~", "==", ""};
        static const char* const kVersions[] = {"1.2.3", "2.0.0", "1.2", "v1.0.0", "2.0.0-rc.1", "bad"};
        return "{\"sem_ver\": [" + attribute() + ", \"" + pick(kOps) + "\", \"" + pick(kVersions) + "\"]}";
      }
      case 5: {
        static const char* const kOps[] = {"<", "<=", ">", ">="};
        const std::string number = std::to_string(static_cast<int>(below(5)) - 1);
        return below(2) ? "{\"" + std::string(pick(kOps)) + "\": [" + attribute() + ", " + number + "]}"
                        : "{\"" + std::string(pick(kOps)) + "\": [" + number + ", " + attribute() + "]}";
      }
      case 6: return below(2) ? "true" : (below(2) ? "false" : "null");
      case 7: {
        std::string list;
        for (std::uint32_t i = 0, n = below(4); i < n; ++i) list += (i ? ", " : "") + condition(depth + 1);
        return "{\"" + std::string(below(2) ? "and" : "or") + "\": [" + list + "]}";
      }
      case 8: {
        // ! and !! of one operand, written in an array or alone; more operands are evaluated too.
        const std::string op = below(2) ? "!" : "!!";
        switch (below(4)) {
          case 0: return "{\"" + op + "\": " + condition(depth + 1) + "}";
          case 1: return "{\"" + op + "\": [" + condition(depth + 1) + ", " + (below(2) ? "1" : "{\"nope\": 1}") + "]}";
          default: return "{\"" + op + "\": [" + condition(depth + 1) + "]}";
        }
      }
      default: return below(3) != 0 ? "{\"!\": []}" : "{\"unknown_operator\": [1]}";
    }
  }

  std::string result(int depth) {
    switch (below(depth > 1 ? 4 : 6)) {
      case 0: return "null";
      case 1: return "\"unknown-variant\"";
      case 4: return if_chain(depth + 1);
      case 5: return fractional();
      default: return below(2) ? "\"on\"" : "\"off\"";
    }
  }

  std::string if_chain(int depth) {
    std::string args;
    for (std::uint32_t i = 0, pairs = below(3); i < pairs; ++i)
      args += (args.empty() ? "" : ", ") + condition(0) + ", " + result(depth);
    if (args.empty() || below(3) != 0) args += (args.empty() ? "" : ", ") + result(depth);
    return "{\"if\": [" + args + "]}";
  }

  std::string fractional() {
    static const char* const kWeights[] = {"0", "1", "25", "75", "-5", "1.5", "null", "2147483647"};
    static const char* const kVariants[] = {"\"on\"", "\"off\"", "null", "true", "\"unknown-variant\""};
    std::string buckets;
    for (std::uint32_t i = 0, n = 1 + below(3); i < n; ++i) {
      std::string bucket = std::string("[") + kVariants[below(i == 0 ? 2 : 5)];
      if (below(5) != 0) bucket += std::string(", ") + pick(kWeights);
      buckets += (i ? ", " : "") + bucket + "]";
    }
    return "{\"fractional\": [" + buckets + "]}";
  }

  std::mt19937 rng_;
  std::deque<std::string> keys_;  // stable addresses
};

struct Counts {
  int decided = 0;
  int total = 0;
};

// The image of a flag file of one flag (index 0), as the daemon builds it.
std::vector<std::byte> image_of(const std::string& json) {
  flagd::LoadResult loaded = flagd::load_flag_text(json, "fast.json");
  REQUIRE(loaded.ok());
  flagd::StableIndex index;
  return flagd::build_image(loaded.flags, index, flagd::ImageStamp{});
}

// Compiles `rule` into an image and compares both evaluators on `contexts`.
void compare(const std::string& rule, const std::vector<Context>& contexts, Counts& counts) {
  const std::vector<std::byte> image = image_of(R"({"flags": {"flag-under-test": {"state": "ENABLED",
      "variants": {"on": true, "off": false, "unknown": true}, "defaultVariant": "off", "targeting": )" +
                                                rule + "}}}");
  const flagd::test::FirstRule first(image);
  flagd::layout::FastFormRef form{};
  const bool has_form = flagd::detail::open_fast_form(first.slot, 0, form);
  for (const Context& context : contexts) {
    ++counts.total;
    const FastDecision fast = has_form ? flagd::detail::run_fast_form(first.slot, form, &context) : FastDecision{};
    if (fast.kind == FastDecision::Kind::Undecided) continue;
    ++counts.decided;
    auto interpreter = first.interpreter(context);
    const RuleOutcome general = interpreter->run();
    INFO("rule: " << rule);
    if (fast.kind == FastDecision::Kind::Null) {
      CHECK(general == RuleOutcome::Null);
    } else {
      REQUIRE(general == RuleOutcome::Variant);
      CHECK(interpreter->variant_index() == fast.variant + 1);
    }
  }
}

// Context keys are views: the keys of a test's contexts live here.
std::deque<std::string>& keys_for_test() {
  static std::deque<std::string> keys;
  return keys;
}

// The payload of the variant the fast form of `rule` (variants on: true, off: false) chooses on
// `context`: 1 or 0; -1 if it gives null or leaves the rule undecided.
using Evaluations = std::vector<int>;
int fast_variant(const std::string& rule, const Context& context) {
  const std::vector<std::byte> image = image_of(R"({"flags": {"f": {"state": "ENABLED",
      "variants": {"on": true, "off": false}, "defaultVariant": "off", "targeting": )" + rule + "}}}");
  const flagd::detail::SlotView slot{image.data(), image.size()};
  flagd::layout::FastFormRef form{};
  if (!flagd::detail::open_fast_form(slot, 0, form)) return -1;
  const FastDecision d = flagd::detail::run_fast_form(slot, form, &context);
  return d.kind == FastDecision::Kind::Variant ? static_cast<int>(d.payload) : -1;
}

}  // namespace

TEST_CASE("the fast path decides as the interpreter does, on generated rules and contexts") {
  Generator generate(20261124);
  std::vector<Context> contexts(40);
  Counts counts;
  for (int r = 0; r < 1500; ++r) {
    for (Context& c : contexts) generate.context(c);
    compare(generate.rule(), contexts, counts);
  }
  std::printf("fast path decided %d of %d evaluations\n", counts.decided, counts.total);
  CHECK(counts.decided > counts.total / 2);
}

TEST_CASE("the fast path leaves what it cannot be sure of to the interpreter") {
  Context context;
  context.set("tier", 3.0).set("country", "DE");
  Counts counts;
  // A number attribute in a string test, a path that may name a list element, a `var` with a
  // default, a computed result: each is the interpreter's to decide.
  for (const char* rule : {R"({"if": [{"==": [{"var": "tier"}, "3"]}, "on", "off"]})",
                           R"({"if": [{"==": [{"var": "tags.0"}, "DE"]}, "on", "off"]})",
                           R"({"if": [{"==": [{"var": ["nope", "DE"]}, "DE"]}, "on", "off"]})",
                           R"({"if": [{"==": [{"var": "country"}, "DE"]}, {"cat": ["o", "n"]}, "off"]})"}) {
    counts = {};
    compare(rule, {context}, counts);
    CHECK(counts.decided == 0);
  }
  counts = {};
  compare(R"({"if": [{"==": [{"var": "country"}, "DE"]}, "on", "off"]})", {context}, counts);
  CHECK(counts.decided == 1);
}

TEST_CASE("a fast form of torn bytes ends, reads only itself and decides nothing it should not") {
  // A rule that uses every kind of instruction, compiled, then run with bytes of its form
  // overwritten: each run must end and give one of the three answers (AddressSanitizer, in CI,
  // fails the test on any read outside the copy of the form).
  const std::vector<std::byte> image = image_of(R"({"flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false},
      "defaultVariant": "off", "targeting": {"if": [
        {"and": [{"in": [{"var": "plan"}, ["pro", "enterprise-edition-plus"]]}, {"!": {"starts_with": [{"var": "email"}, "x"]}},
                 {"ends_with": [{"var": "email"}, "@example.com"]}, {"in": [{"var": "country"}, ["FR", "DE"]]},
                 {"==": [{"var": "country"}, "DE"]},
                 {"or": [{"<": [2, {"var": "n"}]}, {"sem_ver": [{"var": "version"}, "^", "2.0.0"]}]}]},
        {"fractional": [["on", 10], ["off", 20], [null, 5]]}, "off"]}}}})");
  const flagd::detail::SlotView slot{image.data(), image.size()};
  flagd::layout::FastFormRef form{};
  REQUIRE(flagd::detail::open_fast_form(slot, 0, form));
  Context context;
  context.set("plan", "enterprise-edition-plus").set("email", "ann@example.com").set("country", "DE").set("n", 3.0)
      .set("version", "2.1.0").set_targeting_key("user-1");
  const FastDecision intact = flagd::detail::run_fast_form(slot, form, &context);
  REQUIRE(intact.kind != FastDecision::Kind::Undecided);

  std::mt19937 rng(7);
  int changed = 0;
  for (int round = 0; round < 20000; ++round) {
    // The form alone (with its guard words), in a buffer of its own size: a read past it is a
    // heap overflow.
    std::vector<std::uint64_t> words(form.words + flagd::layout::kFastGuardWords);
    std::memcpy(words.data(), image.data() + form.offset, words.size() * 8);
    for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips) {
      auto* bytes = reinterpret_cast<unsigned char*>(words.data());
      bytes[rng() % (words.size() * 8)] = static_cast<unsigned char>(rng());
    }
    const flagd::detail::SlotView torn{reinterpret_cast<const std::byte*>(words.data()), words.size() * 8};
    const FastDecision d =
        flagd::detail::run_fast_form(torn, flagd::layout::FastFormRef{0, form.words}, &context);
    REQUIRE(static_cast<int>(d.kind) <= static_cast<int>(FastDecision::Kind::Null));
    if (d.kind != intact.kind || d.variant != intact.variant) ++changed;
  }
  // The flips reached the decisions (else this test would prove nothing about torn forms).
  CHECK(changed > 1000);
  std::printf("torn forms: %d of 20000 runs decided differently\n", changed);
}

TEST_CASE("string tests decide as the interpreter does at every length around the word sizes") {
  // Constants and values of 0 to 25 bytes cut from one text, so that prefixes, suffixes and
  // equal strings occur at every length the fast forms compare differently (up to 8 bytes, up to
  // 16, longer), and every test must be decided: the attribute is a string.
  const std::string text = "abcdefghijklmnopqrstuvwxy";
  std::vector<std::string> pieces;
  for (std::size_t n : {0, 1, 2, 7, 8, 9, 12, 15, 16, 17, 24, 25}) {
    pieces.push_back(text.substr(0, n));                 // a prefix of the longest value
    pieces.push_back(text.substr(text.size() - n));      // a suffix
    if (n >= 2) pieces.push_back(text.substr(1, n - 1) + "#");  // differs in its last byte
  }
  std::vector<Context> contexts(pieces.size());
  for (std::size_t i = 0; i < pieces.size(); ++i) contexts[i].set("s", pieces[i]);
  Counts counts;
  for (const std::string& constant : pieces) {
    const std::string c = "\"" + constant + "\"";
    for (const char* op : {"==", "!=", "starts_with", "ends_with"})
      compare(std::string(R"({"if": [{")") + op + R"(": [{"var": "s"}, )" + c + R"(]}, "on", "off"]})", contexts,
              counts);
    compare(R"({"if": [{"in": [{"var": "s"}, ["zz", )" + c + R"(]]}, "on", "off"]})", contexts, counts);
  }
  CHECK(counts.decided == counts.total);
  CHECK(counts.total == static_cast<int>(pieces.size() * pieces.size() * 5));
}

TEST_CASE("attribute paths are found as the interpreter finds them at every length around the word sizes") {
  // Short tests find a path of up to 16 bytes by its length, first and last words; longer paths
  // byte for byte. Each context holds the path itself or a near miss: the same length with one
  // byte changed at the start, in the middle or at the end.
  const std::string text = "abcdefghijklmnopqrstuvwxy";
  Counts counts;
  for (std::size_t n : {1, 2, 7, 8, 9, 12, 15, 16, 17, 24}) {
    const std::string path = text.substr(0, n);
    std::vector<Context> contexts;
    for (std::size_t changed : {n, std::size_t{0}, n / 2, n - 1}) {  // n: unchanged
      std::string key = path;
      if (changed < n) key[changed] = '#';
      keys_for_test().push_back(key);
      contexts.emplace_back().set(keys_for_test().back(), "DE");
    }
    for (const char* op : {"==", "starts_with", "ends_with"})
      compare(std::string(R"({"if": [{")") + op + R"(": [{"var": ")" + path + R"("}, "DE"]}, "on", "off"]})", contexts,
              counts);
    compare(R"({"if": [{"in": [{"var": ")" + path + R"("}, ["FR", "DE"]]}, "on", "off"]})", contexts, counts);
    Evaluations found;
    for (const Context& c : contexts) {
      const std::string rule = R"({"if": [{"==": [{"var": ")" + path + R"("}, "DE"]}, "on", "off"]})";
      found.push_back(fast_variant(rule, c));
    }
    INFO("path of " << n << " bytes");
    CHECK(found == Evaluations{1, 0, 0, 0});  // "on" only where the context has the path itself
  }
  CHECK(counts.decided == counts.total);
}

namespace {

// The interpreter's answer for `rule` on `context`: "null", "error", or the variant's index.
std::string interpreted(const std::string& rule, const Context& context) {
  const std::vector<std::byte> image = image_of(R"({"flags": {"f": {"state": "ENABLED",
      "variants": {"on": true, "off": false}, "defaultVariant": "off", "targeting": )" + rule + "}}}");
  const flagd::test::FirstRule first(image);
  auto interpreter = first.interpreter(context);
  switch (interpreter->run()) {
    case RuleOutcome::Null: return "null";
    case RuleOutcome::Variant:
      return interpreter->variant_index() != 0 ? std::to_string(interpreter->variant_index())
                                               : std::string(interpreter->variant());
    default: return "error";
  }
}

}  // namespace

TEST_CASE("fused attribute tests answer as the operators they stand for, on attributes of every type") {
  // The constant written as a computation ({"cat": [c]} is c) keeps the rule unfused: the
  // operator's general path answers it. Every attribute type, strings of every length class.
  std::vector<Context> contexts(9);
  const Context::Item items[] = {Context::Item::of("abc"), Context::Item::of(0.0)};
  contexts[0].set("a", "abc");
  contexts[1].set("a", "abcdefghijklmnopq");
  contexts[2].set("a", "");
  contexts[3].set("a", 0.0);
  contexts[4].set("a", true);
  contexts[5].set_null("a");
  contexts[6].set_list("a", items);
  contexts[7].set_object("a").set("a.b", "abc");
  // contexts[8]: no attribute
  std::size_t compared = 0;
  for (const char* constant : {"\"abc\"", "\"\"", "\"abcdefghijklmnopq\"", "\"0\"", "\"true\"", "\"ab\""}) {
    for (const char* op : {"==", "!=", "===", "!==", "starts_with", "ends_with"}) {
      const std::string fused = std::string(R"({"if": [{")") + op + R"(": [{"var": "a"}, )" + constant + R"(]}, "on", "off"]})";
      const std::string general = std::string(R"({"if": [{")") + op + R"(": [{"var": "a"}, {"cat": [)" + constant +
                                  R"(]}]}, "on", "off"]})";
      for (const Context& c : contexts) {
        INFO(fused);
        CHECK(interpreted(fused, c) == interpreted(general, c));
        ++compared;
      }
    }
    const std::string fused = std::string(R"({"if": [{"in": [{"var": "a"}, ["x", )") + constant + R"(]]}, "on", "off"]})";
    const std::string general =
        std::string(R"({"if": [{"in": [{"var": "a"}, [{"cat": ["x"]}, )") + constant + R"(]]}, "on", "off"]})";
    for (const Context& c : contexts) {
      INFO(fused);
      CHECK(interpreted(fused, c) == interpreted(general, c));
      ++compared;
    }
  }
  CHECK(compared == 6 * 7 * contexts.size());
}
