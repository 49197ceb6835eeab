// CheckOverlaySupport: a real overlay mount in a scratch directory under the snapshotter root.

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "snapshot/entry_writer.h"
#include "snapshot/overlay.h"
#include "snapshot/overlay_mount.h"
#include "util/fs_copy.h"

namespace kiln::snapshot {
namespace {

bool Exists(const std::string& p) {
  struct stat st;
  return lstat(p.c_str(), &st) == 0;
}

Status Touch(const std::string& p) {
  FILE* f = fopen(p.c_str(), "we");
  if (f == nullptr) return ErrnoStatus(errno, "create " + p);
  fclose(f);
  return Status::Ok();
}

// overlayfs needs d_type in the upper filesystem to tell whiteouts and directories apart.
Status CheckDType(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(errno, "open " + dir);
  bool typed = false;
  while (struct dirent* e = readdir(d)) {
    if (std::string(e->d_name) == "probe") typed = e->d_type == DT_REG;
  }
  closedir(d);
  if (!typed) return FailedPrecondition("the filesystem of " + dir + " does not report d_type");
  return Status::Ok();
}

Status Probe(const std::string& dir, std::string* options) {
  for (const char* sub :
       {"/lower1", "/lower1/d", "/lower2", "/upper", "/upper/d", "/work", "/merged"}) {
    if (mkdir((dir + sub).c_str(), 0755) != 0) return ErrnoStatus(errno, "mkdir " + dir + sub);
  }
  KILN_RETURN_IF_ERROR(Touch(dir + "/lower1/gone"));
  KILN_RETURN_IF_ERROR(Touch(dir + "/lower1/d/hidden"));
  KILN_RETURN_IF_ERROR(Touch(dir + "/lower2/kept"));
  KILN_RETURN_IF_ERROR(Touch(dir + "/upper/probe"));
  KILN_RETURN_IF_ERROR(CheckDType(dir + "/upper"));
  if (mknod((dir + "/upper/gone").c_str(), S_IFCHR, makedev(0, 0)) != 0) {
    return ErrnoStatus(errno, "make a whiteout device (mknod 0:0)");
  }
  if (setxattr((dir + "/upper/d").c_str(), kOverlayOpaqueXattr, "y", 1, 0) != 0) {
    return ErrnoStatus(errno, std::string("set ") + kOverlayOpaqueXattr);
  }
  OverlaySpec spec;
  spec.base_dir = dir;
  spec.lowers = {"lower2", "lower1"};
  spec.upper = "upper";
  spec.work = "work";
  // The options that keep an upper dir a plain layer (no index, redirect or metacopy xattrs);
  // older kernels do not know all of them.
  Status last;
  for (const char* opts : {"index=off,redirect_dir=off,metacopy=off", "index=off", ""}) {
    spec.options = opts;
    last = MountOverlay(spec, dir + "/merged");
    if (last.ok()) {
      *options = opts;
      break;
    }
    if (last.code() != Code::kInvalidArgument) break;
  }
  KILN_RETURN_IF_ERROR(last);
  std::string m = dir + "/merged";
  Status s = Status::Ok();
  if (Exists(m + "/gone")) s = FailedPrecondition("overlayfs ignored a whiteout device");
  if (s.ok() && Exists(m + "/d/hidden")) {
    s = FailedPrecondition("overlayfs ignored an opaque directory");
  }
  if (s.ok() && !Exists(m + "/kept")) s = FailedPrecondition("overlayfs lost a lower file");
  if (s.ok()) s = Touch(m + "/written");
  if (s.ok() && !Exists(dir + "/upper/written")) {
    s = FailedPrecondition("a write through overlayfs did not land in the upper dir");
  }
  Status u = Unmount(m);
  KILN_RETURN_IF_ERROR(s);
  return u;
}

}  // namespace

Result<std::string> CheckOverlaySupport(const std::string& root) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return Internal("create " + root + ": " + ec.message());
  // Leftovers of a check that was interrupted.
  if (auto names = ReadDirNames(root); names.ok()) {
    for (const auto& n : *names) {
      if (n.rfind(".overlay-check-", 0) != 0) continue;
      if (Unmount(root + "/" + n + "/merged").ok()) RemoveAll(root + "/" + n).IgnoreError();
    }
  }
  std::string tmpl = root + "/.overlay-check-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return ErrnoStatus(errno, "mkdtemp " + tmpl);
  std::string options;
  Status s = Probe(tmpl, &options);
  // Only remove what no mount shows any more.
  if (Unmount(tmpl + "/merged").ok()) RemoveAll(tmpl).IgnoreError();
  if (!s.ok()) return s.Annotate("overlayfs is not usable under " + root);
  return options;
}

}  // namespace kiln::snapshot
