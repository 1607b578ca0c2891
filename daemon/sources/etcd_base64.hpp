// Base64 (RFC 4648, standard alphabet, padded) as etcd's JSON gateway spells keys and values:
// protobuf `bytes` fields in JSON.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace flagd::etcd {

std::string base64_encode(std::string_view bytes);
// The bytes, or nothing if `text` is not padded standard base64.
std::optional<std::string> base64_decode(std::string_view text);
// How many bytes `text` decodes to, judged by its length alone: lets an oversized value be refused
// before it is decoded.
std::size_t base64_decoded_size(std::string_view text) noexcept;
// The length of the encoding of `bytes` bytes: bounds the gateway's answers.
constexpr std::size_t base64_encoded_size(std::size_t bytes) noexcept { return (bytes + 2) / 3 * 4; }

}  // namespace flagd::etcd
