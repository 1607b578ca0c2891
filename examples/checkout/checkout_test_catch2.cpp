// The checkout's tests, once per variant of "new-checkout", with Catch2.
#define CATCH_CONFIG_MAIN
#include "flagd/testing/catch2.hpp"

#include <set>

#include "checkout.hpp"

namespace {
std::set<std::string> paths_taken;  // by every run of the test case below
}  // namespace

TEST_CASE("checkout charges the cart total on both paths") {
  auto flags = flagd::LocalFlags::from_files({FLAGD_CHECKOUT_FLAGS});
  REQUIRE(flags);
  const shop::Checkout checkout(flags->reader());
  const std::vector<shop::Line> cart{{"apple", 30, 4}, {"pear", 45, 2}};
  FLAGD_FOR_EACH_VARIANT(flags->reader(), "new-checkout") {
    const shop::Receipt receipt = checkout.charge(cart, flagd::Context{});
    CHECK(receipt.charged_cents == 210);
    paths_taken.insert(receipt.path);
  }
  // Outside the block the flag answers from the file again: its rule, for a customer in DE.
  flagd::Context de;
  de.set("country", "DE");
  CHECK(checkout.charge(cart, de).path == "new");
  CHECK(checkout.charge(cart, flagd::Context{}).path == "legacy");
}

// Catch2 runs the test case above once per section, one variant each; this one runs after it.
TEST_CASE("the checkout's tests took both paths") {
  CHECK(paths_taken == std::set<std::string>{"legacy", "new"});
}
