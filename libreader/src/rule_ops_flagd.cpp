// flagd's operators: starts_with and ends_with (and the fused attribute tests, attribute_test.hpp),
// sem_ver (semver.hpp) and fractional (fractional.hpp).
#include "rule_eval_parts.hpp"

#include <charconv>

#include "flagd/attribute_test.hpp"
#include "flagd/fractional.hpp"
#include "flagd/murmur3.hpp"
#include "flagd/semver.hpp"
#include "rule_json.hpp"

namespace flagd::detail {

bool RuleEvaluator::op_affix(const RuleNode& n, bool prefix, const Scope& scope, std::uint32_t depth,
                             RuleValue& out) noexcept {
  Args args;
  if (!values(n, scope, depth, args)) return false;  // every operand first, as flagd's engine
  out = null_value();
  if (args.single || args.count != 2) return true;
  return affix_values(prefix, at(args, 0), at(args, 1), out);
}

bool RuleEvaluator::affix_values(bool prefix, const RuleValue& a, const RuleValue& b, RuleValue& out) noexcept {
  out = null_value();
  if (a.kind != Kind::String || b.kind != Kind::String) return true;
  if (b.length <= a.length && !charge_bytes(b.length)) return false;
  out = bool_value(string_test_holds(prefix ? AttributeTestKind::StartsWith : AttributeTestKind::EndsWith, a.view(),
                                     TextConstant{b.view()}));
  return true;
}

// A fused attribute test. When the attribute is a string (the case it exists for) the constants
// are compared where they lie in the image; anything else takes the operator's general path with
// both operands materialized, so the result is the same as the unfused rule's.
bool RuleEvaluator::op_attr_test(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  const RuleOp op = fused_operator(n);
  const auto hash = static_cast<std::uint32_t>(n.b);
  RuleNode constant_node;
  if (n.argc != 1 || !node(n.first, constant_node)) return malformed();
  const Context::Attribute* attribute = find_attribute(slot_, context_, n.a, hash);
  if (attribute != nullptr && attribute->type == Context::Type::String) {
    if (op == RuleOp::In && constant_node.op == RuleOp::Array && !charge(constant_node.argc)) return false;
    // Charged after the test: what it compares is bounded by the rule's own constants.
    std::uint64_t compared;
    const StringTestResult test = string_attribute_test(slot_, nodes_, op, constant_node, *attribute, compared);
    if (!charge_bytes(compared)) return false;
    switch (test) {
      case StringTestResult::False: out = bool_value(false); return true;
      case StringTestResult::True: out = bool_value(true); return true;
      case StringTestResult::Malformed: return malformed();
      case StringTestResult::Undecided: break;
    }
  }
  // The general path: the attribute as `var` reads it, the constant evaluated.
  RuleValue a, b;
  RuleValue path_text;
  if (!image_text(n.a, path_text) || !lookup(path_text.view(), hash, scope, depth, a)) return false;
  if (!arg(n, 0, scope, depth, b)) return false;
  if (!charge_text(a) || !charge_text(b)) return false;
  switch (op) {
    case RuleOp::Equal: out = bool_value(loose_equal(a, b)); return true;
    case RuleOp::NotEqual: out = bool_value(!loose_equal(a, b)); return true;
    case RuleOp::StrictEqual: out = bool_value(strict_equal(a, b)); return true;
    case RuleOp::StrictNotEqual: out = bool_value(!strict_equal(a, b)); return true;
    case RuleOp::StartsWith: return affix_values(true, a, b, out);
    case RuleOp::EndsWith: return affix_values(false, a, b, out);
    case RuleOp::In: return in_values(a, b, out);
    default: return malformed();
  }
}

bool RuleEvaluator::op_sem_ver(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  Args args;
  if (!values(n, scope, depth, args)) return false;
  out = null_value();
  if (args.single || args.count != 3) return true;
  // A version that is not a string is printed as fmt's %v prints it (numbers as 1.5, 1e+06);
  // only a string or a number can read as a version.
  RuleValue texts[2];
  const RuleValue* versions[2] = {&at(args, 0), &at(args, 2)};
  for (int k = 0; k < 2; ++k) {
    const RuleValue& v = *versions[k];
    if (v.kind == Kind::String) texts[k] = v;
    else if (v.kind != Kind::Number) return true;
    else if (!number_text(v.number, go::format_general, texts[k])) return false;
  }
  const RuleValue& op = at(args, 1);
  if (op.kind != Kind::String) return true;
  // Parsing and comparing the versions reads each a bounded number of times.
  if (!charge_text(texts[0]) || !charge_text(texts[1])) return false;
  SemVer left, right;
  if (!parse_semver(texts[0].view(), left) || !parse_semver(texts[1].view(), right)) return true;
  SemVerOp compare;
  if (parse_semver_op(op.view(), compare)) out = bool_value(semver_holds(compare, left, right));
  return true;
}

// fractional with constant buckets and the targeting key, the usual form: the buckets are read
// from their nodes where they lie, nothing is evaluated or copied but the flag key. `handled` is
// false (and nothing done) for any other form, which takes the general path.
bool RuleEvaluator::fractional_constant(const RuleNode& n, std::uint32_t index, bool& handled, RuleValue& out) noexcept {
  std::uint64_t total;
  bool valid;
  handled = constant_buckets(nodes_, n.first, n.argc, total, valid);
  if (!handled) return true;
  out = null_value();
  if (!charge(n.argc)) return false;
  if (!valid || !fractional_total_ok(total)) return true;
  const std::string_view tk = targeting_key();
  if (tk.empty()) return true;
  if (!charge_bytes(tk.size())) return false;  // hashed
  std::uint32_t hash;
  if ((n.flags & layout::kFlagKeyHashed) != 0 && n.b == flag_key_ref_.length) {
    // The hash's state after the flag key was computed at load (rule_layout.hpp).
    hash = murmur3_finish(Murmur3Prefix{static_cast<std::uint32_t>(n.a), static_cast<std::uint32_t>(n.a >> 32) & 0xFFFFFF,
                                        static_cast<std::uint32_t>(n.a >> 56) & 3, flag_key_ref_.length},
                          tk);
  } else {
    RuleValue key;
    if (!flag_key(key)) return false;
    hash = murmur3_x86_32(key.view(), tk);
  }
  const std::uint64_t point = fractional_point(hash, static_cast<std::uint32_t>(total));  // total_ok: it fits
  std::uint32_t at_node;
  RuleNode variant;
  if (!constant_bucket_at(nodes_, n.first, n.argc, point, at_node)) return true;
  if (!node(at_node, variant)) return false;
  return constant(variant, index == tail_, out);
}

// What fractional buckets by, from the data it runs on: flagd's engine reads the targeting key
// and its own flag key from that data, the context's or, inside map/filter/... bodies, the
// element's (its "targetingKey" and "$flagd"), and fails unless the data is an object.
bool RuleEvaluator::fractional_keys(const Scope& scope, bool& object_data, RuleValue& targeting_key_value,
                                    RuleValue& flag_key_value) noexcept {
  object_data = true;
  targeting_key_value = flag_key_value = string_value({});
  if (scope.type == Scope::Type::Context) {
    targeting_key_value = string_value(targeting_key());
    return flag_key(flag_key_value);
  }
  if (scope.type == Scope::Type::Reduce) return true;  // {"current", "accumulator", "valueType"}
  if (scope.current == nullptr || scope.current->kind != Kind::Object) {
    object_data = false;
    return true;
  }
  RuleValue tk, flagd;
  if (!member(*scope.current, "targetingKey", tk) || !member(*scope.current, "$flagd", flagd)) return false;
  if (tk.kind == Kind::String) targeting_key_value = tk;
  if (flagd.kind != Kind::Object) return true;
  // The engine decodes $flagd into {FlagKey string; Timestamp int64}, names matched in any case,
  // and takes nothing of it if any of those does not fit.
  RuleValue key = string_value({});
  bool fits = true;
  const bool parsed = json::members(flagd.view(), [&](std::string_view k, std::string_view v) {
    RuleValue name;
    if (!json_value(k, 0, name)) return fits = false;
    const auto named = [&](std::string_view want) {
      if (name.length != want.size()) return false;
      for (std::size_t i = 0; i < want.size(); ++i)
        if ((name.text[i] | 0x20) != want[i]) return false;
      return true;
    };
    if (named("flagkey")) {
      RuleValue x;
      if (!json_value(v, 0, x)) return fits = false;
      if (x.kind == Kind::String) key = x;
      else if (x.kind != Kind::Null) fits = false;
    } else if (named("timestamp") && v != "null") {
      std::int64_t t;
      const auto r = std::from_chars(v.data(), v.data() + v.size(), t);
      fits = fits && r.ec == std::errc() && r.ptr == v.data() + v.size();
    }
    return true;
  });
  if (!parsed) return malformed();
  if (fits) flag_key_value = key;
  return true;
}

bool RuleEvaluator::op_fractional(const RuleNode& n, std::uint32_t index, const Scope& scope, std::uint32_t depth,
                                  RuleValue& out) noexcept {
  out = null_value();
  if (n.argc == 0) return true;
  bool handled = false;
  if (scope.type == Scope::Type::Context && !fractional_constant(n, index, handled, out)) return false;
  if (handled) return true;
  Args args;
  if (!values(n, scope, depth, args)) return false;  // flagd evaluates every operand first
  out = null_value();
  if (args.single || args.count == 0) return true;
  bool object_data;
  RuleValue tk, flag;
  if (!fractional_keys(scope, object_data, tk, flag)) return false;
  if (!object_data) return true;
  const RuleValue& head = at(args, 0);
  std::string_view key_a, key_b;
  std::uint32_t buckets_from = 0;
  if (head.kind == Kind::String) {
    key_a = head.view();
    buckets_from = 1;
  } else {
    buckets_from = head.kind == Kind::Null ? 1 : 0;
    if (tk.length == 0) return true;
    key_a = flag.view();
    key_b = tk.view();
  }
  // Buckets: [variant, weight?]; a weight is a whole number, absent or null meaning 1, negative 0.
  const auto weight_of = [&](const RuleValue& bucket, std::uint64_t& weight) {
    weight = 1;
    if (bucket.length < 2 || element(bucket, 1).kind == Kind::Null) return true;
    const RuleValue& w = element(bucket, 1);
    return w.kind == Kind::Number && !w.go_int && fractional_weight(w.number, weight);
  };
  std::uint64_t total = 0;
  for (std::uint32_t i = buckets_from; i < args.count; ++i) {
    const RuleValue& bucket = at(args, i);
    if (bucket.kind != Kind::Array || bucket.length == 0) return true;
    const RuleValue& variant = element(bucket, 0);
    if (variant.kind == Kind::Array || variant.kind == Kind::Object || variant.go_int) return true;
    std::uint64_t weight;
    if (!weight_of(bucket, weight)) return true;
    total += weight;
    if (total > kMaxFractionalTotal) return true;
  }
  if (!fractional_total_ok(total)) return true;
  if (!charge_bytes(std::uint64_t{key_a.size()} + key_b.size())) return false;  // hashed
  const std::uint64_t point = fractional_point(murmur3_x86_32(key_a, key_b), static_cast<std::uint32_t>(total));
  std::uint64_t running = 0;
  for (std::uint32_t i = buckets_from; i < args.count; ++i) {
    const RuleValue& bucket = at(args, i);
    std::uint64_t weight;
    weight_of(bucket, weight);
    running += weight;
    if (running > point) {
      out = element(bucket, 0);
      return true;
    }
  }
  return true;
}

}  // namespace flagd::detail
