#include "registry/image_config.h"

#include "registry/json_fields.h"

namespace kiln::registry {

namespace {

using internal::Fields;
using internal::Json;

Status ParseHealth(const Fields& parent, std::optional<HealthConfig>* out) {
  KILN_ASSIGN_OR_RETURN(const Json* hj, parent.Object("Healthcheck"));
  if (hj == nullptr) return Status::Ok();
  Fields f(*hj, parent.where(), parent.Path("Healthcheck"));
  HealthConfig h;
  KILN_RETURN_IF_ERROR(f.StringList("Test", &h.test));
  KILN_RETURN_IF_ERROR(f.Int("Interval", &h.interval_ns));
  KILN_RETURN_IF_ERROR(f.Int("Timeout", &h.timeout_ns));
  KILN_RETURN_IF_ERROR(f.Int("StartPeriod", &h.start_period_ns));
  KILN_RETURN_IF_ERROR(f.Int("StartInterval", &h.start_interval_ns));
  KILN_RETURN_IF_ERROR(f.Int("Retries", &h.retries));
  *out = std::move(h);
  return Status::Ok();
}

Status ParseContainerConfig(const Fields& top, ContainerConfig* c) {
  KILN_ASSIGN_OR_RETURN(const Json* cj, top.Object("config"));
  if (cj == nullptr) return Status::Ok();
  Fields f(*cj, top.where(), "config");
  KILN_RETURN_IF_ERROR(f.String("User", &c->user));
  KILN_RETURN_IF_ERROR(f.KeySet("ExposedPorts", &c->exposed_ports));
  KILN_RETURN_IF_ERROR(f.StringList("Env", &c->env));
  KILN_RETURN_IF_ERROR(f.OptStringList("Entrypoint", &c->entrypoint));
  KILN_RETURN_IF_ERROR(f.OptStringList("Cmd", &c->cmd));
  KILN_RETURN_IF_ERROR(f.KeySet("Volumes", &c->volumes));
  KILN_RETURN_IF_ERROR(f.String("WorkingDir", &c->working_dir));
  KILN_RETURN_IF_ERROR(f.StringMap("Labels", &c->labels));
  KILN_RETURN_IF_ERROR(f.String("StopSignal", &c->stop_signal));
  KILN_RETURN_IF_ERROR(ParseHealth(f, &c->healthcheck));
  KILN_RETURN_IF_ERROR(f.StringList("Shell", &c->shell));
  KILN_RETURN_IF_ERROR(f.StringList("OnBuild", &c->on_build));
  KILN_RETURN_IF_ERROR(f.Bool("ArgsEscaped", &c->args_escaped));
  return Status::Ok();
}

Status ParseRootfs(const Fields& top, ImageConfig* ic) {
  KILN_ASSIGN_OR_RETURN(const Json* rj, top.Object("rootfs"));
  if (rj == nullptr) return Status::Ok();
  Fields f(*rj, top.where(), "rootfs");
  KILN_RETURN_IF_ERROR(f.String("type", &ic->rootfs_type));
  if (!ic->rootfs_type.empty() && ic->rootfs_type != "layers") {
    return f.Error("type", "want \"layers\", got \"" + ic->rootfs_type + "\"");
  }
  std::vector<std::string> ids;
  KILN_RETURN_IF_ERROR(f.StringList("diff_ids", &ids));
  for (size_t i = 0; i < ids.size(); i++) {
    auto d = Digest::Parse(ids[i]);
    if (!d.ok()) return f.Error("diff_ids[" + std::to_string(i) + "]", d.status().message());
    ic->diff_ids.push_back(*d);
  }
  return Status::Ok();
}

Status ParseHistory(const Fields& top, ImageConfig* ic) {
  KILN_ASSIGN_OR_RETURN(const Json* hj, top.Array("history"));
  if (hj == nullptr) return Status::Ok();
  for (size_t i = 0; i < hj->size(); i++) {
    std::string path = "history[" + std::to_string(i) + "]";
    if (!(*hj)[i].is_object()) return top.Error(path, "want an object");
    Fields f((*hj)[i], top.where(), path);
    HistoryEntry h;
    KILN_RETURN_IF_ERROR(f.String("created", &h.created));
    KILN_RETURN_IF_ERROR(f.String("created_by", &h.created_by));
    KILN_RETURN_IF_ERROR(f.String("author", &h.author));
    KILN_RETURN_IF_ERROR(f.String("comment", &h.comment));
    KILN_RETURN_IF_ERROR(f.Bool("empty_layer", &h.empty_layer));
    ic->history.push_back(std::move(h));
  }
  return Status::Ok();
}

}  // namespace

Platform ImageConfig::platform() const {
  Platform p;
  p.os = os;
  p.architecture = architecture;
  p.variant = variant;
  p.os_version = os_version;
  p.os_features = os_features;
  return p;
}

Result<ImageConfig> ParseImageConfig(std::string_view bytes, std::string_view name) {
  std::string where = std::string(name) + ": image config";
  KILN_ASSIGN_OR_RETURN(Json j, internal::ParseJson(bytes, where));
  if (!j.is_object()) return InvalidArgument(where + ": want a JSON object");
  Fields f(j, where, "");
  ImageConfig ic;
  KILN_RETURN_IF_ERROR(f.String("architecture", &ic.architecture));
  KILN_RETURN_IF_ERROR(f.String("os", &ic.os));
  KILN_RETURN_IF_ERROR(f.String("variant", &ic.variant));
  KILN_RETURN_IF_ERROR(f.String("os.version", &ic.os_version));
  KILN_RETURN_IF_ERROR(f.StringList("os.features", &ic.os_features));
  KILN_RETURN_IF_ERROR(f.String("created", &ic.created));
  KILN_RETURN_IF_ERROR(f.String("author", &ic.author));
  KILN_RETURN_IF_ERROR(ParseContainerConfig(f, &ic.config));
  KILN_RETURN_IF_ERROR(ParseRootfs(f, &ic));
  KILN_RETURN_IF_ERROR(ParseHistory(f, &ic));
  ic.raw = std::string(bytes);
  return ic;
}

}  // namespace kiln::registry
