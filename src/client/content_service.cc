#include "client/content_service.h"

#include <fmt/format.h>

#include <algorithm>

#include "session/grpc_status.h"
#include "util/go_quote.h"

namespace kiln::client {

namespace {

namespace cpb = containerd::services::content::v1;
using session::ToGrpcStatus;

constexpr int64_t kReadChunk = 1 << 20;

void SetTime(google::protobuf::Timestamp* ts, int64_t unix_nanos) {
  ts->set_seconds(unix_nanos / 1000000000);
  ts->set_nanos(static_cast<int32_t>(unix_nanos % 1000000000));
}

grpc::Status Err(grpc::StatusCode code, std::string message) {
  return grpc::Status(code, std::move(message));
}

}  // namespace

Result<DirContentStore*> ContentStoreService::Choose(const grpc::ServerContext* context) const {
  auto it = context->client_metadata().find(kContentStoreIdHeader);
  if (it == context->client_metadata().end()) {
    return InvalidArgument(
        fmt::format("request lacks metadata {}: invalid argument", GoQuote(kContentStoreIdHeader)));
  }
  std::string id(it->second.data(), it->second.size());
  auto store = stores_.find(id);
  if (store == stores_.end()) return NotFound(fmt::format("unknown store {}: not found", id));
  return store->second.get();
}

grpc::Status ContentStoreService::Info(grpc::ServerContext* context, const cpb::InfoRequest* req,
                                       cpb::InfoResponse* resp) {
  auto store = Choose(context);
  if (!store.ok()) return ToGrpcStatus(store.status());
  auto d = Digest::Parse(req->digest());
  if (!d.ok()) {
    return Err(grpc::StatusCode::INVALID_ARGUMENT,
               fmt::format("{} failed validation", GoQuote(req->digest())));
  }
  auto info = (*store)->Info(*d);
  if (!info.ok()) return ToGrpcStatus(info.status());
  cpb::Info* out = resp->mutable_info();
  out->set_digest(info->digest.str());
  out->set_size(info->size);
  SetTime(out->mutable_created_at(), info->updated_unix_nanos);
  SetTime(out->mutable_updated_at(), info->updated_unix_nanos);
  return grpc::Status::OK;
}

grpc::Status ContentStoreService::Read(grpc::ServerContext* context,
                                       const cpb::ReadContentRequest* req,
                                       grpc::ServerWriter<cpb::ReadContentResponse>* writer) {
  auto store = Choose(context);
  if (!store.ok()) return ToGrpcStatus(store.status());
  auto d = Digest::Parse(req->digest());
  if (!d.ok()) {
    return Err(grpc::StatusCode::INVALID_ARGUMENT,
               fmt::format("{}: {}", req->digest(), d.status().message()));
  }
  auto reader = (*store)->OpenBlob(*d);
  if (!reader.ok()) return ToGrpcStatus(reader.status());
  // containerd's semantics: size is how much to read (0: to the end), clipped to the blob.
  int64_t offset = std::max<int64_t>(req->offset(), 0);
  if (offset > reader->size()) {
    return Err(grpc::StatusCode::OUT_OF_RANGE,
               fmt::format("read past object length {} bytes", reader->size()));
  }
  int64_t size = req->size();
  if (size <= 0 || offset + size > reader->size()) size = reader->size() - offset;
  const int64_t end = offset + size;
  std::string buf;
  cpb::ReadContentResponse msg;
  while (offset < end) {
    buf.resize(static_cast<size_t>(std::min(kReadChunk, end - offset)));
    auto n = reader->ReadAt(offset, buf.data(), buf.size());
    if (!n.ok()) return ToGrpcStatus(n.status());
    if (*n == 0) return Err(grpc::StatusCode::DATA_LOSS, "short read of " + d->str());
    buf.resize(*n);
    msg.set_offset(offset);
    msg.set_data(buf);
    if (!writer->Write(msg)) return Err(grpc::StatusCode::CANCELLED, "read cancelled");
    offset += static_cast<int64_t>(*n);
  }
  return grpc::Status::OK;
}

grpc::Status ContentStoreService::Status(grpc::ServerContext* context,
                                         const cpb::StatusRequest* req, cpb::StatusResponse* resp) {
  auto store = Choose(context);
  if (!store.ok()) return ToGrpcStatus(store.status());
  auto st = (*store)->GetStatus(req->ref());
  if (!st.ok()) return ToGrpcStatus(st.status());
  cpb::Status* out = resp->mutable_status();
  SetTime(out->mutable_started_at(), st->started_unix_nanos);
  SetTime(out->mutable_updated_at(), st->updated_unix_nanos);
  out->set_ref(st->ref);
  out->set_offset(st->offset);
  out->set_total(st->total);
  out->set_expected(st->expected.str());
  return grpc::Status::OK;
}

grpc::Status ContentStoreService::Abort(grpc::ServerContext* context, const cpb::AbortRequest* req,
                                        google::protobuf::Empty*) {
  auto store = Choose(context);
  if (!store.ok()) return ToGrpcStatus(store.status());
  return ToGrpcStatus((*store)->Abort(req->ref()));
}

// containerd's contentserver Write loop over one Ingest.
grpc::Status ContentStoreService::Write(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<cpb::WriteContentResponse, cpb::WriteContentRequest>* stream) {
  auto chosen = Choose(context);
  if (!chosen.ok()) return ToGrpcStatus(chosen.status());
  DirContentStore* store = *chosen;
  auto parse = [](const std::string& s) -> Result<Digest> {
    if (s.empty()) return Digest();
    auto d = Digest::Parse(s);
    if (!d.ok()) return InvalidArgument(fmt::format("{} failed validation", GoQuote(s)));
    return d;
  };

  cpb::WriteContentRequest req;
  if (!stream->Read(&req)) return grpc::Status::OK;
  if (req.ref().empty()) {
    return Err(grpc::StatusCode::INVALID_ARGUMENT, "first message must have a reference");
  }
  int64_t total = req.total();
  auto expected = parse(req.expected());
  if (!expected.ok()) return ToGrpcStatus(expected.status());
  auto ingest = store->StartIngest(req.ref(), total, *expected);
  if (!ingest.ok()) return ToGrpcStatus(ingest.status());

  cpb::WriteContentResponse resp;
  for (;;) {
    resp.Clear();
    resp.set_action(req.action());
    resp.set_offset(ingest->offset());
    if (!req.expected().empty()) {
      auto d = parse(req.expected());
      if (!d.ok()) return ToGrpcStatus(d.status());
      *expected = *d;
      if (store->Info(*d).ok()) {
        return Err(grpc::StatusCode::ALREADY_EXISTS,
                   fmt::format("blob with expected digest {} exists", d->str()));
      }
    }
    if (req.total() > 0) total = req.total();
    switch (req.action()) {
      case cpb::STAT: {
        IngestStatus st = ingest->status();
        resp.set_total(total);
        SetTime(resp.mutable_started_at(), st.started_unix_nanos);
        SetTime(resp.mutable_updated_at(), st.updated_unix_nanos);
        break;
      }
      case cpb::WRITE:
      case cpb::COMMIT: {
        if (req.offset() > 0 && req.offset() != ingest->offset()) {
          return Err(grpc::StatusCode::OUT_OF_RANGE,
                     fmt::format("write @{} must occur at current offset {}", req.offset(),
                                 ingest->offset()));
        }
        if (req.offset() == 0 && ingest->offset() > 0) {
          kiln::Status s = ingest->Truncate();
          if (!s.ok()) return ToGrpcStatus(s);
          resp.set_offset(0);
        }
        if (!req.data().empty()) {
          kiln::Status s = ingest->Write(req.data());
          if (!s.ok()) return ToGrpcStatus(s);
          resp.set_offset(resp.offset() + static_cast<int64_t>(req.data().size()));
        }
        if (req.action() == cpb::COMMIT) {
          auto d = ingest->Commit(total, *expected);
          if (!d.ok()) return ToGrpcStatus(d.status());
          resp.set_digest(d->str());
        }
        break;
      }
      default:
        return Err(grpc::StatusCode::INVALID_ARGUMENT,
                   fmt::format("unknown write action {}", static_cast<int>(req.action())));
    }
    if (!stream->Write(resp)) return Err(grpc::StatusCode::CANCELLED, "write cancelled");
    const bool committed = req.action() == cpb::COMMIT;
    if (!stream->Read(&req)) {
      // The writer closed its side (without a COMMIT the ingest stays, to be resumed). As
      // containerd's server, the last response is sent once more before the status: callers
      // must read until the end before they finish the call.
      stream->Write(resp);
      return grpc::Status::OK;
    }
    if (committed) {
      return Err(grpc::StatusCode::FAILED_PRECONDITION,
                 fmt::format("write to {} after its commit", req.ref()));
    }
  }
}

}  // namespace kiln::client
