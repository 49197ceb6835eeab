#include "fsutil/filemode.h"

#include <sys/stat.h>

namespace kiln::fsutil {

uint32_t GoFileMode(mode_t st_mode) {
  uint32_t mode = st_mode & 0777;
  switch (st_mode & S_IFMT) {
    case S_IFBLK:
      mode |= kModeDevice;
      break;
    case S_IFCHR:
      mode |= kModeDevice | kModeCharDevice;
      break;
    case S_IFDIR:
      mode |= kModeDir;
      break;
    case S_IFIFO:
      mode |= kModeNamedPipe;
      break;
    case S_IFLNK:
      mode |= kModeSymlink;
      break;
    case S_IFSOCK:
      mode |= kModeSocket;
      break;
    default:
      break;
  }
  if ((st_mode & S_ISUID) != 0) mode |= kModeSetuid;
  if ((st_mode & S_ISGID) != 0) mode |= kModeSetgid;
  if ((st_mode & S_ISVTX) != 0) mode |= kModeSticky;
  return mode;
}

mode_t PosixPermissions(uint32_t go_mode) {
  mode_t mode = go_mode & kModePerm;
  if ((go_mode & kModeSetuid) != 0) mode |= S_ISUID;
  if ((go_mode & kModeSetgid) != 0) mode |= S_ISGID;
  if ((go_mode & kModeSticky) != 0) mode |= S_ISVTX;
  return mode;
}

mode_t PosixMode(uint32_t go_mode) {
  mode_t type = S_IFREG;
  if ((go_mode & kModeDir) != 0) {
    type = S_IFDIR;
  } else if ((go_mode & kModeSymlink) != 0) {
    type = S_IFLNK;
  } else if ((go_mode & (kModeDevice | kModeCharDevice)) != 0) {
    type = (go_mode & kModeCharDevice) != 0 ? S_IFCHR : S_IFBLK;
  } else if ((go_mode & kModeNamedPipe) != 0) {
    type = S_IFIFO;
  } else if ((go_mode & kModeSocket) != 0) {
    type = S_IFSOCK;
  }
  return type | PosixPermissions(go_mode);
}

}  // namespace kiln::fsutil
