#pragma once
// Exporters: where a build result goes (BuildKit's exporter package). `local` sends the tree to
// the client's directory over the session; `tar` streams a tar of it to the client's file or
// stdout. Image, OCI and Docker exporters come with the image issues.

#include <map>
#include <memory>
#include <string>

#include "cache/manager.h"
#include "session/session.h"
#include "solver/progress.h"

namespace kiln::exporter {

struct ExportRequest {
  cache::ImmutableRef ref;  // invalid for an empty (scratch) result
  std::map<std::string, std::string> attrs;
  int index = 0;  // position in SolveRequest.Exporters: the FileSend exporter id
  std::shared_ptr<session::Session> session;
  solver::ProgressSink* progress = nullptr;
  std::string job_id;
};

class Exporter {
 public:
  virtual ~Exporter() = default;
  // Exports and returns entries for the SolveResponse exporter response.
  virtual Result<std::map<std::string, std::string>> Export(const Context& ctx,
                                                            const ExportRequest& req) = 0;
};

// "local" or "tar"; other types are Unimplemented with a clear message.
Result<std::unique_ptr<Exporter>> New(const std::string& type);

}  // namespace kiln::exporter
