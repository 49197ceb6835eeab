#include "exporter/platform_refs.h"

#include <algorithm>

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

std::string PlatformDirName(const std::string& id) {
  std::string out = id;
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

}  // namespace kiln::exporter
