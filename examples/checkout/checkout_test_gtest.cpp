// The checkout's tests, once per variant of "new-checkout", with GoogleTest.
#include "flagd/testing/gtest.hpp"

#include <set>

#include "checkout.hpp"

namespace {

std::set<std::string>& paths_taken() {
  static std::set<std::string> paths;
  return paths;
}

class Checkout : public flagd::testing::FlagVariantTest {};

TEST_P(Checkout, ChargesTheCartTotal) {
  auto flags = flagd::LocalFlags::from_files({FLAGD_CHECKOUT_FLAGS});
  ASSERT_TRUE(flags);
  const auto variant = use_variant(flags->reader(), "new-checkout");
  const shop::Checkout checkout(flags->reader());
  const shop::Receipt receipt = checkout.charge({{"apple", 30, 4}, {"pear", 45, 2}}, flagd::Context{});
  EXPECT_EQ(receipt.charged_cents, 210);
  EXPECT_EQ(receipt.path, GetParam() == "on" ? "new" : "legacy");
  paths_taken().insert(receipt.path);
}

FLAGD_INSTANTIATE_FOR_EACH_VARIANT(Checkout, {FLAGD_CHECKOUT_FLAGS}, "new-checkout");

// After every test: the runs took both paths between them.
class BothPathsTaken : public ::testing::Environment {
 public:
  void TearDown() override { EXPECT_EQ(paths_taken(), (std::set<std::string>{"legacy", "new"})); }
};
[[maybe_unused]] ::testing::Environment* const kBothPathsTaken = ::testing::AddGlobalTestEnvironment(new BothPathsTaken);

}  // namespace
