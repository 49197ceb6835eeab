#include "client/content_service.h"

#include <fmt/format.h>

#include <algorithm>

#include "util/go_quote.h"

namespace kiln::client {

namespace {

namespace cpb = containerd::services::content::v1;

constexpr int64_t kReadChunk = 1 << 20;

void SetTime(google::protobuf::Timestamp* ts, int64_t unix_nanos) {
  ts->set_seconds(unix_nanos / 1000000000);
  ts->set_nanos(static_cast<int32_t>(unix_nanos % 1000000000));
}

kiln::Status Err(Code code, std::string message) { return kiln::Status(code, std::move(message)); }

}  // namespace

void ContentStoreService::Register(rpc::Handlers& handlers) {
  handlers[kContentMethods[0]] = UnaryHandler<cpb::InfoRequest, cpb::InfoResponse>(
      [this](rpc::ServerCall& call, const cpb::InfoRequest& req, cpb::InfoResponse* resp) {
        return Info(call, req, resp);
      });
  handlers[kContentMethods[1]] = [this](rpc::ServerCall& call) {
    ReadStream stream(call);
    return session::ToWireStatus(Read(stream));
  };
  handlers[kContentMethods[2]] = UnaryHandler<cpb::StatusRequest, cpb::StatusResponse>(
      [this](rpc::ServerCall& call, const cpb::StatusRequest& req, cpb::StatusResponse* resp) {
        return GetStatus(call, req, resp);
      });
  handlers[kContentMethods[3]] = StreamHandler<cpb::WriteContentRequest, cpb::WriteContentResponse>(
      [this](WriteStream& stream) { return Write(stream); });
  handlers[kContentMethods[4]] = UnaryHandler<cpb::AbortRequest, google::protobuf::Empty>(
      [this](rpc::ServerCall& call, const cpb::AbortRequest& req, google::protobuf::Empty*) {
        KILN_ASSIGN_OR_RETURN(DirContentStore * store, Choose(call));
        return store->Abort(req.ref());
      });
  for (const char* m : {"List", "Delete", "Update", "ListStatuses"}) {
    std::string name = fmt::format("/containerd.services.content.v1.Content/{}", m);
    handlers[name] = [name](rpc::ServerCall&) {
      return session::ToWireStatus(Unimplemented(fmt::format("unknown method {}", name)));
    };
  }
}

Result<DirContentStore*> ContentStoreService::Choose(const rpc::ServerCall& call) const {
  bool found = false;
  std::string id;
  for (const auto& [k, v] : call.metadata()) {
    if (k == kContentStoreIdHeader) {
      id = v;
      found = true;
      break;
    }
  }
  if (!found) {
    return InvalidArgument(
        fmt::format("request lacks metadata {}: invalid argument", GoQuote(kContentStoreIdHeader)));
  }
  auto store = stores_.find(id);
  if (store == stores_.end()) return NotFound(fmt::format("unknown store {}: not found", id));
  return store->second.get();
}

kiln::Status ContentStoreService::Info(const rpc::ServerCall& call, const cpb::InfoRequest& r,
                                       cpb::InfoResponse* resp) {
  const cpb::InfoRequest* req = &r;
  auto store = Choose(call);
  if (!store.ok()) return store.status();
  auto d = Digest::Parse(req->digest());
  if (!d.ok()) {
    return Err(Code::kInvalidArgument, fmt::format("{} failed validation", GoQuote(req->digest())));
  }
  auto info = (*store)->Info(*d);
  if (!info.ok()) return info.status();
  cpb::Info* out = resp->mutable_info();
  out->set_digest(info->digest.str());
  out->set_size(info->size);
  SetTime(out->mutable_created_at(), info->updated_unix_nanos);
  SetTime(out->mutable_updated_at(), info->updated_unix_nanos);
  return kiln::Status::Ok();
}

kiln::Status ContentStoreService::Read(ReadStream& stream) {
  cpb::ReadContentRequest request;
  if (!stream.Read(&request)) return Internal("no request message");
  const cpb::ReadContentRequest* req = &request;
  auto store = Choose(stream.call());
  if (!store.ok()) return store.status();
  auto d = Digest::Parse(req->digest());
  if (!d.ok()) {
    return Err(Code::kInvalidArgument, fmt::format("{}: {}", req->digest(), d.status().message()));
  }
  auto reader = (*store)->OpenBlob(*d);
  if (!reader.ok()) return reader.status();
  // containerd's semantics: size is how much to read (0: to the end), clipped to the blob.
  int64_t offset = std::max<int64_t>(req->offset(), 0);
  if (offset > reader->size()) {
    return Err(Code::kOutOfRange, fmt::format("read past object length {} bytes", reader->size()));
  }
  int64_t size = req->size();
  if (size <= 0 || offset + size > reader->size()) size = reader->size() - offset;
  const int64_t end = offset + size;
  std::string buf;
  cpb::ReadContentResponse msg;
  while (offset < end) {
    buf.resize(static_cast<size_t>(std::min(kReadChunk, end - offset)));
    auto n = reader->ReadAt(offset, buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return Err(Code::kDataLoss, "short read of " + d->str());
    buf.resize(*n);
    msg.set_offset(offset);
    msg.set_data(buf);
    if (!stream.Write(msg)) return Err(Code::kCancelled, "read cancelled");
    offset += static_cast<int64_t>(*n);
  }
  return kiln::Status::Ok();
}

kiln::Status ContentStoreService::GetStatus(const rpc::ServerCall& call,
                                            const cpb::StatusRequest& r,
                                            cpb::StatusResponse* resp) {
  const cpb::StatusRequest* req = &r;
  auto store = Choose(call);
  if (!store.ok()) return store.status();
  auto st = (*store)->GetStatus(req->ref());
  if (!st.ok()) return st.status();
  cpb::Status* out = resp->mutable_status();
  SetTime(out->mutable_started_at(), st->started_unix_nanos);
  SetTime(out->mutable_updated_at(), st->updated_unix_nanos);
  out->set_ref(st->ref);
  out->set_offset(st->offset);
  out->set_total(st->total);
  out->set_expected(st->expected.str());
  return kiln::Status::Ok();
}

// containerd's contentserver Write loop over one Ingest.
kiln::Status ContentStoreService::Write(WriteStream& s) {
  WriteStream* stream = &s;
  auto chosen = Choose(s.call());
  if (!chosen.ok()) return chosen.status();
  DirContentStore* store = *chosen;
  auto parse = [](const std::string& s) -> Result<Digest> {
    if (s.empty()) return Digest();
    auto d = Digest::Parse(s);
    if (!d.ok()) return InvalidArgument(fmt::format("{} failed validation", GoQuote(s)));
    return d;
  };

  cpb::WriteContentRequest req;
  if (!stream->Read(&req)) return kiln::Status::Ok();
  if (req.ref().empty()) {
    return Err(Code::kInvalidArgument, "first message must have a reference");
  }
  int64_t total = req.total();
  auto expected = parse(req.expected());
  if (!expected.ok()) return expected.status();
  auto ingest = store->StartIngest(req.ref(), total, *expected);
  if (!ingest.ok()) return ingest.status();

  cpb::WriteContentResponse resp;
  for (;;) {
    resp.Clear();
    resp.set_action(req.action());
    resp.set_offset(ingest->offset());
    if (!req.expected().empty()) {
      auto d = parse(req.expected());
      if (!d.ok()) return d.status();
      *expected = *d;
      if (store->Info(*d).ok()) {
        return Err(Code::kAlreadyExists,
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
          return Err(Code::kOutOfRange, fmt::format("write @{} must occur at current offset {}",
                                                    req.offset(), ingest->offset()));
        }
        if (req.offset() == 0 && ingest->offset() > 0) {
          kiln::Status s = ingest->Truncate();
          if (!s.ok()) return s;
          resp.set_offset(0);
        }
        if (!req.data().empty()) {
          kiln::Status s = ingest->Write(req.data());
          if (!s.ok()) return s;
          resp.set_offset(resp.offset() + static_cast<int64_t>(req.data().size()));
        }
        if (req.action() == cpb::COMMIT) {
          auto d = ingest->Commit(total, *expected);
          if (!d.ok()) return d.status();
          resp.set_digest(d->str());
        }
        break;
      }
      default:
        return Err(Code::kInvalidArgument,
                   fmt::format("unknown write action {}", static_cast<int>(req.action())));
    }
    if (!stream->Write(resp)) return Err(Code::kCancelled, "write cancelled");
    const bool committed = req.action() == cpb::COMMIT;
    if (!stream->Read(&req)) {
      // The writer closed its side (without a COMMIT the ingest stays, to be resumed). As
      // containerd's server, the last response is sent once more before the status: callers
      // must read until the end before they finish the call.
      stream->Write(resp);
      return kiln::Status::Ok();
    }
    if (committed) {
      return Err(Code::kFailedPrecondition, fmt::format("write to {} after its commit", req.ref()));
    }
  }
}

}  // namespace kiln::client
