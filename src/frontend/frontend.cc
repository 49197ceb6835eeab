#include "frontend/frontend.h"

namespace kiln::frontend {

Result<std::shared_ptr<Frontend>> Registry::Get(const std::string& name) const {
  auto it = frontends_.find(name);
  if (it != frontends_.end()) return it->second;
  std::string have;
  for (const auto& [n, f] : frontends_) have += (have.empty() ? "" : ", ") + n;
  return Unimplemented("frontend \"" + name + "\" is not available in this kiln daemon" +
                       (have.empty() ? std::string(" (none are built in yet)") : " (available: " + have + ")"));
}

}  // namespace kiln::frontend
