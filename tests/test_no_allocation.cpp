// "No allocation on the hot path": every operator new and malloc/calloc/realloc is counted across
// a million evaluations of every kind (by replacing them, or through the sanitizers' hook).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "allocation_counter.hpp"
#include "memory_flags.hpp"

using flagd::test::allocations;

namespace {
constexpr std::string_view kFlags = R"({"metadata": {"team": "x"}, "flags": {
  "b": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
  "s": {"state": "ENABLED", "variants": {"x": "a string longer than any small-string buffer"}, "defaultVariant": "x"},
  "n": {"state": "ENABLED", "variants": {"one": 7.5}, "defaultVariant": "one"},
  "o": {"state": "ENABLED", "variants": {"obj": {"k": [1, 2]}}, "defaultVariant": "obj"},
  "d": {"state": "DISABLED", "variants": {"on": true}},
  "nd": {"state": "ENABLED", "variants": {"on": true}},
  "rule": {"state": "ENABLED", "variants": {"gold": "gold-tier", "std": "standard"}, "defaultVariant": "std",
           "targeting": {"if": [{"and": [{"in": [{"var": "country"}, ["DE", "FR", "NL"]]},
                                          {"sem_ver": [{"var": "version"}, ">=", "1.2.0"]},
                                          {"in": ["vip", {"var": "tags"}]}]},
                                 {"fractional": [["gold", 50], ["std", 50]]},
                                 {"cat": ["s", "td"]}]}}}})";
}  // namespace

TEST_CASE("the counters see allocations") {
  const auto before = allocations();
  auto* p = new std::string(100, 'x');
  delete p;
  void* volatile m = std::malloc(10);
  std::free(m);
  CHECK(allocations().calls - before.calls >= 2);
  CHECK(allocations().bytes - before.bytes >= 110);
}

TEST_CASE("a million evaluations of every kind allocate nothing") {
  flagd::test::MemoryFlags flags(kFlags);
  auto& r = flags.reader();
  const auto b = r.resolve("b"), s = r.resolve("s"), n = r.resolve("n"), o = r.resolve("o"),
             d = r.resolve("d"), nd = r.resolve("nd"), missing = r.resolve("missing");
  std::string text, object;
  flagd::Evaluation<bool> eb;
  flagd::Evaluation<std::string> es;
  flagd::Evaluation<double> ed;
  flagd::Evaluation<std::int64_t> ei;
  // The caller's buffers reach their working size once; after that nothing allocates.
  r.get_string(s, "", text);
  r.get_object(o, "{}", object);
  r.evaluate(s, std::string_view(""), es);
  r.evaluate(b, false, eb);

  const auto rule = r.resolve("rule");
  flagd::Context context;
  const flagd::Context::Item tags[] = {flagd::Context::Item::of("new"), flagd::Context::Item::of("vip")};
  context.set("country", "FR").set("version", "1.3.0").set_list("tags", tags);
  const std::string keys[] = {"user-1", "user-2", "user-3", "user-4"};
  r.evaluate(rule, context, std::string_view(""), es);

  const auto before = allocations().calls;
  std::uint64_t sum = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    sum += r.get_bool(b, false) + r.get_bool(d, false) + r.get_bool(nd, false) + r.get_bool(missing, false);
    sum += static_cast<std::uint64_t>(r.get_int(n, 0)) + static_cast<std::uint64_t>(r.get_double(n, 0));
    r.get_string(s, "", text);
    r.get_object(o, "{}", object);
    r.evaluate(b, false, eb);
    r.evaluate(s, std::string_view(""), es);
    r.evaluate(n, 0.0, ed);
    r.evaluate(n, std::int64_t{0}, ei);
    sum += text.size() + object.size() + eb.variant.size() + es.value.size() + ed.variant.size();
    if (i % 16 == 0) sum += r.get_bool("b", false) + r.generation();
    context.set_targeting_key(keys[i % 4]);
    r.evaluate(rule, context, std::string_view(""), es);
    sum += es.value.size();
    if (i % 64 == 0) {  // a context built from nothing allocates nothing either
      flagd::Context fresh;
      fresh.set("country", "DE").set("version", "2.0.0").set_list("tags", tags).set_targeting_key(keys[i % 4]);
      sum += r.get_bool(b, fresh, false);
    }
  }
  CHECK(allocations().calls - before == 0);
  CHECK(sum > 0);
}
