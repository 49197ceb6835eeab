#include "frontend/dockerfile/dockerfile2llb/image_config.h"

#include "util/rfc3339.h"

namespace kiln::dockerfile {

using Json = nlohmann::json;

ImageConfig::ImageConfig() : ImageConfig(registry::Platform{"linux", "amd64", "", "", {}}) {}

ImageConfig::ImageConfig(const registry::Platform& platform) {
  j_ = Json{{"architecture", platform.architecture},
            {"os", platform.os},
            {"config",
             {{"Env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
              {"WorkingDir", "/"}}},
            {"rootfs", {{"type", "layers"}, {"diff_ids", Json::array()}}}};
  if (!platform.variant.empty()) j_["variant"] = platform.variant;
}

void ImageConfig::SetPlatform(const registry::Platform& platform) {
  auto str = [&](const char* k) {
    auto it = j_.find(k);
    return it != j_.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  bool same = str("os") == platform.os && str("architecture") == platform.architecture;
  j_["os"] = platform.os;
  j_["architecture"] = platform.architecture;
  if (!platform.variant.empty()) {
    j_["variant"] = platform.variant;
  } else if (!same) {
    j_.erase("variant");
  }
}

Result<ImageConfig> ImageConfig::FromJSON(std::string_view raw) {
  Json j = Json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return InvalidArgument("base image config is not a JSON object");
  ImageConfig c;
  c.j_ = std::move(j);
  if (!c.j_.contains("config") || !c.j_["config"].is_object()) c.j_["config"] = Json::object();
  if (!c.j_.contains("rootfs") || !c.j_["rootfs"].is_object()) {
    c.j_["rootfs"] = {{"type", "layers"}, {"diff_ids", Json::array()}};
  }
  // Only the config and what describes the filesystem carry over to the new image.
  c.j_.erase("created");
  c.j_.erase("container");
  c.j_.erase("container_config");
  c.j_.erase("docker_version");
  return c;
}

Json& ImageConfig::Config() { return j_["config"]; }

namespace {

std::vector<std::string> Strings(const Json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::string String(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::vector<std::string> ImageConfig::Env() const { return Strings(j_["config"], "Env"); }

std::optional<std::string> ImageConfig::GetEnv(std::string_view key) const {
  for (const auto& kv : Env()) {
    size_t eq = kv.find('=');
    if (kv.substr(0, eq) == key) return eq == std::string::npos ? std::string() : kv.substr(eq + 1);
  }
  return std::nullopt;
}

void ImageConfig::SetEnv(const std::string& key, const std::string& value) {
  Json& c = Config();
  if (!c.contains("Env") || !c["Env"].is_array()) c["Env"] = Json::array();
  for (auto& v : c["Env"]) {
    if (!v.is_string()) continue;
    std::string s = v.get<std::string>();
    if (s.substr(0, s.find('=')) == key) {
      v = key + "=" + value;
      return;
    }
  }
  c["Env"].push_back(key + "=" + value);
}

std::string ImageConfig::WorkingDir() const { return String(j_["config"], "WorkingDir"); }
void ImageConfig::SetWorkingDir(const std::string& dir) { Config()["WorkingDir"] = dir; }
std::string ImageConfig::User() const { return String(j_["config"], "User"); }
void ImageConfig::SetUser(const std::string& user) { Config()["User"] = user; }
std::vector<std::string> ImageConfig::Shell() const { return Strings(j_["config"], "Shell"); }
void ImageConfig::SetShell(const std::vector<std::string>& shell) { Config()["Shell"] = shell; }
void ImageConfig::SetCmd(const std::vector<std::string>& cmd) {
  Config()["Cmd"] = cmd;
  Config()["ArgsEscaped"] = true;  // as BuildKit (Docker's image spec still reads it)
}

void ImageConfig::SetEntrypoint(const std::vector<std::string>& ep, bool keep_cmd) {
  Config()["Entrypoint"] = ep;
  if (!keep_cmd) Config()["Cmd"] = nullptr;
}

void ImageConfig::SetLabel(const std::string& key, const std::string& value) {
  Json& c = Config();
  if (!c.contains("Labels") || !c["Labels"].is_object()) c["Labels"] = Json::object();
  c["Labels"][key] = value;
}

void ImageConfig::AddExposedPort(const std::string& port) {
  Json& c = Config();
  if (!c.contains("ExposedPorts") || !c["ExposedPorts"].is_object())
    c["ExposedPorts"] = Json::object();
  c["ExposedPorts"][port] = Json::object();
}

void ImageConfig::AddVolume(const std::string& path) {
  Json& c = Config();
  if (!c.contains("Volumes") || !c["Volumes"].is_object()) c["Volumes"] = Json::object();
  c["Volumes"][path] = Json::object();
}

void ImageConfig::SetStopSignal(const std::string& sig) { Config()["StopSignal"] = sig; }
void ImageConfig::SetHealthcheck(Json hc) { Config()["Healthcheck"] = std::move(hc); }

void ImageConfig::AddOnBuild(const std::string& trigger) {
  Json& c = Config();
  if (!c.contains("OnBuild") || !c["OnBuild"].is_array()) c["OnBuild"] = Json::array();
  c["OnBuild"].push_back(trigger);
}

std::vector<std::string> ImageConfig::OnBuild() const { return Strings(j_["config"], "OnBuild"); }
void ImageConfig::ClearOnBuild() { Config().erase("OnBuild"); }
void ImageConfig::SetMaintainer(const std::string& author) { j_["author"] = author; }

void ImageConfig::AddHistory(const std::string& created_by, bool empty_layer) {
  if (!j_.contains("history") || !j_["history"].is_array()) j_["history"] = Json::array();
  Json h = {{"created_by", created_by}, {"comment", "buildkit.dockerfile.v0"}};
  if (empty_layer) h["empty_layer"] = true;
  if (history_time_) h["created"] = FormatRFC3339Nano(*history_time_ * 1000000000);
  j_["history"].push_back(std::move(h));
}

std::optional<registry::Platform> ImageConfig::Platform() const {
  auto str = [&](const char* k) {
    auto it = j_.find(k);
    return it != j_.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  registry::Platform p{str("os"), str("architecture"), str("variant"), str("os.version"), {}};
  if (p.os.empty() || p.architecture.empty()) return std::nullopt;
  if (auto f = j_.find("os.features"); f != j_.end() && f->is_array()) {
    for (const auto& v : *f) {
      if (v.is_string()) p.os_features.push_back(v.get<std::string>());
    }
  }
  return p;
}

bool ImageConfig::HasLayers() const {
  if (j_.contains("rootfs") && j_["rootfs"].is_object() && j_["rootfs"].contains("diff_ids") &&
      j_["rootfs"]["diff_ids"].is_array() && !j_["rootfs"]["diff_ids"].empty()) {
    return true;
  }
  // Images without diff_ids (schema 1): a history entry that is not empty means a layer.
  if (j_.contains("history") && j_["history"].is_array()) {
    for (const auto& h : j_["history"]) {
      if (!h.is_object() || !h.contains("empty_layer") || !h["empty_layer"].is_boolean() ||
          !h["empty_layer"].get<bool>()) {
        return true;
      }
    }
  }
  return false;
}

std::string ImageConfig::Dump() const { return j_.dump(); }

}  // namespace kiln::dockerfile
