#include "util/tar_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include "util/path.h"

namespace kiln {
namespace {

constexpr size_t kBlock = 512;
constexpr size_t kNameSize = 100;
constexpr size_t kPrefixSize = 155;

// ustar header field offsets and sizes.
struct Field {
  size_t off, len;
};
constexpr Field kName{0, 100}, kMode{100, 8}, kUid{108, 8}, kGid{116, 8}, kSize{124, 12},
    kMtime{136, 12}, kChksum{148, 8}, kLinkname{157, 100}, kMagic{257, 6}, kVersion{263, 2},
    kDevmajor{329, 8}, kDevminor{337, 8}, kPrefix{345, 155};
constexpr size_t kTypeflag = 156;

void PutString(char* block, Field f, std::string_view s) {
  memcpy(block + f.off, s.data(), std::min(s.size(), f.len));
}

// Octal, zero-padded, NUL-terminated; false if v does not fit.
bool PutOctal(char* block, Field f, uint64_t v) {
  char buf[32];
  int n = snprintf(buf, sizeof(buf), "%0*llo", static_cast<int>(f.len - 1),
                   static_cast<unsigned long long>(v));
  if (n < 0 || static_cast<size_t>(n) > f.len - 1) return false;
  memcpy(block + f.off, buf, f.len - 1);
  block[f.off + f.len - 1] = '\0';
  return true;
}

// GNU base-256: high bit of the first byte set, big-endian value (for device numbers).
void PutBase256(char* block, Field f, uint64_t v) {
  for (size_t i = f.len; i-- > 1;) {
    block[f.off + i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  block[f.off] = static_cast<char>(0x80);
}

// "len key=value\n", where len counts the whole record including its own digits.
std::string PaxRecord(std::string_view key, std::string_view value) {
  size_t n = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t total = n + std::to_string(n).size();
  if (std::to_string(total).size() != std::to_string(n).size()) total++;
  std::string r = std::to_string(total);
  r += ' ';
  r += key;
  r += '=';
  r += value;
  r += '\n';
  return r;
}

// Seconds with up to nine fraction digits, trailing zeros dropped, as Go's archive/tar.
std::string PaxTime(int64_t sec, uint32_t nsec) {
  std::string sign;
  if (sec < 0 && nsec > 0) {
    sign = "-";
    sec = -(sec + 1);
    nsec = 1000000000 - nsec;
  } else if (sec < 0) {
    sign = "-";
    sec = -sec;
  }
  std::string out = sign + std::to_string(sec);
  if (nsec == 0) return out;
  char frac[16];
  snprintf(frac, sizeof(frac), "%09u", nsec);
  std::string f(frac);
  while (!f.empty() && f.back() == '0') f.pop_back();
  return out + "." + f;
}

// Splits a long name into ustar prefix and name at a '/', as Go's splitUSTARPath.
bool SplitUstarPath(std::string_view name, std::string_view* prefix, std::string_view* suffix) {
  size_t length = name.size();
  if (length <= kNameSize) return false;
  if (length > kPrefixSize + 1) {
    length = kPrefixSize + 1;
  } else if (name[length - 1] == '/') {
    length--;
  }
  size_t i = name.substr(0, length).rfind('/');
  if (i == std::string_view::npos || i == 0) return false;
  size_t nlen = name.size() - i - 1;
  if (nlen == 0 || nlen > kNameSize || i > kPrefixSize) return false;
  *prefix = name.substr(0, i);
  *suffix = name.substr(i + 1);
  return true;
}

void PutChecksum(char* block) {
  memset(block + kChksum.off, ' ', kChksum.len);
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; i++) sum += static_cast<unsigned char>(block[i]);
  snprintf(block + kChksum.off, 7, "%06o", sum);
  block[kChksum.off + 6] = '\0';
  block[kChksum.off + 7] = ' ';
}

// Name of the PAX header entry for name, as Go's archive/tar: "PaxHeaders.0/<base>".
std::string PaxHeaderName(std::string_view name) {
  if (name.size() > 1 && name.back() == '/') name.remove_suffix(1);
  return ("PaxHeaders.0/" + std::string(Base(name))).substr(0, kNameSize);
}

void PutCommon(char* block, char type, uint32_t mode, int64_t mtime) {
  PutOctal(block, kMode, mode);
  block[kTypeflag] = type;
  PutString(block, kMagic, std::string_view("ustar\0", 6));
  PutString(block, kVersion, "00");
  if (mtime < 0 || !PutOctal(block, kMtime, static_cast<uint64_t>(mtime))) {
    PutOctal(block, kMtime, 0);  // the PAX mtime record carries it
  }
}

}  // namespace

Status TarWriter::Emit(std::string_view bytes) {
  if (!failed_.ok()) return failed_;
  Status s = sink_(bytes);
  if (!s.ok()) failed_ = s;
  return s;
}

Status TarWriter::FinishEntry() {
  if (remaining_ != 0) {
    return FailedPrecondition("tar: entry " + entry_ + " got " + std::to_string(written_) +
                              " bytes, header says " + std::to_string(written_ + remaining_));
  }
  int64_t written = written_;
  written_ = 0;
  return Pad(static_cast<uint64_t>(written));
}

Status TarWriter::Pad(uint64_t written) {
  size_t pad = static_cast<size_t>((kBlock - written % kBlock) % kBlock);
  static const char kZeros[kBlock] = {};
  return pad == 0 ? Status::Ok() : Emit(std::string_view(kZeros, pad));
}

Status TarWriter::WriteHeader(const TarHeader& h) {
  if (closed_) return FailedPrecondition("tar: header for " + h.name + " after Close");
  KILN_RETURN_IF_ERROR(FinishEntry());
  if (h.name.empty()) return InvalidArgument("tar: entry with an empty name");
  if (h.size < 0) return InvalidArgument("tar: entry " + h.name + " has a negative size");
  std::map<std::string, std::string> pax;  // sorted keys: deterministic output
  char block[kBlock] = {};
  std::string_view prefix, suffix;
  if (h.name.size() <= kNameSize) {
    PutString(block, kName, h.name);
  } else if (SplitUstarPath(h.name, &prefix, &suffix)) {
    PutString(block, kPrefix, prefix);
    PutString(block, kName, suffix);
  } else {
    pax["path"] = h.name;
    PutString(block, kName, h.name);  // truncated; readers take the PAX path
  }
  if (h.linkname.size() > kNameSize) pax["linkpath"] = h.linkname;
  PutString(block, kLinkname, h.linkname);
  if (!PutOctal(block, kUid, h.uid)) {
    pax["uid"] = std::to_string(h.uid);
    PutOctal(block, kUid, 0);
  }
  if (!PutOctal(block, kGid, h.gid)) {
    pax["gid"] = std::to_string(h.gid);
    PutOctal(block, kGid, 0);
  }
  int64_t size = h.type == TarType::kRegular ? h.size : 0;
  if (!PutOctal(block, kSize, static_cast<uint64_t>(size))) {
    pax["size"] = std::to_string(size);
    PutOctal(block, kSize, 0);
  }
  PutCommon(block, static_cast<char>(h.type), h.mode & 07777, h.mtime_sec);
  if (h.mtime_nsec != 0 || h.mtime_sec < 0 || h.mtime_sec > 077777777777) {
    pax["mtime"] = PaxTime(h.mtime_sec, h.mtime_nsec);
  }
  if (!PutOctal(block, kDevmajor, h.devmajor)) PutBase256(block, kDevmajor, h.devmajor);
  if (!PutOctal(block, kDevminor, h.devminor)) PutBase256(block, kDevminor, h.devminor);
  for (const Xattr& x : h.xattrs) pax["SCHILY.xattr." + x.name] = x.value;
  PutChecksum(block);

  if (!pax.empty()) {
    std::string records;
    for (const auto& [k, v] : pax) records += PaxRecord(k, v);
    char xblock[kBlock] = {};
    PutString(xblock, kName, PaxHeaderName(h.name));
    PutOctal(xblock, kUid, 0);
    PutOctal(xblock, kGid, 0);
    PutOctal(xblock, kSize, records.size());
    PutCommon(xblock, 'x', 0644,
              std::max<int64_t>(0, std::min<int64_t>(h.mtime_sec, 077777777777)));
    PutChecksum(xblock);
    KILN_RETURN_IF_ERROR(Emit(std::string_view(xblock, kBlock)));
    KILN_RETURN_IF_ERROR(Emit(records));
    KILN_RETURN_IF_ERROR(Pad(records.size()));
  }
  KILN_RETURN_IF_ERROR(Emit(std::string_view(block, kBlock)));
  entry_ = h.name;
  remaining_ = size;
  written_ = 0;
  return Status::Ok();
}

Status TarWriter::WriteData(std::string_view data) {
  if (closed_) return FailedPrecondition("tar: data after Close");
  if (static_cast<int64_t>(data.size()) > remaining_) {
    return FailedPrecondition("tar: entry " + entry_ + " got more bytes than its header says");
  }
  remaining_ -= static_cast<int64_t>(data.size());
  written_ += static_cast<int64_t>(data.size());
  return Emit(data);
}

Status TarWriter::WriteFile(const Context& ctx, const TarHeader& h, const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "tar: open " + path);
  Status s = WriteHeader(h);
  int64_t left = h.size;
  if (s.ok() && left > 0 && buf_.empty()) buf_.resize(1u << 20);
  while (s.ok() && left > 0) {
    s = ctx.Err();
    if (!s.ok()) break;
    ssize_t n = read(fd, buf_.data(), static_cast<size_t>(std::min<int64_t>(left, buf_.size())));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      s = ErrnoStatus(errno, "tar: read " + path);
    } else if (n == 0) {
      s = DataLoss("tar: " + path + " shrank while being archived");
    } else {
      left -= n;
      s = WriteData(std::string_view(buf_.data(), static_cast<size_t>(n)));
    }
  }
  close(fd);
  return s;
}

Status TarHeaderFromStat(const std::string& path, std::string name, const struct stat& st,
                         TarHeader* h) {
  h->name = S_ISDIR(st.st_mode) ? std::move(name) + "/" : std::move(name);
  h->mode = st.st_mode & 07777;
  h->uid = st.st_uid;
  h->gid = st.st_gid;
  h->mtime_sec = st.st_mtim.tv_sec;
  h->mtime_nsec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  h->size = 0;
  h->linkname.clear();
  h->devmajor = h->devminor = 0;
  if (S_ISDIR(st.st_mode)) {
    h->type = TarType::kDir;
  } else if (S_ISREG(st.st_mode)) {
    h->type = TarType::kRegular;
    h->size = st.st_size;
  } else if (S_ISLNK(st.st_mode)) {
    h->type = TarType::kSymlink;
    h->linkname.resize(static_cast<size_t>(st.st_size) + 1);
    ssize_t n = readlink(path.c_str(), h->linkname.data(), h->linkname.size());
    if (n < 0) return ErrnoStatus(errno, "tar: readlink " + path);
    h->linkname.resize(static_cast<size_t>(n));
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    h->type = S_ISCHR(st.st_mode) ? TarType::kChar : TarType::kBlock;
    h->devmajor = major(st.st_rdev);
    h->devminor = minor(st.st_rdev);
  } else if (S_ISFIFO(st.st_mode)) {
    h->type = TarType::kFifo;
  } else {
    return InvalidArgument("tar: " + path + " is a socket or of an unknown type");
  }
  return Status::Ok();
}

Status TarWriter::Close() {
  if (closed_) return Status::Ok();
  KILN_RETURN_IF_ERROR(FinishEntry());
  closed_ = true;
  static const char kEnd[2 * kBlock] = {};
  return Emit(std::string_view(kEnd, sizeof(kEnd)));
}

namespace {

// One WriteTreeTar walk: keeps the first path of every multiply-linked inode.
class TreeTarWalker {
 public:
  TreeTarWalker(const Context& ctx, const TarOptions& opts, TarWriter* w)
      : ctx_(ctx), opts_(opts), w_(w) {}

  Status WalkDir(const std::string& dir, const std::string& rel_prefix) {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(dir));
    for (const std::string& name : names) {
      KILN_RETURN_IF_ERROR(ctx_.Err());
      std::string path = dir + "/" + name;
      struct stat st;
      if (lstat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "tar: lstat " + path);
      if (S_ISSOCK(st.st_mode)) continue;
      std::string rel = rel_prefix + name;
      KILN_RETURN_IF_ERROR(WriteEntry(path, rel, st));
      if (S_ISDIR(st.st_mode)) KILN_RETURN_IF_ERROR(WalkDir(path, rel + "/"));
    }
    return Status::Ok();
  }

 private:
  Status WriteEntry(const std::string& path, const std::string& rel, const struct stat& st) {
    TarHeader h;
    KILN_RETURN_IF_ERROR(TarHeaderFromStat(path, rel, st, &h));
    h.uid = opts_.uid.value_or(st.st_uid);
    h.gid = opts_.gid.value_or(st.st_gid);
    int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (opts_.clamp_mtime_ns && mtime_ns > *opts_.clamp_mtime_ns) {
      mtime_ns = *opts_.clamp_mtime_ns;
    }
    h.mtime_sec = mtime_ns / 1000000000;
    int64_t nsec = mtime_ns % 1000000000;
    if (nsec < 0) {
      nsec += 1000000000;
      h.mtime_sec -= 1;
    }
    h.mtime_nsec = static_cast<uint32_t>(nsec);
    KILN_ASSIGN_OR_RETURN(std::vector<Xattr> xattrs, ReadXattrs(path));
    for (Xattr& x : xattrs) {
      bool keep = opts_.xattr_filter ? opts_.xattr_filter(x.name) : x.name != "security.selinux";
      if (keep) h.xattrs.push_back(std::move(x));
    }
    std::pair<dev_t, ino_t> key{st.st_dev, st.st_ino};
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto [it, first] = links_.emplace(key, rel);
      if (!first) {
        h.type = TarType::kHardlink;
        h.linkname = it->second;
        h.size = 0;
        h.devmajor = h.devminor = 0;
        return w_->WriteHeader(h);
      }
    }
    if (h.type == TarType::kRegular) return w_->WriteFile(ctx_, h, path);
    return w_->WriteHeader(h);
  }

  const Context& ctx_;
  const TarOptions& opts_;
  TarWriter* w_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // (dev, ino) -> first archived path
};

}  // namespace

Status WriteTreeTar(const Context& ctx, const std::string& root, const TarOptions& opts,
                    const ByteSink& sink) {
  struct stat st;
  if (lstat(root.c_str(), &st) != 0) return ErrnoStatus(errno, "tar: lstat " + root);
  if (!S_ISDIR(st.st_mode)) return InvalidArgument("tar: " + root + " is not a directory");
  TarWriter w(sink);
  TreeTarWalker walker(ctx, opts, &w);
  KILN_RETURN_IF_ERROR(walker.WalkDir(root, ""));
  return w.Close();
}

}  // namespace kiln
