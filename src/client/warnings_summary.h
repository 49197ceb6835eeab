#pragma once
// The warnings of a build (VertexWarnings of its Status stream, e.g. Dockerfile checks), printed
// once the build is over as docker buildx prints them with --debug: a count, each warning's
// short text, its details, "More info: <url>" and the source lines it points at. Thread-safe.

#include <mutex>
#include <string>
#include <vector>

#include "control/control.pb.h"

namespace kiln::client {

class WarningsSummary {
 public:
  void Add(const moby::buildkit::v1::StatusResponse& resp);
  // "" when there was none.
  std::string Format() const;

 private:
  mutable std::mutex mu_;
  std::vector<moby::buildkit::v1::VertexWarning> warnings_;
};

}  // namespace kiln::client
