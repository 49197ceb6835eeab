#include "session/content_read.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include "content/content.grpc.pb.h"
#include "session/grpc_status.h"

namespace kiln::session {

namespace {

namespace cpb = containerd::services::content::v1;

constexpr char kStoreIdHeader[] = "buildkit-attachable-store-id";

Status CheckServes(Session& s, const char* method) {
  if (s.Supports(method)) return Status::Ok();
  return FailedPrecondition(
      "the client session does not serve a content store (containerd.services.content.v1)");
}

// A call on `s` with the store id, cancelled with ctx or the session.
struct StoreCall {
  StoreCall(const Context& ctx, Session& s, const std::string& store_id)
      : cancel(ctx.OnCancel([this](const Status&) { cc.TryCancel(); })),
        cancel_session(s.context().OnCancel([this](const Status&) { cc.TryCancel(); })) {
    cc.AddMetadata(kStoreIdHeader, store_id);
  }
  grpc::ClientContext cc;
  Context::CallbackHandle cancel;
  Context::CallbackHandle cancel_session;
};

Status CallError(const Context& ctx, Session& s, const grpc::Status& gs, const std::string& what) {
  if (ctx.cancelled()) return ctx.Err();
  if (s.context().cancelled()) return Unavailable(what + ": the session closed");
  return FromGrpcStatus(gs).Annotate(what);
}

}  // namespace

Result<int64_t> ClientBlobSize(const Context& ctx, Session& s, const std::string& store_id,
                               const Digest& digest) {
  KILN_RETURN_IF_ERROR(CheckServes(s, kContentInfoMethod));
  StoreCall call(ctx, s, store_id);
  cpb::InfoRequest req;
  req.set_digest(digest.str());
  cpb::InfoResponse resp;
  grpc::Status gs = cpb::Content::NewStub(s.channel())->Info(&call.cc, req, &resp);
  const std::string what =
      fmt::format("info of {} in the client's content store \"{}\"", digest.str(), store_id);
  if (!gs.ok()) return CallError(ctx, s, gs, what);
  if (resp.info().size() < 0) return DataLoss(what + ": negative size");
  return resp.info().size();
}

Status ReadClientBlob(const Context& ctx, Session& s, const std::string& store_id,
                      const Digest& digest, const std::function<Status(std::string_view)>& sink) {
  KILN_RETURN_IF_ERROR(CheckServes(s, kContentReadMethod));
  StoreCall call(ctx, s, store_id);
  cpb::ReadContentRequest req;
  req.set_digest(digest.str());
  auto stub = cpb::Content::NewStub(s.channel());
  auto reader = stub->Read(&call.cc, req);
  const std::string what =
      fmt::format("read {} from the client's content store \"{}\"", digest.str(), store_id);
  cpb::ReadContentResponse resp;
  int64_t offset = 0;
  Status st;
  while (st.ok() && reader->Read(&resp)) {
    if (resp.offset() != offset) {
      st = DataLoss(
          fmt::format("{}: the client sent offset {}, expected {}", what, resp.offset(), offset));
      break;
    }
    st = sink(resp.data());
    offset += static_cast<int64_t>(resp.data().size());
  }
  if (!st.ok()) {
    call.cc.TryCancel();
    (void)reader->Finish();
    return st;
  }
  grpc::Status gs = reader->Finish();
  if (!gs.ok()) return CallError(ctx, s, gs, what);
  return Status::Ok();
}

}  // namespace kiln::session
