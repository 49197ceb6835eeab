#include "registry/testing/fake_registry.h"

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
  docs_["/v2/" + repo + "/manifests/" + d.str()] = {type, body};
  if (!tag.empty()) docs_["/v2/" + repo + "/manifests/" + tag] = {type, body};
  return d;
}

void FakeRegistry::AddBlob(const std::string& repo, const std::string& body) {
  docs_["/v2/" + repo + "/blobs/" + Digest::FromBytes(body).str()] = {"application/octet-stream",
                                                                      body};
}

TestResponse FakeRegistry::Handle(const TestRequest& r) {
  if (gate_) {
    if (auto resp = gate_(r)) return *resp;
  }
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

}  // namespace kiln::registry::testing
