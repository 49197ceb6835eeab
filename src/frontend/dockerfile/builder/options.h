#pragma once
// The dockerfile.v0 frontend options that shape every RUN or every stage, parsed as BuildKit's
// dockerui does, with its error messages: add-hosts ("host=ip,..."), shm-size (bytes), ulimit
// ("nofile=1024:2048,..."), force-network-mode (none|host|sandbox), no-cache ("" for all
// stages, else "a,b"). Stateless.

#include <map>
#include <string>

#include "frontend/dockerfile/dockerfile2llb/convert.h"
#include "util/status.h"

namespace kiln::dockerfile {

// Reads those options from `opts` into `co`. InvalidArgument naming the option and the value.
Status ApplyRunOptions(const std::map<std::string, std::string>& opts, ConvertOptions& co);

}  // namespace kiln::dockerfile
