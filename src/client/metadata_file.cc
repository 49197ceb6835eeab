#include "client/metadata_file.h"

#include <nlohmann/json.hpp>

#include "client/atomic_file.h"
#include "client/go_format.h"
#include "util/base64.h"
#include "util/go_json.h"

namespace kiln::client {

std::string MetadataJson(const std::map<std::string, std::string>& exporter_response) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [key, value] : exporter_response) {  // std::map: sorted, as Go's encoder
    std::optional<std::string> decoded = Base64Decode(value);
    if (decoded.has_value()) {
      auto parsed = nlohmann::ordered_json::parse(*decoded, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_object() && !parsed.empty()) {
        out[key] = std::move(parsed);
        continue;
      }
    }
    out[key] = value;
  }
  return EscapeJsonLikeGo(
      out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

Status WriteMetadataFile(const std::string& path,
                         const std::map<std::string, std::string>& exporter_response) {
  return WriteFileAtomic(path, MetadataJson(exporter_response));
}

}  // namespace kiln::client
