#include "util/mode_set.h"

#include <sys/stat.h>

#include <string>

namespace kiln {
namespace {

constexpr mode_t kAllButSticky = 06777;  // what "a" (or no class) covers
constexpr mode_t kSticky = 01000;

mode_t ClassBits(char c) {
  switch (c) {
    case 'u':
      return 04700;
    case 'g':
      return 02070;
    case 'o':
      return 00007;
    default:  // 'a'
      return kAllButSticky;
  }
}

int ClassShift(char c) { return c == 'u' ? 6 : c == 'g' ? 3 : 0; }

}  // namespace

Result<ModeSet> ModeSet::Parse(std::string_view s) {
  const std::string bad = "invalid mode \"" + std::string(s) + "\": invalid syntax";
  if (s.empty()) return InvalidArgument(bad);
  ModeSet set;
  auto add = [&set](Cmd::Kind kind, mode_t bits) {
    Cmd c;
    c.kind = kind;
    c.bits = bits;
    set.cmds_.push_back(c);
  };
  if (s[0] >= '0' && s[0] <= '9') {  // absolute octal
    mode_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '7') return InvalidArgument(bad);
      v = v * 8 + static_cast<mode_t>(c - '0');
      if (v > 07777) return InvalidArgument(bad);
    }
    add(Cmd::Kind::kClear, 07777);
    add(Cmd::Kind::kSet, v);
    return set;
  }
  size_t i = 0;
  for (;;) {  // one clause: [ugoa]* then one or more of op [rwxXst]* or op [ugo]
    mode_t who = 0;
    while (i < s.size() && (s[i] == 'u' || s[i] == 'g' || s[i] == 'o' || s[i] == 'a')) {
      who |= ClassBits(s[i++]);
    }
    if (i >= s.size()) return InvalidArgument(bad);
    // Setuid/setgid and sticky need a class other than "o" alone.
    const bool special_ok = who == 0 || (who & ~mode_t{07}) != 0;
    do {
      const char op = s[i++];
      if (op != '+' && op != '-' && op != '=') return InvalidArgument(bad);
      mode_t base = who != 0 ? who : kAllButSticky;  // bits this action may touch
      mode_t perm = 0;
      bool x_if_exec = false;
      bool equal_done = false;
      auto flush = [&](bool final) {
        if (perm != 0 || (final && op == '=' && !equal_done)) {
          if (op == '=') add(Cmd::Kind::kClear, base);
          add(op == '-' ? Cmd::Kind::kClear : Cmd::Kind::kSet, base & perm);
          if (op == '=') equal_done = true;
          perm = 0;
        }
        if (x_if_exec) add(Cmd::Kind::kSetIfX, base & 0111);
        x_if_exec = false;
      };
      for (; i < s.size(); i++) {
        char c = s[i];
        if (c == 'r') {
          perm |= 0444;
        } else if (c == 'w') {
          perm |= 0222;
        } else if (c == 'x') {
          perm |= 0111;
        } else if (c == 'X') {
          // As the dchapes-mode BuildKit uses: X is conditional for '+' and '=', and removes
          // x like 'x' for '-'.
          if (op == '-') {
            perm |= 0111;
          } else {
            x_if_exec = true;
          }
        } else if (c == 's') {
          if (special_ok) perm |= 06000;
        } else if (c == 't') {
          if (special_ok) {
            base |= kSticky;
            perm |= kSticky;
          }
        } else if (c == 'u' || c == 'g' || c == 'o') {
          flush(false);
          Cmd copy;
          copy.kind = Cmd::Kind::kCopy;
          copy.bits =
              who != 0 ? ((who & 0400) ? 0700 : 0) | ((who & 040) ? 070 : 0) | ((who & 04) ? 07 : 0)
                       : 0777;
          copy.from_shift = ClassShift(c);
          copy.op = op;
          set.cmds_.push_back(copy);
          if (op == '=') equal_done = true;
        } else {
          break;
        }
      }
      flush(true);
    } while (i < s.size() && s[i] != ',');
    if (i >= s.size()) break;
    i++;  // ','
  }
  return set;
}

mode_t ModeSet::Apply(mode_t st_mode) const {
  const mode_t orig = st_mode & 07777;
  const bool exec_ok = S_ISDIR(st_mode) || (orig & 0111) != 0;
  mode_t m = orig;
  for (const Cmd& c : cmds_) {
    switch (c.kind) {
      case Cmd::Kind::kSet:
        m |= c.bits;
        break;
      case Cmd::Kind::kClear:
        m &= ~c.bits;
        break;
      case Cmd::Kind::kSetIfX:
        if (exec_ok) m |= c.bits;
        break;
      case Cmd::Kind::kCopy: {
        const mode_t v = (m >> c.from_shift) & 07;
        for (int shift : {6, 3, 0}) {
          const mode_t cls = mode_t{07} << shift;
          if ((c.bits & cls) == 0) continue;
          if (c.op != '+') m &= ~(c.op == '-' ? v << shift : cls);
          if (c.op != '-') m |= v << shift;
        }
        break;
      }
    }
  }
  return m & 07777;
}

}  // namespace kiln
