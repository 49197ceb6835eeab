#include "exporter/exporter.h"

#include <sys/stat.h>
#include <unistd.h>

#include "session/filesync.h"
#include "util/digest.h"
#include "util/fs_copy.h"
#include "util/tar_writer.h"

namespace kiln::exporter {

namespace {

// A vertex of our own for the export step, with one status line.
class ExportProgress {
 public:
  ExportProgress(const ExportRequest& req, const std::string& name)
      : vp_(req.progress ? req.progress : &null_,
            solver::VertexEvent{Digest::FromBytes(name + "\n" + req.job_id + "\n" +
                                                  std::to_string(req.index)).str(),
                                name, {}, false, {}, {}, {}}) {
    vp_.Started();
  }
  solver::VertexProgress& vp() { return vp_; }

 private:
  class Null : public solver::ProgressSink {
   public:
    void Write(solver::ProgressEvent) override {}
  } null_;
  solver::VertexProgress vp_;
};

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
  Result<std::map<std::string, std::string>> Export(const Context& ctx, const ExportRequest& req) override {
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
  Result<std::map<std::string, std::string>> Export(const Context& ctx, const ExportRequest& req) override {
    if (!req.session) return FailedPrecondition("tar export needs a client session");
    ExportProgress p(req, "exporting to client tarball");
    std::unique_ptr<snapshot::Mount> mnt;
    EmptyDir empty;
    std::string src = empty.path();
    if (req.ref.valid()) {
      KILN_ASSIGN_OR_RETURN(mnt, req.ref.Mount());
      src = mnt->path();
    }
    auto w = session::OpenFileSend(ctx, *req.session, req.index, {});
    if (!w.ok()) {
      p.vp().Completed(false, w.status());
      return w.status();
    }
    // Buffer into 1 MiB messages rather than one per tar block.
    std::string buf;
    int64_t total = 0;
    auto flush = [&]() -> Status {
      if (buf.empty()) return Status::Ok();
      Status s = (*w)->Write(buf);
      total += static_cast<int64_t>(buf.size());
      buf.clear();
      p.vp().Status("sending tarball", total, 0, false);
      return s;
    };
    Status s = WriteTreeTar(ctx, src, TarOptions{}, [&](std::string_view data) -> Status {
      buf.append(data);
      if (buf.size() >= (1 << 20)) return flush();
      return Status::Ok();
    });
    if (s.ok()) s = flush();
    if (s.ok()) s = (*w)->Close();
    p.vp().Status("sending tarball", total, 0, true);
    p.vp().Completed(false, s);
    if (!s.ok()) return s;
    return std::map<std::string, std::string>{};
  }
};

}  // namespace

Result<std::unique_ptr<Exporter>> New(const std::string& type) {
  if (type == "local") return std::unique_ptr<Exporter>(new LocalExporter());
  if (type == "tar") return std::unique_ptr<Exporter>(new TarExporter());
  if (type == "image" || type == "oci" || type == "docker" || type == "moby") {
    return Unimplemented("exporter \"" + type + "\" is not implemented yet in kiln (local and tar are)");
  }
  return InvalidArgument("unknown exporter type \"" + type + "\"");
}

}  // namespace kiln::exporter
