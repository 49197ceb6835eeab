#pragma once
// Reads blobs from a content store the client serves in its session
// (containerd.services.content.v1.Content, wire-protocol.md §4.7): the other direction of
// content_copy.h, with the same store-id metadata. BuildKit's oci-layout source reads a client's
// OCI layout directory this way (buildctl --oci-layout ID=DIR serves it as store "oci:ID";
// session/content.NewCallerStore): Info for a blob's size, Read for its bytes.
// Stateless functions; safe from any thread.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "session/session.h"
#include "util/context.h"
#include "util/digest.h"
#include "util/status.h"

namespace kiln::session {

inline constexpr char kContentInfoMethod[] = "/containerd.services.content.v1.Content/Info";
inline constexpr char kContentReadMethod[] = "/containerd.services.content.v1.Content/Read";

// The store id BuildKit gives a client OCI layout named `name` ("oci:<name>").
inline std::string OCILayoutStoreId(const std::string& name) { return "oci:" + name; }

// The size of blob `digest` in the client's store `store_id`. FailedPrecondition when the
// session serves no content store; the client's NotFound ("content <digest>: not found",
// "unknown store <id>") keeps its code. Errors name the store.
Result<int64_t> ClientBlobSize(const Context& ctx, Session& s, const std::string& store_id,
                               const Digest& digest);

// Streams blob `digest` from the client's store to `sink`, from offset 0, in the order the
// client sends it (a chunk away from the expected offset is DataLoss). Cancelling ctx or the
// session closing stops the read.
Status ReadClientBlob(const Context& ctx, Session& s, const std::string& store_id,
                      const Digest& digest, const std::function<Status(std::string_view)>& sink);

}  // namespace kiln::session
