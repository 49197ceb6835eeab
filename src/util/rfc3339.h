#pragma once
// Times as Go's encoding/json writes and reads time.Time (RFC 3339 with nanoseconds): image
// configs' "created" and history times. Pure functions; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace kiln {

// "2026-11-29T03:17:11.5Z": UTC, the fraction without trailing zeros (none when whole), as Go's
// time.RFC3339Nano.
std::string FormatRFC3339Nano(int64_t unix_ns);

// Unix nanoseconds of an RFC 3339 time ("Z" or a "+hh:mm"/"-hh:mm" offset, an optional fraction
// of up to 9 digits). InvalidArgument names the text.
Result<int64_t> ParseRFC3339(std::string_view text);

}  // namespace kiln
