// var and the data it reads: the context (objects as dotted keys, lists of scalars, $flagd), an
// iteration's element or reduce's accumulator, paths into lists and objects, and the rewriting
// flagd's engine does of filter, none, some and all bodies (Scope).
#include "rule_eval_parts.hpp"

#include <charconv>

#include "flagd/key_hash.hpp"
#include "rule_json.hpp"

namespace flagd::detail {

// `var path` in the scope: a rewrite's value (evaluated again, as flagd's engine evaluates the
// rewritten body), else the scope's own data.
bool RuleEvaluator::lookup(std::string_view path, std::uint32_t hash, const Scope& scope, std::uint32_t depth,
                          RuleValue& out) noexcept {
  if (substitutable(path)) {
    if (!substitution(path, hash, scope, kNoNode, depth, out)) return false;
    if (out.kind != Kind::Null) return reparse(out, scope.detached(), depth, out);
  }
  return data_lookup(path, hash, scope, out);
}

// The data a rewrite level of `scope` reads (Scope): 0, the parent's (filter, none, some);
// 1, the element's (all, some), which runs after.
bool RuleEvaluator::rewrite_level(const Scope& scope, int level, Scope& data) noexcept {
  if (level == 0 && scope.substitutes) {
    data = scope.parent->detached();
    return true;
  }
  if (level == 1 && scope.rewrites_element) {
    data = scope.detached();
    return true;
  }
  return false;
}

// What the rewrites around `scope` make of `var path` (Scope): the outermost that resolves it
// (its default `fallback`, if any, evaluated against the data that rewrite reads) wins, as it
// runs first; each rewrite inside it then rewrites the value it put in. Null if none resolves it.
bool RuleEvaluator::substitution(std::string_view path, std::uint32_t hash, const Scope& scope, std::uint32_t fallback,
                                 std::uint32_t depth, RuleValue& out) noexcept {
  return through_rewrites(scope, depth, out, [&](const Scope& data, RuleValue& found) {
    if (!data_lookup(path, hash, data, found)) return false;
    return found.kind != Kind::Null || fallback == kNoNode || eval(fallback, data, depth + 1, found);
  });
}

// The value `v` as the rewrites around `scope` leave it (a literal of the rule's, or a list taken
// as written): each rewrite, outermost first, rewrites the vars in it.
bool RuleEvaluator::rewritten_value(const RuleValue& v, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  out = v;
  if (scope.parent == nullptr) return true;
  if (!rewritten_value(v, *scope.parent, depth, out)) return false;
  for (int level = 0; level < 2; ++level) {
    Scope data;
    if (rewrite_level(scope, level, data) && !solve_vars(out, data, depth, out)) return false;
  }
  return true;
}

// flagd's engine's solveVars on a value (data a rewrite put in, or a literal of the rule): an
// object with a "var" member becomes what that var reads in `data`, if anything ("" and ".x"
// aside); otherwise its members, and a list's elements, are rewritten in turn.
bool RuleEvaluator::solve_vars(const RuleValue& v, const Scope& data, std::uint32_t depth, RuleValue& out) noexcept {
  if (depth > kRuleEvalDepth) return limit_reached();
  const RuleValue value = v;
  out = value;
  if (value.kind == Kind::Array)
    return map_list(value, out, [&](const RuleValue& e, RuleValue& solved) { return solve_vars(e, data, depth + 1, solved); });
  if (value.kind != Kind::Object || !value.boolean) return true;
  if (!charge_bytes(value.length)) return false;
  std::string_view var_operand;
  bool has_var = false;
  if (!json::members(value.view(), [&](std::string_view k, std::string_view member_value) {
        if (json::string_is(k, "var")) {
          has_var = true;
          var_operand = member_value;
        }
        return true;
      }))
    return malformed();
  if (has_var) {
    RuleValue operand, resolved;
    if (!json_value(var_operand, depth, operand)) return false;
    const bool kept = operand.kind == Kind::String && !substitutable(operand.view());
    if (!kept) {
      if (!reparse(operand, data, depth + 1, operand) || !get_var(operand, data, resolved)) return false;
      if (resolved.kind != Kind::Null) {
        out = resolved;
        return true;
      }
    }
  }
  // The other members, rewritten: each value first (reading them may use the scratch), then the
  // object's text in one piece after them. Keys are kept as written, in their order.
  std::uint32_t count = 0;
  json::members(value.view(), [&](std::string_view, std::string_view) { return ++count, true; });
  if (2 * count > kRuleValueScratch - values_used_) return limit_reached();
  const std::uint32_t first = values_used_;
  values_used_ += 2 * count;
  std::uint32_t i = 0;
  bool ok = true;
  json::members(value.view(), [&](std::string_view k, std::string_view member_value) {
    RuleValue m;
    ok = json_value(member_value, depth + 1, m) && (json::string_is(k, "var") || solve_vars(m, data, depth + 1, m));
    values_[first + 2 * i] = string_value(k);  // the key's token, quotes included
    values_[first + 2 * i + 1] = m;
    ++i;
    return ok;
  });
  if (!ok) return false;
  const std::size_t mark = text_used_;
  if (!put_text("{")) return false;
  for (std::uint32_t k = 0; k < count; ++k)
    if ((k != 0 && !put_text(",")) || !put_text(values_[first + 2 * k].view()) || !put_text(":") ||
        !encode(values_[first + 2 * k + 1], depth + 1))
      return false;
  if (!put_text("}")) return false;
  out = object_value({text_ + mark, text_used_ - mark});
  return true;
}

bool RuleEvaluator::rewritten(const Scope& scope) noexcept {
  for (const Scope* s = &scope; s != nullptr; s = s->parent)
    if (s->substitutes || s->rewrites_element) return true;
  return false;
}

// The scope's whole data: the context (with $flagd), the element, or reduce's
// {"current", "accumulator", "valueType"}.
bool RuleEvaluator::scope_data(const Scope& scope, RuleValue& out) noexcept {
  out = null_value();
  switch (scope.type) {
    case Scope::Type::Context: return context_object(nullptr, 0, out);
    case Scope::Type::Element:
      if (scope.current != nullptr) out = *scope.current;
      return true;
    case Scope::Type::Reduce: {
      const std::size_t mark = text_used_;
      const RuleValue none;
      if (!put_text("{\"accumulator\":") || !encode(scope.accumulator ? *scope.accumulator : none, 0) ||
          !put_text(",\"current\":") || !encode(scope.current ? *scope.current : none, 0) ||
          !put_text(",\"valueType\":") || !encode(string_value(scope.value_type), 0) || !put_text("}"))
        return false;
      out = object_value({text_ + mark, text_used_ - mark});
      return true;
    }
  }
  return true;
}

// `var path` against the scope's own data (path without empty segments).
bool RuleEvaluator::data_lookup(std::string_view path, std::uint32_t hash, const Scope& scope, RuleValue& out) noexcept {
  out = null_value();
  if (path.empty()) return scope_data(scope, out);
  switch (scope.type) {
    case Scope::Type::Context: return context_lookup(path, hash, out);
    case Scope::Type::Element: return scope.current == nullptr || walk(*scope.current, path, out);
    case Scope::Type::Reduce: {
      std::string_view rest;
      const std::string_view name = first_segment(path, rest);
      RuleValue v;
      if (name == "current" && scope.current) v = *scope.current;
      if (name == "accumulator" && scope.accumulator) v = *scope.accumulator;
      if (name == "valueType") v = string_value(scope.value_type);
      if (rest.empty()) {
        out = v;
        return true;
      }
      return walk(v, rest, out);
    }
  }
  return true;
}

// Down `path` (no empty segments) from `value`: an object's member, a list's element (the
// segment read as a number), nothing below anything else.
bool RuleEvaluator::walk(RuleValue value, std::string_view path, RuleValue& out) noexcept {
  out = null_value();
  for (std::uint32_t guard = 0; guard <= kRuleEvalDepth * 64 && !path.empty(); ++guard) {
    std::string_view rest;
    const std::string_view segment = first_segment(path, rest);
    if (!charge_bytes(segment.size()) || !charge(1)) return false;
    RuleValue next;
    if (value.kind == Kind::Object) {
      if (!member(value, segment, next)) return false;
    } else if (value.kind == Kind::Array) {
      const std::int64_t i = segment_index(segment);
      if (i >= 0 && i < value.length) next = element(value, static_cast<std::uint32_t>(i));
    }
    if (next.kind == Kind::Null) return true;
    value = next;
    path = rest;
  }
  if (path.empty()) out = value;
  return true;
}

// A path in the context, which holds nested objects as dotted keys ("user.tier") and lists as
// lists of scalars. $flagd is flagd's own object, whatever the context has.
bool RuleEvaluator::context_lookup(std::string_view path, std::uint32_t hash, RuleValue& out) noexcept {
  out = null_value();
  if (path == "$flagd") return flagd_object(out);
  if (path.substr(0, 7) == "$flagd.") {
    std::string_view rest;
    const std::string_view name = first_segment(path.substr(7), rest);
    RuleValue v;
    if (name == "flagKey" && !flag_key(v)) return false;
    if (name == "timestamp") {
      if (timestamp_ < 0) timestamp_ = unix_seconds();
      v = number_value(timestamp_);
    }
    return rest.empty() ? (out = v, true) : walk(v, rest, out);
  }
  if (context_ == nullptr) return true;
  if (const Context::Attribute* a = context_->find(path, hash)) return attribute_value(*a, out);
  // No attribute of the whole path: a shorter one may be a list, whose element the next segment
  // names ("tags.1", "tags.x" reading as 0), or JSON, which the rest walks into; objects in
  // between are dotted keys themselves.
  for (std::size_t dot = path.find('.'); dot != std::string_view::npos; dot = path.find('.', dot + 1)) {
    if (!charge_bytes(dot) || !charge(1)) return false;
    const Context::Attribute* a = context_->find(path.substr(0, dot));
    if (a == nullptr || a->type == Context::Type::Object) continue;
    if (a->type == Context::Type::Json) {
      RuleValue held;
      return json_attribute(*a, held) && walk(held, path.substr(dot + 1), out);
    }
    if (a->type != Context::Type::List) return true;
    const std::size_t end = path.find('.', dot + 1);
    const std::int64_t i = segment_index(path.substr(dot + 1, end == std::string_view::npos ? end : end - dot - 1));
    const auto items = context_->list(*a);
    if (end == std::string_view::npos && i >= 0 && static_cast<std::uint64_t>(i) < items.size())
      out = item_value(items[static_cast<std::size_t>(i)]);
    return true;  // an item is a scalar: nothing below it
  }
  return true;
}

RuleValue RuleEvaluator::item_value(const Context::Item& item) noexcept {
  switch (item.type) {
    case Context::Type::Bool: return bool_value(item.boolean);
    case Context::Type::Number: return number_value(item.number);
    case Context::Type::String: return string_value(item.text);
    default: return null_value();
  }
}

bool RuleEvaluator::attribute_value(const Context::Attribute& a, RuleValue& out) noexcept {
  out = null_value();
  switch (a.type) {
    case Context::Type::Null: return true;
    case Context::Type::Bool: out = bool_value(a.boolean); return true;
    case Context::Type::Number: out = number_value(a.number); return true;
    case Context::Type::String: out = string_value(a.text); return true;
    case Context::Type::Object: return context_object(&a, 0, out);
    case Context::Type::Json: return json_attribute(a, out);
    case Context::Type::List: {
      const auto items = context_->list(a);
      const RuleValue array = array_value(values_used_, static_cast<std::uint32_t>(items.size()));
      for (const auto& item : items)
        if (!push(item_value(item))) return false;
      out = array;
      return true;
    }
  }
  return true;
}

// The value of an attribute set as JSON text, read where the caller keeps it as its strings are.
// The text is the caller's, so it is checked whole (one pass, charged per byte), and text that
// is not JSON fails the rule as bad data does in flagd's engine (PARSE_ERROR), where a damaged
// image fails it as malformed.
bool RuleEvaluator::json_attribute(const Context::Attribute& a, RuleValue& out) noexcept {
  out = null_value();
  if (!charge_bytes(a.text.size())) return false;
  if (!json::well_formed(a.text, kRuleEvalDepth)) return engine_error();
  return json_value(a.text, 0, out);
}

// The object the context holds as the attribute `owner` (nullptr: the whole data, with $flagd),
// as JSON text with its keys sorted: its members are the attributes owner.name that no object
// attribute in between holds. Found by repeated scans (no memory to sort in), each charged.
bool RuleEvaluator::context_object(const Context::Attribute* owner, std::uint32_t depth, RuleValue& out) noexcept {
  if (depth > kRuleEvalDepth) return limit_reached();
  const std::size_t mark = text_used_;
  const auto attributes = context_ != nullptr ? context_->attributes_view() : std::span<const Context::Attribute>{};
  const bool root = owner == nullptr;  // an object may have the empty key: "" is not the root
  const std::string_view prefix = root ? std::string_view{} : owner->key;
  // The member name an attribute has in this object, or false.
  const auto member_name = [&](const Context::Attribute& a, std::string_view& name) {
    const std::string_view key = a.key;
    if (root) {
      if (key == "$flagd" || key.substr(0, 7) == "$flagd.") return false;
      name = key;
    } else {
      if (key.size() < prefix.size() + 1 || key.substr(0, prefix.size()) != prefix || key[prefix.size()] != '.')
        return false;
      name = key.substr(prefix.size() + 1);
    }
    for (std::size_t dot = name.find('.'); dot != std::string_view::npos; dot = name.find('.', dot + 1)) {
      const Context::Attribute* holder = context_->find(key.substr(0, key.size() - name.size() + dot));
      if (holder != nullptr && (holder->type == Context::Type::Object || holder->type == Context::Type::Json))
        return false;
    }
    return true;
  };
  if (!put_text("{")) return false;
  std::string_view last;
  bool any = false;
  for (std::size_t emitted = 0; emitted <= attributes.size(); ++emitted) {
    if (!charge(attributes.size() + 1)) return false;
    const Context::Attribute* best = nullptr;
    std::string_view best_name;
    bool have = false;
    bool flagd = false;  // the root's $flagd member is next
    if (root && (!any || last < "$flagd")) {
      best_name = "$flagd";
      have = flagd = true;
    }
    for (const auto& a : attributes) {
      std::string_view name;
      if (!member_name(a, name) || (any && !(last < name))) continue;
      if (!have || name < best_name) {
        best = &a;
        best_name = name;
        have = true;
        flagd = false;
      }
    }
    if (!have) break;
    if (any && !put_text(",")) return false;
    if (!encode(string_value(best_name), depth) || !put_text(":")) return false;
    if (flagd) {
      RuleValue f;
      if (!flagd_object(f)) return false;
    } else {
      switch (best->type) {
        case Context::Type::Object: {
          RuleValue nested;
          if (!context_object(best, depth + 1, nested)) return false;
          break;
        }
        case Context::Type::List: {
          const auto items = context_->list(*best);
          if (!put_text("[")) return false;
          for (std::size_t i = 0; i < items.size(); ++i)
            if ((i != 0 && !put_text(",")) || !encode(item_value(items[i]), depth)) return false;
          if (!put_text("]")) return false;
          break;
        }
        case Context::Type::Json:  // written as flagd's engine writes JSON already
          if (!json::well_formed(best->text, kRuleEvalDepth)) return engine_error();
          if (!put_text(best->text)) return false;
          break;
        default: {
          RuleValue v;
          if (!attribute_value(*best, v) || !encode(v, depth)) return false;
          break;
        }
      }
    }
    last = best_name;
    any = true;
  }
  if (!put_text("}")) return false;
  out = object_value({text_ + mark, text_used_ - mark});
  return true;
}

// {"flagKey": ..., "timestamp": ...}, flagd's $flagd.
bool RuleEvaluator::flagd_object(RuleValue& out) noexcept {
  RuleValue key;
  if (!flag_key(key)) return false;
  if (timestamp_ < 0) timestamp_ = unix_seconds();
  const std::size_t mark = text_used_;
  if (!put_text("{\"flagKey\":") || !encode(key, 0) || !put_text(",\"timestamp\":") ||
      !encode(number_value(timestamp_), 0) || !put_text("}"))
    return false;
  out = object_value({text_ + mark, text_used_ - mark});
  return true;
}

// flagd's engine's getVar, given its operand evaluated: null (the data itself if that is a
// scalar element), a path (a string, a number printed as 'f' does), or [path, default]; anything
// else fails. Read against the scope's own data.
bool RuleEvaluator::get_var(const RuleValue& operand, const Scope& scope, RuleValue& out) noexcept {
  out = null_value();
  RuleValue path = operand, fallback;
  switch (operand.kind) {
    case Kind::Null:
      if (scope.type == Scope::Type::Element && scope.current != nullptr &&
          (scope.current->kind == Kind::Bool || scope.current->kind == Kind::Number || scope.current->kind == Kind::String))
        out = *scope.current;
      return true;
    case Kind::Number:
      if (!number_text(operand.number, go::format_fixed, path)) return false;
      break;
    case Kind::String: break;
    case Kind::Array:
      if (operand.length == 0) return scope_data(scope, out);
      if (operand.length == 2) fallback = element(operand, 1);
      path = element(operand, 0);
      if (path.kind != Kind::String) return engine_error();
      break;
    default: break;  // a boolean or an object: no path, which the engine finds out only below
  }
  if (scope.type == Scope::Type::Element && (scope.current == nullptr || scope.current->kind == Kind::Null)) {
    out = fallback;  // no data: the default
    return true;
  }
  if (path.kind != Kind::String) return engine_error();
  // Without its empty segments, as flagd's engine walks it ("a..b" is "a.b").
  std::string_view p = path.view();
  if (!charge_text(path)) return false;
  if (p.find("..") != std::string_view::npos || (!p.empty() && (p.front() == '.' || p.back() == '.'))) {
    const std::size_t mark = text_used_;
    for (std::string_view rest = p; !rest.empty();) {
      std::string_view after;
      const std::string_view segment = first_segment(rest, after);
      if (!segment.empty() && ((text_used_ != mark && !put_text(".")) || !put_text(segment))) return false;
      rest = after;
    }
    p = {text_ + mark, text_used_ - mark};
  }
  if (!data_lookup(p, key_hash(p), scope, out)) return false;
  if (out.kind == Kind::Null) out = fallback;
  return true;
}

bool RuleEvaluator::variable(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  // A default that is an operation is evaluated first, as flagd's engine evaluates every operand
  // of var: if it fails, the var fails, found or not.
  RuleValue fallback;
  bool have_fallback = false;
  if (n.argc > 0) {
    RuleNode d;
    if (!node(n.first, d)) return false;
    if (!constant_op(d.op)) {
      if (!arg(n, 0, scope, depth, fallback)) return false;
      have_fallback = true;
    }
  }
  const auto otherwise = [&](RuleValue& v) { return have_fallback ? (v = fallback, true) : arg(n, 0, scope, depth, v); };
  // The common case: an attribute of the context, found by the path's hash and compared with the
  // path where it lies in the image, without copying it. (The empty path is the whole data, not
  // an attribute of the empty key.)
  if (scope.type == Scope::Type::Context && layout::unpack_string_ref(n.a).length != 0) {
    if (const Context::Attribute* a = find_attribute(slot_, context_, n.a, static_cast<std::uint32_t>(n.b))) {
      if (!attribute_value(*a, out)) return false;
      if (out.kind == Kind::Null && n.argc > 0) return otherwise(out);
      return true;
    }
  }
  RuleValue path;
  if (!image_text(n.a, path)) return false;
  const std::string_view p = path.view();
  const auto hash = static_cast<std::uint32_t>(n.b);
  if (n.argc > 0 && substitutable(p) && rewritten(scope)) {
    // A rewriting body's `var` with a default resolves where the rewrite looks, to the default
    // (evaluated there) if nothing else, so it reads the element only if the default is null.
    if (!substitution(p, hash, scope, n.first, depth, out)) return false;
    if (out.kind != Kind::Null) return reparse(out, scope.detached(), depth, out);
  }
  if (!lookup(p, hash, scope, depth, out)) return false;
  if (out.kind == Kind::Null && n.argc > 0) return otherwise(out);
  return true;
}

// `var` of an operand known only at evaluation, read as flagd's engine reads it, its rewriting
// in filter/none/some bodies included: each rewrite evaluates the operand against the data
// around it and keeps what that finds.
bool RuleEvaluator::var_of(const RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept {
  if (n.argc != 1) return malformed();
  RuleNode operand;
  if (!node(n.first, operand)) return false;
  bool kept = false;
  if (rewritten(scope) && !kept_from_rewrite(operand, kept)) return false;
  if (!kept && rewritten(scope)) {
    if (!rewritten_var_of(n.first, scope, depth, out)) return false;
    if (out.kind != Kind::Null) return reparse(out, scope.detached(), depth, out);
  }
  const Scope own = scope.detached();
  RuleValue v;
  if (!eval(n.first, own, depth + 1, v)) return false;
  return get_var(v, own, out);
}

// Whether no rewrite touches a VarOf of `operand`: a path written "" or ".x" is the element's.
bool RuleEvaluator::kept_from_rewrite(const RuleNode& operand, bool& kept) noexcept {
  kept = false;
  if (operand.op != RuleOp::String) return true;
  RuleValue written;
  if (!image_text(operand.a, written)) return false;
  kept = !substitutable(written.view());
  return true;
}

bool RuleEvaluator::rewritten_var_of(std::uint32_t operand, const Scope& scope, std::uint32_t depth,
                                     RuleValue& out) noexcept {
  return through_rewrites(scope, depth, out, [&](const Scope& data, RuleValue& found) {
    RuleValue v;
    return eval(operand, data, depth + 1, v) && get_var(v, data, found);
  });
}

// Whether a rewrite (Scope) replaces the lone `var` node `var` in `scope` with a value, and with
// which: the value as the rewrite found it, not evaluated again.
bool RuleEvaluator::substituted_var(const RuleNode& var, const Scope& scope, std::uint32_t depth, bool& substituted,
                                    RuleValue& value) noexcept {
  substituted = false;
  value = null_value();
  if (!rewritten(scope)) return true;
  if (var.op == RuleOp::Var) {
    RuleValue path;
    if (!image_text(var.a, path)) return false;
    if (!substitutable(path.view())) return true;
    if (!substitution(path.view(), static_cast<std::uint32_t>(var.b), scope, var.argc > 0 ? var.first : kNoNode, depth,
                      value))
      return false;
  } else if (var.op == RuleOp::VarOf) {
    RuleNode operand;
    bool kept;
    if (var.argc != 1 || !node(var.first, operand)) return malformed();
    if (!kept_from_rewrite(operand, kept)) return false;
    if (kept) return true;
    if (!rewritten_var_of(var.first, scope, depth, value)) return false;
  } else {
    return true;
  }
  substituted = value.kind != Kind::Null;
  return true;
}

// flagd's engine rewrites a body by reading each var in it (Scope), evaluating the var's operand
// against the data the rewrite reads, before anything of the body runs: an operand that fails
// fails the operator, even if the list is empty or the body would not reach that var. Here the
// body is walked for operands that can fail (a default or a path that is an operation) and each is
// evaluated against `data`. (A var a rewrite further out resolved is not read again by flagd's
// engine; evaluating its operand anyway can only matter if it fails against this data alone.)
bool RuleEvaluator::rewrite_operands(std::uint32_t index, const Scope& data, std::uint32_t depth) noexcept {
  if (depth > kRuleEvalDepth) return limit_reached();
  RuleNode n;
  if (!node(index, n) || !charge(1)) return false;
  const std::size_t text_mark = text_used_;
  const std::uint32_t value_mark = values_used_;
  RuleValue v, found;
  bool ok = true;
  if (n.op == RuleOp::Var) {
    RuleNode fallback;
    if (n.argc > 0 && (!node(n.first, fallback) || (!constant_op(fallback.op) && !eval(n.first, data, depth + 1, v))))
      ok = false;
  } else if (n.op == RuleOp::VarOf) {
    RuleNode operand;
    bool kept = false;
    ok = n.argc == 1 && node(n.first, operand) && kept_from_rewrite(operand, kept) &&
         (kept || (eval(n.first, data, depth + 1, v) && get_var(v, data, found)));
  } else if (n.op == RuleOp::Object) {
    ok = constant(n, false, v) && solve_vars(v, data, depth, found);  // a literal's vars are read too
  } else {
    for (std::uint32_t i = 0; i < n.argc && ok; ++i) ok = rewrite_operands(n.first + i, data, depth + 1);
  }
  text_used_ = text_mark;
  values_used_ = value_mark;
  return ok;
}

}  // namespace flagd::detail
