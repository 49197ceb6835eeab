#pragma once
// What kilnd reports as its version (Info, ListWorkers, LLBBridge.Ping).

namespace kiln::daemon {
inline constexpr char kPackage[] = "github.com/kiln-build/kiln";
inline constexpr char kVersion[] = "v0.1.0-dev";
inline constexpr char kRevision[] = "";
}  // namespace kiln::daemon
