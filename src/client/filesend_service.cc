#include "client/filesend_service.h"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <optional>

#include "client/atomic_file.h"
#include "client/session_packet_stream.h"
#include "client/tree_merge.h"
#include "filesync/filesync.pb.h"
#include "fsutil/receiver.h"

namespace kiln::client {

namespace {

int ExporterId(const rpc::ServerCall& call) {
  std::string v = RequestHeader(call, "buildkit-attachable-exporter-id");
  int id = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), id);
  if (ec != std::errc() || ptr != v.data() + v.size()) return 0;
  return id;
}

Status MkdirAll(const std::string& path, mode_t mode) {
  std::string cur;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    cur = path.substr(0, slash);
    pos = slash + 1;
    if (cur.empty()) continue;
    if (mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return ErrnoStatus(errno, "mkdir " + cur);
  }
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "stat " + path);
  if (!S_ISDIR(st.st_mode)) return FailedPrecondition(path + " is not a directory");
  return Status::Ok();
}

Result<bool> IsEmptyDir(const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return ErrnoStatus(errno, "open " + path);
  bool empty = true;
  while (dirent* e = readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") {
      empty = false;
      break;
    }
  }
  closedir(d);
  return empty;
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write output");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

void FileSendService::Register(rpc::Handlers& handlers) {
  handlers[kFileSendDiffCopy] = [this](rpc::ServerCall& call) {
    return session::ToWireStatus(DiffCopy(call));
  };
}

Status FileSendService::DiffCopy(rpc::ServerCall& call) {
  int id = ExporterId(call);
  auto it = targets_.find(id);
  if (it == targets_.end()) return NotFound(fmt::format("exporter {} not found", id));
  if (!it->second.output_dir.empty()) return ReceiveDir(call, it->second.output_dir);
  return ReceiveFile(call, it->second.output_file);
}

Status FileSendService::ReceiveDir(rpc::ServerCall& call, const std::string& dest) {
  Status s = MkdirAll(dest, 0700);
  if (!s.ok()) return s.Annotate("failed to create synctarget dest dir " + dest);
  KILN_ASSIGN_OR_RETURN(bool empty, IsEmptyDir(dest));

  // fsutil::Receive mirrors its destination; buildctl merges into an existing directory, so a
  // non-empty dest receives into a fresh directory inside it first.
  std::string into = dest;
  if (!empty) {
    std::string tmpl = dest + "/.kiln-export-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      return ErrnoStatus(errno, "create temporary directory in " + dest);
    }
    into = tmpl;
  }

  Context ctx = call.context();
  auto on_cancel = ctx_.OnCancel([ctx](const Status& cause) { ctx.Cancel(cause); });
  ServerPacketStream packets(call);
  fsutil::ReceiveOptions opts;
  opts.chown = false;
  fsutil::ReceiveStats stats;
  s = fsutil::Receive(ctx, packets, into, opts, &stats);
  if (into != dest) {
    if (s.ok()) {
      s = MergeTree(into, dest);
    } else {
      RemoveTree(into).IgnoreError();  // the failed transfer's error is the one to report
    }
  }
  return s;
}

Status FileSendService::ReceiveFile(rpc::ServerCall& call, const std::string& dest) {
  std::optional<AtomicFileWriter> file;
  if (dest != "-") {
    KILN_ASSIGN_OR_RETURN(AtomicFileWriter w, AtomicFileWriter::Create(dest));
    file.emplace(std::move(w));
  }
  std::string bytes;
  moby::filesync::v1::BytesMessage msg;
  while (call.Read(&bytes)) {
    if (!msg.ParseFromString(bytes)) return Internal("malformed export message");
    KILN_RETURN_IF_ERROR(file ? file->Write(msg.data()) : WriteAll(stdout_fd_, msg.data()));
  }
  if (call.cancelled()) return Cancelled("export cancelled");
  if (file) return file->Commit();
  return Status::Ok();
}

}  // namespace kiln::client
