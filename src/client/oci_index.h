#pragma once
// The two files that make a directory of blobs an OCI image layout, written by kilnctl after an
// export to `--output type=oci|docker,dest=DIR,tar=false` (the daemon only copies the blobs into
// the session's content store), as buildctl's client/ociindex writes them:
//   DIR/oci-layout  {"imageLayoutVersion":"1.0.0"}
//   DIR/index.json  the existing index (or a new one, schemaVersion 2 and the OCI index media
//                   type) plus the image's descriptor once per name. A name sets the annotations
//                   io.containerd.image.name (the full name) and org.opencontainers.image.ref.name
//                   (its tag, containerd's reference "object"); a tag sets only ref.name. Entries
//                   with the same pair of annotations are replaced, all others kept.
// Both files are replaced atomically; index.json.lock (flock) keeps concurrent writers apart, as
// buildctl's. The JSON is Go's encoding of ocispecs.Index (field order, omitted empty fields,
// sorted annotations, Go's escaping; unknown fields are dropped as Go drops them).
// Stateless functions; thread-safe as long as no other writer ignores the lock.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kiln::client {

// ociindex.Name(value) or ociindex.Tag(value).
struct IndexName {
  std::string value;
  bool is_tag = false;
};

// org.opencontainers.image.ref.name for an image name: what follows the repository
// ("docker.io/library/alpine:3" → "3", "…@sha256:…" → "@sha256:…"), or the name itself when it
// has no host part.
std::string OciReferenceName(std::string_view name);

// Writes DIR/oci-layout and adds the descriptor (OCI descriptor JSON) to DIR/index.json once
// per name (once, unannotated, for no names).
Status PutIndex(const std::string& dir, std::string_view descriptor_json,
                const std::vector<IndexName>& names);

// After a solve: the descriptor from the exporter response's containerimage.descriptor (base64
// JSON), the names from image.name (comma-separated) or else the tag "latest". Nothing to do
// without a descriptor.
Status UpdateOciLayout(const std::string& dir,
                       const std::map<std::string, std::string>& exporter_response);

}  // namespace kiln::client
