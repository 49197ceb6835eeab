#pragma once
// Standard base64 (RFC 4648 with padding), as Go's base64.StdEncoding: decoding requires
// correct padding, rejects characters outside the alphabet and skips '\r' and '\n'. Stateless.

#include <optional>
#include <string>
#include <string_view>

namespace kiln {

std::string Base64Encode(std::string_view data);
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace kiln
