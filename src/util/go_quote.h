#pragma once
// Go's %q (strconv.Quote) for ASCII control characters: how BuildKit quotes names and commands in
// messages that clients and tests compare byte for byte. Stateless.

#include <string>
#include <string_view>

namespace kiln {

std::string GoQuote(std::string_view s);

// Appends one ASCII byte (< 0x80) as Go's strconv.Quote writes it: \" \\ \a \b \f \n \r \t \v,
// other control bytes as \xNN, the rest as is. Shared with rune-aware quoting.
void AppendGoQuotedAscii(std::string& out, unsigned char c);

}  // namespace kiln
