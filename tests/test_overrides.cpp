// Overrides (Reader::set_override, FLAGD_OVERRIDE_*): what they answer, through every form of
// evaluation, and that the inline path honours them for handles resolved before they were set.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "memory_flags.hpp"

using flagd::ErrorCode;
using flagd::Evaluation;
using flagd::Reason;
using flagd::test::MemoryFlags;

namespace {

constexpr std::string_view kFlags = R"({"flags": {
  "new-checkout": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"},
  "ruled":        {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                   "targeting": {"if": [{"==": [{"var": "country"}, "DE"]}, "on", "off"]}},
  "dormant":      {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"},
  "limit":        {"state": "ENABLED", "variants": {"low": 10, "high": 500}, "defaultVariant": "low"},
  "color":        {"state": "ENABLED", "variants": {"a": "red", "b": "green"}, "defaultVariant": "a"},
  "theme":        {"state": "ENABLED", "variants": {"dark": {"bg": "#000"}}, "defaultVariant": "dark"}
}})";

}  // namespace

TEST_CASE("an override naming a variant answers it, whatever the state and the rules") {
  MemoryFlags flags(kFlags);
  auto& r = flags.reader();
  const flagd::Handle checkout = r.resolve("new-checkout");
  const flagd::Handle ruled = r.resolve("ruled");
  const flagd::Handle dormant = r.resolve("dormant");
  CHECK_FALSE(r.get_bool(checkout, true));  // before: the file's answer, through the inline path

  r.set_override("new-checkout", "on");
  r.set_override("ruled", "on");
  r.set_override("dormant", "on");
  CHECK(r.get_bool(checkout, false));  // a handle resolved before the override sees it
  CHECK(r.get_bool(ruled, false));     // the rule would say "off" on an empty context
  CHECK(r.get_bool(dormant, false));   // a disabled flag too
  CHECK(r.get_bool("new-checkout", false));
  Evaluation<bool> e;
  r.evaluate(checkout, false, e);
  CHECK(e.value);
  CHECK(e.variant == "on");
  CHECK(e.has_variant);
  CHECK(e.reason == Reason::Static);
  CHECK(e.error == ErrorCode::None);

  r.clear_override("new-checkout");
  CHECK_FALSE(r.get_bool(checkout, true));
  CHECK(r.get_bool(ruled, false));  // the others stay
  r.clear_overrides();
  CHECK_FALSE(r.get_bool(ruled, true));
  CHECK_FALSE(r.get_bool(dormant, false));
  flagd::Context de;
  de.set("country", "DE");
  CHECK(r.get_bool(ruled, de, false));  // the rules are back
}

TEST_CASE("an override that names no variant is read as the type asked for") {
  MemoryFlags flags(kFlags);
  auto& r = flags.reader();
  r.set_override("new-checkout", "true");
  r.set_override("limit", " 42.5 ");
  r.set_override("color", "blue");
  r.set_override("theme", R"({"bg": "#fff"})");
  r.set_override("not-in-the-file", "7");

  Evaluation<bool> b;
  r.evaluate(r.resolve("new-checkout"), false, b);
  CHECK(b.value);
  CHECK_FALSE(b.has_variant);
  CHECK(b.variant.empty());
  CHECK(b.reason == Reason::Static);
  CHECK(r.get_double(r.resolve("limit"), 0) == 42.5);
  CHECK(r.get_int(r.resolve("limit"), 0) == 42);
  CHECK(r.get_int("limit", 0) == 42);
  CHECK(r.get_string(r.resolve("color"), "x") == "blue");
  std::string object;
  r.get_object(r.resolve("theme"), "{}", object);
  CHECK(object == R"({"bg": "#fff"})");
  CHECK(r.get_int(r.resolve("not-in-the-file"), 0) == 7);  // a flag the image lacks, by value

  // A value that is not of the type asked for: TYPE_MISMATCH and the caller's default.
  Evaluation<bool> wrong;
  r.evaluate(r.resolve("color"), true, wrong);
  CHECK(wrong.value);
  CHECK(wrong.reason == Reason::Error);
  CHECK(wrong.error == ErrorCode::TypeMismatch);
  CHECK(r.get_double(r.resolve("color"), 1.5) == 1.5);
  r.get_object(r.resolve("color"), "{}", object);
  CHECK(object == "{}");
}

TEST_CASE("overrides from the environment, read when the reader is created") {
  CHECK(flagd::Reader::override_variable("new-checkout") == "FLAGD_OVERRIDE_NEW_CHECKOUT");
  CHECK(flagd::Reader::override_variable("checkout.v2_beta") == "FLAGD_OVERRIDE_CHECKOUT_V2_BETA");
  ::setenv("FLAGD_OVERRIDE_NEW_CHECKOUT", "on", 1);
  ::setenv("FLAGD_OVERRIDE_LIMIT", "high", 1);
  MemoryFlags flags(kFlags);
  ::unsetenv("FLAGD_OVERRIDE_NEW_CHECKOUT");
  ::unsetenv("FLAGD_OVERRIDE_LIMIT");
  auto& r = flags.reader();
  CHECK(r.get_bool(r.resolve("new-checkout"), false));
  CHECK(r.get_int(r.resolve("limit"), 0) == 500);
  r.set_override("limit", "low");  // the API's override wins
  CHECK(r.get_int(r.resolve("limit"), 0) == 10);
  r.clear_overrides();  // the environment's too
  CHECK_FALSE(r.get_bool(r.resolve("new-checkout"), true));

  MemoryFlags later(kFlags);  // read once: a reader made after the variables are gone has none
  CHECK_FALSE(later.reader().get_bool(later.reader().resolve("new-checkout"), true));
}

TEST_CASE("overrides follow a reader that is moved") {
  MemoryFlags flags(kFlags);
  auto& r = flags.reader();
  const flagd::Handle checkout = r.resolve("new-checkout");
  r.set_override("new-checkout", "on");
  flagd::Reader moved = std::move(r);
  CHECK(moved.get_bool(checkout, false));
  moved.clear_overrides();
  CHECK_FALSE(moved.get_bool(checkout, true));
}
