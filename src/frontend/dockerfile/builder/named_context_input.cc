// Named contexts from frontend inputs: context:NAME=input:INPUT (dockerui's "input" case).
#include <nlohmann/json.hpp>

#include "frontend/dockerfile/builder/named_context.h"
#include "util/base64.h"

namespace kiln::dockerfile {

namespace {

// input-metadata:NAME is a JSON object whose values are base64 strings (Go's map[string][]byte);
// null values are empty.
Result<std::map<std::string, std::string>> ParseInputMetadata(const std::string& md) {
  auto bad = [&] { return InvalidArgument("failed to parse input metadata " + md); };
  nlohmann::json j = nlohmann::json::parse(md, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return bad();
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : j.items()) {
    if (v.is_null()) {
      out[k] = "";
      continue;
    }
    if (!v.is_string()) return bad();
    std::optional<std::string> decoded = Base64Decode(v.get_ref<const std::string&>());
    if (!decoded) return bad();
    out[k] = std::move(*decoded);
  }
  return out;
}

}  // namespace

Result<NamedContext> NamedContexts::LoadInput(const std::string& key, const std::string& input) {
  auto it = inputs_.find(input);
  if (it == inputs_.end()) return InvalidArgument("invalid input " + input + " for " + key);
  NamedContext nc;
  auto st = llb::State::FromDefinition(it->second);
  if (!st.ok()) return st.status().Annotate("input " + input + " for " + key);
  nc.state = std::move(*st);
  auto md = opts_.find("input-metadata:" + input);
  if (md == opts_.end()) return nc;
  KILN_ASSIGN_OR_RETURN(auto meta, ParseInputMetadata(md->second));
  auto config = meta.find("containerimage.config");
  if (config != meta.end()) {
    if (!nlohmann::json::parse(config->second, nullptr, false).is_object()) {
      return InvalidArgument("failed to parse image config for " + key);
    }
    nc.config = config->second;
  }
  return nc;
}

}  // namespace kiln::dockerfile
