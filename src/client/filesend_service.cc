#include "client/filesend_service.h"

#include <dirent.h>
#include <fmt/format.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/impl/rpc_service_method.h>
#include <grpcpp/support/method_handler.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <optional>

#include "client/atomic_file.h"
#include "client/grpc_packet_stream.h"
#include "session/grpc_status.h"
#include "client/tree_merge.h"
#include "filesync/filesync.pb.h"
#include "fsutil/receiver.h"

namespace kiln::client {

namespace {

using RawStream = grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;

int ExporterId(const grpc::ServerContext* context) {
  auto it = context->client_metadata().find("buildkit-attachable-exporter-id");
  if (it == context->client_metadata().end()) return 0;
  int id = 0;
  auto [ptr, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), id);
  if (ec != std::errc() || ptr != it->second.data() + it->second.size()) return 0;
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

FileSendService::FileSendService(std::map<int, ExportTarget> targets, Context ctx, int stdout_fd)
    : targets_(std::move(targets)), ctx_(std::move(ctx)), stdout_fd_(stdout_fd) {
  AddMethod(new grpc::internal::RpcServiceMethod(
      kFileSendDiffCopy, grpc::internal::RpcMethod::BIDI_STREAMING,
      new grpc::internal::BidiStreamingHandler<FileSendService, grpc::ByteBuffer, grpc::ByteBuffer>(
          [](FileSendService* self, grpc::ServerContext* context, RawStream* stream) {
            return self->DiffCopy(context, stream);
          },
          this)));
}

grpc::Status FileSendService::DiffCopy(grpc::ServerContext* context, RawStream* stream) {
  int id = ExporterId(context);
  auto it = targets_.find(id);
  if (it == targets_.end()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, fmt::format("exporter {} not found", id));
  }
  if (!it->second.output_dir.empty()) return ReceiveDir(context, stream, it->second.output_dir);
  return ReceiveFile(context, stream, it->second.output_file);
}

grpc::Status FileSendService::ReceiveDir(grpc::ServerContext* context, RawStream* stream,
                                         const std::string& dest) {
  Status s = MkdirAll(dest, 0700);
  if (!s.ok()) return session::ToGrpcStatus(s.Annotate("failed to create synctarget dest dir " + dest));
  auto empty = IsEmptyDir(dest);
  if (!empty.ok()) return session::ToGrpcStatus(empty.status());

  // fsutil::Receive mirrors its destination; buildctl merges into an existing directory, so a
  // non-empty dest receives into a fresh directory inside it first.
  std::string into = dest;
  if (!*empty) {
    std::string tmpl = dest + "/.kiln-export-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      return session::ToGrpcStatus(ErrnoStatus(errno, "create temporary directory in " + dest));
    }
    into = tmpl;
  }

  Context ctx = ctx_.Child();
  auto on_cancel = ctx.OnCancel([context](const Status&) { context->TryCancel(); });
  ByteBufferPacketStream packets(context, stream);
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
  return session::ToGrpcStatus(s);
}

grpc::Status FileSendService::ReceiveFile(grpc::ServerContext* context, RawStream* stream,
                                          const std::string& dest) {
  std::optional<AtomicFileWriter> file;
  if (dest != "-") {
    auto w = AtomicFileWriter::Create(dest);
    if (!w.ok()) return session::ToGrpcStatus(w.status());
    file.emplace(std::move(*w));
  }
  grpc::ByteBuffer buffer;
  moby::filesync::v1::BytesMessage msg;
  while (stream->Read(&buffer)) {
    grpc::Status ds =
        grpc::SerializationTraits<moby::filesync::v1::BytesMessage>::Deserialize(&buffer, &msg);
    if (!ds.ok()) return ds;
    Status s = file ? file->Write(msg.data()) : WriteAll(stdout_fd_, msg.data());
    if (!s.ok()) return session::ToGrpcStatus(s);
  }
  if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "export cancelled");
  if (file) return session::ToGrpcStatus(file->Commit());
  return grpc::Status::OK;
}

}  // namespace kiln::client
