// SHA-256 of flag files, as `flagctl status` shows it: the FIPS 180-4 test vectors, through every
// split of the input, so that buffered and whole-block paths (SHA extensions where the CPU has
// them) agree with sha256sum.
#include <catch2/catch.hpp>

#include <string>

#include "sha256.hpp"

namespace {
std::string digest_of(std::string_view text, std::size_t split) {
  flagd::Sha256 h;
  h.update(text.substr(0, split));
  h.update(text.substr(split));
  return flagd::to_hex(h.finish());
}
}  // namespace

TEST_CASE("SHA-256 gives the FIPS 180-4 digests however the input is split") {
  const std::pair<std::string, const char*> vectors[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
      {std::string(1'000'000, 'a'), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
  for (const auto& [text, expected] : vectors) {
    for (std::size_t split : {std::size_t{0}, std::size_t{1}, std::size_t{63}, std::size_t{64}, std::size_t{65},
                              text.size() / 2, text.size()}) {
      if (split > text.size()) continue;
      INFO("length " << text.size() << ", split at " << split);
      CHECK(digest_of(text, split) == expected);
    }
  }
}
