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
#include "content/content.grpc.pb.h"

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

class ContentStoreService final : public containerd::services::content::v1::Content::Service {
 public:
  using Stores = std::map<std::string, std::unique_ptr<DirContentStore>>;
  explicit ContentStoreService(Stores stores) : stores_(std::move(stores)) {}

  grpc::Status Info(grpc::ServerContext* context,
                    const containerd::services::content::v1::InfoRequest* req,
                    containerd::services::content::v1::InfoResponse* resp) override;
  grpc::Status Read(
      grpc::ServerContext* context,
      const containerd::services::content::v1::ReadContentRequest* req,
      grpc::ServerWriter<containerd::services::content::v1::ReadContentResponse>* writer) override;
  grpc::Status Status(grpc::ServerContext* context,
                      const containerd::services::content::v1::StatusRequest* req,
                      containerd::services::content::v1::StatusResponse* resp) override;
  grpc::Status Abort(grpc::ServerContext* context,
                     const containerd::services::content::v1::AbortRequest* req,
                     google::protobuf::Empty* resp) override;
  grpc::Status Write(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<containerd::services::content::v1::WriteContentResponse,
                               containerd::services::content::v1::WriteContentRequest>* stream)
      override;

 private:
  Result<DirContentStore*> Choose(const grpc::ServerContext* context) const;

  const Stores stores_;
};

}  // namespace kiln::client
