#include "daemon/bridge_service.h"

#include <random>

#include "daemon/control_service.h"
#include "daemon/grpc_util.h"
#include "llb/definition.h"

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
  return {"solve.base",       "solve.inlinereturn",     "resolveimage",  "return",
          "returnmap",        "proto.refarray",         "readfile",      "gateway.solve.metadata",
          "gateway.evaluate", "gateway.solve.evaluate", "frontend.caps", "gateway.warnings",
          "frontend.inputs"};
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

namespace {

// The build's frontend bridge, or why there is none any more.
Result<std::shared_ptr<llbsolver::Bridge>> BridgeOf(BuildJob& job) {
  std::lock_guard<std::mutex> l(job.mu);
  if (!job.bridge_api) return FailedPrecondition("build has finished");
  return job.bridge_api;
}

}  // namespace

grpc::Status BridgeService::Solve(grpc::ServerContext* sc, const gw::SolveRequest* req,
                                  gw::SolveResponse* resp) {
  CallContext cc(core_->ctx, sc);
  auto job = JobOf(cc.ctx(), sc);
  if (!job.ok()) return ToGrpc(job.status());
  auto bridge = BridgeOf(**job);
  if (!bridge.ok()) return ToGrpc(bridge.status());
  frontend::SolveResult result;
  if (!req->frontend().empty()) {
    std::map<std::string, std::string> opts(req->frontendopt().begin(), req->frontendopt().end());
    frontend::Inputs inputs(req->frontendinputs().begin(), req->frontendinputs().end());
    auto r = (*bridge)->SolveFrontend(cc.ctx(), req->frontend(), opts, inputs);
    if (!r.ok()) return BuildErrorToGrpc(r.status());
    result = std::move(*r);
  } else if (req->has_definition() && req->definition().def_size() > 0) {
    auto r = (*bridge)->Solve(cc.ctx(), req->definition());
    if (!r.ok()) return BuildErrorToGrpc(r.status());
    result = std::move(*r);
  }
  if (!result.refs.empty() && !req->allowresultreturn()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "a multi-platform result needs a client that takes result maps "
                        "(allowResultReturn)");
  }
  std::string id = NewRefID();
  std::map<std::string, std::string> platform_ids;  // platform -> the id of its ref
  {
    std::lock_guard<std::mutex> l((*job)->mu);
    (*job)->results[id] = result;
    // Each platform's ref is a result of its own, for ReadFile and Return.
    for (const auto& [k, r] : result.refs) {
      frontend::SolveResult one;
      one.ref = r;
      std::string rid = NewRefID();
      (*job)->results[rid] = one;
      platform_ids[k] = r ? rid : "";
    }
    if (req->final()) {
      (*job)->returned = result;  // legacy inline return
      (*job)->cv.notify_all();
    }
  }
  if (req->allowresultreturn()) {
    auto* res = resp->mutable_result();
    if (!result.refs.empty()) {
      for (const auto& [k, rid] : platform_ids) {
        (*res->mutable_refs()->mutable_refs())[k].set_id(rid);
      }
    } else {
      auto* ref = res->mutable_ref();
      ref->set_id(result.ref ? id : "");
      if (req->has_definition()) *ref->mutable_def() = req->definition();
    }
    for (const auto& [k, v] : result.metadata) (*res->mutable_metadata())[k] = v;
  } else {
    resp->set_ref(result.ref ? id : "");
  }
  return grpc::Status::OK;
}

grpc::Status BridgeService::ResolveImageConfig(grpc::ServerContext* sc,
                                               const gw::ResolveImageConfigRequest* req,
                                               gw::ResolveImageConfigResponse* resp) {
  CallContext cc(core_->ctx, sc);
  auto job = JobOf(cc.ctx(), sc);
  if (!job.ok()) return ToGrpc(job.status());
  auto bridge = BridgeOf(**job);
  if (!bridge.ok()) return ToGrpc(bridge.status());
  frontend::ResolveImageConfigOptions opts;
  if (req->has_platform()) opts.platform = req->platform();
  opts.resolve_mode = req->resolvemode();
  opts.session_id = req->sessionid();
  // ResolverType 1 is BuildKit's ResolverTypeOCILayout (0: the registry).
  if (req->resolvertype() == 1) {
    opts.oci_layout = true;
    opts.store_id = req->storeid();
  } else if (req->resolvertype() != 0) {
    return ToGrpc(InvalidArgument("unknown resolver type " + std::to_string(req->resolvertype())));
  }
  auto r = (*bridge)->ResolveImageConfig(cc.ctx(), req->ref(), opts);
  if (!r.ok()) return ToGrpc(r.status());
  resp->set_digest(r->digest);
  resp->set_config(r->config);
  resp->set_ref(req->ref());
  return grpc::Status::OK;
}

grpc::Status BridgeService::Inputs(grpc::ServerContext* sc, const gw::InputsRequest*,
                                   gw::InputsResponse* resp) {
  CallContext cc(core_->ctx, sc);
  auto job = JobOf(cc.ctx(), sc);
  if (!job.ok()) return ToGrpc(job.status());
  std::lock_guard<std::mutex> l((*job)->mu);
  for (const auto& [k, v] : (*job)->inputs) (*resp->mutable_definitions())[k] = v;
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
    kiln::Status err = session::FromRpcStatus(req->error());
    std::string msg = err.message();
    std::string prefix = std::string(CodeName(err.code())) + ": ";
    while (msg.rfind(prefix, 0) == 0) msg = msg.substr(prefix.size());
    kiln::Status cleaned(err.code(), msg);
    cleaned.mutable_details() = err.details();
    (*job)->returned = Result<frontend::SolveResult>(cleaned);
  } else {
    const gw::Result& r = req->result();
    std::string id;
    std::map<std::string, std::string> ids;  // a multi-platform result: platform -> ref id
    switch (r.result_case()) {
      case gw::Result::kRef: id = r.ref().id(); break;
      case gw::Result::kRefDeprecated: id = r.refdeprecated(); break;
      case gw::Result::kRefs:
        for (const auto& [k, ref] : r.refs().refs()) ids[k] = ref.id();
        break;
      case gw::Result::kRefsDeprecated:
        ids.insert(r.refsdeprecated().refs().begin(), r.refsdeprecated().refs().end());
        break;
      default: break;
    }
    auto find = [&](const std::string& rid) -> const frontend::SolveResult* {
      auto it = (*job)->results.find(rid);
      return it == (*job)->results.end() ? nullptr : &it->second;
    };
    frontend::SolveResult res;
    if (!id.empty()) {
      const frontend::SolveResult* found = find(id);
      if (found == nullptr) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "no result with id " + id + " in this build");
      }
      res = *found;
    }
    for (const auto& [k, rid] : ids) {
      const frontend::SolveResult* found = rid.empty() ? nullptr : find(rid);
      if (!rid.empty() && found == nullptr) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND,
                            "no result with id " + rid + " in this build");
      }
      res.refs[k] = found != nullptr ? found->ref : nullptr;
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
  auto bridge = BridgeOf(**job);
  if (!bridge.ok()) return ToGrpc(bridge.status());
  frontend::SolveResult res;
  {
    std::lock_guard<std::mutex> l((*job)->mu);
    auto it = (*job)->results.find(req->ref());
    if (it == (*job)->results.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no result with id " + req->ref());
    }
    res = it->second;
  }
  int64_t off = req->has_range() ? req->range().offset() : 0;
  int64_t len = req->has_range() ? req->range().length() : 0;
  auto data = (*bridge)->ReadFile(cc.ctx(), res.ref, req->filepath(), off, len);
  if (!data.ok()) return ToGrpc(data.status());
  resp->set_data(std::move(*data));
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

grpc::Status BridgeService::Warn(grpc::ServerContext* sc, const gw::WarnRequest* req,
                                 gw::WarnResponse*) {
  CallContext cc(core_->ctx, sc);
  auto job = JobOf(cc.ctx(), sc);
  if (!job.ok()) return ToGrpc(job.status());
  auto bridge = BridgeOf(**job);
  if (!bridge.ok()) return ToGrpc(bridge.status());
  solver::WarningEvent w;
  w.vertex = req->digest();
  w.level = req->level();
  w.short_msg = req->short_();
  w.detail.assign(req->detail().begin(), req->detail().end());
  w.url = req->url();
  if (req->has_info()) {
    w.source = solver::WarningEvent::Source{req->info().filename(), req->info().data(),
                                            req->info().language()};
  }
  for (const auto& r : req->ranges()) {
    w.ranges.push_back({{r.start().line(), r.start().character()},
                        {r.end().line(), r.end().character()}});
  }
  (*bridge)->Warn(std::move(w));
  return grpc::Status::OK;
}

}  // namespace kiln::daemon
