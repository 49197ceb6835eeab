#include "client/docker_config.h"

#include <fcntl.h>
#include <pwd.h>
#include <strings.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <vector>

#include "util/base64.h"

namespace kiln::client {

namespace {

using json = nlohmann::json;

// Records where parsing failed; nlohmann's non-throwing parse only says that it failed.
struct ErrorSax : nlohmann::json_sax<json> {
  std::string message;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    message = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 9: ..."
    if (auto p = message.find("] "); message.starts_with("[json.") && p != std::string::npos) {
      message = message.substr(p + 2);
    }
    return false;
  }
};

// The value of field `name`, matched as Go's encoding/json does: exactly, else ignoring case.
const json* Field(const json& obj, const char* name) {
  if (auto it = obj.find(name); it != obj.end()) return &*it;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (strcasecmp(it.key().c_str(), name) == 0) return &*it;
  }
  return nullptr;
}

// A string field ("" when absent or null). False when it holds something else.
bool StringField(const json& obj, const char* name, std::string* out) {
  const json* v = Field(obj, name);
  if (v == nullptr || v->is_null()) return true;
  if (!v->is_string()) return false;
  *out = v->get<std::string>();
  return true;
}

Status Bad(const std::string& path, const std::string& what) {
  return InvalidArgument(path + ": " + what);
}

std::string Quoted(const std::string& s) { return json(s).dump(); }

// docker's decodeAuth: base64 of "user:password", the user not empty, NULs trimmed off the
// password.
bool DecodeAuth(const std::string& auth, DockerAuthEntry* e) {
  std::optional<std::string> decoded = Base64Decode(auth);
  if (!decoded) return false;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0) return false;
  e->username = decoded->substr(0, colon);
  std::string pw = decoded->substr(colon + 1);
  size_t b = pw.find_first_not_of('\0');
  size_t end = pw.find_last_not_of('\0');
  e->password = b == std::string::npos ? "" : pw.substr(b, end - b + 1);
  return true;
}

Result<DockerAuthEntry> ParseEntry(const json& v, const std::string& path, const std::string& key) {
  const std::string where = "auths[" + Quoted(key) + "]";
  DockerAuthEntry e;
  if (v.is_null()) return e;
  if (!v.is_object()) return Bad(path, where + " is not an object");
  std::string auth;
  for (auto [name, out] : {std::pair<const char*, std::string*>{"username", &e.username},
                           {"password", &e.password},
                           {"identitytoken", &e.identity_token},
                           {"auth", &auth}}) {
    if (!StringField(v, name, out)) return Bad(path, where + "." + name + " is not a string");
  }
  if (!auth.empty() && !DecodeAuth(auth, &e)) {
    return Bad(path, where + ".auth is not the base64 of \"user:password\"");
  }
  return e;
}

}  // namespace

Result<DockerConfig> ParseDockerConfig(std::string_view text, const std::string& path) {
  DockerConfig c;
  c.path = path;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return c;  // docker: EOF is OK
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) {
    ErrorSax sax;
    json::sax_parse(text, &sax);
    return Bad(path, "invalid JSON: " + (sax.message.empty() ? "parse error" : sax.message));
  }
  if (!doc.is_object()) return Bad(path, "not a JSON object");

  if (const json* auths = Field(doc, "auths"); auths != nullptr && !auths->is_null()) {
    if (!auths->is_object()) return Bad(path, "\"auths\" is not an object");
    for (auto it = auths->begin(); it != auths->end(); ++it) {
      KILN_ASSIGN_OR_RETURN(c.auths[it.key()], ParseEntry(it.value(), path, it.key()));
    }
  }
  if (!StringField(doc, "credsStore", &c.creds_store)) {
    return Bad(path, "\"credsStore\" is not a string");
  }
  if (const json* helpers = Field(doc, "credHelpers"); helpers != nullptr && !helpers->is_null()) {
    if (!helpers->is_object()) return Bad(path, "\"credHelpers\" is not an object");
    for (auto it = helpers->begin(); it != helpers->end(); ++it) {
      if (!it.value().is_string()) {
        return Bad(path, "credHelpers[" + Quoted(it.key()) + "] is not a string");
      }
      c.cred_helpers[it.key()] = it.value().get<std::string>();
    }
  }
  return c;
}

Result<DockerConfig> LoadDockerConfig(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      DockerConfig empty;
      empty.path = path;
      return empty;
    }
    return ErrnoStatus(errno, "read docker config " + path);
  }
  std::string data;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return ErrnoStatus(err, "read docker config " + path);
    }
    if (n == 0) break;
    data.append(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return ParseDockerConfig(data, path);
}

std::string DockerConfigPath(const std::function<const char*(const char*)>& getenv) {
  if (const char* dir = getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0') {
    return std::string(dir) + "/config.json";
  }
  std::string home;
  if (const char* h = getenv("HOME"); h != nullptr && *h != '\0') {
    home = h;
  } else {
    passwd pw;
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (getpwuid_r(getuid(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
      home = found->pw_dir;
    }
  }
  return home + "/.docker/config.json";
}

std::string DockerConfigKey(std::string_view host) {
  if (host == "registry-1.docker.io" || host == "docker.io" || host == "index.docker.io") {
    return kDockerHubConfigKey;
  }
  return std::string(host);
}

std::optional<DockerAuthEntry> FindAuthEntry(const DockerConfig& config, const std::string& key) {
  if (auto it = config.auths.find(key); it != config.auths.end()) return it->second;
  for (const auto& [k, entry] : config.auths) {
    std::string_view h = k;
    if (h.starts_with("http://")) h.remove_prefix(7);
    if (h.starts_with("https://")) h.remove_prefix(8);
    h = h.substr(0, h.find('/'));
    if (h == key) return entry;
  }
  return std::nullopt;
}

std::string CredentialHelperFor(const DockerConfig& config, const std::string& key) {
  if (auto it = config.cred_helpers.find(key); it != config.cred_helpers.end()) return it->second;
  return config.creds_store;
}

}  // namespace kiln::client
