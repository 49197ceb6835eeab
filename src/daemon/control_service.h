#pragma once
// moby.buildkit.v1.Control: Solve, Status, Session, ListWorkers, Info, DiskUsage, Prune.

#include "control/control.grpc.pb.h"
#include "daemon/core.h"

namespace kiln::daemon {

class ControlService final : public moby::buildkit::v1::Control::Service {
 public:
  explicit ControlService(Core* core) : core_(core) {}

  grpc::Status Solve(grpc::ServerContext*, const moby::buildkit::v1::SolveRequest*,
                     moby::buildkit::v1::SolveResponse*) override;
  grpc::Status Status(grpc::ServerContext*, const moby::buildkit::v1::StatusRequest*,
                      grpc::ServerWriter<moby::buildkit::v1::StatusResponse>*) override;
  grpc::Status Session(grpc::ServerContext*,
                       grpc::ServerReaderWriter<moby::buildkit::v1::BytesMessage,
                                                moby::buildkit::v1::BytesMessage>*) override;
  grpc::Status ListWorkers(grpc::ServerContext*, const moby::buildkit::v1::ListWorkersRequest*,
                           moby::buildkit::v1::ListWorkersResponse*) override;
  grpc::Status Info(grpc::ServerContext*, const moby::buildkit::v1::InfoRequest*,
                    moby::buildkit::v1::InfoResponse*) override;
  grpc::Status DiskUsage(grpc::ServerContext*, const moby::buildkit::v1::DiskUsageRequest*,
                         moby::buildkit::v1::DiskUsageResponse*) override;
  grpc::Status Prune(grpc::ServerContext*, const moby::buildkit::v1::PruneRequest*,
                     grpc::ServerWriter<moby::buildkit::v1::UsageRecord>*) override;

 private:
  Result<std::map<std::string, std::string>> RunSolve(const Context& ctx,
                                                      const moby::buildkit::v1::SolveRequest& req,
                                                      BuildJob& job);
  Core* core_;
};

// Fills a WorkerRecord for the worker (shared by ListWorkers and LLBBridge.Ping).
void FillWorkerRecord(const worker::Worker& w, moby::buildkit::v1::types::WorkerRecord* rec);

}  // namespace kiln::daemon
