#include "daemon/control_service.h"

#include <algorithm>

#include "cache/usage_filter.h"
#include "daemon/grpc_util.h"
#include "daemon/status_convert.h"
#include "daemon/version.h"
#include "exporter/exporter.h"
#include "util/go_strconv.h"
#include "util/log.h"

namespace kiln::daemon {

namespace bk = moby::buildkit::v1;

namespace {

struct ExporterSpec {
  std::string type;
  std::map<std::string, std::string> attrs;
};

std::vector<ExporterSpec> Exporters(const bk::SolveRequest& req) {
  std::vector<ExporterSpec> out;
  for (const auto& e : req.exporters()) {
    out.push_back({e.type(), {e.attrs().begin(), e.attrs().end()}});
  }
  if (out.empty() && !req.exporterdeprecated().empty()) {
    out.push_back({req.exporterdeprecated(),
                   {req.exporterattrsdeprecated().begin(), req.exporterattrsdeprecated().end()}});
  }
  return out;
}

google::protobuf::Timestamp Ts(int64_t ns) {
  google::protobuf::Timestamp t;
  t.set_seconds(ns / 1000000000);
  t.set_nanos(static_cast<int32_t>(ns % 1000000000));
  return t;
}

void FillUsage(const cache::UsageInfo& u, bk::UsageRecord* r) {
  r->set_id(u.rec.id);
  r->set_mutable_(u.mutable_);
  r->set_inuse(u.in_use);
  r->set_size(std::max<int64_t>(u.rec.size, 0));
  if (!u.rec.parent.empty()) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    r->set_parent(u.rec.parent);  // read by clients before v0.10
#pragma GCC diagnostic pop
    r->add_parents(u.rec.parent);
  }
  *r->mutable_createdat() = Ts(u.rec.created_at);
  *r->mutable_lastusedat() = Ts(u.rec.last_used);
  r->set_usagecount(u.rec.usage_count);
  r->set_description(u.rec.description);
  r->set_recordtype(u.rec.record_type);
  r->set_shared(u.shared);
}

}  // namespace

void FillWorkerRecord(const worker::Worker& w, bk::types::WorkerRecord* rec) {
  rec->set_id(w.id());
  for (const auto& [k, v] : w.Labels()) (*rec->mutable_labels())[k] = v;
  for (const auto& p : w.Platforms()) {
    auto* pp = rec->add_platforms();
    pp->set_os(p.os);
    pp->set_architecture(p.architecture);
    if (!p.variant.empty()) pp->set_variant(p.variant);
  }
  auto* v = rec->mutable_buildkitversion();
  v->set_package(kPackage);
  v->set_version(kVersion);
  v->set_revision(kRevision);
}

grpc::Status ControlService::ListWorkers(grpc::ServerContext*, const bk::ListWorkersRequest*,
                                         bk::ListWorkersResponse* resp) {
  FillWorkerRecord(*core_->worker, resp->add_record());
  return grpc::Status::OK;
}

grpc::Status ControlService::Info(grpc::ServerContext*, const bk::InfoRequest*,
                                  bk::InfoResponse* resp) {
  auto* v = resp->mutable_buildkitversion();
  v->set_package(kPackage);
  v->set_version(kVersion);
  v->set_revision(kRevision);
  return grpc::Status::OK;
}

grpc::Status ControlService::Session(
    grpc::ServerContext* sc, grpc::ServerReaderWriter<bk::BytesMessage, bk::BytesMessage>* stream) {
  session::SessionHeaders h;
  for (const auto& [k, v] : sc->client_metadata()) {
    std::string key(k.data(), k.size()), val(v.data(), v.size());
    if (key == "x-docker-expose-session-uuid") h.id = val;
    if (key == "x-docker-expose-session-sharedkey") h.shared_key = val;
    if (key == "x-docker-expose-session-name") h.name = val;
    if (key == "x-docker-expose-session-grpc-method") h.methods.push_back(val);
  }
  class Tunnel : public session::ByteTunnel {
   public:
    explicit Tunnel(grpc::ServerReaderWriter<bk::BytesMessage, bk::BytesMessage>* s) : s_(s) {}
    bool Read(std::string* chunk) override {
      bk::BytesMessage m;
      if (!s_->Read(&m)) return false;
      *chunk = std::move(*m.mutable_data());
      return true;
    }
    bool Write(const std::string& chunk) override {
      bk::BytesMessage m;
      m.set_data(chunk);
      return s_->Write(m);
    }

   private:
    grpc::ServerReaderWriter<bk::BytesMessage, bk::BytesMessage>* s_;
  } tunnel(stream);
  CallContext cc(core_->ctx, sc);
  return ToGrpc(core_->sessions->Serve(cc.ctx(), h, tunnel));
}

Result<std::map<std::string, std::string>> ControlService::RunSolve(const Context& ctx,
                                                                    const bk::SolveRequest& req,
                                                                    BuildJob& job) {
  if (req.cache().exports_size() > 0 || !req.cache().exportrefdeprecated().empty()) {
    return Unimplemented("cache export (--export-cache) is not implemented yet in kiln");
  }
  auto exporters = Exporters(req);
  // build-arg:SOURCE_DATE_EPOCH (a number, or empty) is every exporter's source-date-epoch unless
  // it sets one itself (BuildKit's control does the same).
  if (auto it = req.frontendattrs().find("build-arg:SOURCE_DATE_EPOCH");
      it != req.frontendattrs().end() && (it->second.empty() || GoParseInt(it->second).ok())) {
    for (auto& e : exporters) e.attrs.emplace("source-date-epoch", it->second);
  }
  // Check exporter types before any work.
  std::vector<std::unique_ptr<exporter::Exporter>> exps;
  for (const auto& e : exporters) {
    KILN_ASSIGN_OR_RETURN(auto ex, exporter::New(e.type, core_->exporters));
    exps.push_back(std::move(ex));
  }
  frontend::SolveResult result;
  if (!req.frontend().empty()) {
    // The frontend named in the request (buildctl <= v0.10's flow), run in the daemon.
    std::map<std::string, std::string> attrs(req.frontendattrs().begin(),
                                             req.frontendattrs().end());
    frontend::Inputs inputs(req.frontendinputs().begin(), req.frontendinputs().end());
    KILN_ASSIGN_OR_RETURN(result,
                          job.bridge_api->SolveFrontend(ctx, req.frontend(), attrs, inputs));
  } else if (req.has_definition()) {
    if (req.definition().def_size() == 0)
      return InvalidArgument("invalid LLB definition: empty definition");
    KILN_ASSIGN_OR_RETURN(result, job.bridge_api->Solve(ctx, req.definition()));
  } else {
    // Client-side gateway flow (wire-protocol.md §3.6): wait for LLBBridge.Return.
    std::unique_lock<std::mutex> l(job.mu);
    job.bridge = true;
    job.cv.notify_all();
    bool woke = false;
    auto h = ctx.OnCancel([&](const kiln::Status&) {
      std::lock_guard<std::mutex> g(job.mu);
      woke = true;
      job.cv.notify_all();
    });
    job.cv.wait(l, [&] { return job.returned.has_value() || woke; });
    if (!job.returned) {
      l.unlock();
      return ctx.Err();
    }
    if (!job.returned->ok()) return job.returned->status();
    result = job.returned->value();
  }
  std::shared_ptr<session::Session> sess;
  std::map<std::string, std::string> response;
  for (size_t i = 0; i < exps.size(); i++) {
    if (!sess) {
      auto s = core_->sessions->Get(ctx, req.session());
      if (!s.ok()) return s.status().Annotate("export");
      sess = *s;
    }
    exporter::ExportRequest er;
    if (result.ref) {
      KILN_ASSIGN_OR_RETURN(const cache::ImmutableRef* ref, worker::RefOf(result.ref));
      er.ref = *ref;
    }
    for (const auto& [k, r] : result.refs) {
      cache::ImmutableRef& slot = er.refs[k];  // invalid for a platform with an empty result
      if (!r) continue;
      KILN_ASSIGN_OR_RETURN(const cache::ImmutableRef* ref, worker::RefOf(r));
      slot = *ref;
    }
    er.attrs = exporters[i].attrs;
    er.metadata = result.metadata;
    er.session_id = req.session();
    er.index = static_cast<int>(i);
    er.session = sess;
    er.progress = job.progress.get();
    er.job_id = job.ref;
    KILN_ASSIGN_OR_RETURN(auto r, exps[i]->Export(ctx, er));
    response.insert(r.begin(), r.end());
  }
  return response;
}

grpc::Status ControlService::Solve(grpc::ServerContext* sc, const bk::SolveRequest* req,
                                   bk::SolveResponse* resp) {
  CallContext cc(core_->ctx, sc);
  // Entitlements the client asks for must be granted by the daemon's config.
  for (const auto& e : req->entitlements()) {
    const auto& allowed = core_->config.entitlements;
    if (std::find(allowed.begin(), allowed.end(), e) == allowed.end()) {
      return ToGrpc(InvalidArgument("granting entitlement " + e +
                                    " is not allowed by build daemon configuration"));
    }
  }
  auto created = core_->jobs.Create(req->ref(), cc.ctx());
  if (!created.ok()) return ToGrpc(created.status());
  auto job = *created;
  {
    std::lock_guard<std::mutex> l(job->mu);
    job->session_id = req->session();
    job->entitlements.assign(req->entitlements().begin(), req->entitlements().end());
    job->inputs = frontend::Inputs(req->frontendinputs().begin(), req->frontendinputs().end());
    job->job = core_->solver->NewJob(req->ref(), {req->session()});
    llbsolver::BridgeDeps deps{core_->llb.get(), core_->images.get(), core_->sessions.get(),
                               &core_->frontends};
    job->bridge_api =
        std::make_shared<llbsolver::Bridge>(deps, job->job, req->session(), job->entitlements);
    job->progress = job->job->progress_buffer();
  }
  job->cv.notify_all();  // a Status call may be waiting for the progress buffer
  log::Info("solve {} started (session {})", req->ref(), req->session());
  auto r = RunSolve(cc.ctx(), *req, *job);
  // Release the job's vertices and refs before the client hears back.
  {
    std::lock_guard<std::mutex> l(job->mu);
    job->job.reset();
    job->bridge_api.reset();
  }
  job->progress->Close();
  core_->jobs.Finish(job);
  if (!r.ok()) {
    log::Info("solve {} failed: {}", req->ref(), r.status().message());
    return BuildErrorToGrpc(r.status());
  }
  for (const auto& [k, v] : *r) (*resp->mutable_exporterresponse())[k] = v;
  log::Info("solve {} done", req->ref());
  return grpc::Status::OK;
}

grpc::Status ControlService::Status(grpc::ServerContext* sc, const bk::StatusRequest* req,
                                    grpc::ServerWriter<bk::StatusResponse>* writer) {
  CallContext cc(core_->ctx, sc);
  auto job = core_->jobs.Get(cc.ctx(), req->ref(), std::chrono::seconds(6));
  if (!job.ok()) return ToGrpc(job.status());
  // The Solve call sets the buffer right after creating the job.
  std::shared_ptr<solver::ProgressBuffer> buf;
  {
    std::unique_lock<std::mutex> l((*job)->mu);
    (*job)->cv.wait_for(l, std::chrono::seconds(6), [&] { return (*job)->progress != nullptr; });
    buf = (*job)->progress;
  }
  if (!buf) return grpc::Status(grpc::StatusCode::INTERNAL, "job has no progress");
  size_t next = 0;
  std::vector<solver::ProgressEvent> evs;
  while (buf->Read(cc.ctx(), &next, &evs)) {
    if (evs.empty()) continue;
    bk::StatusResponse resp;
    for (auto& e : evs) AppendEvent(e, &resp);
    evs.clear();
    if (!writer->Write(resp)) break;
  }
  return grpc::Status::OK;
}

grpc::Status ControlService::DiskUsage(grpc::ServerContext* sc, const bk::DiskUsageRequest* req,
                                       bk::DiskUsageResponse* resp) {
  CallContext cc(core_->ctx, sc);
  auto filter = cache::UsageFilter::Parse({req->filter().begin(), req->filter().end()});
  if (!filter.ok()) return ToGrpc(filter.status());
  auto du = core_->worker->cache().DiskUsage(cc.ctx());
  if (!du.ok()) return ToGrpc(du.status());
  for (const auto& u : *du) {
    if ((*filter)->Match(u)) FillUsage(u, resp->add_record());
  }
  return grpc::Status::OK;
}

grpc::Status ControlService::Prune(grpc::ServerContext* sc, const bk::PruneRequest* req,
                                   grpc::ServerWriter<bk::UsageRecord>* writer) {
  CallContext cc(core_->ctx, sc);
  cache::PruneOptions opts;
  auto filter = cache::UsageFilter::Parse({req->filter().begin(), req->filter().end()});
  if (!filter.ok()) return ToGrpc(filter.status());
  opts.filter = *filter;
  opts.all = req->all();
  opts.keep_duration = std::chrono::nanoseconds(req->keepduration());
  opts.keep_bytes = req->reservedspace();
  auto removed = core_->worker->cache().Prune(cc.ctx(), opts, [&](const cache::UsageInfo& u) {
    core_->keys->RemoveResult(u.rec.id).IgnoreError();
    bk::UsageRecord r;
    FillUsage(u, &r);
    writer->Write(r);
  });
  if (!removed.ok()) return ToGrpc(removed.status());
  auto gc = core_->images->CollectGarbage(cc.ctx());
  if (!gc.ok()) return ToGrpc(gc.status().Annotate("content garbage collection"));
  log::Info("prune removed {} records, {} blobs ({} bytes)", removed->size(), gc->blobs_removed,
            gc->bytes_removed);
  return grpc::Status::OK;
}

}  // namespace kiln::daemon
