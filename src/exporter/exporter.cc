#include "exporter/exporter.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "exporter/export_progress.h"
#include "exporter/image_exporter.h"
#include "exporter/platform_refs.h"
#include "session/filesync.h"
#include "util/digest.h"
#include "util/fs_copy.h"
#include "util/go_strconv.h"
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

// The files of a multi-platform result in one temporary directory, as BuildKit's local
// exporter lays them out: with platform-split (the default) each platform's tree in a
// directory named after it ("linux_arm64/"), else all trees merged at the top, where a file
// two platforms both have is an error. The trees are copied (CopyTree keeps everything).
class PlatformTree {
 public:
  ~PlatformTree() {
    if (!dir_.path().empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_.path(), ec);
    }
  }
  Status Make(const Context& ctx, const ExportRequest& req) {
    if (dir_.path().empty()) return Internal("cannot make a temporary directory");
    bool split = true;
    if (auto it = req.attrs.find("platform-split"); it != req.attrs.end()) {
      auto b = GoParseBool(it->second);
      if (!b.ok()) return InvalidArgument("non-bool value for platform-split: " + it->second);
      split = *b;
    }
    KILN_ASSIGN_OR_RETURN(std::vector<PlatformRef> platforms, PlatformRefs(req));
    std::map<std::string, std::string> owner;  // merged: path -> the platform it came from
    for (const auto& p : platforms) {
      std::string dst = dir_.path();
      if (split) {
        dst += "/" + PlatformDirName(p.platform.id);
        if (::mkdir(dst.c_str(), 0755) != 0) return Internal("mkdir " + dst);
      }
      if (!p.ref.valid()) continue;
      KILN_ASSIGN_OR_RETURN(auto mnt, p.ref.Mount());
      if (!split) {
        std::error_code ec;
        std::vector<std::string> files;  // sorted, so the error names the first clash
        for (auto it = std::filesystem::recursive_directory_iterator(mnt->path(), ec);
             !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
          if (it->is_directory(ec) && !it->is_symlink(ec)) continue;
          files.push_back(it->path().lexically_relative(mnt->path()).string());
        }
        if (ec) return Internal("walk " + mnt->path() + ": " + ec.message());
        std::sort(files.begin(), files.end());
        for (const auto& rel : files) {
          auto [prev, inserted] = owner.emplace(rel, p.platform.id);
          if (!inserted) {
            return InvalidArgument("cannot overwrite " + rel + " from " + prev->second + " with " +
                                   p.platform.id + " when split option is disabled");
          }
        }
      }
      KILN_RETURN_IF_ERROR(CopyTree(ctx, mnt->path(), dst, CopyOptions{}));
    }
    return Status::Ok();
  }
  const std::string& path() const { return dir_.path(); }

 private:
  EmptyDir dir_;
};

// The directory an export of `req` sends: the ref's mount, an empty directory for an empty
// result, or the platforms' trees of a multi-platform result.
class ExportSource {
 public:
  Status Prepare(const Context& ctx, const ExportRequest& req) {
    if (!req.refs.empty()) {
      platforms_ = std::make_unique<PlatformTree>();
      KILN_RETURN_IF_ERROR(platforms_->Make(ctx, req));
      path_ = platforms_->path();
    } else if (req.ref.valid()) {
      KILN_ASSIGN_OR_RETURN(mnt_, req.ref.Mount());
      path_ = mnt_->path();
    } else {
      path_ = empty_.path();
    }
    return Status::Ok();
  }
  const std::string& path() const { return path_; }

 private:
  EmptyDir empty_;
  std::unique_ptr<snapshot::Mount> mnt_;
  std::unique_ptr<PlatformTree> platforms_;
  std::string path_;
};

class LocalExporter : public Exporter {
 public:
  Result<std::map<std::string, std::string>> Export(const Context& ctx,
                                                    const ExportRequest& req) override {
    if (!req.session) return FailedPrecondition("local export needs a client session");
    ExportProgress p(req, "exporting to client directory");
    ExportSource source;
    KILN_RETURN_IF_ERROR(source.Prepare(ctx, req));
    const std::string& src = source.path();
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
    ExportSource source;
    KILN_RETURN_IF_ERROR(source.Prepare(ctx, req));
    const std::string& src = source.path();
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
