#pragma once
// One build against a daemon, as buildctl runs it (wire-protocol.md §1.8):
//   1. Control/ListWorkers (the build fails if it errors);
//   2. concurrently: the session (session.h), Control/Solve and Control/Status(ref), plus,
//      for --frontend without --frontend-in-solve, the client-side frontend phase over
//      LLBBridge (gateway_build.h) with Control.Solve carrying no frontend and no definition;
//   3. when Solve returns the session is closed and the Status stream is given 5 s of
//      inactivity to end by itself;
//   4. an oci/docker --output with tar=false is served as the session's content store "export"
//      (the daemon copies the image's blobs into the directory); after a successful solve the
//      directory's oci-layout and index.json are written from the exporter response
//      (oci_index.h); each --oci-layout ID=DIR is served as the content store "oci:ID", read by
//      the daemon's oci-layout:// sources.
// Cancelling `ctx` cancels every call and the session. Errors read like buildctl's:
// "failed to solve: <daemon message>". Tests run it against a fake daemon.
// Thread-compatible; the status callback runs on an internal thread.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/build_options.h"
#include "client/secrets_service.h"
#include "control/control.pb.h"
#include "pb/ops.pb.h"
#include "rpc/connection.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::client {

struct BuildRequest {
  std::string ref;  // random when empty
  std::optional<pb::Definition> definition;
  std::string frontend;
  std::map<std::string, std::string> frontend_attrs;
  std::map<std::string, std::string> local_dirs;
  // --oci-layout: store id -> OCI layout directory, served as content store "oci:<id>".
  std::map<std::string, std::string> oci_layouts;
  // Definitions the frontend gets as inputs (SolveRequest.FrontendInputs): named contexts
  // `context:NAME=input:INPUT` of the Dockerfile frontend. No kilnctl flag sets them (buildctl
  // has none either); API clients do.
  std::map<std::string, pb::Definition> frontend_inputs;
  std::vector<ExportEntry> exports;
  std::vector<std::string> entitlements;
  bool frontend_in_solve = false;  // the pre-v0.11 flow: the frontend named in Control.Solve
  int stdout_fd = 1;               // where "dest=-" tarballs go
  std::optional<SecretStore> secrets;             // --secret, served in the session
  std::map<std::string, std::string> ssh_agents;  // --ssh: id -> agent socket
  bool batch_sync = true;          // SessionConfig::batch_sync
  // The caller ends its process right after Build (kilnctl): the session is not closed but
  // left to end with the process (Session::EndWithProcess), which saves waiting for the
  // session's threads and server to wind down.
  bool session_ends_with_process = false;
};

struct BuildResponse {
  std::map<std::string, std::string> exporter_response;
  // Result metadata of the client-side frontend phase (subrequests put result.txt here).
  std::map<std::string, std::string> frontend_metadata;
};

using StatusFn = std::function<void(const moby::buildkit::v1::StatusResponse&)>;

Result<BuildResponse> Build(const Context& ctx, rpc::Connection& conn, const BuildRequest& req,
                            const StatusFn& on_status);

// The SolveRequest Build sends (exposed for tests).
moby::buildkit::v1::SolveRequest MakeSolveRequest(const BuildRequest& req, const std::string& ref,
                                                  const std::string& session_id);

}  // namespace kiln::client
