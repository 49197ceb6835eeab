// Dependencies between stages, checked before any stage is built: a cycle is reported as
// BuildKit reports it (validateCircularDependency), naming the first stage of the file from
// which a walk of the dependencies meets a stage already on its path.

#include <algorithm>
#include <functional>

#include "frontend/dockerfile/dockerfile2llb/converter.h"

namespace kiln::dockerfile::convert_internal {

namespace {

// The --from values of an instruction: COPY/ADD --from, RUN --mount=...,from=...
std::vector<std::string> FromRefs(const Node& n) {
  std::vector<std::string> out;
  if (n.value != "copy" && n.value != "add" && n.value != "run") return out;
  auto f = ParseFlags(n);
  if (!f.ok()) return out;  // reported when the instruction is converted
  if (n.value != "run") {
    if (auto from = f->Get("from")) out.push_back(*from);
    return out;
  }
  for (const std::string& spec : f->All("mount")) {
    size_t i = 0;
    while (i <= spec.size()) {
      size_t j = std::min(spec.find(',', i), spec.size());
      std::string field = spec.substr(i, j - i);
      i = j + 1;
      size_t eq = field.find('=');
      if (eq != std::string::npos && Lower(field.substr(0, eq)) == "from") {
        out.push_back(field.substr(eq + 1));
      }
    }
  }
  return out;
}

}  // namespace

Result<Stage*> Converter::StageOf(const std::string& ref) {
  if (!ref.empty() && std::all_of(ref.begin(), ref.end(), ::isdigit)) {
    size_t i = ref.size() > 6 ? stages_.size() : std::strtoul(ref.c_str(), nullptr, 10);
    if (i >= stages_.size()) return InvalidArgument("invalid stage index " + ref);
    return &stages_[i];
  }
  Stage* found = nullptr;
  for (auto& other : stages_) {
    if (!other.name.empty() && other.name == Lower(ref)) found = &other;
  }
  return found;
}

Status Converter::CheckStageCycles() {
  // Per stage, each stage it copies or mounts from with the (last) instruction that does.
  std::vector<std::vector<std::pair<Stage*, const Node*>>> deps(stages_.size());
  for (Stage& s : stages_) {
    auto& d = deps[static_cast<size_t>(s.index)];
    for (const Node* n : s.commands) {
      for (const std::string& ref : FromRefs(*n)) {
        auto dep = StageOf(ref);
        if (!dep.ok() || *dep == nullptr) continue;  // errors are reported at the instruction
        auto it = std::find_if(d.begin(), d.end(), [&](const auto& e) { return e.first == *dep; });
        if (it == d.end()) {
          d.emplace_back(*dep, n);
        } else {
          it->second = n;
        }
      }
    }
  }
  std::vector<bool> visited(stages_.size()), on_path(stages_.size());
  std::vector<const Node*> cycle;
  std::function<bool(const Stage&, std::vector<const Node*>&)> visit =
      [&](const Stage& s, std::vector<const Node*>& path) {
        auto i = static_cast<size_t>(s.index);
        if (visited[i]) return false;
        visited[i] = true;
        on_path[i] = true;
        for (const auto& [dep, n] : deps[i]) {
          path.push_back(n);
          if (on_path[static_cast<size_t>(dep->index)] || visit(*dep, path)) return true;
          path.pop_back();
        }
        on_path[i] = false;
        return false;
      };
  for (const Stage& s : stages_) {
    std::vector<const Node*> path;
    if (!visit(s, path)) continue;
    // BuildKit attaches every instruction of the cycle; the error points at the first.
    return At(*path.front(),
              InvalidArgument("circular dependency detected on stage: " + s.display));
  }
  return Status::Ok();
}

}  // namespace kiln::dockerfile::convert_internal
