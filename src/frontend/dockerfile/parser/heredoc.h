#pragma once
// Finding heredocs on an instruction line, as BuildKit does (parser.go's heredocsFromLine and
// ParseHeredoc): the line is split into shell words (quotes and escapes kept, variables left
// alone), and each word of the form `[fd]<<[-][blanks]name` with one word as its name is a
// heredoc. A name that is quoted in any part (`<<"EOF"`, `<<E'O'F`) turns expansion off.
// Internal to kiln::dockerfile. Stateless, thread-safe.

#include <optional>
#include <string_view>
#include <vector>

#include "frontend/dockerfile/parser/parser.h"
#include "util/status.h"

namespace kiln::dockerfile::internal {

// Whether the node may carry heredocs: RUN, COPY or ADD (also as an ONBUILD trigger) in shell
// form.
bool CanContainHeredoc(const Node& node);

// The heredoc a single word introduces (content empty), nullopt when it introduces none.
Result<std::optional<Heredoc>> ParseHeredocWord(std::string_view word);

// The heredocs of a whole line, in order.
Result<std::vector<Heredoc>> HeredocsFromLine(std::string_view line);

}  // namespace kiln::dockerfile::internal
