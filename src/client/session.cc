#include "client/session.h"

#include <cstdlib>

#include "client/auth_service.h"
#include "client/content_service.h"
#include "client/health_service.h"
#include "client/id.h"
#include "client/ssh_service.h"
#include "session/status_convert.h"
#include "util/log.h"

namespace kiln::client {

namespace {

constexpr char kSessionMethod[] = "/moby.buildkit.v1.Control/Session";

}  // namespace

Result<std::unique_ptr<Session>> Session::Start(rpc::Connection& conn, SessionConfig config) {
  std::unique_ptr<Session> s(new Session());
  KILN_RETURN_IF_ERROR(s->Init(conn, std::move(config)));
  return s;
}

Status Session::Init(rpc::Connection& conn, SessionConfig config) {
  id_ = config.id.empty() ? NewId() : config.id;

  services_.push_back(std::make_unique<HealthService>());
  methods_.push_back(kHealthCheck);
  if (!config.local_dirs.empty()) {
    services_.push_back(
        std::make_unique<FileSyncService>(config.local_dirs, ctx_, config.batch_sync));
    methods_.push_back(kFileSyncDiffCopy);
    if (config.batch_sync) methods_.push_back(kFileSyncDiffCopyBatch);
  }
  if (!config.export_targets.empty()) {
    services_.push_back(
        std::make_unique<FileSendService>(config.export_targets, ctx_, config.stdout_fd));
    methods_.push_back(kFileSendDiffCopy);
  }
  if (!config.content_stores.empty()) {
    ContentStoreService::Stores stores;
    for (const auto& [id, dir] : config.content_stores) {
      KILN_ASSIGN_OR_RETURN(stores[id], DirContentStore::Open(dir));
    }
    services_.push_back(std::make_unique<ContentStoreService>(std::move(stores)));
    methods_.insert(methods_.end(), kContentMethods.begin(), kContentMethods.end());
  }
  if (config.serve_auth) {
    std::string path = config.docker_config.empty()
                           ? DockerConfigPath([](const char* k) { return getenv(k); })
                           : config.docker_config;
    services_.push_back(
        std::make_unique<AuthService>(std::make_unique<DockerAuthProvider>(path), ctx_));
    methods_.push_back(kAuthCredentials);
  }
  if (config.secrets) {
    services_.push_back(std::make_unique<SecretsService>(std::move(*config.secrets)));
    methods_.push_back(kSecretsGetSecret);
  }
  if (!config.ssh_agents.empty()) {
    services_.push_back(std::make_unique<SSHService>(std::move(config.ssh_agents)));
    methods_.push_back(kSSHCheckAgent);
    methods_.push_back(kSSHForwardAgent);
  }
  rpc::Handlers handlers;
  for (auto& svc : services_) svc->Register(handlers);

  rpc::CallOptions opts;
  opts.metadata = {{"x-docker-expose-session-uuid", id_},
                   {"x-docker-expose-session-sharedkey", config.shared_key},
                   {"x-docker-expose-session-name", config.name}};
  for (const std::string& m : methods_) {
    opts.metadata.emplace_back("x-docker-expose-session-grpc-method", m);
  }
  tunnel_ = conn.StartTunnel(kSessionMethod, opts, std::move(handlers));
  return Status::Ok();
}

Session::~Session() { Close().IgnoreError(); }

Status Session::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return close_status_;
    closed_ = true;
  }
  Status st;
  if (tunnel_ != nullptr) {
    // The build is over: nothing the daemon could still send matters, so the stream is reset
    // instead of waiting a round trip for the daemon to end it (BuildKit's daemon and ours
    // both end the session the same way either way).
    ctx_.Cancel(Cancelled("session closed"));
    rpc::RpcStatus fin = tunnel_->Close();
    if (fin.code != 0 && fin.code != static_cast<int>(Code::kCancelled) &&
        fin.code != static_cast<int>(Code::kUnavailable)) {
      st = session::FromWireStatus(fin).Annotate("session");
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  close_status_ = st;
  return st;
}

void Session::EndWithProcess(std::unique_ptr<Session> s) {
  // Never destroyed: reachable from a global, so a leak checker at exit does not report it.
  static auto* const kept = new std::vector<std::unique_ptr<Session>>;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  kept->push_back(std::move(s));
}

void Session::Abort() {
  ctx_.Cancel(Cancelled("build cancelled"));
  if (tunnel_ != nullptr) tunnel_->Cancel();
}

}  // namespace kiln::client
