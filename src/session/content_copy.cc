#include "session/content_copy.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "content/content.grpc.pb.h"
#include "session/grpc_status.h"

namespace kiln::session {

namespace {

namespace cpb = containerd::services::content::v1;
using WriteStream = grpc::ClientReaderWriter<cpb::WriteContentRequest, cpb::WriteContentResponse>;

constexpr char kStoreIdHeader[] = "buildkit-attachable-store-id";

bool IsLayerType(const std::string& mt) {
  if (mt.starts_with("application/vnd.oci.image.layer.")) return true;
  std::string base = mt.substr(0, mt.find('+'));
  return base == "application/vnd.docker.image.rootfs.diff.tar" ||
         base == "application/vnd.docker.image.rootfs.foreign.diff.tar" ||
         base == "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
         base == "application/vnd.docker.image.rootfs.diff.tar.zstd" ||
         base == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}

// One blob's Write stream. Stream failures (Write/Read returning false) set `ended`: the
// client finished the call, and its status (AlreadyExists, or an error) is in Finish.
class BlobCopy {
 public:
  BlobCopy(const BlobDescriptor& blob, content::Reader& reader, WriteStream& rw,
           const BlobCopyOptions& opts, std::function<void(int64_t)> acked)
      : blob_(blob), reader_(reader), rw_(rw), opts_(opts), acked_(std::move(acked)) {}

  bool ended() const { return ended_; }
  int64_t sent() const { return sent_; }

  Status Run() {
    cpb::WriteContentRequest req;
    req.set_action(cpb::STAT);
    req.set_ref(IngestRef(blob_));
    req.set_total(blob_.size);
    req.set_expected(blob_.digest.str());
    cpb::WriteContentResponse resp;
    KILN_RETURN_IF_ERROR(Send(req));
    KILN_RETURN_IF_ERROR(Recv(&resp));
    // A kept ingest resumes; anything odd starts again (WRITE at 0 truncates it).
    int64_t pos = resp.offset() > 0 && resp.offset() <= blob_.size ? resp.offset() : 0;
    acked_(pos);

    std::deque<int64_t> pending;  // offsets the client will acknowledge, in order
    std::string buf;
    while (pos < blob_.size) {
      size_t n = static_cast<size_t>(
          std::min<int64_t>(static_cast<int64_t>(opts_.chunk_size), blob_.size - pos));
      buf.resize(n);
      KILN_ASSIGN_OR_RETURN(size_t got, reader_.ReadAt(pos, buf.data(), n));
      if (got == 0)
        return DataLoss(fmt::format("blob {}: short read at {}", blob_.digest.str(), pos));
      buf.resize(got);
      req.Clear();
      req.set_action(cpb::WRITE);
      req.set_offset(pos);
      req.set_data(buf);
      KILN_RETURN_IF_ERROR(Send(req));
      pos += static_cast<int64_t>(got);
      sent_ += static_cast<int64_t>(got);
      pending.push_back(pos);
      if (static_cast<int>(pending.size()) >= std::max(opts_.window, 1)) {
        KILN_RETURN_IF_ERROR(Ack(&pending));
      }
    }
    while (!pending.empty()) KILN_RETURN_IF_ERROR(Ack(&pending));

    req.Clear();
    req.set_action(cpb::COMMIT);
    req.set_total(blob_.size);
    req.set_offset(pos);
    req.set_expected(blob_.digest.str());
    KILN_RETURN_IF_ERROR(Send(req));
    KILN_RETURN_IF_ERROR(Recv(&resp));
    if (blob_.size != 0 && resp.offset() != blob_.size) {
      return DataLoss(fmt::format("blob {}: the client committed {} bytes, expected {}",
                                  blob_.digest.str(), resp.offset(), blob_.size));
    }
    if (resp.digest() != blob_.digest.str()) {
      return DataLoss(fmt::format("blob {}: the client committed digest {}", blob_.digest.str(),
                                  resp.digest()));
    }
    return Status::Ok();
  }

 private:
  Status Send(const cpb::WriteContentRequest& req) {
    if (rw_.Write(req)) return Status::Ok();
    ended_ = true;
    return Unavailable("the client ended the write");
  }
  Status Recv(cpb::WriteContentResponse* resp) {
    if (rw_.Read(resp)) return Status::Ok();
    ended_ = true;
    return Unavailable("the client ended the write");
  }
  Status Ack(std::deque<int64_t>* pending) {
    cpb::WriteContentResponse resp;
    KILN_RETURN_IF_ERROR(Recv(&resp));
    if (resp.offset() != pending->front()) {
      return DataLoss(fmt::format("blob {}: the client is at offset {}, expected {}",
                                  blob_.digest.str(), resp.offset(), pending->front()));
    }
    pending->pop_front();
    acked_(resp.offset());
    return Status::Ok();
  }

  const BlobDescriptor& blob_;
  content::Reader& reader_;
  WriteStream& rw_;
  const BlobCopyOptions& opts_;
  std::function<void(int64_t)> acked_;
  bool ended_ = false;
  int64_t sent_ = 0;
};

class Copier {
 public:
  Copier(Session& s, std::string store_id, const content::Store& store, const BlobCopyOptions& opts)
      : s_(s), store_id_(std::move(store_id)), store_(store), opts_(opts) {}

  // Copies `group` with up to `parallel` blobs at a time; the first failure cancels the rest.
  Status CopyGroup(const Context& ctx, const std::vector<const BlobDescriptor*>& group,
                   int parallel) {
    Context gctx = ctx.Child();
    std::atomic<size_t> next{0};
    std::mutex mu;
    Status first;
    auto work = [&] {
      for (size_t i = next++; i < group.size() && !gctx.cancelled(); i = next++) {
        Status st = CopyOne(gctx, *group[i]);
        if (st.ok()) continue;
        {
          std::lock_guard<std::mutex> l(mu);
          if (first.ok()) first = st;
        }
        gctx.Cancel(st);
        return;
      }
    };
    size_t n = std::min(group.size(), static_cast<size_t>(std::max(parallel, 1)));
    std::vector<std::thread> threads;
    for (size_t i = 1; i < n; ++i) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    if (!first.ok()) return first;
    return ctx.Err();
  }

  BlobCopyStats stats() {
    std::lock_guard<std::mutex> l(mu_);
    return stats_;
  }

 private:
  Status CopyOne(const Context& ctx, const BlobDescriptor& blob) {
    KILN_RETURN_IF_ERROR(ctx.Err());
    KILN_ASSIGN_OR_RETURN(content::Reader reader, store_.OpenBlob(blob.digest));
    if (reader.size() != blob.size) {
      return DataLoss(
          fmt::format("blob {} is {} bytes in the content store, its descriptor says {}",
                      blob.digest.str(), reader.size(), blob.size));
    }
    grpc::ClientContext cc;
    cc.AddMetadata(kStoreIdHeader, store_id_);
    auto cancel = ctx.OnCancel([&cc](const Status&) { cc.TryCancel(); });
    auto cancel_session = s_.context().OnCancel([&cc](const Status&) { cc.TryCancel(); });
    auto stub = cpb::Content::NewStub(s_.channel());
    std::unique_ptr<WriteStream> rw = stub->Write(&cc);
    BlobCopy copy(blob, reader, *rw, opts_,
                  [&](int64_t acked) { Report(blob, acked, false, false); });
    Status st = copy.Run();
    if (!st.ok() && !copy.ended()) cc.TryCancel();  // our own failure: end the call
    if (st.ok()) rw->WritesDone();
    // A call is finished only once everything the server sent has been read: containerd's
    // server (buildctl's, docker's) sends its last response again after the writer closes its
    // side, and Finish would wait for that unread message forever.
    for (cpb::WriteContentResponse rest; rw->Read(&rest);) {
    }
    grpc::Status gs = rw->Finish();
    const std::string what =
        fmt::format("copy {} to the client's content store \"{}\"", blob.digest.str(), store_id_);
    if (gs.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      Done(blob, 0, true);
      return Status::Ok();
    }
    if (ctx.cancelled()) return ctx.Err();
    if (s_.context().cancelled()) return Unavailable(what + ": the session closed");
    if (!st.ok() && !copy.ended()) return st.Annotate(what);
    if (!gs.ok()) return FromGrpcStatus(gs).Annotate(what);
    if (!st.ok()) return st.Annotate(what);  // ended early without an error status
    Done(blob, copy.sent(), false);
    return Status::Ok();
  }

  void Report(const BlobDescriptor& blob, int64_t written, bool done, bool skipped) {
    if (!opts_.progress) return;
    std::lock_guard<std::mutex> l(progress_mu_);
    opts_.progress(BlobProgress{&blob, written, done, skipped});
  }

  void Done(const BlobDescriptor& blob, int64_t sent, bool skipped) {
    {
      std::lock_guard<std::mutex> l(mu_);
      (skipped ? stats_.blobs_skipped : stats_.blobs_copied)++;
      stats_.bytes_sent += sent;
    }
    Report(blob, blob.size, true, skipped);
  }

  Session& s_;
  const std::string store_id_;
  const content::Store& store_;
  const BlobCopyOptions& opts_;
  std::mutex progress_mu_;  // serializes progress calls
  std::mutex mu_;
  BlobCopyStats stats_;  // guarded by mu_
};

}  // namespace

bool IsManifestOrIndex(const std::string& mt) {
  return mt == "application/vnd.oci.image.manifest.v1+json" ||
         mt == "application/vnd.docker.distribution.manifest.v2+json" ||
         mt == "application/vnd.oci.image.index.v1+json" ||
         mt == "application/vnd.docker.distribution.manifest.list.v2+json";
}

std::string IngestRef(const BlobDescriptor& blob) {
  const std::string& mt = blob.media_type;
  const char* kind = "unknown";
  if (mt == "application/vnd.oci.image.manifest.v1+json" ||
      mt == "application/vnd.docker.distribution.manifest.v2+json") {
    kind = "manifest";
  } else if (mt == "application/vnd.oci.image.index.v1+json" ||
             mt == "application/vnd.docker.distribution.manifest.list.v2+json") {
    kind = "index";
  } else if (IsLayerType(mt)) {
    kind = "layer";
  } else if (mt == "application/vnd.oci.image.config.v1+json" ||
             mt == "application/vnd.docker.container.image.v1+json") {
    kind = "config";
  } else if (mt == "application/vnd.in-toto+json") {
    kind = "attestation";
  }
  return std::string(kind) + "-" + blob.digest.str();
}

Result<BlobCopyStats> CopyBlobsToClientStore(const Context& ctx, Session& s,
                                             const std::string& store_id,
                                             const content::Store& store,
                                             const std::vector<BlobDescriptor>& blobs,
                                             const BlobCopyOptions& opts) {
  if (!s.Supports(kContentWriteMethod)) {
    return FailedPrecondition(
        "the client session does not serve a content store (containerd.services.content.v1)");
  }
  // Each digest once, where it first appears: two writes of one ref would lock each other out.
  std::vector<const BlobDescriptor*> order;
  std::set<Digest> seen;
  for (const BlobDescriptor& b : blobs) {
    if (seen.insert(b.digest).second) order.push_back(&b);
  }
  Copier copier(s, store_id, store, opts);
  for (size_t i = 0; i < order.size();) {
    std::vector<const BlobDescriptor*> group;
    int parallel = 1;
    if (IsManifestOrIndex(order[i]->media_type)) {
      group.push_back(order[i++]);
    } else {
      while (i < order.size() && !IsManifestOrIndex(order[i]->media_type)) {
        group.push_back(order[i++]);
      }
      parallel = opts.parallel;
    }
    KILN_RETURN_IF_ERROR(copier.CopyGroup(ctx, group, parallel));
  }
  return copier.stats();
}

}  // namespace kiln::session
