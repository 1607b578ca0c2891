#include "checkout.hpp"

namespace shop {

flagd::Handle Checkout::resolve(const flagd::Reader& flags) {
  // resolve() records the handle in the reader; it is not an evaluation and changes no flag.
  return const_cast<flagd::Reader&>(flags).resolve("new-checkout");
}

Receipt Checkout::charge(const std::vector<Line>& cart, const flagd::Context& customer) const {
  if (flags_.get_bool(new_checkout_, customer, /*fallback=*/false)) {
    std::int64_t total = 0;
    for (const Line& line : cart) total += line.unit_cents * line.quantity;
    return {total, "new"};
  }
  std::int64_t total = 0;
  for (const Line& line : cart)
    for (std::int64_t i = 0; i < line.quantity; ++i) total += line.unit_cents;
  return {total, "legacy"};
}

}  // namespace shop
