// A checkout with a new and a legacy path behind the flag "new-checkout": the shape of code that
// the helpers in flagd/testing/ test on both paths.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flagd/reader.hpp"

namespace shop {

struct Line {
  std::string sku;
  std::int64_t unit_cents;
  std::int64_t quantity;
};

struct Receipt {
  std::int64_t charged_cents;
  std::string path;  // "new" or "legacy"
};

class Checkout {
 public:
  explicit Checkout(const flagd::Reader& flags) : flags_(flags), new_checkout_(resolve(flags)) {}

  // The new path sums line totals in one pass and rounds once; the legacy path rounds per line.
  // Both must charge the same for whole-cent prices: what the tests check on both paths.
  Receipt charge(const std::vector<Line>& cart, const flagd::Context& customer) const;

 private:
  static flagd::Handle resolve(const flagd::Reader& flags);
  const flagd::Reader& flags_;
  flagd::Handle new_checkout_;
};

}  // namespace shop
