#include "client/progress_rawjson.h"

#include <nlohmann/json.hpp>

#include "client/go_format.h"
#include "util/base64.h"

namespace kiln::client::progress {

namespace {

using Json = nlohmann::ordered_json;

std::string Time(const google::protobuf::Timestamp& ts) {
  return FormatRFC3339Nano(ts.seconds() * 1000000000 + ts.nanos());
}

Json VertexJson(const moby::buildkit::v1::Vertex& v) {
  Json j = Json::object();
  if (!v.digest().empty()) j["digest"] = v.digest();
  if (v.inputs_size() > 0) {
    Json inputs = Json::array();
    for (const std::string& in : v.inputs()) inputs.push_back(in);
    j["inputs"] = std::move(inputs);
  }
  if (!v.name().empty()) j["name"] = v.name();
  if (v.has_started()) j["started"] = Time(v.started());
  if (v.has_completed()) j["completed"] = Time(v.completed());
  if (v.cached()) j["cached"] = true;
  if (!v.error().empty()) j["error"] = v.error();
  if (v.has_progressgroup()) {
    Json g = Json::object();
    if (!v.progressgroup().id().empty()) g["id"] = v.progressgroup().id();
    if (!v.progressgroup().name().empty()) g["name"] = v.progressgroup().name();
    if (v.progressgroup().weak()) g["weak"] = true;
    j["progressGroup"] = std::move(g);
  }
  return j;
}

Json StatusJson(const moby::buildkit::v1::VertexStatus& s) {
  Json j = Json::object();
  j["id"] = s.id();
  if (!s.vertex().empty()) j["vertex"] = s.vertex();
  if (!s.name().empty()) j["name"] = s.name();
  if (s.total() != 0) j["total"] = s.total();
  j["current"] = s.current();
  j["timestamp"] = Time(s.timestamp());
  if (s.has_started()) j["started"] = Time(s.started());
  if (s.has_completed()) j["completed"] = Time(s.completed());
  return j;
}

Json LogJson(const moby::buildkit::v1::VertexLog& l) {
  Json j = Json::object();
  if (!l.vertex().empty()) j["vertex"] = l.vertex();
  if (l.stream() != 0) j["stream"] = l.stream();
  j["data"] = Base64Encode(l.msg());
  j["timestamp"] = Time(l.timestamp());
  return j;
}

Json WarningJson(const moby::buildkit::v1::VertexWarning& w) {
  Json j = Json::object();
  if (!w.vertex().empty()) j["vertex"] = w.vertex();
  if (w.level() != 0) j["level"] = w.level();
  if (!w.short_().empty()) j["short"] = Base64Encode(w.short_());
  if (w.detail_size() > 0) {
    Json d = Json::array();
    for (const std::string& s : w.detail()) d.push_back(Base64Encode(s));
    j["detail"] = std::move(d);
  }
  if (!w.url().empty()) j["url"] = w.url();
  if (w.has_info()) {
    Json info = Json::object();
    if (!w.info().filename().empty()) info["filename"] = w.info().filename();
    if (!w.info().data().empty()) info["data"] = Base64Encode(w.info().data());
    if (!w.info().language().empty()) info["language"] = w.info().language();
    j["sourceInfo"] = std::move(info);
  }
  if (w.ranges_size() > 0) {
    Json ranges = Json::array();
    for (const auto& r : w.ranges()) {
      auto pos = [](const auto& p) {
        Json o = Json::object();
        if (p.line() != 0) o["line"] = p.line();
        if (p.character() != 0) o["character"] = p.character();
        return o;
      };
      ranges.push_back(Json{{"start", pos(r.start())}, {"end", pos(r.end())}});
    }
    j["range"] = std::move(ranges);
  }
  return j;
}

template <typename Field, typename Fn>
void AddList(Json& out, const char* key, const Field& items, Fn fn) {
  if (items.empty()) return;
  Json arr = Json::array();
  for (const auto& item : items) arr.push_back(fn(item));
  out[key] = std::move(arr);
}

}  // namespace

std::string RawJsonLine(const moby::buildkit::v1::StatusResponse& resp) {
  Json out = Json::object();
  AddList(out, "vertexes", resp.vertexes(), VertexJson);
  AddList(out, "statuses", resp.statuses(), StatusJson);
  AddList(out, "logs", resp.logs(), LogJson);
  AddList(out, "warnings", resp.warnings(), WarningJson);
  return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace kiln::client::progress
