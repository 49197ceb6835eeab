#include "fsutil/receiver.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "fsutil/dest_dir.h"
#include "fsutil/filemode.h"
#include "fsutil/stream_validator.h"
#include "fsutil/xattr.h"
#include "util/fd_io.h"
#include "util/path.h"

namespace kiln::fsutil {

namespace {

using internal::DestDir;
using internal::UniqueFd;
using internal::XattrMap;

// Files being written at once; Go senders keep 4 in flight.
constexpr int kMaxOpenFiles = 256;

XattrMap Xattrs(const Stat& s) { return XattrMap(s.xattrs().begin(), s.xattrs().end()); }

timespec ToTimespec(int64_t ns) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000;
    ts.tv_sec -= 1;
  }
  return ts;
}

class Receiver {
  struct PendingFile {
    Stat stat;
    UniqueFd fd;                   // open from the first DATA packet to the last
    std::unique_ptr<Sha256> hash;  // of the bytes written, when on_file_content wants it
  };
  struct DirEntry {
    Stat stat;
    bool kept;            // from an earlier copy, with its xattrs compared to stat's
    bool replace_xattrs;  // kept, but with other xattrs
  };

 public:
  Receiver(PacketStream& stream, const ReceiveOptions& opts) : stream_(stream), opts_(opts) {}

  Status Run(const std::string& dest, ReceiveStats* stats) {
    Result<DestDir> d = DestDir::Open(dest);
    Status s = d.status();
    if (s.ok()) {
      dest_.emplace(std::move(d).value());
      if (opts_.before_first_change) dest_->OnFirstChange(opts_.before_first_change);
      s = Loop();
    }
    if (!s.ok()) {
      Cleanup();
      if (!peer_error_ && !closed_) {
        Packet err;
        err.set_type(Packet::PACKET_ERR);
        err.set_data(s.message());
        stream_.Send(err).IgnoreError();  // best effort: the stream may be what failed
      }
      if (!closed_) stream_.CloseSend().IgnoreError();
    }
    if (stats != nullptr) *stats = stats_;
    return s;
  }

 private:
  Status Loop() {
    Packet p;
    while (true) {
      Result<bool> more = stream_.Recv(&p);
      if (!more.ok()) return more.status();
      if (!*more) {
        if (got_fin_) return Status::Ok();
        return Unavailable("file transfer: the sender closed the stream before finishing");
      }
      wire_bytes_ += static_cast<int64_t>(p.ByteSizeLong());
      if (opts_.progress) opts_.progress(wire_bytes_);
      if (got_fin_) continue;  // drain to EOF
      switch (p.type()) {
        case Packet::PACKET_STAT:
          if (listing_done_) {
            return InvalidArgument("invalid file transfer: entry after the end of the listing");
          }
          if (!p.has_stat()) {
            listing_done_ = true;
          } else {
            if (p.id() != 0 && p.id() != next_id_) {
              return InvalidArgument(
                  fmt::format("invalid file transfer: \"{}\" has ID {}, expected {}",
                              p.stat().path(), p.id(), next_id_));
            }
            KILN_RETURN_IF_ERROR(HandleStat(p.stat(), next_id_++));
          }
          KILN_RETURN_IF_ERROR(MaybeFinish());
          if (fin_sent_ && opts_.return_at_fin) return Status::Ok();
          break;
        case Packet::PACKET_DATA:
          KILN_RETURN_IF_ERROR(HandleData(p));
          KILN_RETURN_IF_ERROR(MaybeFinish());
          if (fin_sent_ && opts_.return_at_fin) return Status::Ok();
          break;
        case Packet::PACKET_FIN:
          if (!fin_sent_) {
            return InvalidArgument(
                "invalid file transfer: the sender finished before the "
                "receiver had everything");
          }
          got_fin_ = true;
          closed_ = true;
          KILN_RETURN_IF_ERROR(stream_.CloseSend());
          break;
        case Packet::PACKET_ERR:
          peer_error_ = true;
          return Status(Code::kUnknown, "error from sender: " + p.data());
        default:
          return InvalidArgument(
              fmt::format("invalid file transfer: unexpected packet type {} from the sender",
                          static_cast<int>(p.type())));
      }
    }
  }

  Status HandleStat(const Stat& stat, uint32_t id) {
    KILN_RETURN_IF_ERROR(validator_.Add(stat));
    stats_.entries++;
    const std::string& path = stat.path();
    const uint32_t mode = stat.mode();
    const bool hardlink = IsRegular(mode) && !stat.linkname().empty();
    if (hardlink || !stat.xattrs().empty()) NoteXattrPath(path);
    if (hardlink) {
      links_.emplace_back(path, stat.linkname());  // created once every file is complete
      stats_.entries_written++;
      return Status::Ok();
    }
    std::optional<Stat> cur;
    if (!fresh_dirs_.contains(std::string(Dir(path)))) {
      KILN_ASSIGN_OR_RETURN(cur, dest_->ReadStat(path));
    }
    if (IsDir(mode)) {
      // Mode, owner, xattrs and times are applied after the children.
      if (cur.has_value() && IsDir(cur->mode())) {
        // The directory is kept, so xattrs it should no longer have must be removed.
        KILN_ASSIGN_OR_RETURN(bool same_xattrs, SameXattrs(stat));
        dirs_.push_back(DirEntry{stat, true, !same_xattrs});
        if (!same_xattrs || !SameMetadata(stat, *cur)) stats_.entries_written++;
        // An earlier copy may be read-only; children must be writable until Finalize.
        mode_t perm = PosixPermissions(cur->mode());
        return (perm & 0700) == 0700 ? Status::Ok() : dest_->Chmod(path, perm | 0700);
      }
      dirs_.push_back(DirEntry{stat, false, false});
      stats_.entries_written++;
      if (cur.has_value()) KILN_RETURN_IF_ERROR(dest_->RemoveAll(path));
      fresh_dirs_.insert(path);
      return dest_->Mkdir(path, 0700);
    }
    if (cur.has_value()) {
      // Replaced entries are created afresh, without any earlier xattrs.
      KILN_ASSIGN_OR_RETURN(bool unchanged, Unchanged(stat, *cur));
      if (unchanged) return Status::Ok();
    }
    stats_.entries_written++;
    if (cur.has_value()) KILN_RETURN_IF_ERROR(dest_->RemoveAll(path));
    if (IsSymlink(mode)) {
      KILN_RETURN_IF_ERROR(dest_->Symlink(stat.linkname(), path));
      return ApplyMetadata(stat, /*chmod=*/false);
    }
    if ((mode & (kModeDevice | kModeCharDevice | kModeNamedPipe)) != 0) {
      dev_t dev =
          makedev(static_cast<unsigned>(stat.devmajor()), static_cast<unsigned>(stat.devminor()));
      KILN_RETURN_IF_ERROR(dest_->Mknod(path, PosixMode(mode), dev));
      return ApplyMetadata(stat, /*chmod=*/true);
    }
    pending_.emplace(id, PendingFile{stat, UniqueFd(), nullptr});
    Packet req;
    req.set_type(Packet::PACKET_REQ);
    req.set_id(id);
    KILN_RETURN_IF_ERROR(stream_.SendBuffered(std::move(req)));  // written at the latest by Recv
    stats_.files_requested++;
    return Status::Ok();
  }

  // Everything but xattrs; `cur` comes from DestDir::ReadStat.
  bool SameMetadata(const Stat& want, const Stat& cur) const {
    const uint32_t mode = want.mode();
    if (mode != cur.mode() || want.modtime() != cur.modtime()) return false;
    if (opts_.chown && (want.uid() != cur.uid() || want.gid() != cur.gid())) return false;
    if (IsRegular(mode) && want.size() != cur.size()) return false;
    if (IsSymlink(mode) && want.linkname() != cur.linkname()) return false;
    if ((mode & kModeDevice) != 0 &&
        (want.devmajor() != cur.devmajor() || want.devminor() != cur.devminor())) {
      return false;
    }
    return true;
  }

  // Whether the existing entry at want.path() has exactly want's xattrs. Read from dest unless
  // the caller's knowledge of dest (ReceiveOptions::dest_xattr_paths) says it has none and none
  // are wanted.
  Result<bool> SameXattrs(const Stat& want) {
    if (want.xattrs().empty() && opts_.dest_xattr_paths.has_value() &&
        !opts_.dest_xattr_paths->contains(want.path())) {
      return true;
    }
    KILN_ASSIGN_OR_RETURN(XattrMap cur, dest_->ReadXattrs(want.path()));
    return cur == Xattrs(want);
  }

  Result<bool> Unchanged(const Stat& want, const Stat& cur) {
    if (!SameMetadata(want, cur)) return false;  // xattrs are not even read
    return SameXattrs(want);
  }

  void NoteXattrPath(const std::string& path) {
    std::optional<std::vector<std::string>>& paths = stats_.xattr_paths;
    if (!paths.has_value()) return;
    if (paths->size() >= kMaxXattrPaths) {
      paths.reset();
      return;
    }
    paths->push_back(path);
  }

  Status ApplyMetadata(const Stat& stat, bool chmod, bool replace_xattrs = false) {
    const std::string& path = stat.path();
    if (opts_.chown) KILN_RETURN_IF_ERROR(dest_->Chown(path, stat.uid(), stat.gid()));
    if (chmod) KILN_RETURN_IF_ERROR(dest_->Chmod(path, PosixPermissions(stat.mode())));
    if (replace_xattrs) {
      KILN_RETURN_IF_ERROR(dest_->ReplaceXattrs(path, Xattrs(stat)));
    } else {
      KILN_RETURN_IF_ERROR(dest_->SetXattrs(path, Xattrs(stat)));
    }
    return dest_->SetMtime(path, stat.modtime());
  }

  Status HandleData(const Packet& p) {
    auto it = pending_.find(p.id());
    if (it == pending_.end()) {
      return InvalidArgument(fmt::format(
          "invalid file transfer: data for file ID {}, which was not requested or is complete",
          p.id()));
    }
    PendingFile& f = it->second;
    const std::string& path = f.stat.path();
    if (!f.fd.valid()) {
      if (open_files_ >= kMaxOpenFiles) {
        return ResourceExhausted("file transfer: too many files in flight at once");
      }
      // Created with its final permissions (the special bits are set at the end), so that
      // FinishFile mostly finds nothing to chmod: writes through this fd are allowed whatever
      // the mode says.
      KILN_ASSIGN_OR_RETURN(f.fd, dest_->CreateFile(path, PosixPermissions(f.stat.mode())));
      open_files_++;
      if (opts_.on_file_content) f.hash = std::make_unique<Sha256>();
    }
    if (!p.data().empty()) {
      KILN_RETURN_IF_ERROR(WriteAll(f.fd.get(), p.data()).Annotate(path));
      if (f.hash) f.hash->Update(p.data());
      stats_.bytes_received += static_cast<int64_t>(p.data().size());
      return Status::Ok();
    }
    Status s = FinishFile(f);
    open_files_--;
    pending_.erase(it);
    return s;
  }

  // Applies metadata through the open fd, then closes it.
  Status FinishFile(PendingFile& f) {
    const Stat& st = f.stat;
    const int fd = f.fd.get();
    const std::string& path = st.path();
    // A file just created mostly has the wanted owner and mode already (our uid/gid, the mode
    // it was created with less the umask): changing them anyway dirties the inode for nothing.
    struct stat cur {};
    bool known = fstat(fd, &cur) == 0;
    if (opts_.chown && (!known || cur.st_uid != st.uid() || cur.st_gid != st.gid())) {
      if (fchown(fd, st.uid(), st.gid()) != 0) return ErrnoStatus(errno, "chown " + path);
      known = false;  // chown may clear setuid/setgid bits
    }
    const mode_t perm = PosixPermissions(st.mode());
    if (!known || (cur.st_mode & 07777) != perm) {
      if (fchmod(fd, perm) != 0) return ErrnoStatus(errno, "chmod " + path);
    }
    KILN_RETURN_IF_ERROR(internal::WriteXattrsFd(fd, Xattrs(st)).Annotate(path));
    timespec ts[2] = {ToTimespec(st.modtime()), ToTimespec(st.modtime())};
    if (futimens(fd, ts) != 0) return ErrnoStatus(errno, "set times of " + path);
    if (close(f.fd.Release()) != 0) return ErrnoStatus(errno, "close " + path);
    if (f.hash) opts_.on_file_content(path, f.hash->Final());
    return Status::Ok();
  }

  Status MaybeFinish() {
    if (!listing_done_ || fin_sent_ || !pending_.empty()) return Status::Ok();
    KILN_RETURN_IF_ERROR(Finalize());
    Packet fin;
    fin.set_type(Packet::PACKET_FIN);
    KILN_RETURN_IF_ERROR(stream_.Send(fin));
    fin_sent_ = true;
    return Status::Ok();
  }

  Status Finalize() {
    KILN_RETURN_IF_ERROR(Prune(""));
    for (const auto& [path, target] : links_) {
      KILN_ASSIGN_OR_RETURN(std::optional<struct stat> cur, dest_->Lstat(path));
      KILN_ASSIGN_OR_RETURN(std::optional<struct stat> tgt, dest_->Lstat(target));
      if (!tgt.has_value()) {
        return NotFound("file transfer: hardlink target " + target + " is missing");
      }
      if (cur.has_value() && cur->st_dev == tgt->st_dev && cur->st_ino == tgt->st_ino) continue;
      if (cur.has_value()) KILN_RETURN_IF_ERROR(dest_->RemoveAll(path));
      KILN_RETURN_IF_ERROR(dest_->Link(target, path));
    }
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      if (it->kept && !it->replace_xattrs) {
        // Unless something changed inside it or it was opened up for writing, it is already
        // right: skip three syscalls for one.
        KILN_ASSIGN_OR_RETURN(std::optional<Stat> cur, dest_->ReadStat(it->stat.path()));
        if (cur.has_value() && SameMetadata(it->stat, *cur)) continue;
      }
      KILN_RETURN_IF_ERROR(ApplyMetadata(it->stat, /*chmod=*/true, it->replace_xattrs));
    }
    return Status::Ok();
  }

  // Removes what the sender did not list, below directory `dir`.
  Status Prune(const std::string& dir) {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, dest_->ListDir(dir));
    const auto& entries = validator_.entries();
    for (const std::string& name : names) {
      std::string rel = dir.empty() ? name : dir + "/" + name;
      auto it = entries.find(rel);
      if (it == entries.end()) {
        KILN_RETURN_IF_ERROR(dest_->RemoveAll(rel));
        stats_.entries_removed++;
      } else if (it->second == internal::StreamValidator::Kind::kDir) {
        KILN_RETURN_IF_ERROR(Prune(rel));
      }
    }
    return Status::Ok();
  }

  // After a failure: drop files that were half written.
  void Cleanup() {
    for (auto& [id, f] : pending_) {
      if (!f.fd.valid()) continue;
      f.fd.Reset();
      dest_->RemoveAll(f.stat.path()).IgnoreError();
    }
  }

  PacketStream& stream_;
  const ReceiveOptions& opts_;
  std::optional<DestDir> dest_;
  internal::StreamValidator validator_;
  ReceiveStats stats_;

  uint32_t next_id_ = 0;
  bool listing_done_ = false;
  bool fin_sent_ = false;
  bool got_fin_ = false;
  bool peer_error_ = false;
  bool closed_ = false;
  int64_t wire_bytes_ = 0;
  int open_files_ = 0;

  std::unordered_map<uint32_t, PendingFile> pending_;       // requested, not yet complete
  std::vector<DirEntry> dirs_;                              // in listing order
  std::vector<std::pair<std::string, std::string>> links_;  // path, target
  std::unordered_set<std::string> fresh_dirs_;  // created in this transfer: nothing inside yet
};

}  // namespace

Status Receive(const Context& ctx, PacketStream& stream, const std::string& dest,
               const ReceiveOptions& opts, ReceiveStats* stats) {
  Context::CallbackHandle on_cancel =
      ctx.OnCancel([&stream](const Status& cause) { stream.Cancel(cause); });
  Receiver r(stream, opts);
  return r.Run(dest, stats);
}

Status FinishAfterFin(PacketStream& stream) {
  Packet p;
  bool got_fin = false;
  while (true) {
    Result<bool> more = stream.Recv(&p);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (got_fin) continue;  // drain to EOF
    if (p.type() == Packet::PACKET_ERR) {
      return Status(Code::kUnknown, "error from sender: " + p.data());
    }
    if (p.type() != Packet::PACKET_FIN) {
      return InvalidArgument(fmt::format(
          "invalid file transfer: packet type {} from the sender after the receiver finished",
          static_cast<int>(p.type())));
    }
    got_fin = true;
    KILN_RETURN_IF_ERROR(stream.CloseSend());
  }
  if (!got_fin) return Unavailable("file transfer: the sender closed the stream before finishing");
  return Status::Ok();
}

}  // namespace kiln::fsutil
