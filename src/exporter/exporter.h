#pragma once
// Exporters: where a build result goes (BuildKit's exporter package). `local` sends the tree to
// the client's directory over the session; `tar` streams a tar of it to the client's file or
// stdout; `image` makes an image in the content store and pushes it; `oci` and `docker` send it
// to the client as a tarball (image_exporter.h).

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "cache/manager.h"
#include "content/store.h"
#include "registry/client.h"
#include "session/session.h"
#include "solver/progress.h"

namespace kiln::exporter {

struct ExportRequest {
  cache::ImmutableRef ref;  // invalid for an empty (scratch) result
  // A multi-platform result: one ref per platform id (invalid ones are empty results), in
  // place of `ref`; the metadata "refs.platforms" lists them (registry::ExportPlatform).
  std::map<std::string, cache::ImmutableRef> refs;
  std::map<std::string, std::string> attrs;
  // The frontend's result metadata ("containerimage.config", "source.date.epoch", ...).
  std::map<std::string, std::string> metadata;
  int index = 0;  // position in SolveRequest.Exporters: the FileSend exporter id
  std::shared_ptr<session::Session> session;
  std::string session_id;  // the build's main session (credentials for pushes)
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

// What image exporters need of the daemon.
struct Deps {
  cache::Manager* cache = nullptr;
  content::Store* store = nullptr;
  // A registry client for a push from the job of `req` (credentials from its sessions), with
  // the daemon's registry hosts; `insecure_host` (when not empty) is reached over plain HTTP or
  // HTTPS without verification (registry.insecure).
  std::function<std::unique_ptr<registry::Client>(const Context& ctx, const ExportRequest& req,
                                                  const std::string& insecure_host)>
      registry;
};

// "local", "tar", "image" (and its alias "moby"), "oci" or "docker"; anything else is
// InvalidArgument. Attributes are checked by Export.
Result<std::unique_ptr<Exporter>> New(const std::string& type, const Deps& deps);

}  // namespace kiln::exporter
