// Catch2: run a block once per variant of a flag, each run in its own section.
//
//   TEST_CASE("checkout charges the cart total") {
//     auto flags = flagd::LocalFlags::from_files({"flags.json"});
//     FLAGD_FOR_EACH_VARIANT(flags->reader(), "new-checkout") {
//       CHECK(checkout(flags->reader(), cart).charged == 42);   // runs with "on", then with "off"
//     }
//   }
//
// Each variant is a DYNAMIC_SECTION named "new-checkout=on", so a failure names the path that
// failed; the reader answers that variant for the flag inside the block (Reader::set_override)
// and as before after it. A flag with no variants (or not in the image) runs the block no time,
// and the test fails: a misspelt key should not pass silently.
#pragma once

#include <catch2/catch.hpp>

#include "flagd/testing/variants.hpp"

#define FLAGD_FOR_EACH_VARIANT(reader, key)                                                                  \
  if (const auto flagd_variants_ = ::flagd::testing::variants_of((reader), (key)); flagd_variants_.empty()) \
    FAIL("flag \"" << (key) << "\" has no variants in the reader's image");                                 \
  else                                                                                                      \
    for (const std::string& flagd_variant_ : flagd_variants_)                                               \
      DYNAMIC_SECTION((key) << "=" << flagd_variant_)                                                       \
        if (::flagd::testing::OverrideScope flagd_scope_{(reader), (key), flagd_variant_}; true)
