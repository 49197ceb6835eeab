#include "client/workers_format.h"

#include <fmt/format.h>

#include <map>

#include "client/go_format.h"
#include "client/tabwriter.h"

namespace kiln::client {

namespace {

std::string JoinPlatforms(const moby::buildkit::v1::types::WorkerRecord& w) {
  std::string out;
  for (const auto& p : w.platforms()) {
    if (!out.empty()) out += ",";
    out += FormatPlatform(p);
  }
  return out;
}

}  // namespace

std::string FormatPlatform(const pb::Platform& p) {
  std::string os = p.os().empty() ? "unknown" : p.os();
  std::string arch = p.architecture().empty() ? "unknown" : p.architecture();
  std::string variant = p.variant();
  // containerd's Normalize for the common architecture aliases.
  if (arch == "x86_64" || arch == "x86-64") arch = "amd64";
  if (arch == "aarch64") arch = "arm64";
  if (arch == "arm64" && variant == "v8") variant.clear();
  if (arch == "armhf") {
    arch = "arm";
    variant = "v7";
  }
  if (arch == "arm" && variant.empty()) variant = "v7";
  std::string out = os + "/" + arch;
  if (!variant.empty()) out += "/" + variant;
  return out;
}

std::string FormatWorkers(const moby::buildkit::v1::ListWorkersResponse& resp, bool verbose) {
  TabWriter tw;
  if (!verbose) {
    tw.Write("ID\tPLATFORMS\n");
    for (const auto& w : resp.record()) tw.Write(fmt::format("{}\t{}\n", w.id(), JoinPlatforms(w)));
    return tw.Flush();
  }
  for (const auto& w : resp.record()) {
    tw.Write(fmt::format("ID:\t{}\n", w.id()));
    tw.Write(fmt::format("Platforms:\t{}\n", JoinPlatforms(w)));
    const auto& v = w.buildkitversion();
    tw.Write(fmt::format("BuildKit:\t{} {} {}\n", v.package(), v.version(), v.revision()));
    if (!v.dockerfileversion().empty()) {
      tw.Write(fmt::format("Dockerfile:\t{}\n", v.dockerfileversion()));
    }
    tw.Write("Labels:\n");
    std::map<std::string, std::string> labels(w.labels().begin(), w.labels().end());
    for (const auto& [k, val] : labels) tw.Write(fmt::format("\t{}:\t{}\n", k, val));
    for (int i = 0; i < w.gcpolicy_size(); ++i) {
      const auto& rule = w.gcpolicy(i);
      tw.Write(fmt::format("GC Policy rule#{}:\n", i));
      tw.Write(fmt::format("\tAll:\t{}\n", rule.all() ? "true" : "false"));
      if (rule.filters_size() > 0) {
        std::string filters;
        for (const std::string& f : rule.filters()) filters += (filters.empty() ? "" : " ") + f;
        tw.Write(fmt::format("\tFilters:\t{}\n", filters));
      }
      if (rule.keepduration() > 0) {
        tw.Write(fmt::format("\tKeep duration:\t{}\n", GoDurationString(rule.keepduration())));
      }
      if (rule.reservedspace() > 0) {
        tw.Write(fmt::format("\tReserved space:\t{}\n", FormatBytesShort(rule.reservedspace())));
      }
      if (rule.minfreespace() > 0) {
        tw.Write(fmt::format("\tMinimum free space:\t{}\n", FormatBytesShort(rule.minfreespace())));
      }
      if (rule.maxusedspace() > 0) {
        tw.Write(fmt::format("\tMaximum used space:\t{}\n", FormatBytesShort(rule.maxusedspace())));
      }
    }
    tw.Write("\n");
  }
  return tw.Flush();
}

}  // namespace kiln::client
