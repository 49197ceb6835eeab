#pragma once
// The refs of a multi-platform result as exporters walk them (BuildKit's exptypes.Platforms
// with Source.FindRef): in the order of the result's "refs.platforms" metadata, each with its
// ref and its image config ("containerimage.config/<id>"). Pure functions; thread-safe.

#include <string>
#include <vector>

#include "exporter/exporter.h"
#include "registry/platform.h"

namespace kiln::exporter {

struct PlatformRef {
  registry::ExportPlatform platform;
  cache::ImmutableRef ref;  // invalid for an empty result
  std::string config;       // the frontend's image config for it, "" for none
};

// The platforms of `req.refs`, as "refs.platforms" lists them (without that metadata: every
// ref, its id parsed as a platform). InvalidArgument when a listed platform has no ref.
Result<std::vector<PlatformRef>> PlatformRefs(const ExportRequest& req);

// The platform of a single-ref result, as BuildKit's exptypes.ParsePlatforms finds it: the one
// "refs.platforms" lists (more than one is an error), else the os and architecture of `config`
// (the result's image config, "" for none), else the daemon's host platform.
Result<registry::Platform> SinglePlatform(const ExportRequest& req, const std::string& config);

// The directory of a platform in a split local or tar export: "linux/arm/v7" -> "linux_arm_v7".
std::string PlatformDirName(const std::string& id);

}  // namespace kiln::exporter
