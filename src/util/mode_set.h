#pragma once
// ModeSet: a chmod(1) mode string, as COPY --chmod passes in FileActionCopy.modeStr, applied to
// the mode of each copied entry the way fsutil does (BSD setmode semantics, as the dchapes-mode
// BuildKit vendors; umask 0):
//
//   "0755", "4755"     absolute octal: replaces all permission and special bits
//   "u+x", "go-w"      add or remove bits for user/group/other/all ("a"; none given = all)
//   "a=rX,u+w"         '=' sets exactly; clauses are separated by ','
//   "+X", "a=rX"       execute only if the entry is a directory or already executable by anyone
//                      ("-X" removes x), as the dchapes-mode BuildKit vendors
//   "u+s", "+t"        setuid/setgid and sticky bits ("o" alone ignores them)
//   "g=u", "go=u-w"    copy another class's bits, then adjust
//
// Immutable after Parse; thread-safe.

#include <sys/types.h>

#include <string_view>
#include <vector>

#include "util/status.h"

namespace kiln {

class ModeSet {
 public:
  // InvalidArgument `invalid mode "u+q": invalid syntax` for a malformed string.
  static Result<ModeSet> Parse(std::string_view s);

  // The new permission and special bits (07777) for an entry with st_mode `st_mode`.
  mode_t Apply(mode_t st_mode) const;

 private:
  struct Cmd {
    enum class Kind {
      kSet,     // mode |= bits
      kClear,   // mode &= ~bits
      kSetIfX,  // mode |= bits if a directory or executable by anyone (in the original mode)
      kCopy,    // the rwx bits of class `from` are added/removed/set ('+', '-', '=') in the
                // classes of `bits` (0700 / 0070 / 0007)
    };
    Kind kind = Kind::kSet;
    mode_t bits = 0;
    int from_shift = 0;  // 6 user, 3 group, 0 other
    char op = '+';
  };

  std::vector<Cmd> cmds_;
};

}  // namespace kiln
