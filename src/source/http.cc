#include "source/http.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "util/fd_io.h"
#include "util/log.h"

namespace kiln::source {

namespace {

constexpr char kValueKey[] = "http";
constexpr char kTempName[] = ".kiln-http-download";

// Go's http.ParseTime: RFC 1123, RFC 850 and asctime dates, as unix seconds.
std::optional<time_t> ParseHttpDate(const std::string& s) {
  for (const char* fmt :
       {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"}) {
    struct tm tm = {};
    const char* end = strptime(s.c_str(), fmt, &tm);
    if (end != nullptr && *end == '\0') return timegm(&tm);
  }
  return std::nullopt;
}

// A weak validator compares as the strong one (BuildKit's etagValue).
std::string EtagValue(std::string v) { return v.rfind("W/", 0) == 0 ? v.substr(2) : v; }

// Writes the body into the ref's directory, hashing it on the way.
class BodyWriter {
 public:
  explicit BodyWriter(int fd) : fd_(fd) {}
  ~BodyWriter() {
    if (fd_ >= 0) close(fd_);
  }
  BodyWriter(const BodyWriter&) = delete;
  BodyWriter& operator=(const BodyWriter&) = delete;

  Status Write(std::string_view chunk) {
    hash_.Update(chunk);
    bytes_ += static_cast<int64_t>(chunk.size());
    return WriteAll(fd_, chunk).Annotate("save the download");
  }
  Status Close() {
    int fd = fd_;
    fd_ = -1;
    if (close(fd) != 0) return ErrnoStatus(errno, "close the downloaded file");
    return Status::Ok();
  }
  Digest Final() { return hash_.Final(); }
  int64_t bytes() const { return bytes_; }

 private:
  int fd_;
  Sha256 hash_;
  int64_t bytes_ = 0;
};

// Names the file, sets its owner, mode and mtime (Last-Modified, else the epoch, as BuildKit).
Status FinishFile(const std::string& dir, const std::string& name, const HttpIdentifier& id,
                  const std::string& last_modified) {
  std::string tmp = dir + "/" + kTempName;
  std::string path = dir + "/" + name;
  if (rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus(errno, "name " + name);
  if ((id.uid != 0 || id.gid != 0) && lchown(path.c_str(), id.uid, id.gid) != 0) {
    return ErrnoStatus(errno, fmt::format("chown {} to {}:{}", name, id.uid, id.gid));
  }
  if (chmod(path.c_str(), id.perm) != 0) return ErrnoStatus(errno, "chmod " + name);
  time_t mtime = 0;
  if (auto t = ParseHttpDate(last_modified)) mtime = *t;
  struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
  if (utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "set the mtime of " + name);
  }
  return Status::Ok();
}

// The Authorization header from the client's secrets, "" when none applies. Secret values
// never reach a message or the log.
Result<std::string> Authorization(const Context& ctx, const HttpIdentifier& id,
                                  const SecretFn& secrets) {
  std::string header;
  for (const auto& s : HttpAuthSecrets(id)) {
    Result<std::string> v = secrets ? secrets(s.id) : Result<std::string>(NotFound("no session"));
    KILN_RETURN_IF_ERROR(ctx.Err());
    if (!v.ok()) {
      if (s.required) {
        return v.status().Annotate("failed to retrieve HTTP auth secret " + s.id);
      }
      continue;
    }
    if (v->find_first_of("\r\n") != std::string::npos) {
      return InvalidArgument("HTTP auth secret " + s.id + " holds a line break");
    }
    header = s.token ? "Bearer " + *v : *v;
  }
  return header;
}

Status DigestMismatch(const HttpIdentifier& id, const Digest& got) {
  return InvalidArgument(fmt::format("digest mismatch for {}: downloaded {}, expected {}", id.url,
                                     got.str(), id.checksum.str()));
}

}  // namespace

// An earlier download of this source that had an ETag, with its ref held.
struct HttpSource::Known {
  std::string etag;
  HttpResult result;
};

std::string HttpSource::IfNoneMatch(const std::vector<Known>& known) {
  std::string etags;
  for (const auto& k : known) etags += (etags.empty() ? "" : ", ") + k.etag;
  return etags;
}

registry::HttpRequest HttpSource::NewRequest(const HttpIdentifier& id, const std::string& method,
                                             const std::string& auth) const {
  registry::HttpRequest req;
  req.method = method;
  req.url = id.url;
  req.headers = id.headers;
  if (!auth.empty()) req.headers.emplace_back("Authorization", auth);
  req.connect_timeout = opts_.connect_timeout;
  req.stall_timeout = opts_.stall_timeout;
  return req;
}

Result<HttpResult> HttpSource::Fetch(const Context& ctx, const HttpIdentifier& id,
                                     solver::VertexProgress* progress, const SecretFn& secrets) {
  KILN_ASSIGN_OR_RETURN(std::string auth, Authorization(ctx, id, secrets));
  std::vector<Known> known;
  KILN_ASSIGN_OR_RETURN(auto values, cache_->SearchValues(HttpUrlHash(id)));
  for (const auto& v : values) {
    if (v.key != kValueKey) continue;
    auto j = nlohmann::json::parse(v.value, nullptr, false);
    auto str = [&j](const char* key) {
      auto it = j.is_object() ? j.find(key) : j.end();
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    auto digest = Digest::Parse(str("digest"));
    if (str("etag").empty() || str("filename").empty() || !digest.ok()) continue;
    auto ref = cache_->Get(v.ref_id);
    if (!ref.ok()) continue;
    Known k;
    k.etag = str("etag");
    k.result.content = *digest;
    k.result.filename = str("filename");
    k.result.last_modified = str("modtime");
    k.result.ref = std::move(*ref);
    // A pinned checksum only accepts the download that has it.
    if (!id.checksum.empty() && k.result.content != id.checksum) continue;
    known.push_back(std::move(k));
  }
  if (!known.empty()) {
    // Some servers answer If-None-Match wrongly though they send ETags: ask with HEAD first and
    // compare the ETag ourselves (as BuildKit does); any failure falls through to the GET.
    registry::HttpRequest head = NewRequest(id, "HEAD", auth);
    head.headers.emplace_back("If-None-Match", IfNoneMatch(known));
    auto resp = client_->Do(ctx, head);
    KILN_RETURN_IF_ERROR(ctx.Err());
    if (resp.ok() && (resp->status == 200 || resp->status == 304)) {
      std::string etag = EtagValue(resp->Header("etag"));
      if (etag.empty() && known.size() == 1 && resp->status == 304) etag = known[0].etag;
      for (auto& k : known) {
        if (k.etag == etag) return std::move(k.result);
      }
    }
  }
  return Download(ctx, id, known, auth, progress);
}

Result<HttpResult> HttpSource::Download(const Context& ctx, const HttpIdentifier& id,
                                        const std::vector<Known>& known, const std::string& auth,
                                        solver::VertexProgress* progress) {
  KILN_ASSIGN_OR_RETURN(cache::MutableRef mut, cache_->New(ctx, nullptr, "http url " + id.url));
  KILN_ASSIGN_OR_RETURN(auto mount, mut.Mount());
  std::string dir = mount->path();
  int fd = open((dir + "/" + kTempName).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "create the download of " + id.url);
  BodyWriter body(fd);

  registry::HttpRequest get = NewRequest(id, "GET", auth);
  if (!known.empty()) get.headers.emplace_back("If-None-Match", IfNoneMatch(known));
  std::string status_id = "downloading " + id.url;
  get.on_body = [&](std::string_view chunk) {
    KILN_RETURN_IF_ERROR(body.Write(chunk));
    if (progress) progress->Status(status_id, body.bytes(), 0, false);
    return Status::Ok();
  };
  auto resp = client_->Do(ctx, get);
  if (!resp.ok()) return resp.status().Annotate("download " + id.url);
  if (resp->status == 304) {
    std::string etag = EtagValue(resp->Header("etag"));
    if (etag.empty() && known.size() == 1) etag = known[0].etag;
    for (const auto& k : known) {
      if (k.etag == etag) return k.result;  // `mut` is discarded
    }
    return Unavailable(
        fmt::format("download {}: the server answered 304 Not Modified with "
                    "ETag \"{}\", which no earlier download had",
                    id.url, etag));
  }
  if (resp->status < 200 || resp->status >= 300) {
    return Unavailable(fmt::format("download {}: the server answered with HTTP status {}",
                                   resp->url.empty() ? id.url : resp->url, resp->status));
  }
  KILN_RETURN_IF_ERROR(body.Close());
  HttpResult r;
  r.content = body.Final();
  r.downloaded = true;
  if (progress) progress->Status(status_id, body.bytes(), body.bytes(), true);
  if (!id.checksum.empty() && r.content != id.checksum) return DigestMismatch(id, r.content);
  r.filename = HttpFileName(id, resp->Header("content-disposition"));
  r.last_modified = resp->Header("last-modified");
  KILN_RETURN_IF_ERROR(FinishFile(dir, r.filename, id, r.last_modified));
  mount.reset();
  KILN_ASSIGN_OR_RETURN(r.ref, mut.Commit());
  if (std::string etag = EtagValue(resp->Header("etag")); !etag.empty()) {
    nlohmann::json j = {{"etag", etag},
                        {"digest", r.content.str()},
                        {"filename", r.filename},
                        {"modtime", r.last_modified}};
    Status s = cache_->SetValue(r.ref.id(), kValueKey, j.dump(), HttpUrlHash(id));
    if (!s.ok()) log::Warn("remembering the ETag of {}: {}", id.url, s.message());
  }
  return r;
}

}  // namespace kiln::source
