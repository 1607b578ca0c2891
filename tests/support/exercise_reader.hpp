// Test support: every way of evaluating every given flag, for the torn-read tests and the fuzzers.
// Whatever the image holds, no evaluation may crash, hang or read outside the mapping; and an
// error answer must carry the caller's default. Returns false when that promise is broken.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "flagd/limits.hpp"
#include "flagd/reader.hpp"

namespace flagd::test {

// Flags of every kind: each value type, disabled, metadata, and rules with fast forms and without,
// which the torn-read tests and fuzz_slot overwrite with arbitrary bytes.
inline constexpr std::string_view kEveryKindFlags = R"({"metadata": {"m": 1}, "flags": {
  "b": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
  "s": {"state": "ENABLED", "variants": {"x": "some text here", "y": "other"}, "defaultVariant": "y"},
  "n": {"state": "ENABLED", "variants": {"one": 1.5}, "defaultVariant": "one", "metadata": {"owner": "team"}},
  "o": {"state": "ENABLED", "variants": {"obj": {"k": [1, 2]}}, "defaultVariant": "obj"},
  "d": {"state": "DISABLED", "variants": {"on": true}},
  "t": {"state": "ENABLED", "variants": {"x": "x", "y": "y"}, "defaultVariant": "y",
        "targeting": {"if": [{"and": [{"in": [{"var": "c"}, ["DE", "FR"]]}, {"sem_ver": [{"var": "v"}, ">", "1.0.0"]},
                                      {"some": [{"var": "l"}, {"==": [{"var": ""}, 2]}]}]},
                             {"fractional": [["x", 50], ["y", 50]]}, {"cat": ["y", {"substr": ["zz", 5]}]}]}},
  "tb": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
         "targeting": {"if": [{"or": [{"starts_with": [{"var": "c"}, "F"]}, {"<": [{"var": "n"}, 3]},
                                      {"ends_with": [{"var": "email"}, "@example.com"]}]},
                              {"fractional": [["on", 1], ["off", 1]]},
                              {"if": [{"!": {"==": [{"var": "c"}, "DE"]}}, "on", null]}]}},
  "tn": {"state": "ENABLED", "variants": {"low": 1, "high": 100}, "defaultVariant": "low",
         "targeting": {"if": [{">=": [{"var": "user.tier"}, 3]}, "high", {"fractional": [["low", 3], ["high", 1]]}]}},
  "mx": {"variants": {"b": true, "s": "text", "n": 2, "o": {"k": 1}, "a": [1], "z": null}, "defaultVariant": "s",
         "targeting": {"fractional": [["b", 1], ["s", 1], ["n", 1], ["o", 1], ["a", 1], ["z", 1]]},
         "metadata": {"j": {"x": [1]}, "l": [true]}}}})";
// Their keys, and one that is no flag.
inline const std::vector<std::string> kEveryKindKeys{"b", "s", "n", "o", "d", "t", "tb", "tn", "mx", "zz"};

// A context with an attribute of each type the rules of the torn-read tests read.
inline Context exercise_context() {
  static const Context::Item list[] = {Context::Item::of(1.0), Context::Item::of(2.0), Context::Item::of("DE")};
  Context context;
  context.set("c", "FR").set("v", "1.2.0").set_list("l", list).set("n", 2.0).set("email", "ann@example.com");
  context.set("user.tier", 3.0).set_object("user").set("b", true).set_null("z").set_targeting_key("k1");
  return context;
}

inline bool exercise_reader(Reader& r, const std::vector<std::string>& keys) {
  const Context context = exercise_context();
  std::string text;
  bool kept = true;
  for (const std::string& key : keys) {
    const Handle h = r.resolve(key);
    Evaluation<bool> b;
    r.evaluate(h, true, b);
    kept &= b.reason != Reason::Error || b.value;
    Evaluation<std::string> s;
    r.evaluate(h, std::string_view("fallback"), s);
    kept &= s.reason != Reason::Error || s.value == "fallback";
    r.evaluate(h, context, std::string_view("fallback"), s);
    kept &= s.reason != Reason::Error || s.value == "fallback";
    kept &= s.value.size() <= limits::kMaxStringBytes;
    Evaluation<double> d;
    r.evaluate(h, context, 4.0, d);
    kept &= d.reason != Reason::Error || d.value == 4.0;
    Evaluation<std::int64_t> i;
    r.evaluate(h, std::int64_t{4}, i);
    r.evaluate_object(h, context, "{}", s);
    (void)r.get_bool(h, false);
    (void)r.get_bool(key, false);
    (void)r.get_bool(h, context, false);  // the value-only forms run rules' fast forms first
    (void)r.get_int(h, context, 1);
    (void)r.get_double(h, context, 1.0);
    r.get_string(h, context, "x", text);
    std::vector<MetadataValue> metadata;
    (void)r.metadata(h, metadata);
  }
  (void)r.list();
  (void)r.status();
  (void)r.generation();
  return kept;
}

}  // namespace flagd::test
