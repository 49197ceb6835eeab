#include "client/metadata_file.h"

#include <nlohmann/json.hpp>

#include "client/atomic_file.h"
#include "util/base64.h"

namespace kiln::client {

namespace {

// Go's encoding/json escapes these even inside strings; they only ever occur inside strings
// in serialized JSON, so replacing them in the whole text is safe.
std::string EscapeLikeGo(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xe2' && i + 2 < s.size() && s[i + 1] == '\x80' &&
               (s[i + 2] == '\xa8' || s[i + 2] == '\xa9')) {
      out += s[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

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
  return EscapeLikeGo(out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

Status WriteMetadataFile(const std::string& path,
                         const std::map<std::string, std::string>& exporter_response) {
  return WriteFileAtomic(path, MetadataJson(exporter_response));
}

}  // namespace kiln::client
