#pragma once
// containerd.services.content.v1.Content as kilnctl serves it in the session (wire-protocol.md
// §4.7, BuildKit's session/content.NewAttachable over containerd's contentserver): the metadata
// `buildkit-attachable-store-id` picks one of the directory stores by id ("export" for
// `--output type=oci|docker,dest=DIR,tar=false`); an unknown id is NotFound "unknown store
// <id>", a missing header InvalidArgument. Served: Info, Read, Status, Abort and Write (the
// STAT → WRITE… → COMMIT protocol, with containerd's answers: AlreadyExists as soon as the
// expected blob is present, OutOfRange for a write away from the current offset, a write at 0
// starting the ingest again). List, Delete, Update and ListStatuses answer Unimplemented.
// Thread-safe: each call runs on its own thread; Write streams of different refs run at once.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "client/dir_content_store.h"
#include "client/session_handlers.h"
#include "content/content.pb.h"

namespace kiln::client {

inline constexpr char kContentStoreIdHeader[] = "buildkit-attachable-store-id";
// What the session advertises for this service (the methods served).
inline const std::vector<std::string> kContentMethods = {
    "/containerd.services.content.v1.Content/Info",
    "/containerd.services.content.v1.Content/Read",
    "/containerd.services.content.v1.Content/Status",
    "/containerd.services.content.v1.Content/Write",
    "/containerd.services.content.v1.Content/Abort",
};

class ContentStoreService final : public SessionService {
 public:
  using Stores = std::map<std::string, std::unique_ptr<DirContentStore>>;
  explicit ContentStoreService(Stores stores) : stores_(std::move(stores)) {}
  void Register(rpc::Handlers& handlers) override;

 private:
  using WriteStream = ServerStream<containerd::services::content::v1::WriteContentRequest,
                                   containerd::services::content::v1::WriteContentResponse>;
  using ReadStream = ServerStream<containerd::services::content::v1::ReadContentRequest,
                                  containerd::services::content::v1::ReadContentResponse>;
  Result<DirContentStore*> Choose(const rpc::ServerCall& call) const;
  kiln::Status Info(const rpc::ServerCall& call,
                    const containerd::services::content::v1::InfoRequest& req,
                    containerd::services::content::v1::InfoResponse* resp);
  kiln::Status Read(ReadStream& stream);
  kiln::Status GetStatus(const rpc::ServerCall& call,
                         const containerd::services::content::v1::StatusRequest& req,
                         containerd::services::content::v1::StatusResponse* resp);
  kiln::Status Write(WriteStream& stream);

  const Stores stores_;
};

}  // namespace kiln::client
