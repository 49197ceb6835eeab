#pragma once
// Go os.FileMode <-> POSIX st_mode conversion. The fsutil wire protocol (Stat.mode) carries Go's
// os.FileMode layout, not st_mode: permission bits are 0o777 and type/special bits live in the
// high bits. Stateless, thread-safe.

#include <sys/types.h>

#include <cstdint>

namespace kiln::fsutil {

inline constexpr uint32_t kModeDir = 0x80000000;
inline constexpr uint32_t kModeSymlink = 0x08000000;
inline constexpr uint32_t kModeDevice = 0x04000000;
inline constexpr uint32_t kModeNamedPipe = 0x02000000;
inline constexpr uint32_t kModeSocket = 0x01000000;
inline constexpr uint32_t kModeSetuid = 0x00800000;
inline constexpr uint32_t kModeSetgid = 0x00400000;
inline constexpr uint32_t kModeCharDevice = 0x00200000;
inline constexpr uint32_t kModeSticky = 0x00100000;
inline constexpr uint32_t kModeIrregular = 0x00080000;
// Go's os.ModeType: a regular file has none of these bits.
inline constexpr uint32_t kModeType = kModeDir | kModeSymlink | kModeNamedPipe | kModeSocket |
                                      kModeDevice | kModeCharDevice | kModeIrregular;
inline constexpr uint32_t kModePerm = 0777;

// st_mode (type, permission, setuid/setgid/sticky) -> Go os.FileMode, as Go's os.Lstat does.
uint32_t GoFileMode(mode_t st_mode);

// Go os.FileMode -> st_mode. No type bit maps to S_IFREG; so does kModeIrregular.
mode_t PosixMode(uint32_t go_mode);

// The permission and special bits (07777) of a Go os.FileMode, for chmod.
mode_t PosixPermissions(uint32_t go_mode);

inline bool IsDir(uint32_t go_mode) { return (go_mode & kModeDir) != 0; }
inline bool IsSymlink(uint32_t go_mode) { return (go_mode & kModeSymlink) != 0; }
// A regular file: the only kind whose content can be requested (fsutil's fileCanRequestData).
inline bool IsRegular(uint32_t go_mode) { return (go_mode & kModeType) == 0; }

}  // namespace kiln::fsutil
