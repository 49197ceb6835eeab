#include "client/oci_index.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "client/atomic_file.h"
#include "client/go_format.h"
#include "util/base64.h"
#include "util/go_json.h"
#include "util/go_quote.h"

namespace kiln::client {

namespace {

using Json = nlohmann::ordered_json;

constexpr char kImageNameAnnotation[] = "io.containerd.image.name";
constexpr char kRefNameAnnotation[] = "org.opencontainers.image.ref.name";
constexpr char kIndexMediaType[] = "application/vnd.oci.image.index.v1+json";
constexpr char kLayout[] = R"({"imageLayoutVersion":"1.0.0"})";

bool IsSet(const Json& in, const char* key) {
  auto it = in.find(key);
  return it != in.end() && !it->is_null();
}

Status TypeError(const char* key) {
  return InvalidArgument(fmt::format("json: cannot unmarshal field {}", GoQuote(key)));
}

// The Go encodings of one field: `omitempty` leaves out zero values; without it a missing
// field is written as its zero value.
Status String(const Json& in, Json& out, const char* key, bool omitempty) {
  if (!IsSet(in, key)) {
    if (!omitempty) out[key] = "";
    return Status::Ok();
  }
  if (!in[key].is_string()) return TypeError(key);
  if (!omitempty || !in[key].get_ref<const std::string&>().empty()) out[key] = in[key];
  return Status::Ok();
}

Status Int(const Json& in, Json& out, const char* key) {
  if (!IsSet(in, key)) {
    out[key] = 0;
    return Status::Ok();
  }
  if (!in[key].is_number_integer()) return TypeError(key);
  out[key] = in[key];
  return Status::Ok();
}

Status StringList(const Json& in, Json& out, const char* key) {
  if (!IsSet(in, key)) return Status::Ok();
  if (!in[key].is_array()) return TypeError(key);
  for (const Json& v : in[key]) {
    if (!v.is_string()) return TypeError(key);
  }
  if (!in[key].empty()) out[key] = in[key];
  return Status::Ok();
}

Result<std::map<std::string, std::string>> StringMap(const Json& in, const char* key) {
  std::map<std::string, std::string> m;
  if (!IsSet(in, key)) return m;
  if (!in[key].is_object()) return TypeError(key);
  for (const auto& [k, v] : in[key].items()) {
    if (!v.is_string()) return TypeError(key);
    m[k] = v.get<std::string>();
  }
  return m;
}

Status SortedMap(const Json& in, Json& out, const char* key) {
  KILN_ASSIGN_OR_RETURN(auto m, StringMap(in, key));
  if (m.empty()) return Status::Ok();
  Json obj = Json::object();
  for (const auto& [k, v] : m) obj[k] = v;  // Go sorts map keys
  out[key] = std::move(obj);
  return Status::Ok();
}

Result<Json> GoPlatform(const Json& in) {
  if (!in.is_object()) return TypeError("platform");
  Json out = Json::object();
  KILN_RETURN_IF_ERROR(String(in, out, "architecture", false));
  KILN_RETURN_IF_ERROR(String(in, out, "os", false));
  KILN_RETURN_IF_ERROR(String(in, out, "os.version", true));
  KILN_RETURN_IF_ERROR(StringList(in, out, "os.features"));
  KILN_RETURN_IF_ERROR(String(in, out, "variant", true));
  return out;
}

// ocispecs.Descriptor as Go decodes and encodes it.
Result<Json> GoDescriptor(const Json& in) {
  if (!in.is_object()) return InvalidArgument("json: a descriptor is not an object");
  Json out = Json::object();
  KILN_RETURN_IF_ERROR(String(in, out, "mediaType", false));
  KILN_RETURN_IF_ERROR(String(in, out, "digest", false));
  KILN_RETURN_IF_ERROR(Int(in, out, "size"));
  KILN_RETURN_IF_ERROR(StringList(in, out, "urls"));
  KILN_RETURN_IF_ERROR(SortedMap(in, out, "annotations"));
  if (IsSet(in, "data")) {
    if (!in["data"].is_string() || !Base64Decode(in["data"].get<std::string>())) {
      return TypeError("data");
    }
    if (!in["data"].get_ref<const std::string&>().empty()) out["data"] = in["data"];
  }
  if (IsSet(in, "platform")) {
    KILN_ASSIGN_OR_RETURN(out["platform"], GoPlatform(in["platform"]));
  }
  KILN_RETURN_IF_ERROR(String(in, out, "artifactType", true));
  return out;
}

// ocispecs.Index as Go decodes it, with setOCIIndexDefaults applied.
Result<Json> GoIndex(const Json& in) {
  if (!in.is_object()) return InvalidArgument("json: the index is not an object");
  Json out = Json::object();
  KILN_RETURN_IF_ERROR(Int(in, out, "schemaVersion"));
  if (out["schemaVersion"] == 0) out["schemaVersion"] = 2;
  KILN_RETURN_IF_ERROR(String(in, out, "mediaType", true));
  if (!out.contains("mediaType")) out["mediaType"] = kIndexMediaType;
  KILN_RETURN_IF_ERROR(String(in, out, "artifactType", true));
  Json manifests = Json::array();
  if (IsSet(in, "manifests")) {
    if (!in["manifests"].is_array()) return TypeError("manifests");
    for (const Json& m : in["manifests"]) {
      KILN_ASSIGN_OR_RETURN(Json d, GoDescriptor(m));
      manifests.push_back(std::move(d));
    }
  }
  out["manifests"] = std::move(manifests);
  if (IsSet(in, "subject")) {
    KILN_ASSIGN_OR_RETURN(out["subject"], GoDescriptor(in["subject"]));
  }
  KILN_RETURN_IF_ERROR(SortedMap(in, out, "annotations"));
  return out;
}

std::string Annotation(const Json& desc, const char* key) {
  auto it = desc.find("annotations");
  if (it == desc.end() || !it->contains(key)) return "";
  return (*it)[key].get<std::string>();
}

// ociindex's insertDesc: one entry for `name`, replacing those with the same pair of names.
Status InsertDesc(Json& index, const Json& desc, const IndexName* name) {
  Json entry = desc;
  if (name != nullptr) {
    std::string img = name->is_tag ? "" : name->value;
    std::string ref = name->is_tag ? name->value : OciReferenceName(name->value);
    if (!entry.contains("annotations")) entry["annotations"] = Json::object();
    if (!img.empty()) entry["annotations"][kImageNameAnnotation] = img;
    entry["annotations"][kRefNameAnnotation] = ref;
    KILN_ASSIGN_OR_RETURN(entry, GoDescriptor(entry));  // re-sorts the annotations
    Json kept = Json::array();
    for (Json& m : index["manifests"]) {
      if (Annotation(m, kRefNameAnnotation) != ref || Annotation(m, kImageNameAnnotation) != img) {
        kept.push_back(std::move(m));
      }
    }
    index["manifests"] = std::move(kept);
  }
  index["manifests"].push_back(std::move(entry));
  return Status::Ok();
}

std::string Dump(const Json& j) {
  return EscapeJsonLikeGo(j.dump(-1, ' ', false, Json::error_handler_t::replace));
}

// index.json.lock, taken without waiting and removed afterwards (as buildctl's flock).
class IndexLock {
 public:
  static Result<IndexLock> Take(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus(errno, "could not lock " + path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) return Unavailable("could not lock " + path);
      return ErrnoStatus(err, "could not lock " + path);
    }
    return IndexLock(path, fd);
  }
  IndexLock(IndexLock&& o) noexcept : path_(std::move(o.path_)), fd_(std::exchange(o.fd_, -1)) {}
  IndexLock(const IndexLock&) = delete;  // one owner unlocks
  IndexLock& operator=(const IndexLock&) = delete;
  IndexLock& operator=(IndexLock&&) = delete;
  ~IndexLock() {
    if (fd_ < 0) return;
    ::unlink(path_.c_str());
    ::close(fd_);
  }

 private:
  IndexLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

Result<Json> ReadIndex(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0) {
    if (errno == ENOENT) return Json::object();
    return ErrnoStatus(errno, "could not read " + path);
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return InvalidArgument("could not read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string data = ss.str();
  if (data.empty()) return Json::object();
  Json parsed = Json::parse(data, nullptr, /*allow_exceptions=*/false);
  Result<Json> idx =
      parsed.is_discarded() ? Result<Json>(InvalidArgument("invalid JSON")) : GoIndex(parsed);
  if (!idx.ok()) {
    return InvalidArgument(fmt::format("could not unmarshal {} ({}): {}", path, GoQuote(data),
                                       idx.status().message()));
  }
  return idx;
}

}  // namespace

std::string OciReferenceName(std::string_view name) {
  // containerd's reference.Parse over url.Parse("dummy://" + name); on failure, the name.
  if (name.find("://") != std::string_view::npos) return std::string(name);
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return std::string(name);  // "invalid control character"
  }
  std::string_view rest = name.substr(0, name.find_first_of("?#"));
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  std::string_view host = authority.substr(authority.rfind('@') + 1);  // npos + 1 == 0
  if (host.empty()) return std::string(name);
  for (unsigned char c : host) {  // url's host characters (and UTF-8)
    if (c < 0x80 && !isalnum(c) &&
        std::string_view("-._~!$&'()*+,;=:[]<>\"%").find(c) == std::string_view::npos) {
      return std::string(name);
    }
  }
  if (host.front() != '[') {
    size_t colon = host.rfind(':');
    if (colon != std::string_view::npos &&
        host.substr(colon + 1).find_first_not_of("0123456789") != std::string_view::npos) {
      return std::string(name);  // "invalid port"
    }
  }
  size_t split = path.find_first_of(":@");
  if (split == std::string_view::npos) return "";
  std::string_view object = path.substr(split);
  if (object.front() == ':') object.remove_prefix(1);
  return std::string(object);
}

Status PutIndex(const std::string& dir, std::string_view descriptor_json,
                const std::vector<IndexName>& names) {
  Json parsed = Json::parse(descriptor_json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgument("image descriptor: invalid JSON");
  auto desc = GoDescriptor(parsed);
  if (!desc.ok()) return desc.status().Annotate("image descriptor");

  const std::string index_path = dir + "/index.json";
  KILN_ASSIGN_OR_RETURN(IndexLock lock, IndexLock::Take(index_path + ".lock"));
  KILN_RETURN_IF_ERROR(WriteFileAtomic(dir + "/oci-layout", kLayout, 0644));
  KILN_ASSIGN_OR_RETURN(Json index, ReadIndex(index_path));
  KILN_ASSIGN_OR_RETURN(index, GoIndex(index));  // defaults for a new index
  if (names.empty()) {
    KILN_RETURN_IF_ERROR(InsertDesc(index, *desc, nullptr));
  }
  for (const IndexName& n : names) {
    KILN_RETURN_IF_ERROR(InsertDesc(index, *desc, &n));
  }
  Status st = WriteFileAtomic(index_path, Dump(index), 0644);
  if (!st.ok()) return st.Annotate("could not write " + index_path);
  return Status::Ok();
}

Status UpdateOciLayout(const std::string& dir,
                       const std::map<std::string, std::string>& exporter_response) {
  auto it = exporter_response.find("containerimage.descriptor");
  if (it == exporter_response.end() || it->second.empty()) return Status::Ok();
  std::optional<std::string> desc = Base64Decode(it->second);
  if (!desc) return InvalidArgument("containerimage.descriptor of the exporter is not base64");
  std::vector<IndexName> names = {{"latest", true}};
  if (auto n = exporter_response.find("image.name"); n != exporter_response.end()) {
    names.clear();
    std::string_view rest = n->second;
    for (;;) {  // strings.Split: "" gives one empty name
      size_t comma = rest.find(',');
      names.push_back({std::string(rest.substr(0, comma)), false});
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return PutIndex(dir, *desc, names);
}

}  // namespace kiln::client
