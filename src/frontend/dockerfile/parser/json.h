#pragma once
// The slice of Go's encoding/json that the Dockerfile parser relies on: the whole input must be
// one valid JSON value (RFC 8259 grammar, whitespace around it, nesting up to 10000 as Go), and
// we keep only what the callers look at: the elements of a top-level array (exec form
// `RUN ["a", "b"]`) or the members of a top-level object (`{"syntax": "..."}`), each decoded as a
// string when it is one. Strings decode as Go does: invalid UTF-8 and lone surrogates become
// U+FFFD. Internal to kiln::dockerfile. Stateless, thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace kiln::dockerfile::internal {

struct JsonTopLevel {
  enum class Kind { kArray, kObject, kOther };
  Kind kind = Kind::kOther;
  // kArray: one entry per element, nullopt for an element that is not a string.
  std::vector<std::optional<std::string>> items;
  // kObject: (key, value) in input order, value nullopt when it is not a string.
  std::vector<std::pair<std::string, std::optional<std::string>>> members;
};

// Fails with InvalidArgument when `text` is not exactly one JSON value.
Result<JsonTopLevel> ParseJsonTopLevel(std::string_view text);

}  // namespace kiln::dockerfile::internal
