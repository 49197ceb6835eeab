#pragma once
// Image archives: an image whose manifest or index and every blob below it are in a content
// store, written as BuildKit's `oci` and `docker` exporters write it (containerd's
// images/archive exporter):
//
//   blobs/ blobs/sha256/      directories, 0755
//   blobs/sha256/<hex>        every blob reachable from the root (index -> manifests -> config
//                             and layers, all platforms), once each, 0444, streamed from the store
//   index.json                {"schemaVersion":2,"mediaType":<OCI index>,"manifests":[...]}: the
//                             root descriptor once per name, 0644
//   manifest.json             docker only: [{"Config","RepoTags","Layers"}] for `docker load`
//   oci-layout                {"imageLayoutVersion":"1.0.0"}, 0444
//   repositories              docker only: {"<repo>":{"<tag>":"<top layer hex>"}} as `docker save`
//                             writes it (containerd and so BuildKit do not; `docker load` reads
//                             it only when there is no manifest.json)
//
// Entries come sorted by name (containerd's order), with uid/gid 0, empty owner names and mtime 0,
// so one image always gives the same bytes. Each name becomes an index.json entry of its own
// carrying "io.containerd.image.name" (the normalised name) and "org.opencontainers.image.ref.name"
// (its tag); without names the root descriptor is written as given. The caller adds any other
// annotation (BuildKit's exporter adds "org.opencontainers.image.created").
//
// Everything is checked before the first byte is written: every blob must be in the store with
// the size its descriptor gives (NotFound / DataLoss name the blob and what referenced it), every
// manifest and index must parse (InvalidArgument names it). Blob bytes are hashed again while
// they are copied (DataLoss on a mismatch, as containerd does).
// Functions only; thread-safe (the store is).

#include <optional>
#include <string>
#include <vector>

#include "content/store.h"
#include "registry/manifest.h"
#include "registry/platform.h"
#include "util/context.h"
#include "util/status.h"
#include "util/tar_writer.h"

namespace kiln::exporter {

enum class ArchiveFormat {
  kOCI,     // `--output type=oci`: the OCI image layout only
  kDocker,  // `--output type=docker`: the layout plus manifest.json and repositories
};

struct ArchiveOptions {
  ArchiveFormat format = ArchiveFormat::kOCI;
  // Image names, normalised like BuildKit ("foo" -> "docker.io/library/foo:latest"); an invalid
  // name is InvalidArgument. Order is kept, one index.json entry per name.
  std::vector<std::string> names;
  // Docker format with an index as root: the platform whose manifest manifest.json describes
  // (best match, as registry::SelectManifest picks). Unset, an index root gets no manifest.json
  // (what containerd writes for BuildKit, which `docker load` refuses). All platforms' blobs are
  // written either way.
  std::optional<registry::Platform> platform;
};

// Writes the archive as a tar stream into sink. Nothing reaches the sink if the image is
// incomplete or a name is invalid.
Status WriteImageArchive(const Context& ctx, const content::Store& store,
                         const registry::Descriptor& root, const ArchiveOptions& opts,
                         const ByteSink& sink);

// Writes the same files into the directory dir (`tar=false`), created if missing (its parent
// must exist). Files of the same names already there are replaced, others are left alone. Modes
// are set exactly (not through the umask); times are the write's.
Status WriteOCILayoutDir(const Context& ctx, const content::Store& store,
                         const registry::Descriptor& root, const ArchiveOptions& opts,
                         const std::string& dir);

}  // namespace kiln::exporter
