// SHA-256 (FIPS 180-4), for the source hash an image carries: the same digest `sha256sum` prints
// for a single file, so an operator can check what is published against what is on disk.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace flagd {

class Sha256 {
 public:
  Sha256() noexcept;
  void update(std::string_view bytes) noexcept;
  std::array<std::uint8_t, 32> finish() noexcept;

 private:
  void blocks(const std::uint8_t* p, std::size_t count) noexcept;  // the fastest the CPU offers
  void block(const std::uint8_t* p) noexcept;                         // portable
  std::uint32_t h_[8];
  std::uint8_t buffer_[64];
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0;
};

std::string to_hex(const std::array<std::uint8_t, 32>& digest);

}  // namespace flagd
