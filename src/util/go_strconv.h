#pragma once
// Go's strconv.ParseBool and ParseInt(v, 10, 64) with Go's error texts, for options BuildKit
// parses with them (exporter attributes), so errors read as BuildKit's. Pure; thread-safe.

#include <cstdint>
#include <string>

#include "util/status.h"

namespace kiln {

// "1", "t", "T", "TRUE", "true", "True" and the false forms; else InvalidArgument
// `strconv.ParseBool: parsing "x": invalid syntax`.
Result<bool> GoParseBool(const std::string& v);

// A base-10 int64 with an optional sign; InvalidArgument `strconv.ParseInt: parsing "x":
// invalid syntax` or `...: value out of range`.
Result<int64_t> GoParseInt(const std::string& v);

}  // namespace kiln
