#pragma once
// Go's time.Duration.String(): "1h2m3s", "1.5s", "300ms", "2µs", "0s", for texts BuildKit
// prints with it (buildctl's worker listing, Dockerfile HEALTHCHECK history). Pure; thread-safe.

#include <cstdint>
#include <string>

namespace kiln {

std::string GoDurationString(int64_t nanos);

}  // namespace kiln
