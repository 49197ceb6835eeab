#pragma once
// The built-in Dockerfile frontend, "dockerfile.v0" (BuildKit's frontend/dockerfile/builder):
// reads the Dockerfile and its .dockerignore through the bridge, converts it to LLB, solves it
// and returns the result with its image config ("containerimage.config"). Options as BuildKit
// names them: filename, target, build-arg:*, label:*. Thread-safe (stateless).

#include "frontend/frontend.h"

namespace kiln::dockerfile {

class DockerfileFrontend final : public frontend::Frontend {
 public:
  Result<frontend::SolveResult> Solve(const Context& ctx, frontend::FrontendLLBBridge& bridge,
                                      const std::map<std::string, std::string>& opts,
                                      const frontend::Inputs& inputs) override;
};

// The name it is registered under.
inline constexpr const char* kDockerfileFrontendName = "dockerfile.v0";

}  // namespace kiln::dockerfile
