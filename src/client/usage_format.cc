#include "client/usage_format.h"

#include <fmt/format.h>

#include <algorithm>

#include "client/go_format.h"
#include "client/tabwriter.h"

namespace kiln::client {

namespace {

int64_t Nanos(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000000000 + ts.nanos();
}

std::string LastAccessed(const moby::buildkit::v1::UsageRecord& r, int64_t now) {
  if (!r.has_lastusedat()) return "";
  return HumanDuration(now - Nanos(r.lastusedat())) + " ago";
}

std::string Bool(bool b) { return b ? "true" : "false"; }

}  // namespace

void SortUsage(std::vector<moby::buildkit::v1::UsageRecord>* records) {
  std::stable_sort(records->begin(), records->end(), [](const auto& a, const auto& b) {
    if (a.size() != b.size()) return a.size() < b.size();
    return a.id() < b.id();
  });
}

std::string UsageTableHeader() { return "ID\tRECLAIMABLE\tSIZE\tLAST ACCESSED\n"; }

std::string UsageTableRow(const moby::buildkit::v1::UsageRecord& r, int64_t now) {
  std::string id = r.id() + (r.mutable_() ? "*" : "");
  std::string size = FormatBytes(r.size()) + (r.shared() ? "*" : "");
  return fmt::format("{:<71}\t{:<11}\t{}\t{}\n", id, Bool(!r.inuse()), size, LastAccessed(r, now));
}

std::string UsageVerbose(const moby::buildkit::v1::UsageRecord& r, int64_t now) {
  std::string out;
  auto kv = [&out](std::string_view k, std::string_view v) {
    out += fmt::format("{}:\t{}\n", k, v);
  };
  kv("ID", r.id());
  if (r.parents_size() > 0) {
    std::string parents;
    for (const std::string& p : r.parents()) parents += (parents.empty() ? "" : ";") + p;
    kv("Parents", parents);
  }
  kv("Created at", GoTimeString(Nanos(r.createdat())));
  kv("Mutable", Bool(r.mutable_()));
  kv("Reclaimable", Bool(!r.inuse()));
  kv("Shared", Bool(r.shared()));
  kv("Size", FormatBytes(r.size()));
  if (!r.description().empty()) kv("Description", r.description());
  kv("Usage count", std::to_string(r.usagecount()));
  if (r.has_lastusedat()) kv("Last used", LastAccessed(r, now));
  if (!r.recordtype().empty()) kv("Type", r.recordtype());
  out += "\n";
  return out;
}

std::string FormatDiskUsage(const std::vector<moby::buildkit::v1::UsageRecord>& records,
                            bool verbose, bool summary, int64_t now) {
  TabWriter tw;
  if (verbose) {
    for (const auto& r : records) tw.Write(UsageVerbose(r, now));
  } else {
    tw.Write(UsageTableHeader());
    for (const auto& r : records) tw.Write(UsageTableRow(r, now));
  }
  std::string out = tw.Flush();
  if (!summary) return out;

  int64_t total = 0;
  int64_t reclaimable = 0;
  int64_t shared = 0;
  for (const auto& r : records) {
    if (r.size() > 0) {
      total += r.size();
      if (!r.inuse()) reclaimable += r.size();
    }
    if (r.shared()) shared += r.size();
  }
  if (shared > 0) {
    tw.Write(fmt::format("Shared:\t{}\n", FormatBytes(shared)));
    tw.Write(fmt::format("Private:\t{}\n", FormatBytes(total - shared)));
  }
  tw.Write(fmt::format("Reclaimable:\t{}\n", FormatBytes(reclaimable)));
  tw.Write(fmt::format("Total:\t{}\n", FormatBytes(total)));
  return out + tw.Flush();
}

std::string PruneTotal(int64_t total) {
  TabWriter tw;
  tw.Write(fmt::format("Total:\t{}\n", FormatBytes(total)));
  return tw.Flush();
}

}  // namespace kiln::client
