#pragma once
// The oci-layout:// source (BuildKit's containerimage source with its OCI layout resolver): an
// image read from an OCI layout the client serves as a content store in its session (kilnctl and
// buildctl --oci-layout STORE=DIR; the store id on the wire is "oci:STORE"). The identifier is
// oci-layout://NAME[:TAG]@DIGEST; the digest is the image's root (a manifest or an index) in the
// layout, the name is only shown. Attrs: oci.session (the session serving the store; empty: any
// of the build's sessions), oci.store (STORE), oci.layerlimit (only the first N layers).
// Blobs are copied into the daemon's content store as they are needed (once: a blob already
// there is not read again) and the layers unpacked like a docker-image's, one ref per chain ID.
// Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pb/ops.pb.h"
#include "session/session.h"
#include "source/image.h"

namespace kiln::source {

struct OCILayoutIdentifier {
  registry::Reference ref;  // NAME[:TAG]@DIGEST, as Docker normalises NAME (for display)
  std::string session_id;   // oci.session
  std::string store_id;     // oci.store
  std::optional<int> layer_limit;
  registry::Platform platform;
};

// Parses an oci-layout:// SourceOp; `platform` is the op's (null: the host's). The digest is
// required ("reference ... must have digest"), as BuildKit's resolver requires it.
Result<OCILayoutIdentifier> ParseOCILayout(const pb::SourceOp& op, const pb::Platform* platform);

// A client's content store as this source reads it (an interface so tests need no session).
class LayoutStore {
 public:
  virtual ~LayoutStore() = default;
  virtual Result<int64_t> Size(const Context& ctx, const Digest& digest) = 0;
  virtual Status Read(const Context& ctx, const Digest& digest,
                      const std::function<Status(std::string_view)>& sink) = 0;
};

// The store `id.store_id` of the client: in session id.session_id when set, else in the first
// of `job_sessions` that answers (BuildKit's session.Any).
std::unique_ptr<LayoutStore> SessionLayoutStore(session::Manager* sessions,
                                                const OCILayoutIdentifier& id,
                                                std::vector<std::string> job_sessions);

// Resolves the root to the manifest for id.platform and reads its config (the layer limit
// applied); manifests and config land in `images`' content store.
Result<ResolvedImage> ResolveOCILayout(const Context& ctx, const OCILayoutIdentifier& id,
                                       LayoutStore& layout, ImageSource& images);

// Copies the layers from the layout and unpacks them.
Result<cache::ImmutableRef> UnpackOCILayout(const Context& ctx, const ResolvedImage& img,
                                            LayoutStore& layout, ImageSource& images,
                                            solver::VertexProgress* progress);

}  // namespace kiln::source
