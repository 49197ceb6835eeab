#include "llbsolver/bridge.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "source/oci_layout.h"
#include "source/registry_credentials.h"
#include "util/path.h"
#include "worker/worker.h"

namespace kiln::llbsolver {

Bridge::Bridge(BridgeDeps deps, std::shared_ptr<solver::Job> job, std::string session_id,
               std::vector<std::string> entitlements)
    : deps_(deps),
      job_(std::move(job)),
      session_id_(std::move(session_id)),
      entitlements_(std::move(entitlements)) {}

Result<frontend::SolveResult> Bridge::Solve(const Context& ctx, const pb::Definition& def) {
  frontend::SolveResult res;
  if (def.def_size() == 0) return res;  // an empty definition is an empty result
  KILN_ASSIGN_OR_RETURN(res.ref, deps_.llb->Solve(ctx, job_, def, entitlements_));
  return res;
}

Result<frontend::SolveResult> Bridge::SolveFrontend(const Context& ctx, const std::string& name,
                                                    const std::map<std::string, std::string>& opts,
                                                    const frontend::Inputs& inputs) {
  if (deps_.frontends == nullptr) return Unimplemented("no frontends in this daemon");
  KILN_ASSIGN_OR_RETURN(auto fe, deps_.frontends->Get(name));
  return fe->Solve(ctx, *this, opts, inputs);
}

Result<std::string> Bridge::ReadFile(const Context& ctx, const solver::OpResultPtr& ref,
                                     const std::string& path, int64_t offset, int64_t length) {
  if (!ref) return NotFound("read " + path + ": the result is empty");
  if (offset < 0 || length < 0) return InvalidArgument("read " + path + ": negative range");
  KILN_ASSIGN_OR_RETURN(const cache::ImmutableRef* r, worker::RefOf(ref));
  KILN_ASSIGN_OR_RETURN(auto m, r->View());
  KILN_ASSIGN_OR_RETURN(std::string host, ResolveInRoot(m->path(), path, true));
  int fd = open(host.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open " + path);
  int64_t want = length > 0 ? std::min(length, kMaxReadFile) : kMaxReadFile;
  std::string data;
  char buf[65536];
  Status st;
  while (static_cast<int64_t>(data.size()) < want) {
    if (ctx.cancelled()) {
      st = ctx.Err();
      break;
    }
    int64_t chunk = std::min<int64_t>(sizeof(buf), want - static_cast<int64_t>(data.size()));
    ssize_t n =
        pread(fd, buf, static_cast<size_t>(chunk), offset + static_cast<int64_t>(data.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      st = ErrnoStatus(errno, "read " + path);
      break;
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (!st.ok()) return st;
  return data;
}

// Resolved as the docker-image source does, with the build's sessions for credentials. The
// digest is what the reference points to (an index or a manifest), as BuildKit answers, so a
// frontend can pin FROM to it.
Status Bridge::WithProgress(const std::string& name, const std::function<Status()>& body) {
  // A vertex of its own: the digest of the name and this bridge, so repeated notes of one build
  // are one vertex and two builds never share it.
  solver::VertexEvent v;
  v.digest =
      Digest::FromBytes(name + "\n" + std::to_string(reinterpret_cast<uintptr_t>(this))).str();
  v.name = name;
  solver::VertexProgress progress(&job_->progress(), std::move(v));
  progress.Started();
  Status st = body();
  progress.Completed(false, st);
  return st;
}

void Bridge::Warn(solver::WarningEvent w) { job_->progress().Write(std::move(w)); }

Result<frontend::ResolvedImageConfig> Bridge::ResolveImageConfig(
    const Context& ctx, const std::string& ref, const frontend::ResolveImageConfigOptions& opts) {
  if (opts.oci_layout) return ResolveOCILayoutConfig(ctx, ref, opts);
  pb::SourceOp op;
  op.set_identifier("docker-image://" + ref);
  if (!opts.resolve_mode.empty()) (*op.mutable_attrs())["image.resolvemode"] = opts.resolve_mode;
  KILN_ASSIGN_OR_RETURN(auto id, source::ParseImage(op, opts.platform ? &*opts.platform : nullptr));
  std::vector<std::string> sessions = {session_id_};
  if (!opts.session_id.empty() && opts.session_id != session_id_) {
    sessions.insert(sessions.begin(), opts.session_id);
  }
  auto creds = source::SessionCredentials(deps_.sessions, sessions, ctx);
  KILN_ASSIGN_OR_RETURN(auto img, deps_.images->Resolve(ctx, id, creds, nullptr));
  return frontend::ResolvedImageConfig{img.root_digest.str(), img.config.raw};
}

}  // namespace kiln::llbsolver

namespace kiln::llbsolver {

// As the oci-layout:// source resolves (the store in the session the options name, else the
// build's), so the frontend sees the config the build will use.
Result<frontend::ResolvedImageConfig> Bridge::ResolveOCILayoutConfig(
    const Context& ctx, const std::string& ref, const frontend::ResolveImageConfigOptions& opts) {
  pb::SourceOp op;
  op.set_identifier("oci-layout://" + ref);
  (*op.mutable_attrs())["oci.store"] = opts.store_id;
  if (!opts.session_id.empty()) (*op.mutable_attrs())["oci.session"] = opts.session_id;
  KILN_ASSIGN_OR_RETURN(auto id,
                        source::ParseOCILayout(op, opts.platform ? &*opts.platform : nullptr));
  auto layout = source::SessionLayoutStore(deps_.sessions, id, {session_id_});
  KILN_ASSIGN_OR_RETURN(auto img, source::ResolveOCILayout(ctx, id, *layout, *deps_.images));
  return frontend::ResolvedImageConfig{img.root_digest.str(), img.config.raw};
}

}  // namespace kiln::llbsolver
