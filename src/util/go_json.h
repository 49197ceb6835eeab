#pragma once
// Go's encoding/json output escaping: json.Marshal writes '<', '>', '&', U+2028 and U+2029 as
// \u escapes inside strings. Applied to serialized JSON (where these only occur inside strings)
// it makes nlohmann's output byte-identical to Go's for the same document. Pure; thread-safe.

#include <string>
#include <string_view>

namespace kiln {

std::string EscapeJsonLikeGo(std::string_view serialized);

}  // namespace kiln
