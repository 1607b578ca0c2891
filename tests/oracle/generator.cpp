#include "generator.hpp"

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace flagd::oracle {

namespace {

using Strings = std::vector<std::string>;

// Numbers as written in JSON: negative zero, the largest doubles, integers beyond 2^53 and
// beyond int64, the int32 weight limit, exponents in both cases.
const Strings kNumbers = {"0",   "-0",   "1",    "-1",     "2",     "3",   "7",    "10",
                          "100", "1.5",  "-2.5", "0.1",    "0.5",   "1e308", "-1e308", "1e-7",
                          "1E2", "5e-324", "12345678901234567890", "9007199254740993",
                          "2147483647", "2147483648", "4294967296", "-9223372036854775808"};
const Strings kStrings = {"",     "a",     "b",     "on",   "off",  "1",     "0",       "1.5",   " 1 ",
                          "-1",   "true",  "false", "null", "abc",  "ABC",   "ünï",     "日本語", "😀x",
                          "ann@example.com", "@example.com", "1.2.3", "v1.2.3", "x y", "a.b", "0x10",
                          "1e2",  "NaN",   "Infinity", "user-1", "tab\tin", "1,2"};
// Context attributes; "user", "list", "tags" and sometimes "a" hold objects and arrays.
const Strings kAttributes = {"a", "b", "n", "s", "x", "email", "version", "tier", "tags", "list", "user",
                             "1", "", "ключ", "a.b", "$flagd", "targetingKey"};
// var paths: plain, nested, indexes, empty segments, leading and trailing dots, digits only.
const Strings kPaths = {"a",        "b",        "n",          "s",         "x",        "email",
                        "version",  "tier",     "tags",       "list",      "user",     "user.id",
                        "user.tier", "user.tags.0", "list.0", "list.1",    "list.5",   "tags.1",
                        "a..b",     ".a",       "a.",         "a.b.",      "",         ".",
                        "..",       "0",        "1",          "$flagd.flagKey", "missing", "missing.deep",
                        "targetingKey", "user.", "user..id",  "ключ",      "list.-1",  "list.x"};
const Strings kVariantNames = {"on", "off", "a", "b", "c", "red", "green", "1", "0", "-1", "1.5", "true",
                               "false", "null", "", "ünï", "日本", "😀", "x y", "01", "1e2", "-0", "<",
                               "a\"b", "a\\b", "3"};
const Strings kVersions = {"1.0.0", "1.2.0",  "1.2.3",   "1.10.0", "2.0.0",       "2.0.0-rc.1", "2.0.0-rc.2",
                           "2.0.0-alpha", "2.0.0+build.1", "1.2.3-0", "v1.2.3", "V1.2.3", "1.2", "1",
                           "01.2.3", "1.02.3", "1.2.3.4", "", "x", "1.2.3-", "1.2.3-01", "1.2.3-rc.01",
                           "v2", "2.0.0-rc.1+b"};
const Strings kSemverOps = {"=", "!=", "<", "<=", ">", ">=", "^", "~", "==", "", "~>", "=<"};
const Strings kFlagKeys = {"f", "g", "h", "flag-1", "new-checkout", "", "ключ", "a.b", "x y", "1", "$flagd",
                           "😀"};
const Strings kEvaluatorNames = {"e1", "e2", "is_staff", "x y", "ünï", "a<b", "a&b", ""};
const Strings kUnknownOps = {"nope", "Var", "IF", "regex_match", "", "$ref2", "sem_ver2", "===="};

// Member names flagd's Go decoder also matches (it folds case); the schema does not.
const char* folded(const char* name) {
  if (std::string(name) == "state") return "State";
  if (std::string(name) == "variants") return "VARIANTS";
  if (std::string(name) == "defaultVariant") return "DefaultVariant";
  if (std::string(name) == "targeting") return "Targeting";
  return name;
}

enum class Family { Boolean, String, Number, Object, Mixed };

class Generator {
 public:
  Generator(Rng& rng, const GeneratorOptions& options) : rng_(rng), options_(options) {}

  Case make() {
    Case c;
    c.file = Json::object();
    if (rng_.chance(15)) c.file.add("$schema", Json::string("https://flagd.dev/schema/v0/flags.json"));
    if (rng_.chance(30)) c.file.add(rng_.chance(97) ? "metadata" : "Metadata", metadata());
    evaluators_.clear();
    if (rng_.chance(25)) c.file.add("$evaluators", evaluators());
    const int count = rng_.between(1, options_.max_flags);
    flags_.clear();
    Json container = rng_.chance(9) ? Json::array() : Json::object();
    for (int i = 0; i < count; ++i) {
      std::string key = i == 0 || rng_.chance(60) ? std::string(1, static_cast<char>('f' + i)) : rng_.pick(kFlagKeys);
      FlagShape shape;
      Json flag = this->flag(shape);
      shape.key = key;
      if (container.is_array()) {
        if (rng_.chance(92)) {
          flag.items.insert(flag.items.begin(), Json::string(key));
          flag.keys.insert(flag.keys.begin(), "key");
        } else {
          shape.key = "";  // no key member: flagd keys it ""
        }
        container.push(std::move(flag));
      } else {
        if (rng_.chance(3)) flag.add("key", Json::string("other"));  // ignored: the member name is the key
        container.add(key, std::move(flag));
      }
      flags_.push_back(shape);
    }
    const int shape_roll = rng_.between(0, 99);
    if (shape_roll < 1) c.file.add("flags", Json::null());
    else if (shape_roll < 2) c.file.add("flags", Json::string("none"));
    else if (shape_roll < 3) {}  // no flags member
    else c.file.add(rng_.chance(98) ? "flags" : "Flags", std::move(container));
    if (rng_.chance(1)) c.breakage = rng_.chance(50) ? Case::Breakage::Truncated : Case::Breakage::TrailingText;
    c.spaced = rng_.chance(20);
    for (int i = 0; i < options_.requests; ++i) c.requests.push_back(request());
    return c;
  }

 private:
  struct FlagShape {
    std::string key;
    Family family = Family::Boolean;
  };

  // ---- values ----

  // Duplicate member names are written only where they are the point (flag keys, variant keys,
  // metadata, a repeated defaultVariant); elsewhere, as in requests, a name is set once.
  static void put(Json& object, const std::string& key, Json value) {
    if (Json* existing = object.find(key)) *existing = std::move(value);
    else object.add(key, std::move(value));
  }

  Json scalar() {
    switch (rng_.below(10)) {
      case 0: return Json::null();
      case 1: return Json::of(rng_.chance(50));
      case 2: case 3: case 4: return Json::number(rng_.pick(kNumbers));
      default: return Json::string(rng_.pick(kStrings));
    }
  }
  Json odd_value(int depth) {
    const auto roll = rng_.below(12);
    if (depth > 2 || roll < 8) return scalar();
    if (roll < 11) {
      Json a = Json::array();
      for (int i = rng_.between(0, 3); i > 0; --i) a.push(odd_value(depth + 1));
      return a;
    }
    Json o = Json::object();
    for (int i = rng_.between(0, 3); i > 0; --i) put(o, rng_.pick(kAttributes), odd_value(depth + 1));
    return o;
  }
  Json small_object() {
    Json o = Json::object();
    for (int i = rng_.between(0, 3); i > 0; --i) put(o, rng_.pick({"k", "n", "on", "list", ""}), odd_value(1));
    return o;
  }

  Json metadata() {
    if (rng_.chance(1)) return rng_.chance(50) ? Json::string("meta") : Json::array();  // flagd refuses the file
    if (rng_.chance(3)) return Json::null();
    Json m = Json::object();
    for (int i = rng_.between(0, 3); i > 0; --i) {
      const std::string key = rng_.pick({"owner", "version", "flagSetId", "team", "expires", "n", "", "ünï"});
      const auto roll = rng_.below(20);
      Json v;
      if (roll < 7) v = Json::string(rng_.pick({"payments", "42", "", "ünï", "a\"b"}));
      else if (roll < 12) v = Json::number(rng_.pick(kNumbers));
      else if (roll < 16) v = Json::of(rng_.chance(50));
      else if (roll < 18) v = Json::null();
      else v = odd_value(1);  // arrays and objects: outside the schema
      m.add(key, std::move(v));
    }
    return m;
  }

  // The bodies name no other evaluator: flagd substitutes $ref in an order of its own (a Go map's),
  // so a nested $ref would answer one way or another from run to run.
  Json evaluators() {
    std::vector<std::string> names;
    Json e = Json::object();
    for (int i = rng_.between(1, 3); i > 0; --i) {
      std::string name = rng_.chance(80) ? "e" + std::to_string(i) : rng_.pick(kEvaluatorNames);
      Json body;
      const auto roll = rng_.below(80);
      if (roll == 0) body = Json::object();                   // empty: flagd refuses the file
      else if (roll == 1) body = Json::number("1");           // too short: flagd refuses the file
      else if (roll == 2) body = Json::null();
      else if (roll < 12) body = Json::string(rng_.pick(kVariantNames) + "xy");
      else body = rng_.chance(50) ? condition(1) : expression(1);
      names.push_back(name);
      e.add(std::move(name), std::move(body));
    }
    evaluators_ = std::move(names);
    return e;
  }

  // ---- flags ----

  Json flag(FlagShape& shape) {
    Json f = Json::object();
    // state
    const auto state_roll = rng_.below(100);
    if (state_roll < 84) f.add("state", Json::string("ENABLED"));
    else if (state_roll < 92) f.add("state", Json::string("DISABLED"));
    else if (state_roll < 94) {}  // missing
    else if (state_roll < 96) f.add("state", Json::string(rng_.pick({"enabled", "", "ON", "Disabled"})));
    else if (state_roll < 97) f.add("state", Json::number("1"));  // not a string: flagd refuses the file
    else if (state_roll < 98) f.add("state", Json::null());
    else f.add(folded("state"), Json::string(rng_.chance(50) ? "ENABLED" : "DISABLED"));
    // variants
    shape.family = static_cast<Family>(rng_.below(5) == 4 && rng_.chance(50) ? 4 : rng_.below(4));
    variants_.clear();
    Json variants = Json::object();
    const int n = rng_.between(1, 4);
    for (int i = 0; i < n; ++i) {
      std::string name;
      if (shape.family == Family::Boolean && n <= 2 && rng_.chance(70)) name = i == 0 ? "on" : "off";
      else name = rng_.chance(55) ? std::string(1, static_cast<char>('a' + i)) : rng_.pick(kVariantNames);
      bool duplicate = false;
      for (const auto& v : variants_) duplicate = duplicate || v == name;
      if (duplicate && rng_.chance(90)) continue;
      variants_.push_back(name);
      variants.add(std::move(name), variant_value(shape.family, i));
    }
    const auto variants_roll = rng_.below(100);
    if (variants_roll < 95) f.add("variants", std::move(variants));
    else if (variants_roll < 96) f.add("variants", Json::object());
    else if (variants_roll < 97) f.add("variants", Json::array({Json::of(true)}));  // flagd refuses the file
    else if (variants_roll < 98) f.add(folded("variants"), std::move(variants));
    else variants_.clear();  // no variants
    // defaultVariant
    const auto default_roll = rng_.below(100);
    if (variants_.empty() || default_roll < 12) {}  // absent
    else if (default_roll < 80) f.add("defaultVariant", Json::string(rng_.pick(variants_)));
    else if (default_roll < 88) f.add("defaultVariant", Json::null());
    else if (default_roll < 92) f.add("defaultVariant", Json::string(""));
    else if (default_roll < 93) f.add("defaultVariant", Json::string("no-such-variant"));  // flagd refuses
    else if (default_roll < 94) f.add("defaultVariant", Json::of(true));                    // flagd refuses
    else if (default_roll < 97) f.add(folded("defaultVariant"), Json::string(rng_.pick(variants_)));
    else {
      f.add("defaultVariant", Json::string(rng_.pick(variants_)));
      f.add("defaultVariant", Json::null());  // twice: the last one counts
    }
    // targeting
    const auto targeting_roll = rng_.below(100);
    if (targeting_roll < 14) {}  // none
    else if (targeting_roll < 17) f.add("targeting", Json::object());
    else if (targeting_roll < 19) f.add("targeting", Json::null());
    else if (targeting_roll < 21) f.add("targeting", variant_choice(0));
    else if (targeting_roll < 22) f.add(folded("targeting"), targeting());
    else f.add("targeting", targeting());
    // metadata and members flagd ignores
    if (rng_.chance(30)) f.add("metadata", metadata());
    if (rng_.chance(5)) f.add(rng_.pick({"description", "owner", "x"}), odd_value(1));
    if (rng_.chance(2)) f.add("source", Json::string("elsewhere"));
    return f;
  }

  Json variant_value(Family family, int i) {
    switch (family) {
      case Family::Boolean: return rng_.chance(95) ? Json::of(i % 2 == 0) : scalar();
      case Family::String: return rng_.chance(95) ? Json::string(rng_.pick(kStrings)) : scalar();
      case Family::Number: return rng_.chance(95) ? Json::number(rng_.pick(kNumbers)) : scalar();
      case Family::Object: {
        if (rng_.chance(8)) return rng_.chance(50) ? Json::array({Json::number("1")}) : Json::null();
        Json o = small_object();
        if (rng_.chance(3) && !evaluators_.empty()) o.add("$ref", Json::string(rng_.pick(evaluators_)));
        return o;
      }
      case Family::Mixed: return odd_value(0);
    }
    return Json::null();
  }

  // ---- rules ----

  Json op(std::string name, Json operand) {
    Json o = Json::object();
    o.add(std::move(name), std::move(operand));
    return o;
  }
  Json var_operand() {
    const auto roll = rng_.below(40);
    if (roll < 26) return Json::string(rng_.pick(kPaths));
    if (roll < 30) return Json::array({Json::string(rng_.pick(kPaths))});
    if (roll < 35) return Json::array({Json::string(rng_.pick(kPaths)), scalar()});
    if (roll == 35) return Json::number(rng_.pick({"0", "1", "1.5", "-1"}));
    if (roll == 36) return Json::array();
    if (roll == 37) return Json::null();
    if (roll == 38) return Json::array({Json::number("0"), Json::string("d")});
    return op("cat", Json::array({Json::string("us"), Json::string("er.id")}));
  }
  Json var() { return op("var", var_operand()); }

  // A count near the usual one, sometimes off by a few: operators must survive odd arities.
  int arity(int usual) {
    const auto roll = rng_.below(100);
    if (roll < 80) return usual;
    if (roll < 88) return usual + 1;
    if (roll < 95) return usual > 0 ? usual - 1 : 0;
    return rng_.between(0, 4);
  }
  Json args(int count, int depth) {
    Json a = Json::array();
    for (int i = 0; i < count; ++i) a.push(value(depth + 1));
    return a;
  }

  Json timestamp_guard() {
    const char* cmp = rng_.pick({"<", ">", "<=", ">="});
    Json ts = op("var", Json::string("$flagd.timestamp"));
    Json far = Json::number(rng_.pick({"0", "1000000000", "10000000000", "-1"}));
    return op(cmp, rng_.chance(50) ? Json::array({ts, far}) : Json::array({far, ts}));
  }

  Json fractional(int depth) {
    Json a = Json::array();
    const auto form = rng_.below(10);
    if (form < 3) a.push(op("var", Json::string(rng_.pick({"email", "s", "user.id", "targetingKey", "n"}))));
    else if (form < 4) a.push(op("cat", Json::array({op("var", Json::string("$flagd.flagKey")),
                                                     op("var", Json::string("targetingKey"))})));
    else if (form < 5) a.push(Json::string(rng_.pick(kStrings)));
    else if (form < 6) a.push(Json::null());
    const int buckets = rng_.chance(5) ? 0 : rng_.between(1, 4);
    for (int i = 0; i < buckets; ++i) {
      Json b = Json::array();
      const auto vr = rng_.below(20);
      if (vr < 15 && !variants_.empty()) b.push(Json::string(rng_.pick(variants_)));
      else if (vr < 19) b.push(scalar());
      else b.push(value(depth + 1));
      const auto wr = rng_.below(30);
      if (wr < 22) b.push(Json::number(std::to_string(rng_.between(0, 100))));
      else if (wr < 24) {}  // no weight: 1
      else if (wr < 25) b.push(Json::null());
      else if (wr < 26) b.push(Json::number(rng_.pick({"-5", "1.5", "2147483647", "2147483648", "1e10", "-0"})));
      else if (wr < 27) b.push(Json::string("10"));
      else if (wr < 28) b.push(value(depth + 1));
      else {
        b.push(Json::number("1"));
        b.push(Json::number("2"));  // an extra element
      }
      if (rng_.chance(3)) b = rng_.chance(50) ? Json::array() : Json::string("x");
      a.push(std::move(b));
    }
    if (rng_.chance(3)) return op("fractional", rng_.chance(50) ? Json::string("x") : Json::array());
    return op("fractional", std::move(a));
  }

  Json sem_ver(int depth) {
    Json left = rng_.chance(60) ? op("var", Json::string(rng_.chance(80) ? "version" : rng_.pick(kPaths)))
                                : Json::string(rng_.pick(kVersions));
    if (rng_.chance(5)) left = Json::number(rng_.pick({"1", "1.2", "2", "1e21"}));
    Json opname = rng_.chance(92) ? Json::string(rng_.pick(kSemverOps)) : value(depth + 1);
    Json right = rng_.chance(93) ? Json::string(rng_.pick(kVersions)) : value(depth + 1);
    Json a = Json::array({left, opname, right});
    const int n = arity(3);
    while (static_cast<int>(a.items.size()) > n) a.items.pop_back();
    while (static_cast<int>(a.items.size()) < n) a.push(Json::string(rng_.pick(kVersions)));
    return op("sem_ver", std::move(a));
  }

  Json string_test(const char* name, int depth) {
    Json a = Json::array();
    a.push(rng_.chance(75) ? op("var", Json::string(rng_.pick({"email", "s", "user.id", "x", "a"}))) : value(depth + 1));
    a.push(rng_.chance(85) ? Json::string(rng_.pick({"ann", "@example.com", "", "a", "ü", "x y", "1"})) : scalar());
    const int n = arity(2);
    while (static_cast<int>(a.items.size()) > n) a.items.pop_back();
    while (static_cast<int>(a.items.size()) < n) a.push(Json::string("a"));
    if (rng_.chance(3)) return op(name, Json::string("ann"));
    return op(name, std::move(a));
  }

  Json array_literal(int depth) {
    Json a = Json::array();
    for (int i = rng_.between(0, 4); i > 0; --i) a.push(rng_.chance(85) ? scalar() : value(depth + 1));
    return a;
  }
  Json array_source(int depth) {
    const auto roll = rng_.below(10);
    if (roll < 4) return op("var", Json::string(rng_.pick({"list", "tags", "user.tags", "s", "missing", "user"})));
    if (roll < 8) return array_literal(depth);
    return value(depth + 1);
  }
  // The rule that map, filter, all, none and some run per element ({"var": ""} is the element).
  Json element_rule(int depth) {
    Json self = op("var", Json::string(rng_.chance(80) ? "" : rng_.pick({"id", "0", "a", "."})));
    switch (rng_.below(6)) {
      case 0: return op(rng_.pick({"==", "<", ">", "!="}), Json::array({self, scalar()}));
      case 1: return op("+", Json::array({self, Json::number("1")}));
      case 2: return op("in", Json::array({self, array_literal(depth)}));
      case 3: return self;
      case 4: return op("!", self);
      default: return value(depth + 1);
    }
  }

  // Any expression: every operator, operands of any type.
  Json expression(int depth) {
    if (depth >= options_.max_depth) return rng_.chance(55) ? var() : odd_value(2);
    const auto roll = rng_.below(60);
    switch (roll) {
      case 0: case 1: case 2: case 3: return var();
      case 4: return op("missing", rng_.chance(70) ? Json::array({Json::string(rng_.pick(kPaths)), Json::string(rng_.pick(kPaths))})
                                                   : Json::string(rng_.pick(kPaths)));
      case 5: return op("missing_some", Json::array({Json::number(rng_.pick({"1", "2", "0", "1.5"})),
                                                     Json::array({Json::string(rng_.pick(kPaths)), Json::string(rng_.pick(kPaths))})}));
      case 6: case 7: return conditional(depth, false);
      case 8: case 9: case 10: case 11: return comparison(depth);
      case 12: return op(rng_.pick({"!", "!!"}), rng_.chance(60) ? Json::array({value(depth + 1)}) : value(depth + 1));
      case 13: case 14: return op(rng_.pick({"and", "or"}), args(arity(2), depth));
      case 15: case 16: return op(rng_.pick({"max", "min"}), args(arity(2), depth));
      case 17: case 18: return op(rng_.pick({"+", "-", "*", "/"}), args(arity(2), depth));
      case 19: return op("%", args(arity(2), depth));
      case 20: return op("abs", rng_.chance(70) ? Json::array({value(depth + 1)}) : value(depth + 1));
      case 21: case 22: return op("in", Json::array({value(depth + 1), rng_.chance(50) ? array_literal(depth) : value(depth + 1)}));
      case 23: case 24: return op("cat", rng_.chance(85) ? args(arity(2), depth) : value(depth + 1));
      case 25: return op("substr", args(arity(rng_.chance(50) ? 2 : 3), depth));
      case 26: return op("merge", args(arity(2), depth));
      case 27: case 28: {
        Json a = Json::array({array_source(depth), element_rule(depth)});
        if (rng_.chance(10)) a.items.pop_back();
        return op(rng_.pick({"map", "filter", "all", "none", "some"}), std::move(a));
      }
      case 29: {
        Json rule = op(rng_.pick({"+", "*", "cat", "max"}),
                       Json::array({op("var", Json::string("current")), op("var", Json::string("accumulator"))}));
        Json a = Json::array({array_source(depth), std::move(rule),
                              rng_.chance(80) ? Json::number(rng_.pick({"0", "1", "-0"})) : scalar()});
        if (rng_.chance(10)) a.items.pop_back();
        return op("reduce", std::move(a));
      }
      case 30: return op("set", Json::array({rng_.chance(70) ? small_object() : value(depth + 1),
                                             rng_.chance(85) ? Json::string(rng_.pick({"k", "n", ""})) : scalar(),
                                             value(depth + 1)}));
      case 31: case 32: {
        Json a = Json::array();
        for (int i = arity(2); i > 0; --i) a.push(array_source(depth));
        return op(rng_.pick({"contains_all", "contains_any", "contains_none"}), std::move(a));
      }
      case 33: case 34: return fractional(depth);
      case 35: case 36: return sem_ver(depth);
      case 37: return string_test(rng_.chance(50) ? "starts_with" : "ends_with", depth);
      case 38: if (!evaluators_.empty() || rng_.chance(30))
                 return op("$ref", Json::string(evaluators_.empty() || rng_.chance(10) ? "missing" : rng_.pick(evaluators_)));
               return var();
      case 39: return op(rng_.pick(kUnknownOps), args(arity(1), depth));
      case 40: {  // more than one key: a literal object, not an operation
        Json o = Json::object();
        o.add("var", Json::string("a"));
        o.add(rng_.pick({"b", "if", "var"}), scalar());
        return o;
      }
      case 41: return Json::object();
      case 42: return timestamp_guard();
      case 43: return op("var", Json::string("$flagd.flagKey"));
      default: return rng_.chance(50) ? var() : odd_value(1);
    }
  }
  Json value(int depth) { return rng_.chance(65) ? (rng_.chance(60) ? var() : odd_value(2)) : expression(depth); }

  Json comparison(int depth) {
    const char* name = rng_.pick({"==", "===", "!=", "!==", "<", "<=", ">", ">="});
    const std::string s(name);
    const bool between = (s == "<" || s == "<=") && rng_.chance(25);
    Json a = Json::array();
    a.push(rng_.chance(70) ? var() : value(depth + 1));
    a.push(rng_.chance(70) ? scalar() : value(depth + 1));
    if (between) a.push(rng_.chance(70) ? scalar() : value(depth + 1));
    const int n = arity(static_cast<int>(a.items.size()));
    while (static_cast<int>(a.items.size()) > n) a.items.pop_back();
    while (static_cast<int>(a.items.size()) < n) a.push(scalar());
    if (rng_.chance(3)) return op(name, value(depth + 1));  // not an array
    return op(name, std::move(a));
  }

  Json condition(int depth) {
    if (depth >= options_.max_depth) return comparison(depth);
    switch (rng_.below(20)) {
      case 0: case 1: case 2: case 3: case 4: case 5: return comparison(depth);
      case 6: case 7: {
        Json a = Json::array();
        for (int i = arity(2); i > 0; --i) a.push(condition(depth + 1));
        return op(rng_.pick({"and", "or"}), std::move(a));
      }
      case 8: return op("!", Json::array({condition(depth + 1)}));
      case 9: case 10: return sem_ver(depth);
      case 11: return string_test(rng_.chance(50) ? "starts_with" : "ends_with", depth);
      case 12: return op("in", Json::array({var(), rng_.chance(60) ? array_literal(depth) : Json::string(rng_.pick(kStrings))}));
      case 13: return op(rng_.pick({"contains_all", "contains_any", "contains_none"}),
                         Json::array({array_source(depth), array_literal(depth)}));
      case 14: return timestamp_guard();
      case 15: if (!evaluators_.empty()) return op("$ref", Json::string(rng_.pick(evaluators_)));
               return comparison(depth);
      default: return expression(depth + 1);
    }
  }

  // Something meant to name a variant: usually a variant key, sometimes computed, sometimes not one.
  Json variant_choice(int depth) {
    const auto roll = rng_.below(30);
    if (roll < 17 && !variants_.empty()) return Json::string(rng_.pick(variants_));
    if (roll < 20) return fractional(depth);
    if (roll < 21) return Json::null();
    if (roll < 22) return Json::number(rng_.pick({"1", "0", "-1", "1.5", "-0", "3", "1e2"}));
    if (roll < 23) return Json::of(rng_.chance(50));
    if (roll < 24) return op("var", Json::string(rng_.pick({"s", "x", "a", "$flagd.flagKey"})));
    if (roll < 25 && !variants_.empty()) return op("cat", Json::array({Json::string(rng_.pick(variants_))}));
    if (roll < 26) return Json::string("no-such-variant");
    if (roll < 27) return Json::array({Json::string(variants_.empty() ? "a" : rng_.pick(variants_))});
    if (depth < options_.max_depth && roll < 29) return conditional(depth + 1, true);
    return expression(depth + 1);
  }

  Json conditional(int depth, bool variants) {
    Json a = Json::array();
    const int pairs = rng_.between(0, 2) + (rng_.chance(80) ? 1 : 0);
    for (int i = 0; i < pairs; ++i) {
      a.push(condition(depth + 1));
      a.push(variants ? variant_choice(depth + 1) : value(depth + 1));
    }
    if (rng_.chance(75)) a.push(variants ? variant_choice(depth + 1) : value(depth + 1));
    return op(rng_.chance(85) ? "if" : "?:", std::move(a));
  }

  Json targeting() {
    const auto roll = rng_.below(20);
    if (roll < 12) return conditional(0, true);
    if (roll < 15) return fractional(0);
    if (roll < 16 && !evaluators_.empty()) return op("$ref", Json::string(rng_.pick(evaluators_)));
    if (roll < 18) return variant_choice(0);
    return expression(0);
  }

  // ---- requests ----

  Json attribute(const std::string& name) {
    if (name == "user") {
      Json u = Json::object();
      if (rng_.chance(80)) u.add("id", rng_.chance(70) ? Json::string("u-" + std::to_string(rng_.between(1, 99))) : scalar());
      if (rng_.chance(60)) u.add("tier", Json::number(std::to_string(rng_.between(0, 4))));
      if (rng_.chance(40)) u.add("tags", array_literal(3));
      return rng_.chance(90) ? u : scalar();
    }
    if (name == "list" || name == "tags") return rng_.chance(85) ? array_literal(3) : odd_value(0);
    if (name == "a" && rng_.chance(35)) {
      Json o = Json::object();
      o.add("b", scalar());
      return o;
    }
    if (name == "version") return rng_.chance(85) ? Json::string(rng_.pick(kVersions)) : scalar();
    if (name == "email")
      return rng_.chance(85) ? Json::string(std::string(rng_.pick({"ann", "bob", "", "ü"})) +
                                            rng_.pick({"@example.com", "@corp.example", ""}))
                             : scalar();
    if (name == "tier" || name == "n") return rng_.chance(70) ? Json::number(rng_.pick(kNumbers)) : scalar();
    if (name == "s" && !variants_of_request_.empty() && rng_.chance(50)) return Json::string(rng_.pick(variants_of_request_));
    return odd_value(0);
  }

  Json context() {
    Json c = Json::object();
    for (const auto& name : kAttributes) {
      if (name == "targetingKey" || !rng_.chance(40)) continue;
      c.add(name, attribute(name));
    }
    const auto tk = rng_.below(100);
    if (tk < 70) c.add("targetingKey", Json::string(rng_.chance(80) ? "user-" + std::to_string(rng_.between(1, 500))
                                                                    : rng_.pick(kStrings)));
    else if (tk < 85) {}  // absent
    else c.add("targetingKey", odd_value(1));
    return c;
  }

  Json request() {
    Json r = Json::object();
    const FlagShape* shape = nullptr;
    std::string key;
    const auto which = rng_.below(100);
    if (which < 90 && !flags_.empty()) {
      shape = &flags_[rng_.below(flags_.size())];
      key = shape->key;
    } else {
      key = rng_.pick({"nope", "", "F"});
    }
    variants_of_request_ = {"on", "off", "a", "b", "1", "true"};
    r.add("flag", Json::string(key));
    static const Strings kTypes = {"boolean", "string", "integer", "float", "object"};
    std::string type;
    if (shape && rng_.chance(70)) {
      switch (shape->family) {
        case Family::Boolean: type = "boolean"; break;
        case Family::String: type = "string"; break;
        case Family::Number: type = rng_.chance(50) ? "integer" : "float"; break;
        case Family::Object: type = "object"; break;
        case Family::Mixed: type = rng_.pick(kTypes); break;
      }
    } else {
      type = rng_.pick(kTypes);
    }
    r.add("type", Json::string(type));
    if (rng_.chance(95)) r.add("context", context());
    if (rng_.chance(90)) {
      Json d;
      if (type == "boolean") d = Json::of(rng_.chance(50));
      else if (type == "string") d = Json::string(rng_.pick({"dflt", "", "ünï"}));
      else if (type == "integer") d = Json::number(rng_.pick({"-1", "7", "0", "2.9", "-2.9"}));
      else if (type == "float") d = Json::number(rng_.pick({"0.5", "-1", "0", "1e300"}));
      else d = rng_.chance(80) ? small_object() : Json::object();
      if (rng_.chance(5)) d = scalar();
      // a default is converted by each command's request reader, not by the evaluator: keep
      // numbers where both convert them exactly (an out-of-range double to int64 is undefined)
      if (d.is_number() && !(std::abs(d.to_double()) < 1e15)) d = Json::number("2.5");
      r.add("default", std::move(d));
    }
    return r;
  }

  Rng& rng_;
  GeneratorOptions options_;
  std::vector<std::string> variants_;            // the variant keys of the flag being written
  std::vector<std::string> evaluators_;          // the names in $evaluators
  std::vector<FlagShape> flags_;
  std::vector<std::string> variants_of_request_;
};

bool is_timestamp_path(const std::string& path) {
  std::vector<std::string> parts;
  std::string part;
  for (const char c : path + ".") {
    if (c != '.') {
      part += c;
    } else if (!part.empty()) {
      parts.push_back(part);
      part.clear();
    }
  }
  return !parts.empty() && parts[0] == "$flagd" && (parts.size() == 1 || parts[1] == "timestamp");
}

// Whether `node` is {"var": P} reading $flagd.timestamp (or all of $flagd).
bool reads_timestamp(const Json& node) {
  if (!node.is_object() || node.keys.size() != 1 || node.keys[0] != "var") return false;
  const Json& operand = node.items[0];
  if (operand.is_string()) return is_timestamp_path(operand.text);
  if (operand.is_array() && !operand.items.empty() && operand.items[0].is_string())
    return is_timestamp_path(operand.items[0].text);
  return false;
}

// A constant that no present-day timestamp (1e9 .. 1e10 seconds) is near.
bool far_constant(const Json& node) {
  double v = 0;
  if (node.is_number()) v = node.to_double();
  else if (node.is_string()) v = std::strtod(node.text.c_str(), nullptr);
  else return node.is_null() || node.kind == Json::Kind::Bool;
  return v <= 1e9 || v >= 1e10;
}

bool guarded(const Json& node) {
  if (reads_timestamp(node)) return false;
  if (node.is_object() && node.keys.size() == 1) {
    const std::string& name = node.keys[0];
    const Json& operand = node.items[0];
    if ((name == "<" || name == ">" || name == "<=" || name == ">=") && operand.is_array() && operand.items.size() == 2) {
      const Json& a = operand.items[0];
      const Json& b = operand.items[1];
      if (reads_timestamp(a) && far_constant(b)) return true;
      if (reads_timestamp(b) && far_constant(a)) return true;
    }
  }
  for (const auto& child : node.items)
    if (!guarded(child)) return false;
  return true;
}

}  // namespace

Case generate_case(Rng& rng, const GeneratorOptions& options) { return Generator(rng, options).make(); }

bool timestamp_reads_are_guarded(const Json& document) { return guarded(document); }

}  // namespace flagd::oracle
