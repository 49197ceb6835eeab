#pragma once
// Named contexts (frontend options `context:NAME=VALUE`, buildx --build-context), loaded as
// BuildKit's dockerui does: NAME is matched in Docker's familiar form without ":latest"
// ("docker.io/library/alpine:latest" and "alpine" are the same), first with the platform of
// the stage that uses it ("context:alpine::linux/arm64"), then without. Values:
//   docker-image://REF   an image (its config is the stage's base config); docker-image://scratch
//   local:NAME           the client's local directory NAME, less its own .dockerignore
//   git@HOST:REPO, git://..., https://HOST/REPO.git[#ref[:subdir]]   a git repository's tree
//   http(s)://URL        the downloaded file, as /context of an otherwise empty tree
//   oci-layout://STORE[:TAG]@DIGEST   an image of the client's OCI layout STORE (kilnctl
//                        --oci-layout STORE=DIR), read through the session; its config is the
//                        stage's base config. The digest is required, as in BuildKit.
//   input:NAME           the frontend input NAME (SolveRequest.FrontendInputs); the option
//                        input-metadata:NAME, a JSON object of base64 values, may give its image
//                        config as "containerimage.config"
// Not thread-safe; one per frontend Solve.

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "frontend/dockerfile/dockerfile2llb/convert.h"
#include "frontend/frontend.h"
#include "util/context.h"

namespace kiln::dockerfile {

class NamedContexts {
 public:
  // `resolve` gives an image's digest and config (the converter's resolve_image).
  NamedContexts(const Context& ctx, frontend::FrontendLLBBridge& bridge,
                const std::map<std::string, std::string>& opts, const frontend::Inputs& inputs,
                std::function<Result<ResolvedImage>(const std::string& ref,
                                                    const registry::Platform& platform)>
                    resolve)
      : ctx_(ctx), bridge_(bridge), opts_(opts), inputs_(inputs), resolve_(std::move(resolve)) {}

  // The context given for `name`, nullopt when none is.
  Result<std::optional<NamedContext>> Load(const std::string& name,
                                           const registry::Platform& platform);

 private:
  Result<NamedContext> LoadImage(const std::string& key, const std::string& ref,
                                 const registry::Platform& platform);
  Result<NamedContext> LoadLocal(const std::string& key, const std::string& local);
  Result<NamedContext> LoadRemote(const std::string& key, const std::string& kind,
                                  const std::string& value);
  // named_context_oci.cc
  Result<NamedContext> LoadOCILayout(const std::string& name, const std::string& key,
                                     const std::string& spec, const registry::Platform& platform);
  // named_context_input.cc
  Result<NamedContext> LoadInput(const std::string& key, const std::string& input);

  const Context& ctx_;
  frontend::FrontendLLBBridge& bridge_;
  const std::map<std::string, std::string>& opts_;
  const frontend::Inputs& inputs_;
  std::function<Result<ResolvedImage>(const std::string& ref, const registry::Platform& platform)>
      resolve_;
};

}  // namespace kiln::dockerfile
