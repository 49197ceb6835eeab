#pragma once
// The image, oci and docker exporters (BuildKit's exporter/containerimage and exporter/oci):
// the result becomes an image in the content store (image_commit.h), then
// - image: is kept under its names (so later builds can use it as a local image) and, with
//   push=true, pushed to each name's registry;
// - oci / docker: is sent to the client as an OCI layout or `docker load` tarball (to its file
//   or stdout), or with oci's tar=false as an OCI layout directory through the client's content
//   store.
// The exporter response holds containerimage.digest, containerimage.config.digest,
// containerimage.descriptor (base64 JSON) and image.name, as BuildKit's.

#include <memory>

#include "exporter/exporter.h"
#include "exporter/image_options.h"

namespace kiln::exporter {

Result<std::unique_ptr<Exporter>> NewImageExporter(ImageExporterKind kind, const Deps& deps);

}  // namespace kiln::exporter
