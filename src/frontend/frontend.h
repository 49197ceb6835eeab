#pragma once
// The frontend seam (BuildKit's frontend/frontend.go): a frontend turns its options and inputs
// into a result by calling back the bridge. The Dockerfile frontend (dockerfile.v0) and the
// gateway frontend (gateway.v0) implement Frontend; llbsolver implements the bridge.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "pb/ops.pb.h"
#include "solver/progress.h"
#include "solver/types.h"

namespace kiln::frontend {

struct SolveResult {
  solver::OpResultPtr ref;  // null for an empty result or one with `refs`
  // A result of several platforms (BuildKit's Result.Refs): one ref per platform id
  // ("linux/arm64"), described by the metadata "refs.platforms"; `ref` is then null.
  std::map<std::string, solver::OpResultPtr> refs;
  std::map<std::string, std::string> metadata;
};

// LLBBridge.ResolveImageConfig's options.
struct ResolveImageConfigOptions {
  std::optional<pb::Platform> platform;
  std::string resolve_mode;  // "default", "pull" or "local" ("" is default)
  std::string session_id;    // asked first for credentials, before the build's own session
  // ResolverType OCI layout: the reference (NAME@DIGEST) is read from the client's OCI layout
  // `store_id` (kilnctl --oci-layout STORE_ID=DIR) in session `session_id` (empty: any of the
  // build's sessions), never from a registry.
  bool oci_layout = false;
  std::string store_id;
};

// A frontend's inputs (SolveRequest.FrontendInputs): definitions by name, which a Dockerfile
// uses as named contexts `context:NAME=input:NAME`.
using Inputs = std::map<std::string, pb::Definition>;

struct ResolvedImageConfig {
  std::string digest;  // what the reference points to (an index or a manifest)
  std::string config;  // the image config JSON, as the registry serves it
};

// What a frontend may ask of the daemon while it runs (BuildKit's FrontendLLBBridge plus the
// result-reading calls of the gateway API). One per build; thread-safe.
class FrontendLLBBridge {
 public:
  virtual ~FrontendLLBBridge() = default;
  virtual Result<SolveResult> Solve(const Context& ctx, const pb::Definition& def) = 0;
  virtual Result<SolveResult> SolveFrontend(const Context& ctx, const std::string& name,
                                            const std::map<std::string, std::string>& opts,
                                            const Inputs& inputs) = 0;
  // Bytes of `path` in a result (symlinks followed inside the result's root), from `offset`,
  // at most `length` bytes (0: the whole file, up to a 64 MiB cap).
  virtual Result<std::string> ReadFile(const Context& ctx, const solver::OpResultPtr& ref,
                                       const std::string& path, int64_t offset = 0,
                                       int64_t length = 0) = 0;
  virtual Result<ResolvedImageConfig> ResolveImageConfig(const Context& ctx, const std::string& ref,
                                                         const ResolveImageConfigOptions& opts) = 0;
  // The session of the build's client: frontends put it on the local sources they read.
  virtual std::string session_id() const = 0;
  // Runs `body` as a step of the build's progress named `name` (started now, completed or
  // failed with body's status), e.g. "[internal] load metadata for docker.io/library/x:1".
  // The default only runs body.
  virtual Status WithProgress(const std::string& name, const std::function<Status()>& body) {
    (void)name;
    return body();
  }
  // Reports a warning in the build's progress (LLBBridge.Warn): clients show it with the vertex
  // it names (`w.vertex`, which should be one of the build's). The default drops it.
  virtual void Warn(solver::WarningEvent w) { (void)w; }
};

class Frontend {
 public:
  virtual ~Frontend() = default;
  virtual Result<SolveResult> Solve(const Context& ctx, FrontendLLBBridge& bridge,
                                    const std::map<std::string, std::string>& opts,
                                    const Inputs& inputs) = 0;
};

// Frontends built into the daemon, by name ("dockerfile.v0", "gateway.v0").
class Registry {
 public:
  void Register(const std::string& name, std::shared_ptr<Frontend> f) {
    frontends_[name] = std::move(f);
  }
  // The frontend, or an error telling which ones exist.
  Result<std::shared_ptr<Frontend>> Get(const std::string& name) const;

 private:
  std::map<std::string, std::shared_ptr<Frontend>> frontends_;
};

}  // namespace kiln::frontend
