#pragma once
// Text output of `kilnctl du` and `kilnctl prune`, as buildctl prints it (tabwriter columns):
//   ID  RECLAIMABLE  SIZE  LAST ACCESSED      table rows, "*" marks mutable ids / shared sizes
//   ID: ... Created at: ... (--verbose, one block per record)
//   Reclaimable: / Total: (du summary), Total: (prune)
// `now` (unix ns) makes "last accessed" durations testable. Stateless.

#include <cstdint>
#include <string>
#include <vector>

#include "control/control.pb.h"

namespace kiln::client {

// Sorted as buildctl sorts du output: by size, then id.
void SortUsage(std::vector<moby::buildkit::v1::UsageRecord>* records);

std::string UsageTableHeader();
std::string UsageTableRow(const moby::buildkit::v1::UsageRecord& r, int64_t now);
std::string UsageVerbose(const moby::buildkit::v1::UsageRecord& r, int64_t now);

// `kilnctl du`: the table (or verbose blocks) and, unless filtered, the summary.
std::string FormatDiskUsage(const std::vector<moby::buildkit::v1::UsageRecord>& records,
                            bool verbose, bool summary, int64_t now);

// `kilnctl prune`'s closing line: "Total:\t<size>" through the tabwriter.
std::string PruneTotal(int64_t total);

}  // namespace kiln::client
