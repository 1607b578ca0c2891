// GoogleTest: a value-parameterized suite run once per variant of a flag.
//
//   class Checkout : public flagd::testing::FlagVariantTest {};
//   TEST_P(Checkout, ChargesTheCartTotal) {
//     auto flags = flagd::LocalFlags::from_files({"flags.json"});
//     const auto variant = use_variant(flags->reader(), "new-checkout");  // this run's, until the scope ends
//     EXPECT_EQ(checkout(flags->reader(), cart).charged, 42);
//   }
//   FLAGD_INSTANTIATE_FOR_EACH_VARIANT(Checkout, {"flags.json"}, "new-checkout");
//
// Runs are named after the variants (Checkout/ChargesTheCartTotal/on, .../off). A flag with no
// variants instantiates nothing, which GoogleTest reports as an uninstantiated suite.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "flagd/testing/variants.hpp"

namespace flagd::testing {

class FlagVariantTest : public ::testing::TestWithParam<std::string> {
 protected:
  // Makes `reader` answer this run's variant for `key` while the returned scope lives (declare
  // it after the reader's owner, so that it ends first).
  [[nodiscard]] OverrideScope use_variant(Reader& reader, std::string_view key) const {
    return OverrideScope(reader, key, GetParam());
  }
};

// A test name from a variant's name: GoogleTest allows letters, digits and '_' only.
inline std::string variant_test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name;
  for (char c : info.param)
    name += (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? c : '_';
  return name.empty() ? "_" + std::to_string(info.index) : name + "_" + std::to_string(info.index);
}

}  // namespace flagd::testing

#define FLAGD_INSTANTIATE_FOR_EACH_VARIANT(Suite, files, key)                                   \
  INSTANTIATE_TEST_SUITE_P(EachVariant, Suite,                                                \
                           ::testing::ValuesIn(::flagd::testing::variants_in_files(files, key)), \
                           ::flagd::testing::variant_test_name)
