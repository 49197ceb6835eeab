#include "snapshot/overlay_mount.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/digest.h"
#include "util/log.h"

namespace kiln::snapshot {
namespace {

struct MountJob {
  const std::string* dir;
  const std::string* target;
  const std::string* data;
  unsigned long flags;  // NOLINT(runtime/int): mount(2)'s type
  int err = 0;
  const char* step = "";
};

// Runs on its own thread: the unshared cwd dies with it.
void* RunMountJob(void* arg) {
  auto* job = static_cast<MountJob*>(arg);
  if (unshare(CLONE_FS) != 0) {
    job->err = errno;
    job->step = "unshare(CLONE_FS)";
  } else if (chdir(job->dir->c_str()) != 0) {
    job->err = errno;
    job->step = "chdir";
  } else if (mount("overlay", job->target->c_str(), "overlay", job->flags, job->data->c_str()) !=
             0) {
    job->err = errno;
    job->step = "mount";
  }
  return nullptr;
}

}  // namespace

std::string OverlayMountData(const OverlaySpec& spec) {
  std::string data = "lowerdir=";
  for (size_t i = 0; i < spec.lowers.size(); i++) {
    if (i > 0) data += ':';
    data += spec.lowers[i];
  }
  if (!spec.upper.empty()) data += ",upperdir=" + spec.upper + ",workdir=" + spec.work;
  if (!spec.options.empty()) data += "," + spec.options;
  return data;
}

Status MountOverlay(const OverlaySpec& spec, const std::string& target) {
  if (spec.lowers.size() > kMaxOverlayLowers) {
    return ResourceExhausted("overlay mount of " + std::to_string(spec.lowers.size()) +
                             " layers: overlayfs stacks at most " +
                             std::to_string(kMaxOverlayLowers));
  }
  std::string data = OverlayMountData(spec);
  if (data.size() > kMaxMountData) {
    return ResourceExhausted("overlay mount of " + std::to_string(spec.lowers.size()) +
                             " layers: its options take " + std::to_string(data.size()) +
                             " bytes, more than the " + std::to_string(kMaxMountData) +
                             " mount(2) accepts");
  }
  unsigned long flags = 0;  // NOLINT(runtime/int)
  if (spec.upper.empty()) flags |= MS_RDONLY;
  MountJob job{&spec.base_dir, &target, &data, flags};
  pthread_t t;
  int rc = pthread_create(&t, nullptr, RunMountJob, &job);
  if (rc != 0) return ErrnoStatus(rc, "start mount thread");
  pthread_join(t, nullptr);
  if (job.err != 0) {
    return ErrnoStatus(job.err,
                       std::string("overlay ") + job.step + " at " + target + " (" + data + ")");
  }
  return Status::Ok();
}

Status BindReadonly(const std::string& src, const std::string& target) {
  if (mount(src.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return ErrnoStatus(errno, "bind mount " + src + " at " + target);
  }
  if (mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
    int err = errno;
    Unmount(target).IgnoreError();
    return ErrnoStatus(err, "remount " + target + " read-only");
  }
  return Status::Ok();
}

Status Unmount(const std::string& target) {
  if (umount2(target.c_str(), UMOUNT_NOFOLLOW) == 0 || errno == EINVAL || errno == ENOENT) {
    return Status::Ok();
  }
  if (errno == EBUSY && umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
    return Status::Ok();
  }
  return ErrnoStatus(errno, "unmount " + target);
}

Result<std::string> MakeMountPoint(const std::string& dir) {
  for (int attempt = 0; attempt < 8; attempt++) {
    uint8_t rnd[8];
    if (getrandom(rnd, sizeof(rnd), 0) != static_cast<ssize_t>(sizeof(rnd))) {
      return ErrnoStatus(errno, "getrandom");
    }
    std::string path = dir + "/" + HexEncode(rnd, sizeof(rnd));
    if (mkdir(path.c_str(), 0700) == 0) return path;
    if (errno != EEXIST) return ErrnoStatus(errno, "mkdir " + path);
  }
  return Internal("no free mount point name in " + dir);
}

MountHandle::~MountHandle() {
  if (!mounted_) return;
  Status s = Unmount(path_);
  if (!s.ok()) {
    log::Warn("snapshot: {}", s.message());
    return;  // never remove what may still show a snapshot's files
  }
  if (rmdir(path_.c_str()) != 0) log::Warn("snapshot: remove mount point {}: {}", path_, errno);
}

}  // namespace kiln::snapshot
