#include "registry/testing/fake_registry.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

namespace kiln::registry::testing {

using nlohmann::json;

TestImage MakeImage(const std::string& arch, const std::vector<std::string>& layers, bool oci) {
  TestImage img;
  img.layers = layers;
  json diff_ids = json::array();
  for (const auto& l : layers) {
    img.layer_digests.push_back(Digest::FromBytes(l));
    diff_ids.push_back(img.layer_digests.back().str());
  }
  json config = {{"architecture", arch},
                 {"os", "linux"},
                 {"config", {{"Env", {"PATH=/bin"}}, {"Cmd", {"/bin/sh"}}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  img.config = config.dump();
  img.config_digest = Digest::FromBytes(img.config);
  std::string layer_type = oci ? "application/vnd.oci.image.layer.v1.tar+gzip"
                               : "application/vnd.docker.image.rootfs.diff.tar.gzip";
  json jl = json::array();
  for (size_t i = 0; i < layers.size(); i++) {
    jl.push_back({{"mediaType", layer_type},
                  {"size", layers[i].size()},
                  {"digest", img.layer_digests[i].str()}});
  }
  img.manifest_type = oci ? "application/vnd.oci.image.manifest.v1+json"
                          : "application/vnd.docker.distribution.manifest.v2+json";
  json m = {{"schemaVersion", 2},
            {"mediaType", img.manifest_type},
            {"config",
             {{"mediaType", oci ? "application/vnd.oci.image.config.v1+json"
                                : "application/vnd.docker.container.image.v1+json"},
              {"size", img.config.size()},
              {"digest", img.config_digest.str()}}},
            {"layers", jl}};
  img.manifest = m.dump();
  img.manifest_digest = Digest::FromBytes(img.manifest);
  return img;
}

std::string MakeIndex(const std::vector<std::pair<std::string, const TestImage*>>& entries) {
  json ms = json::array();
  for (const auto& [arch, img] : entries) {
    ms.push_back({{"mediaType", img->manifest_type},
                  {"size", img->manifest.size()},
                  {"digest", img->manifest_digest.str()},
                  {"platform", {{"os", "linux"}, {"architecture", arch}}}});
  }
  json idx = {{"schemaVersion", 2},
              {"mediaType", "application/vnd.oci.image.index.v1+json"},
              {"manifests", ms}};
  return idx.dump();
}

std::string ErrorBody(const std::string& code, const std::string& message) {
  json j = {{"errors", {{{"code", code}, {"message", message}}}}};
  return j.dump();
}

TestResponse Answer(int code, std::string body) {
  TestResponse r;
  r.status = code;
  r.body = std::move(body);
  return r;
}

Platform LinuxPlatform(const std::string& arch) {
  Platform p;
  p.os = "linux";
  p.architecture = arch;
  return p;
}

FakeRegistry::FakeRegistry()
    : server_(
          std::make_unique<TestHttpServer>([this](const TestRequest& r) { return Handle(r); })) {}

void FakeRegistry::AddImage(const std::string& repo, const std::string& tag,
                            const TestImage& image) {
  AddBlob(repo, image.config);
  for (const auto& l : image.layers) AddBlob(repo, l);
  AddManifest(repo, tag, image.manifest_type, image.manifest);
}

Digest FakeRegistry::AddManifest(const std::string& repo, const std::string& tag,
                                 const std::string& type, const std::string& body) {
  Digest d = Digest::FromBytes(body);
  std::lock_guard<std::mutex> l(mu_);
  docs_["/v2/" + repo + "/manifests/" + d.str()] = {type, body};
  if (!tag.empty()) docs_["/v2/" + repo + "/manifests/" + tag] = {type, body};
  return d;
}

void FakeRegistry::AddBlob(const std::string& repo, const std::string& body) {
  std::lock_guard<std::mutex> l(mu_);
  docs_["/v2/" + repo + "/blobs/" + Digest::FromBytes(body).str()] = {"application/octet-stream",
                                                                      body};
}

std::optional<std::string> FakeRegistry::Stored(const std::string& path) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = docs_.find(path);
  if (it == docs_.end()) return std::nullopt;
  return it->second.body;
}

TestResponse FakeRegistry::Handle(const TestRequest& r) {
  if (gate_) {
    if (auto resp = gate_(r)) return *resp;
  }
  if ((r.method == "POST" || r.method == "PATCH" || r.method == "PUT") &&
      r.path.starts_with("/v2/")) {
    for (const char* sep : {"/blobs/uploads/", "/manifests/"}) {
      if (size_t p = r.path.find(sep); p != std::string::npos) {
        return HandlePush(r, r.path.substr(4, p - 4), r.path.substr(p + 1));
      }
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  auto it = docs_.find(r.path);
  if (it == docs_.end()) {
    bool manifest = r.path.find("/manifests/") != std::string::npos;
    TestResponse resp;
    resp.status = 404;
    resp.headers.emplace_back("Content-Type", "application/json");
    resp.body = manifest ? ErrorBody("MANIFEST_UNKNOWN", "manifest unknown")
                         : ErrorBody("BLOB_UNKNOWN", "blob unknown to registry");
    return resp;
  }
  TestResponse resp;
  resp.headers.emplace_back("Content-Type", it->second.type);
  if (digest_header_) {
    resp.headers.emplace_back("Docker-Content-Digest", Digest::FromBytes(it->second.body).str());
  }
  resp.body = it->second.body;
  return resp;
}

std::string FakeRegistry::UploadLocation(const std::string& repo, const std::string& uuid) {
  // A query on the Location, as docker-registry's _state: the client must append with '&'.
  std::string loc =
      "/v2/" + repo + "/blobs/uploads/" + uuid + "?_state=" + std::to_string(uploads_[uuid].size());
  return absolute_locations_ ? server_->url() + loc : loc;
}

// Pushes: rest is "blobs/uploads/[<uuid>]" or "manifests/<reference>"; called under no lock.
TestResponse FakeRegistry::HandlePush(const TestRequest& r, const std::string& repo,
                                      const std::string& rest) {
  auto answer = [](int status, std::string body = "") {
    TestResponse resp;
    resp.status = status;
    resp.body = std::move(body);
    if (status >= 400) resp.headers.emplace_back("Content-Type", "application/json");
    return resp;
  };
  auto created = [&](const std::string& path, const Digest& d) {
    TestResponse resp = answer(201);
    resp.headers.emplace_back("Location", path);
    if (digest_header_) resp.headers.emplace_back("Docker-Content-Digest", d.str());
    return resp;
  };
  std::lock_guard<std::mutex> l(mu_);
  if (rest.starts_with("manifests/")) {
    if (r.method != "PUT") return answer(405);
    Digest d = Digest::FromBytes(r.body);
    Doc doc{r.Header("content-type"), r.body};
    docs_["/v2/" + repo + "/manifests/" + d.str()] = doc;
    docs_[r.path] = doc;
    return created("/v2/" + repo + "/manifests/" + d.str(), d);
  }
  const std::string uuid = rest.substr(std::string("blobs/uploads/").size());
  if (r.method == "POST") {
    if (!uuid.empty()) return answer(405);
    if (auto m = r.query.find("mount"); mounts_ && m != r.query.end()) {
      auto from = r.query.find("from");
      auto src = from == r.query.end() ? docs_.end()
                                       : docs_.find("/v2/" + from->second + "/blobs/" + m->second);
      if (src != docs_.end()) {
        std::string path = "/v2/" + repo + "/blobs/" + m->second;
        docs_[path] = src->second;
        return created(path, Digest::FromBytes(src->second.body));
      }
    }
    std::string id = "u" + std::to_string(next_upload_++);
    uploads_[id] = "";
    TestResponse resp = answer(202);
    resp.headers.emplace_back("Location", UploadLocation(repo, id));
    resp.headers.emplace_back("Docker-Upload-UUID", id);
    resp.headers.emplace_back("Range", "0-0");
    return resp;
  }
  auto up = uploads_.find(uuid);
  if (up == uploads_.end()) {
    return answer(404, ErrorBody("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry"));
  }
  if (std::string range = r.Header("content-range"); !range.empty()) {
    if (std::strtoull(range.c_str(), nullptr, 10) != up->second.size()) {
      return answer(416, ErrorBody("BLOB_UPLOAD_INVALID", "bad Content-Range " + range));
    }
  }
  up->second += r.body;
  if (r.method == "PATCH") {
    TestResponse resp = answer(202);
    resp.headers.emplace_back("Location", UploadLocation(repo, uuid));
    resp.headers.emplace_back("Range", "0-" + std::to_string(up->second.size() - 1));
    return resp;
  }
  if (r.method != "PUT") return answer(405);
  Digest d = Digest::FromBytes(up->second);
  auto want = r.query.find("digest");
  if (want == r.query.end() || want->second != d.str()) {
    uploads_.erase(up);
    return answer(400,
                  ErrorBody("DIGEST_INVALID", "provided digest did not match uploaded content"));
  }
  std::string path = "/v2/" + repo + "/blobs/" + d.str();
  docs_[path] = {"application/octet-stream", std::move(up->second)};
  uploads_.erase(up);
  return created(path, d);
}

}  // namespace kiln::registry::testing
