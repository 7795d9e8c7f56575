// Base64 (RFC 4648, standard alphabet, padded): how the transports carry
// bytes inside JSON (HTTP record bodies, the Kafka transport's stored group
// snapshots).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace keel::transport {

std::string base64_encode(std::string_view bytes);
// nullopt on a character outside the alphabet, bad padding or length; the
// reason goes to *why.
std::optional<std::string> base64_decode(std::string_view text, std::string* why);

}  // namespace keel::transport
