// MurmurHash3_x86_32 against the vectors of the flag-evaluation contract (seed 0).
#include <catch2/catch.hpp>

#include "flagd/murmur3.hpp"

TEST_CASE("MurmurHash3_x86_32 matches the contract's vectors") {
  CHECK(flagd::murmur3_x86_32("") == 0x00000000u);
  CHECK(flagd::murmur3_x86_32("a") == 0x3c2569b2u);
  CHECK(flagd::murmur3_x86_32("abcd") == 0x43ed676au);
  CHECK(flagd::murmur3_x86_32("hello") == 0x248bfa47u);
  CHECK(flagd::murmur3_x86_32("new-checkoutuser-123") == 0x87f041c2u);
  CHECK(flagd::murmur3_x86_32("rolloutj\xc3\xbcrgen") == 0x735807bdu);
}

TEST_CASE("hashing two parts equals hashing their concatenation, wherever they split") {
  const std::string whole = "new-checkoutuser-123";
  for (std::size_t cut = 0; cut <= whole.size(); ++cut)
    CHECK(flagd::murmur3_x86_32(std::string_view(whole).substr(0, cut), std::string_view(whole).substr(cut)) ==
          0x87f041c2u);
}

TEST_CASE("bucketing per the contract: new-checkout with 25/75") {
  const auto bucket = [](std::string_view targeting_key) {
    const std::uint64_t h = flagd::murmur3_x86_32("new-checkout", targeting_key);
    return (h * 100) >> 32;
  };
  CHECK(bucket("user-123") == 53);
  CHECK(bucket("user-456") == 73);
}

TEST_CASE("a prefix hashed ahead and finished later equals the whole, for every length and cut") {
  const std::string text = "abcdefghijklmnopq\xc3\xbcrs";
  for (std::size_t length = 0; length <= text.size(); ++length) {
    const std::string_view whole = std::string_view(text).substr(0, length);
    const std::uint32_t expected = flagd::murmur3_x86_32(whole);
    for (std::size_t cut = 0; cut <= length; ++cut) {
      const flagd::Murmur3Prefix prefix = flagd::murmur3_prefix(whole.substr(0, cut));
      CHECK(prefix.length == cut);
      CHECK(prefix.carry_bytes == cut % 4);
      CHECK(flagd::murmur3_finish(prefix, whole.substr(cut)) == expected);
    }
  }
  CHECK(flagd::murmur3_finish(flagd::murmur3_prefix("new-checkout"), "user-123") == 0x87f041c2u);
}
