// ExecOp (RUN): mounts its inputs as snapshots, runs the process through the worker's executor
// and commits the writable mounts that are outputs (BuildKit's solver/llbsolver/ops/exec.go).

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "executor/executor.h"
#include "executor/mount_stubs.h"
#include "llbsolver/exec_meta.h"
#include "llbsolver/exec_session_mounts.h"
#include "llbsolver/ops.h"
#include "util/log.h"
#include "util/path.h"

namespace kiln::llbsolver {
namespace {

constexpr char kRootMount[] = "/";

// Paths of `inp` with the ones below another in the list dropped, sorted.
std::vector<std::string> DedupePaths(const std::vector<std::string>& inp) {
  std::set<std::string> all(inp.begin(), inp.end());
  std::vector<std::string> out;
  for (const auto& p1 : all) {
    bool covered = false;
    for (const auto& p2 : all) {
      if (p1 != p2 && (p2 == "/" || p1.rfind(p2 + "/", 0) == 0)) {
        covered = true;
        break;
      }
    }
    if (!covered) out.push_back(p1);
  }
  return out;
}

std::string MountTypeName(pb::MountType t) {
  switch (t) {
    case pb::BIND: return "bind";
    case pb::SECRET: return "secret";
    case pb::SSH: return "ssh";
    case pb::CACHE: return "cache";
    case pb::TMPFS: return "tmpfs";
    default: return "unknown(" + std::to_string(static_cast<int>(t)) + ")";
  }
}

class ExecOp : public solver::Op {
 public:
  ExecOp(pb::Op op, const OpDeps& deps, std::string name)
      : op_(std::move(op)), deps_(deps), name_(std::move(name)) {}

  Result<solver::CacheMap> GetCacheMap(const Context&, solver::OpContext&) override {
    const pb::ExecOp& e = op_.exec();
    // The key has the op without input digests (keyed separately), selectors (in the deps'
    // selector instead) or proxy settings (they must not invalidate the cache).
    pb::Op keyed;
    *keyed.mutable_exec() = e;
    for (auto& m : *keyed.mutable_exec()->mutable_mounts()) m.clear_selector();
    keyed.mutable_exec()->mutable_meta()->clear_proxy_env();
    if (op_.has_platform()) *keyed.mutable_platform() = op_.platform();
    solver::CacheMap cm;
    cm.digest = OpDigest("exec", keyed);

    struct Dep {
      std::vector<std::string> selectors;
      bool no_content_hash = false;
    };
    std::vector<Dep> deps(static_cast<size_t>(op_.inputs_size()));
    for (const auto& m : e.mounts()) {
      if (m.input() < 0) continue;
      Dep& d = deps[static_cast<size_t>(m.input())];
      if (!m.selector().empty()) d.selectors.push_back(CleanPath("/" + m.selector()));
      // A writable mount that is an output (or the rootfs) carries the whole input forward.
      if ((!m.readonly() || m.dest() == kRootMount) && m.output() != -1) d.no_content_hash = true;
    }
    cm.deps.resize(deps.size());
    worker::Worker* w = deps_.worker;
    for (size_t i = 0; i < deps.size(); i++) {
      std::string sel;
      for (const auto& s : deps[i].selectors) sel += (sel.empty() ? "" : std::string(1, '\0')) + s;
      cm.deps[i].selector = sel;
      if (deps[i].no_content_hash) continue;
      std::vector<std::string> paths = DedupePaths(deps[i].selectors);
      if (paths.empty()) paths.push_back("/");
      cm.deps[i].content_digest = [w, paths](const Context& ctx,
                                             const solver::OpResultPtr& r) -> Result<Digest> {
        KILN_ASSIGN_OR_RETURN(const cache::ImmutableRef* ref, worker::RefOf(r));
        Sha256 h;
        for (const auto& p : paths) {
          cache::ChecksumOptions o;
          o.follow_links = true;
          auto d = w->cache().Checksum(ctx, *ref, p, o);
          if (!d.ok()) return d.status().Annotate("failed to compute cache key of mount " + p);
          h.Update(p + "\n" + d->str() + "\n");
        }
        return h.Final();
      };
    }
    return cm;
  }

  Result<std::vector<solver::OpResultPtr>> Exec(const Context& ctx, solver::OpContext& oc,
                                                const std::vector<solver::OpResultPtr>& inputs) override {
    if (deps_.worker == nullptr || deps_.worker->executor() == nullptr) {
      return FailedPrecondition("this worker has no executor to run " + ArgsString());
    }
    KILN_RETURN_IF_ERROR(CheckPlatform());
    const pb::ExecOp& e = op_.exec();
    const auto t_start = std::chrono::steady_clock::now();
    std::vector<const cache::ImmutableRef*> refs;
    for (const auto& r : inputs) {
      KILN_ASSIGN_OR_RETURN(const cache::ImmutableRef* ref, worker::RefOf(r));
      refs.push_back(ref);
    }
    executor::RunRequest req;
    KILN_ASSIGN_OR_RETURN(req.process, ProcessFromMeta(op_));
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> secret_env,
                          LoadSecretEnv(ctx, deps_.sessions, oc.session_ids, e));
    req.process.env.insert(req.process.env.end(), secret_env.begin(), secret_env.end());

    // Everything the run holds; released (mounts first) on every path out.
    struct Output {
      std::optional<cache::MutableRef> mut;
      cache::ImmutableRef imm;
    };
    std::map<int64_t, Output> outputs;
    std::map<int64_t, size_t> output_mount;  // output index -> index in `mutables`
    std::vector<cache::MutableRef> mutables;
    std::vector<std::unique_ptr<snapshot::Mount>> mounts;
    std::vector<std::unique_ptr<cache::CacheMount>> cache_holds;  // released last
    // Secret files on a private tmpfs and forwarded ssh agents, released after the run.
    std::optional<SessionMounts> session_mounts;
    session_mounts.emplace(deps_.sessions, oc.session_ids, deps_.worker->root() + "/secrets");
    bool have_root = false;
    bool root_writable = false;
    std::vector<std::string> dests;

    for (const auto& m : e.mounts()) {
      const cache::ImmutableRef* ref = m.input() >= 0 ? refs[static_cast<size_t>(m.input())] : nullptr;
      const bool is_root = m.dest() == kRootMount;
      if (is_root && m.mounttype() != pb::BIND) {
        return InvalidArgument(fmt::format("invalid mount type {} for {}", MountTypeName(m.mounttype()), m.dest()));
      }
      std::string dest = m.dest();
      if (!is_root && (dest.empty() || dest[0] != '/')) dest = "/" + e.meta().cwd() + "/" + dest;
      dest = CleanPath(dest);
      if (m.output() >= 0 && outputs.count(m.output())) {
        return InvalidArgument(fmt::format("mount {}: output {} is produced by two mounts", m.dest(), m.output()));
      }
      switch (m.mounttype()) {
        case pb::BIND: {
          std::string host;
          // A writable mount (or the rootfs, or scratch) is a new snapshot on top of the input;
          // a readonly mount of an input is the input itself.
          bool needs_mutable = is_root || !m.readonly() || ref == nullptr;
          if (needs_mutable) {
            KILN_ASSIGN_OR_RETURN(auto mut, deps_.worker->cache().New(
                                                ctx, ref, fmt::format("mount {} from exec {}", m.dest(), ArgsString())));
            KILN_ASSIGN_OR_RETURN(auto mnt, mut.Mount());
            host = mnt->path();
            mounts.push_back(std::move(mnt));
            if (m.output() >= 0) output_mount[m.output()] = mutables.size();
            mutables.push_back(std::move(mut));
          } else {
            KILN_ASSIGN_OR_RETURN(auto mnt, ref->Mount());
            host = mnt->path();
            mounts.push_back(std::move(mnt));
            if (m.output() >= 0) outputs[m.output()].imm = *ref;
          }
          if (m.output() >= 0) outputs[m.output()];  // reserve the slot
          if (is_root) {
            if (have_root) return InvalidArgument("exec op has two root mounts");
            have_root = true;
            req.rootfs = host;
            req.rootfs_readonly = m.readonly();
            root_writable = !m.readonly();
            break;
          }
          executor::MountSpec ms;
          ms.type = executor::MountSpec::Type::kBind;
          ms.dest = dest;
          ms.readonly = m.readonly();
          ms.source = host;
          if (!m.selector().empty()) {
            KILN_ASSIGN_OR_RETURN(ms.source, ResolveInRoot(host, m.selector(), true));
            struct stat st;
            if (lstat(ms.source.c_str(), &st) != 0) {
              return NotFound(fmt::format("mount {}: {} does not exist in its input", m.dest(), m.selector()));
            }
          }
          req.mounts.push_back(std::move(ms));
          dests.push_back(dest);
          break;
        }
        case pb::TMPFS: {
          if (m.output() >= 0) return InvalidArgument(fmt::format("tmpfs mount {} cannot be an output", m.dest()));
          executor::MountSpec ms;
          ms.type = executor::MountSpec::Type::kTmpfs;
          ms.dest = dest;
          ms.tmpfs_size = m.has_tmpfsopt() ? m.tmpfsopt().size() : 0;
          if (ms.tmpfs_size < 0) return InvalidArgument(fmt::format("tmpfs mount {}: negative size", m.dest()));
          req.mounts.push_back(std::move(ms));
          dests.push_back(dest);
          break;
        }
        case pb::CACHE: {
          const std::string id = m.cacheopt().id().empty() ? m.dest() : m.cacheopt().id();
          cache::Sharing sharing;
          switch (m.cacheopt().sharing()) {
            case pb::SHARED: sharing = cache::Sharing::kShared; break;
            case pb::PRIVATE: sharing = cache::Sharing::kPrivate; break;
            case pb::LOCKED: sharing = cache::Sharing::kLocked; break;
            default:
              return InvalidArgument(fmt::format("cache mount {}: unknown sharing mode {}", m.dest(),
                                                 static_cast<int>(m.cacheopt().sharing())));
          }
          KILN_ASSIGN_OR_RETURN(auto hold, deps_.worker->cache_mounts().Acquire(ctx, id, sharing, ref));
          executor::MountSpec ms;
          ms.type = executor::MountSpec::Type::kBind;
          ms.dest = dest;
          ms.readonly = m.readonly();
          ms.source = hold->path();
          if (!m.selector().empty()) {
            KILN_ASSIGN_OR_RETURN(ms.source, ResolveInRoot(hold->path(), m.selector(), true));
          }
          cache_holds.push_back(std::move(hold));
          // The output of a cache mount is its base, unchanged (the cache is not a result).
          if (m.output() >= 0 && ref != nullptr) outputs[m.output()].imm = *ref;
          req.mounts.push_back(std::move(ms));
          dests.push_back(dest);
          break;
        }
        case pb::SECRET:
        case pb::SSH: {
          if (m.output() >= 0) {
            return InvalidArgument(fmt::format("{} mount {} cannot be an output",
                                               MountTypeName(m.mounttype()), m.dest()));
          }
          KILN_ASSIGN_OR_RETURN(std::optional<executor::MountSpec> ms,
                                m.mounttype() == pb::SECRET ? session_mounts->Secret(ctx, m, dest)
                                                            : session_mounts->SSH(ctx, m, dest));
          if (!ms) break;  // optional and not given by the client
          req.mounts.push_back(std::move(*ms));
          dests.push_back(dest);
          break;
        }
        default:
          return Unimplemented(fmt::format("{} mounts ({}) are not implemented yet in kiln",
                                           MountTypeName(m.mounttype()), m.dest()));
      }
    }
    if (!have_root) return InvalidArgument("exec op " + ArgsString() + " has no root mount");
    // Parents are mounted before their children.
    std::stable_sort(req.mounts.begin(), req.mounts.end(),
                     [](const auto& a, const auto& b) { return a.dest < b.dest; });

    // The runtime makes mount points for missing destinations; they are not the step's output.
    std::optional<executor::MountStubs> stubs;
    if (root_writable) stubs.emplace(req.rootfs, dests, e.meta().removemountstubsrecursive());
    solver::VertexProgress* vp = oc.progress;
    if (vp != nullptr) {
      req.stdio.out = [vp](std::string_view d) { vp->Log(1, std::string(d)); };
      req.stdio.err = [vp](std::string_view d) { vp->Log(2, std::string(d)); };
    }
    const auto t_run = std::chrono::steady_clock::now();
    Status run = deps_.worker->executor()->Run(ctx, req);
    const auto t_ran = std::chrono::steady_clock::now();
    if (stubs) stubs->Clean();
    run = CheckExit(std::move(run));
    mounts.clear();  // unmount before committing or discarding
    cache_holds.clear();  // let waiting builds have the cache mounts
    session_mounts.reset();  // the secrets leave memory, the agent sockets close
    KILN_RETURN_IF_ERROR(run);

    std::vector<solver::OpResultPtr> out(static_cast<size_t>(llb::NumOutputs(op_)));
    for (auto& [idx, o] : outputs) {
      cache::ImmutableRef committed = o.imm;
      auto it = output_mount.find(idx);
      if (it != output_mount.end()) {
        KILN_ASSIGN_OR_RETURN(committed, mutables[it->second].Commit());
      }
      out[static_cast<size_t>(idx)] = std::make_shared<worker::WorkerRef>(std::move(committed));
    }
    auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
    log::Debug("exec {}: prepare {:.1f} ms, run {:.1f} ms, commit {:.1f} ms", ArgsString(), ms(t_start, t_run),
               ms(t_run, t_ran), ms(t_ran, std::chrono::steady_clock::now()));
    for (size_t i = 0; i < out.size(); i++) {
      if (!out[i]) return InvalidArgument(fmt::format("exec op {} has no mount for output {}", ArgsString(), i));
    }
    return out;
  }

 private:
  // kiln does not emulate: a process for a platform the worker cannot run fails here, naming
  // the platform and the step, rather than with "exec format error" from the runtime.
  Status CheckPlatform() const {
    if (!op_.has_platform() || op_.platform().architecture().empty()) return Status::Ok();
    worker::Platform p;
    p.os = op_.platform().os().empty() ? "linux" : op_.platform().os();
    p.architecture = op_.platform().architecture();
    p.variant = op_.platform().variant();
    if (deps_.worker->CanRun(p)) return Status::Ok();
    auto str = [](const worker::Platform& w) {
      return w.os + "/" + w.architecture + (w.variant.empty() ? "" : "/" + w.variant);
    };
    std::string can;
    for (const auto& w : deps_.worker->Platforms()) can += (can.empty() ? "" : ", ") + str(w);
    std::string step = name_.empty() ? "process \"" + ArgsString() + "\"" : "step " + name_;
    return FailedPrecondition(fmt::format(
        "{} is for platform {}, which this worker cannot run (it runs {}): kiln does not emulate "
        "other platforms; register a binfmt_misc emulator for {} (qemu-user-static) or build "
        "without RUN for that platform",
        step, str(p), can, str(p)));
  }

  std::string ArgsString() const {
    std::string s;
    for (const auto& a : op_.exec().meta().args()) s += (s.empty() ? "" : " ") + a;
    return s;
  }

  // Applies validExitCodes: listed codes (0 too only when listed) are success.
  Status CheckExit(Status run) const {
    const auto& valid = op_.exec().meta().validexitcodes();
    if (valid.empty()) return run;
    int code = 0;
    if (!run.ok()) {
      if (!run.details().exit_code) return run;
      code = *run.details().exit_code;
    }
    if (std::find(valid.begin(), valid.end(), code) != valid.end()) return Status::Ok();
    if (!run.ok()) return run;
    return Status(Code::kUnknown, fmt::format("process \"{}\" did not complete successfully: exit code: {}",
                                              ArgsString(), code))
        .WithExitCode(code);
  }

  pb::Op op_;
  OpDeps deps_;
  std::string name_;
};

}  // namespace

std::shared_ptr<solver::Op> NewExecOp(const pb::Op& op, const OpDeps& deps,
                                      const std::string& name) {
  return std::make_shared<ExecOp>(op, deps, name);
}

}  // namespace kiln::llbsolver
