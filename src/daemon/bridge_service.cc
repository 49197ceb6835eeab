#include "daemon/bridge_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <random>

#include "daemon/control_service.h"
#include "daemon/grpc_util.h"
#include "llb/definition.h"
#include "source/registry_credentials.h"
#include "util/path.h"

namespace kiln::daemon {

namespace gw = moby::buildkit::v1::frontend;

namespace {

std::string NewRefID() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const char* alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id;
  for (int i = 0; i < 25; i++) id += alphabet[rng() % 36];
  return id;
}

}  // namespace

std::vector<std::string> FrontendAPICaps() {
  return {"solve.base", "solve.inlinereturn", "resolveimage", "return", "returnmap",
          "proto.refarray", "readfile", "gateway.solve.metadata", "gateway.evaluate", "gateway.solve.evaluate",
          "frontend.caps"};
}

Result<std::shared_ptr<BuildJob>> BridgeService::JobOf(const Context& ctx, grpc::ServerContext* sc) {
  std::string ref = Metadata(sc, "buildkit-controlapi-buildid");
  if (ref.empty()) {
    return InvalidArgument("LLBBridge call without a buildkit-controlapi-buildid header");
  }
  KILN_ASSIGN_OR_RETURN(auto job, core_->jobs.Get(ctx, ref, std::chrono::seconds(3)));
  // Wait briefly for Solve to register the bridge (it may still be starting).
  std::unique_lock<std::mutex> l(job->mu);
  job->cv.wait_for(l, std::chrono::seconds(3), [&] { return job->bridge || job->done; });
  if (job->done) return FailedPrecondition("build " + ref + " has already finished");
  if (!job->bridge) return NotFound("build " + ref + " does not use the client-side frontend flow");
  return job;
}

grpc::Status BridgeService::Ping(grpc::ServerContext*, const gw::PingRequest*, gw::PongResponse* resp) {
  for (const auto& c : FrontendAPICaps()) {
    auto* cap = resp->add_frontendapicaps();
    cap->set_id(c);
    cap->set_enabled(true);
  }
  for (const auto& c : llb::SupportedCaps()) {
    auto* cap = resp->add_llbcaps();
    cap->set_id(c);
    cap->set_enabled(true);
  }
  FillWorkerRecord(*core_->worker, resp->add_workers());
  return grpc::Status::OK;
}

grpc::Status BridgeService::Solve(grpc::ServerContext* sc, const gw::SolveRequest* req,
                                  gw::SolveResponse* resp) {
  CallContext cc(core_->ctx, sc);
  auto job = JobOf(cc.ctx(), sc);
  if (!job.ok()) return ToGrpc(job.status());
  frontend::SolveResult result;
  if (!req->frontend().empty()) {
    auto fe = core_->frontends.Get(req->frontend());
    if (!fe.ok()) return ToGrpc(fe.status());
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "frontend " + req->frontend() + " cannot run yet");
  }
  if (req->has_definition() && req->definition().def_size() > 0) {
    std::shared_ptr<solver::Job> sj;
    std::vector<std::string> entitlements;
    {
      std::lock_guard<std::mutex> l((*job)->mu);
      sj = (*job)->job;
      entitlements = (*job)->entitlements;
    }
    if (!sj) return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "build has finished");
    auto r = core_->llb->Solve(cc.ctx(), sj, req->definition(), entitlements);
    if (!r.ok()) return ToGrpc(r.status());
    result.ref = *r;
  }
  std::string id = NewRefID();
  {
    std::lock_guard<std::mutex> l((*job)->mu);
    (*job)->results[id] = result;
    if (req->final()) {
      (*job)->returned = result;  // legacy inline return
      (*job)->cv.notify_all();
    }
  }
  if (req->allowresultreturn()) {
    auto* ref = resp->mutable_result()->mutable_ref();
    ref->set_id(result.ref ? id : "");
    if (req->has_definition()) *ref->mutable_def() = req->definition();
  } else {
    resp->set_ref(result.ref ? id : "");
  }
  return grpc::Status::OK;
}

// The image config a frontend bases its LLB on (FROM): resolved as the docker-image source
// does, with the job's sessions for credentials. Digest is what the reference points to (an
// index or a manifest), as BuildKit answers, so a frontend can pin FROM to it.
grpc::Status BridgeService::ResolveImageConfig(grpc::ServerContext* sc,
                                               const gw::ResolveImageConfigRequest* req,
                                               gw::ResolveImageConfigResponse* resp) {
  CallContext cc(core_->ctx, sc);
  auto job = JobOf(cc.ctx(), sc);
  if (!job.ok()) return ToGrpc(job.status());
  pb::SourceOp op;
  op.set_identifier("docker-image://" + req->ref());
  if (!req->resolvemode().empty()) (*op.mutable_attrs())["image.resolvemode"] = req->resolvemode();
  auto id = source::ParseImage(op, req->has_platform() ? &req->platform() : nullptr);
  if (!id.ok()) return ToGrpc(id.status());
  std::vector<std::string> sessions = {(*job)->session_id};
  if (!req->sessionid().empty()) sessions.insert(sessions.begin(), req->sessionid());
  auto creds = source::SessionCredentials(core_->sessions.get(), sessions, cc.ctx());
  auto img = core_->images->Resolve(cc.ctx(), *id, creds, nullptr);
  if (!img.ok()) return ToGrpc(img.status());
  resp->set_digest(img->root_digest.str());
  resp->set_config(img->config.raw);
  resp->set_ref(req->ref());
  return grpc::Status::OK;
}

grpc::Status BridgeService::Return(grpc::ServerContext* sc, const gw::ReturnRequest* req,
                                   gw::ReturnResponse*) {
  CallContext cc(core_->ctx, sc);
  auto job = JobOf(cc.ctx(), sc);
  if (!job.ok()) return ToGrpc(job.status());
  std::lock_guard<std::mutex> l((*job)->mu);
  if ((*job)->returned) return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "result already returned");
  if (req->has_error() && req->error().code() != 0) {
    // Go clients prefix "<Code>: " to errors they pass back; ours would add it again.
    std::string msg = req->error().message();
    Code code = static_cast<Code>(req->error().code());
    std::string prefix = std::string(CodeName(code)) + ": ";
    while (msg.rfind(prefix, 0) == 0) msg = msg.substr(prefix.size());
    (*job)->returned = Result<frontend::SolveResult>(kiln::Status(code, msg));
  } else {
    const gw::Result& r = req->result();
    std::string id;
    switch (r.result_case()) {
      case gw::Result::kRef: id = r.ref().id(); break;
      case gw::Result::kRefDeprecated: id = r.refdeprecated(); break;
      case gw::Result::kRefs:
      case gw::Result::kRefsDeprecated:
        return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                            "multi-platform results (ref maps) are not supported yet");
      default: break;
    }
    frontend::SolveResult res;
    if (!id.empty()) {
      auto it = (*job)->results.find(id);
      if (it == (*job)->results.end()) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "no result with id " + id + " in this build");
      }
      res = it->second;
    }
    for (const auto& [k, v] : r.metadata()) res.metadata[k] = v;
    (*job)->returned = res;
  }
  (*job)->cv.notify_all();
  return grpc::Status::OK;
}

grpc::Status BridgeService::ReadFile(grpc::ServerContext* sc, const gw::ReadFileRequest* req,
                                     gw::ReadFileResponse* resp) {
  CallContext cc(core_->ctx, sc);
  auto job = JobOf(cc.ctx(), sc);
  if (!job.ok()) return ToGrpc(job.status());
  frontend::SolveResult res;
  {
    std::lock_guard<std::mutex> l((*job)->mu);
    auto it = (*job)->results.find(req->ref());
    if (it == (*job)->results.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no result with id " + req->ref());
    }
    res = it->second;
  }
  if (!res.ref) return grpc::Status(grpc::StatusCode::NOT_FOUND, "read " + req->filepath() + " of an empty result");
  auto ref = worker::RefOf(res.ref);
  if (!ref.ok()) return ToGrpc(ref.status());
  auto m = (*ref)->Mount();
  if (!m.ok()) return ToGrpc(m.status());
  auto path = ResolveInRoot((*m)->path(), req->filepath(), true);
  if (!path.ok()) return ToGrpc(path.status());
  int fd = open(path->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ToGrpc(ErrnoStatus(errno, "open " + req->filepath()));
  int64_t off = req->has_range() ? req->range().offset() : 0;
  int64_t len = req->has_range() && req->range().length() > 0 ? req->range().length() : (64 << 20);
  std::string data;
  char buf[65536];
  while (static_cast<int64_t>(data.size()) < len) {
    ssize_t n = pread(fd, buf, std::min<int64_t>(sizeof(buf), len - static_cast<int64_t>(data.size())),
                      off + static_cast<int64_t>(data.size()));
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  resp->set_data(std::move(data));
  return grpc::Status::OK;
}

grpc::Status BridgeService::Evaluate(grpc::ServerContext* sc, const gw::EvaluateRequest* req,
                                     gw::EvaluateResponse*) {
  CallContext cc(core_->ctx, sc);
  auto job = JobOf(cc.ctx(), sc);
  if (!job.ok()) return ToGrpc(job.status());
  std::lock_guard<std::mutex> l((*job)->mu);
  if (!(*job)->results.count(req->ref())) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no result with id " + req->ref());
  }
  return grpc::Status::OK;  // results are built eagerly by Solve
}

}  // namespace kiln::daemon
