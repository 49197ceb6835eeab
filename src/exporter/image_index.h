#pragma once
// The index of a multi-platform image (BuildKit's ImageWriter.Commit with several platforms):
// one manifest descriptor per platform, in the order of the result's platforms, each carrying
// its "platform"; an OCI image index, or Docker's manifest list without OCI media types. Written
// with two-space indentation as Go's MarshalIndent and stored in the content store. Stateless;
// thread-safe as the store is.

#include <map>
#include <string>
#include <vector>

#include "content/store.h"
#include "registry/manifest.h"
#include "util/context.h"

namespace kiln::exporter {

struct CommittedIndex {
  registry::Descriptor index;  // media type, digest, size
  std::string json;
};

// The index JSON of `manifests` (each with its platform set), with `annotations` (the
// annotation-index.* attributes; OCI only) when there are any.
std::string IndexJson(const std::vector<registry::Descriptor>& manifests, bool oci_mediatypes,
                      const std::map<std::string, std::string>& annotations = {});

// Writes that index into `store` under `lease`.
Result<CommittedIndex> CommitIndex(const Context& ctx, content::Store& store,
                                   const std::vector<registry::Descriptor>& manifests,
                                   bool oci_mediatypes, content::Lease* lease,
                                   const std::map<std::string, std::string>& annotations = {});

}  // namespace kiln::exporter
