#pragma once
// Go's %q (strconv.Quote) for ASCII control characters: how BuildKit quotes names and commands in
// messages that clients and tests compare byte for byte. Stateless.

#include <string>
#include <string_view>

namespace kiln {

std::string GoQuote(std::string_view s);

}  // namespace kiln
