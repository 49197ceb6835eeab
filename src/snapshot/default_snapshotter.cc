// NewDefaultSnapshotter: picks overlayfs or native for a root and remembers the choice there.

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "snapshot/overlay.h"
#include "util/fs_copy.h"
#include "util/log.h"

namespace kiln::snapshot {
namespace {

constexpr const char* kOverlay = "overlayfs";
constexpr const char* kNative = "native";

std::string MarkerPath(const std::string& root) { return root + "/.snapshotter"; }

std::string ReadMarker(const std::string& root) {
  int fd = open(MarkerPath(root).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[64];
  ssize_t n = read(fd, buf, sizeof(buf));
  close(fd);
  std::string s = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Status WriteMarker(const std::string& root, const std::string& name) {
  std::string tmp = MarkerPath(root) + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "create " + tmp);
  std::string data = name + "\n";
  bool ok = write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  close(fd);
  if (!ok || rename(tmp.c_str(), MarkerPath(root).c_str()) != 0) {
    return ErrnoStatus(errno, "write " + MarkerPath(root));
  }
  return Status::Ok();
}

// A root that already holds native snapshots from before the marker: entries not starting
// with '.' (native keeps root/<key>/fs).
bool HasUnmarkedSnapshots(const std::string& root) {
  auto names = ReadDirNames(root);
  if (!names.ok()) return false;
  for (const auto& n : *names) {
    if (!n.empty() && n[0] != '.') return true;
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<Snapshotter>> NewDefaultSnapshotter(const std::string& root,
                                                           const std::string& name) {
  if (name != "auto" && name != kOverlay && name != kNative) {
    return InvalidArgument("unknown snapshotter \"" + name +
                           "\" (this kiln supports: auto, overlayfs, native)");
  }
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return Internal("create snapshot root " + root + ": " + ec.message());
  std::string have = ReadMarker(root);
  if (have.empty() && HasUnmarkedSnapshots(root)) have = kNative;
  std::string want = name;
  if (want == "auto") {
    if (!have.empty()) {
      want = have;
      log::Info("snapshotter: using {} (the snapshots under {} were made by it)", want, root);
    } else {
      auto check = CheckOverlaySupport(root);
      want = check.ok() ? kOverlay : kNative;
      if (check.ok()) {
        log::Info("snapshotter: using overlayfs");
      } else {
        log::Info("snapshotter: using native: {}", check.status().message());
      }
    }
  } else if (!have.empty() && have != want) {
    return FailedPrecondition("snapshot root " + root + " holds " + have +
                              " snapshots; it cannot be opened with the " + want +
                              " snapshotter (use another root or snapshotter \"auto\")");
  }
  std::unique_ptr<Snapshotter> sn;
  if (want == kOverlay) {
    KILN_ASSIGN_OR_RETURN(sn, NewOverlaySnapshotter(root));
  } else {
    KILN_ASSIGN_OR_RETURN(sn, NewNativeSnapshotter(root));
  }
  if (have.empty()) KILN_RETURN_IF_ERROR(WriteMarker(root, want));
  return sn;
}

}  // namespace kiln::snapshot
