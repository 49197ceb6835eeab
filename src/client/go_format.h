#pragma once
// Text formats buildctl prints through Go's fmt and helper packages, so kilnctl's output reads
// the same: tonistiigi/units byte sizes, go-units human durations, Go %q quoting, time.Time and
// time.Duration strings. Stateless, thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/go_duration.h"
#include "util/go_quote.h"
#include "util/rfc3339.h"

namespace kiln::client {

// fmt "%.2f" of units.Bytes: "123B", "1.23kB", "45.00MB" (decimal units).
std::string FormatBytes(int64_t n);
// fmt "%g" of units.Bytes: "123B", "1.2kB", "2GB".
std::string FormatBytesShort(int64_t n);

// go-units HumanDuration: "Less than a second", "3 minutes", "About an hour", "2 days".
std::string HumanDuration(int64_t nanos);

using kiln::GoQuote;

// time.Time's String() in UTC: "2024-05-01 10:00:00.5 +0000 UTC".
std::string GoTimeString(int64_t unix_nanos);

// time.ParseDuration: "24h", "1h30m", "1.5s", "300ms", "-2m". nullopt on bad input.
std::optional<int64_t> ParseGoDuration(std::string_view s);

}  // namespace kiln::client
