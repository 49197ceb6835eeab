#pragma once
// --metadata-file: the SolveResponse exporter response as a JSON object, as buildctl writes it.
// Keys are sorted; a value that is base64 of a non-empty JSON object (e.g.
// containerimage.descriptor) is embedded as that object, every other value stays a string.
// Output is indented by two spaces and escapes <, > and & like Go's encoding/json. Stateless.

#include <map>
#include <string>

#include "util/status.h"

namespace kiln::client {

std::string MetadataJson(const std::map<std::string, std::string>& exporter_response);

// Writes MetadataJson atomically (temporary file + rename).
Status WriteMetadataFile(const std::string& path,
                         const std::map<std::string, std::string>& exporter_response);

}  // namespace kiln::client
