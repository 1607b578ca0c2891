#include "rule_nodes.hpp"

#include <bit>
#include <cmath>

#include "flagd/key_hash.hpp"

namespace flagd::detail {

using layout::RuleNode;
using layout::RuleOp;

namespace {
// Hashed once when the library loads, not per evaluation.
const std::uint32_t kTargetingKeyHash = key_hash("targetingKey");
}  // namespace

std::string_view targeting_key(const Context* context) noexcept {
  const Context::Attribute* tk = context ? context->find("targetingKey", kTargetingKeyHash) : nullptr;
  return tk != nullptr && tk->type == Context::Type::String ? tk->text : std::string_view{};
}

namespace {

// Bucket i: its variant constant and weight; false if it is not a constant bucket.
bool constant_bucket(const RuleNodes& nodes, const RuleNode& n, std::uint32_t i, RuleNode& variant,
                     std::uint64_t& weight, bool& valid) noexcept {
  RuleNode array, w;
  valid = true;
  if (!nodes.read(n.first + i, array) || array.op != RuleOp::Array || array.argc == 0 ||
      !nodes.read(array.first, variant))
    return false;
  if (variant.op != RuleOp::String && variant.op != RuleOp::Bool && variant.op != RuleOp::Number &&
      variant.op != RuleOp::Null)
    return false;
  weight = 1;
  if (array.argc >= 2) {
    if (!nodes.read(array.first + 1, w)) return false;
    if (w.op == RuleOp::Number) {
      const double d = std::bit_cast<double>(w.a);
      valid = d == std::floor(d) && d <= static_cast<double>(kMaxFractionalTotal);
      weight = valid && d > 0 ? static_cast<std::uint64_t>(d) : 0;
    } else if (w.op != RuleOp::Null) {
      return false;  // a computed or non-number weight: the general path decides
    }
  }
  for (std::uint32_t k = 2; k < array.argc; ++k) {  // extra elements are ignored, if constant
    RuleNode extra;
    if (!nodes.read(array.first + k, extra) || extra.op > RuleOp::Number) return false;
  }
  return true;
}

}  // namespace

bool constant_buckets(const RuleNodes& nodes, const RuleNode& n, std::uint64_t& total, bool& valid) noexcept {
  total = 0;
  valid = true;
  for (std::uint32_t i = 0; i < n.argc; ++i) {
    RuleNode variant;
    std::uint64_t weight;
    bool weight_valid;
    if (!constant_bucket(nodes, n, i, variant, weight, weight_valid)) return false;
    valid = valid && weight_valid;
    total += weight;
  }
  return true;
}

bool constant_bucket_at(const RuleNodes& nodes, const RuleNode& n, std::uint64_t point, RuleNode& variant) noexcept {
  std::uint64_t running = 0;
  for (std::uint32_t i = 0; i < n.argc; ++i) {
    std::uint64_t weight;
    bool valid;
    if (!constant_bucket(nodes, n, i, variant, weight, valid)) return false;
    running += weight;
    if (running > point) return true;
  }
  return false;
}

}  // namespace flagd::detail
