#include "exporter/exporter.h"

#include <sys/stat.h>
#include <unistd.h>

#include "exporter/export_progress.h"
#include "exporter/image_exporter.h"
#include "session/filesync.h"
#include "util/digest.h"
#include "util/fs_copy.h"
#include "util/tar_writer.h"

namespace kiln::exporter {

namespace {

// An empty directory standing in for a scratch result.
class EmptyDir {
 public:
  EmptyDir() {
    char tmpl[] = "/tmp/kiln-empty-XXXXXX";
    if (mkdtemp(tmpl)) path_ = tmpl;
  }
  ~EmptyDir() {
    if (!path_.empty()) rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class LocalExporter : public Exporter {
 public:
  Result<std::map<std::string, std::string>> Export(const Context& ctx,
                                                    const ExportRequest& req) override {
    if (!req.session) return FailedPrecondition("local export needs a client session");
    ExportProgress p(req, "exporting to client directory");
    std::unique_ptr<snapshot::Mount> mnt;
    EmptyDir empty;
    std::string src = empty.path();
    if (req.ref.valid()) {
      KILN_ASSIGN_OR_RETURN(mnt, req.ref.Mount());
      src = mnt->path();
    }
    fsutil::SendStats stats;
    Status s = session::SendDirToClient(ctx, *req.session, req.index, src, &stats);
    p.vp().Status("copying files", stats.bytes_sent, 0, true);
    p.vp().Completed(false, s);
    if (!s.ok()) return s;
    return std::map<std::string, std::string>{};
  }
};

class TarExporter : public Exporter {
 public:
  Result<std::map<std::string, std::string>> Export(const Context& ctx,
                                                    const ExportRequest& req) override {
    if (!req.session) return FailedPrecondition("tar export needs a client session");
    ExportProgress p(req, "exporting to client tarball");
    std::unique_ptr<snapshot::Mount> mnt;
    EmptyDir empty;
    std::string src = empty.path();
    if (req.ref.valid()) {
      KILN_ASSIGN_OR_RETURN(mnt, req.ref.Mount());
      src = mnt->path();
    }
    Status s = SendTarball(ctx, req, {}, p.vp(), [&](const ByteSink& sink) {
      return WriteTreeTar(ctx, src, TarOptions{}, sink);
    });
    p.vp().Completed(false, s);
    if (!s.ok()) return s;
    return std::map<std::string, std::string>{};
  }
};

}  // namespace

Status SendTarball(const Context& ctx, const ExportRequest& req,
                   const std::map<std::string, std::string>& md, solver::VertexProgress& vp,
                   const std::function<Status(const ByteSink& sink)>& produce) {
  auto w = session::OpenFileSend(ctx, *req.session, req.index, md);
  if (!w.ok()) return w.status();
  // Buffer into 1 MiB messages rather than one per tar block.
  std::string buf;
  int64_t total = 0;
  auto flush = [&]() -> Status {
    if (buf.empty()) return Status::Ok();
    Status s = (*w)->Write(buf);
    total += static_cast<int64_t>(buf.size());
    buf.clear();
    vp.Status("sending tarball", total, 0, false);
    return s;
  };
  vp.Status("sending tarball", 0, 0, false);
  Status s = produce([&](std::string_view data) -> Status {
    buf.append(data);
    if (buf.size() >= (1 << 20)) return flush();
    return Status::Ok();
  });
  if (s.ok()) s = flush();
  if (s.ok()) s = (*w)->Close();
  vp.Status("sending tarball", total, 0, true);
  return s;
}

Result<std::unique_ptr<Exporter>> New(const std::string& type, const Deps& deps) {
  if (type == "local") return std::unique_ptr<Exporter>(new LocalExporter());
  if (type == "tar") return std::unique_ptr<Exporter>(new TarExporter());
  if (type == "image" || type == "moby") return NewImageExporter(ImageExporterKind::kImage, deps);
  if (type == "oci") return NewImageExporter(ImageExporterKind::kOCI, deps);
  if (type == "docker") return NewImageExporter(ImageExporterKind::kDocker, deps);
  return InvalidArgument("unknown exporter type \"" + type + "\"");
}

}  // namespace kiln::exporter
