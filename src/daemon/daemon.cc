#include "daemon/daemon.h"

#include <grpc/grpc.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "daemon/bridge_service.h"
#include "daemon/control_service.h"
#include "daemon/core.h"
#include "daemon/health_service.h"
#include "frontend/dockerfile/builder/build.h"
#include "source/registry_credentials.h"
#include "util/log.h"

namespace kiln::daemon {

namespace {
constexpr int kMaxMessage = 64 << 20;

// Creates the socket's directory and removes a stale socket file.
Result<std::string> PrepareUnixAddress(const std::string& addr) {
  constexpr std::string_view kUnix = "unix://";
  if (addr.rfind(kUnix, 0) != 0) {
    return InvalidArgument("unsupported address \"" + addr +
                           "\": kilnd listens on unix:// sockets");
  }
  std::string path = addr.substr(kUnix.size());
  if (path.empty() || path[0] != '/')
    return InvalidArgument("socket path must be absolute: " + addr);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return Internal("create socket directory for " + path + ": " + ec.message());
  unlink(path.c_str());
  return path;
}
// The [registry."host"] tables of the config, as the registry client takes them.
registry::Hosts RegistryHosts(const Config& cfg) {
  registry::Hosts hosts;
  for (const auto& [host, rc] : cfg.registries) {
    registry::HostConfig h;
    h.http = rc.http;
    h.insecure = rc.insecure;
    h.ca = rc.ca;
    h.mirrors = rc.mirrors;
    if (!rc.username.empty()) h.credentials = registry::Credentials{rc.username, rc.password};
    hosts.Set(host, std::move(h));
  }
  return hosts;
}

}  // namespace

struct Daemon::Impl {
  Core core;
  std::unique_ptr<ControlService> control;
  std::unique_ptr<BridgeService> bridge;
  std::unique_ptr<HealthService> health;
  std::unique_ptr<grpc::Server> server;
  std::vector<std::string> socket_paths;
};

Daemon::Daemon() : impl_(std::make_unique<Impl>()) {}

Daemon::~Daemon() {
  Shutdown();
  for (const auto& p : impl_->socket_paths) unlink(p.c_str());
}

Result<std::unique_ptr<Daemon>> Daemon::Start(const Config& cfg) {
  // gRPC's library-wide shutdown, run when the last server or channel goes, joins its executor
  // threads, and after a session one of them can sit in a poll for up to 10 s (gRPC 1.51), so
  // kilnd took 10 s to stop on SIGTERM now and then. The daemon holds one library reference for
  // the life of the process: servers and channels still shut down, the library is left to exit.
  static const bool grpc_held = [] {
    grpc_init();
    return true;
  }();
  (void)grpc_held;
  std::unique_ptr<Daemon> d(new Daemon());
  Core& c = d->impl_->core;
  c.config = cfg;
  if (cfg.debug) log::SetLevel(log::Level::kDebug);
  std::error_code ec;
  std::filesystem::create_directories(cfg.root, ec);
  if (ec) return Internal("create root " + cfg.root + ": " + ec.message());
  chmod(cfg.root.c_str(), 0700);

  worker::WorkerOptions wo;
  wo.root = cfg.root + "/worker";
  wo.snapshotter = cfg.snapshotter;
  wo.runtime = cfg.runtime;
  wo.network_mode = cfg.network_mode;
  wo.cni_config_path = cfg.cni_config_path;
  wo.cni_binary_path = cfg.cni_binary_path;
  KILN_ASSIGN_OR_RETURN(c.worker, worker::Worker::New(wo));
  KILN_ASSIGN_OR_RETURN(c.keys, solver::OpenSqliteKeyStore(cfg.root + "/cachekeys.db"));
  // Records pointing at refs that no longer exist (a crash between prune steps) are dropped.
  KILN_ASSIGN_OR_RETURN(auto ids, c.worker->cache().ListIDs());
  std::set<std::string> alive(ids.begin(), ids.end());
  KILN_ASSIGN_OR_RETURN(int swept,
                        c.keys->Sweep([&](const std::string& id) { return alive.count(id) > 0; }));
  if (swept > 0) log::Info("dropped {} cache records of missing refs", swept);

  solver::SolverOptions so;
  so.max_parallelism = cfg.max_parallelism > 0
                           ? cfg.max_parallelism
                           : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  c.solver = std::make_unique<solver::Solver>(so, c.keys.get(), c.worker.get());
  c.sessions = std::make_unique<session::Manager>();
  std::filesystem::create_directories(cfg.root + "/local", ec);
  c.local = std::make_unique<source::LocalSource>(cfg.root + "/local", c.sessions.get(),
                                                  &c.worker->cache());
  c.images = std::make_unique<source::ImageSource>(&c.worker->content(), &c.worker->cache(),
                                                   RegistryHosts(cfg));
  c.http = std::make_unique<source::HttpSource>(&c.worker->cache(), registry::NewCurlHttpClient());
  c.git = std::make_unique<source::GitSource>(&c.worker->cache());
  llbsolver::OpDeps deps;
  deps.worker = c.worker.get();
  deps.sessions = c.sessions.get();
  deps.local = c.local.get();
  deps.images = c.images.get();
  deps.http = c.http.get();
  deps.git = c.git.get();
  deps.credentials = [sessions = c.sessions.get()](const Context& ctx,
                                                   const std::vector<std::string>& ids) {
    return source::SessionCredentials(sessions, ids, ctx);
  };
  c.llb = std::make_unique<llbsolver::LLBSolver>(c.solver.get(), deps);
  c.exporters.cache = &c.worker->cache();
  c.exporters.store = &c.worker->content();
  c.exporters.registry = [sessions = c.sessions.get(), hosts = RegistryHosts(cfg)](
                             const Context& ctx, const exporter::ExportRequest& req,
                             const std::string& insecure_host) {
    registry::ClientOptions o;
    o.hosts = hosts;
    if (!insecure_host.empty()) {
      registry::HostConfig h = o.hosts.Config(insecure_host);
      h.insecure = true;
      h.http = true;
      o.hosts.Set(insecure_host, std::move(h));
    }
    std::vector<std::string> ids;
    if (!req.session_id.empty()) ids.push_back(req.session_id);
    o.credentials = source::SessionCredentials(sessions, ids, ctx);
    return std::make_unique<registry::Client>(std::move(o));
  };
  c.frontends.Register(dockerfile::kDockerfileFrontendName,
                       std::make_shared<dockerfile::DockerfileFrontend>());

  d->impl_->control = std::make_unique<ControlService>(&c);
  d->impl_->bridge = std::make_unique<BridgeService>(&c);
  d->impl_->health = std::make_unique<HealthService>(c.ctx);
  grpc::ServerBuilder b;
  std::vector<std::string> addrs =
      cfg.addresses.empty() ? std::vector<std::string>{DefaultAddress()} : cfg.addresses;
  for (const auto& a : addrs) {
    KILN_ASSIGN_OR_RETURN(std::string path, PrepareUnixAddress(a));
    b.AddListeningPort(a, grpc::InsecureServerCredentials());
    d->impl_->socket_paths.push_back(path);
  }
  b.SetMaxReceiveMessageSize(kMaxMessage);
  b.SetMaxSendMessageSize(kMaxMessage);
  b.RegisterService(d->impl_->control.get());
  b.RegisterService(d->impl_->bridge.get());
  b.RegisterService(d->impl_->health.get());
  d->impl_->server = b.BuildAndStart();
  if (!d->impl_->server) {
    return Unavailable("cannot listen on " + addrs[0] + " (is another kilnd running there?)");
  }
  for (const auto& p : d->impl_->socket_paths) chmod(p.c_str(), 0660);
  log::Info("kilnd {} running: root {}, listening on {}", "v0.1.0-dev", cfg.root, addrs[0]);
  return d;
}

void Daemon::Wait() {
  if (impl_->server) impl_->server->Wait();
}

void Daemon::Shutdown() {
  if (!impl_->server) return;
  impl_->core.ctx.Cancel(Cancelled("kilnd is shutting down"));
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

}  // namespace kiln::daemon
