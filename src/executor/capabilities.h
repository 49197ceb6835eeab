#pragma once
// Linux capability names for the OCI spec: the default set of a sandboxed build step (BuildKit's,
// which is containerd's default) and the full set for security.insecure. Stateless, thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "util/status.h"

namespace kiln::executor {

// CAP_CHOWN, CAP_DAC_OVERRIDE, ... : the 14 capabilities a sandboxed step gets.
std::vector<std::string> DefaultCapabilities();

// Names of the capabilities whose bits are set in `mask` (bit n = capability n). Bits without a
// name known here are skipped.
std::vector<std::string> CapabilityNames(uint64_t mask);

// The capabilities this process holds (CapEff in /proc/self/status): what an insecure step
// gets, as BuildKit's WithInsecureSpec gives "all the daemon has".
Result<std::vector<std::string>> CurrentCapabilities();

// Parses the hex value of `field` ("CapEff") from /proc/<pid>/status text.
Result<uint64_t> ParseCapabilityMask(const std::string& status_text, const std::string& field);

}  // namespace kiln::executor
