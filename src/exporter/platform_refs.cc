#include "exporter/platform_refs.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace kiln::exporter {

Result<std::vector<PlatformRef>> PlatformRefs(const ExportRequest& req) {
  std::vector<registry::ExportPlatform> listed;
  if (auto it = req.metadata.find("refs.platforms"); it != req.metadata.end()) {
    KILN_ASSIGN_OR_RETURN(listed, registry::ParseExportPlatforms(it->second));
  } else {
    for (const auto& [id, ref] : req.refs) {
      auto p = registry::ParsePlatform(id);
      if (!p.ok()) return p.status().Annotate("result ref " + id);
      listed.push_back({id, *p});
    }
  }
  std::vector<PlatformRef> out;
  for (const auto& p : listed) {
    auto ref = req.refs.find(p.id);
    if (ref == req.refs.end()) return InvalidArgument("failed to find ref for ID " + p.id);
    PlatformRef pr{p, ref->second, ""};
    auto cfg = req.metadata.find("containerimage.config/" + p.id);
    if (cfg == req.metadata.end()) cfg = req.metadata.find("containerimage.config");
    if (cfg != req.metadata.end()) pr.config = cfg->second;
    out.push_back(std::move(pr));
  }
  return out;
}

Result<registry::Platform> SinglePlatform(const ExportRequest& req, const std::string& config) {
  if (auto it = req.metadata.find("refs.platforms"); it != req.metadata.end()) {
    KILN_ASSIGN_OR_RETURN(std::vector<registry::ExportPlatform> listed,
                          registry::ParseExportPlatforms(it->second));
    if (listed.size() != 1) {
      return InvalidArgument("cannot export multiple platforms without multi-platform enabled");
    }
    return listed[0].platform;
  }
  if (!config.empty()) {
    nlohmann::json j = nlohmann::json::parse(config, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return InvalidArgument("invalid image config: not a JSON object");
    auto str = [&](const char* k) {
      auto it = j.find(k);
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    registry::Platform p{str("os"), str("architecture"), str("variant"), str("os.version"), {}};
    if (auto f = j.find("os.features"); f != j.end() && f->is_array()) {
      for (const auto& v : *f) {
        if (v.is_string()) p.os_features.push_back(v.get<std::string>());
      }
    }
    if (!p.os.empty() && !p.architecture.empty()) return registry::Normalize(p);
    if (!p.os.empty() || !p.architecture.empty()) {
      return InvalidArgument("invalid image config: os and architecture must be specified together");
    }
  }
  return registry::HostPlatform();
}

std::string PlatformDirName(const std::string& id) {
  std::string out = id;
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

}  // namespace kiln::exporter
