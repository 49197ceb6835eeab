#pragma once
// An in-process stand-in for kilnd's side of the protocol, for client tests: Control
// (ListWorkers, Session with the daemon end of the tunnel, Solve, Status) and LLBBridge
// (Ping, Solve, Return) on a unix socket. Solve follows a script: pull --local dirs through the
// session's FileSync, ask for the client's health, export a directory (fsutil packets) or bytes
// (BytesMessage) through FileSend, copy blobs into the client's content store "export"
// (session::CopyBlobsToClientStore), then answer. Everything it saw is recorded for assertions.
// Thread-safe.

#include <grpcpp/server.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "control/control.grpc.pb.h"
#include "gateway/gateway.grpc.pb.h"
#include "session/content_copy.h"
#include "util/status.h"

namespace kiln::client::testing {

struct FakeScript {
  std::vector<std::string> pull_locals;  // FileSync dir-names to pull into pulled_root/<name>
  bool pull_batch = false;               // pull with kiln's DiffCopyBatch instead of DiffCopy
  bool check_health = false;
  std::string export_dir;    // sent with FileSend (fsutil packets) to exporter `export_id`
  std::string export_bytes;  // sent with FileSend (BytesMessage) to exporter `export_id`
  int export_id = 0;
  // Copied from `content_store` to the client's content store "export" (oci, tar=false).
  const content::Store* content_store = nullptr;
  std::vector<session::BlobDescriptor> store_blobs;
  bool block_until_cancelled = false;
  grpc::Status list_workers;  // what ListWorkers returns when not OK
  grpc::Status result;  // what Solve returns after the steps above
  std::map<std::string, std::string> exporter_response;
  std::vector<moby::buildkit::v1::StatusResponse> statuses;  // streamed by Status
};

struct FakeRecord {
  std::vector<std::string> calls;  // RPC names in arrival order
  std::multimap<std::string, std::string> session_headers;
  moby::buildkit::v1::SolveRequest solve;
  std::map<std::string, Status> pull_status;  // per pulled local
  Status export_status;
  Status store_status;  // of the copy into the client's content store
  grpc::Status health;
  bool health_serving = false;
  std::string bridge_buildid;  // buildkit-controlapi-buildid of LLBBridge calls
  moby::buildkit::v1::frontend::SolveRequest bridge_solve;
  moby::buildkit::v1::frontend::ReturnRequest bridge_return;
  bool solve_cancelled = false;
};

class FakeDaemon {
 public:
  // Serves on unix://<dir>/fake.sock; `pulled_root` receives pulled locals.
  FakeDaemon(std::string dir, std::string pulled_root);
  ~FakeDaemon();

  Status Start();
  std::string address() const { return "unix://" + dir_ + "/fake.sock"; }

  void SetScript(FakeScript script);
  FakeRecord record();

  class Impl;  // the services; public for the .cc's helpers

 private:
  std::string dir_;
  std::unique_ptr<Impl> impl_;
  std::vector<std::unique_ptr<grpc::Service>> services_;  // outlive server_
  std::unique_ptr<grpc::Server> server_;
};

// Holds a gRPC library reference until the test binary exits (idempotent). Without it, a test
// whose gRPC server is the library's last object waits ~10 s at teardown, for gRPC 1.51's
// library-wide shutdown to join its executor threads. Call it from SetUp, not at static
// initialisation (gRPC's own statics may not be ready then).
void HoldGrpc();

}  // namespace kiln::client::testing
