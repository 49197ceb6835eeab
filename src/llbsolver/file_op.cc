#include <set>

#include "cache/contenthash.h"
#include "llbsolver/file/backend.h"
#include "llbsolver/ops.h"
#include "util/fs_copy.h"

namespace kiln::llbsolver {
namespace {

bool HasGlob(const std::string& p) { return p.find_first_of("*?[") != std::string::npos; }

// The FileOp: actions applied in order, each on a writable copy of its input; action results
// can feed later actions (index len(inputs)+k); outputs are the actions with output >= 0.
class FileOp : public solver::Op {
 public:
  FileOp(pb::Op op, const OpDeps& deps) : op_(std::move(op)), deps_(deps) {}

  Result<solver::CacheMap> GetCacheMap(const Context&, solver::OpContext&) override {
    solver::CacheMap cm;
    pb::Op keyed;  // the op without its input digests: inputs are keyed separately
    *keyed.mutable_file() = op_.file();
    if (op_.has_platform()) *keyed.mutable_platform() = op_.platform();
    cm.digest = OpDigest("file", keyed);
    int n = op_.inputs_size();
    cm.deps.resize(static_cast<size_t>(n));
    // An input read only as a copy source is keyed on the content of what is copied, so a
    // change elsewhere in it does not invalidate this op.
    std::set<int64_t> needs_whole;
    std::map<int64_t, std::vector<pb::FileActionCopy>> copies;
    for (const auto& a : op_.file().actions()) {
      needs_whole.insert(a.input());
      if (a.action_case() == pb::FileAction::kCopy) {
        copies[a.secondaryinput()].push_back(a.copy());
      } else {
        needs_whole.insert(a.secondaryinput());
      }
      ForEachNamedUser(a, [&](int64_t in) { needs_whole.insert(in); });
    }
    for (int i = 0; i < n; i++) {
      if (needs_whole.count(i) || !copies.count(i)) continue;
      auto sels = copies[i];
      worker::Worker* w = deps_.worker;
      cm.deps[static_cast<size_t>(i)].selector = "content";
      cm.deps[static_cast<size_t>(i)].content_digest =
          [w, sels](const Context& ctx, const solver::OpResultPtr& r) -> Result<Digest> {
        KILN_ASSIGN_OR_RETURN(const cache::ImmutableRef* ref, worker::RefOf(r));
        Sha256 h;
        for (const auto& c : sels) {
          cache::ChecksumOptions o;
          o.follow_links = c.followsymlink();
          o.wildcard = c.allowwildcard() && HasGlob(c.src());
          // Include/exclude patterns: key on the whole source path (never a false hit).
          auto d = w->cache().Checksum(ctx, *ref, c.src(), o);
          if (!d.ok()) {
            if (d.status().code() == Code::kNotFound && c.allowemptywildcard() && o.wildcard) {
              h.Update("empty:" + c.src() + "\n");
              continue;
            }
            return d.status().Annotate("failed to compute cache key");
          }
          h.Update(c.src() + "\n" + d->str() + "\n");
        }
        return h.Final();
      };
    }
    return cm;
  }

  Result<std::vector<solver::OpResultPtr>> Exec(const Context& ctx, solver::OpContext&,
                                                const std::vector<solver::OpResultPtr>& inputs) override {
    const int64_t n = static_cast<int64_t>(inputs.size());
    const auto& actions = op_.file().actions();
    std::vector<const cache::ImmutableRef*> in_refs;
    for (const auto& r : inputs) {
      KILN_ASSIGN_OR_RETURN(const cache::ImmutableRef* ref, worker::RefOf(r));
      in_refs.push_back(ref);
    }
    // How often each action result is read later (to move rather than copy it).
    std::vector<int> uses(static_cast<size_t>(actions.size()), 0);
    for (const auto& a : actions) {
      for (int64_t x : {a.input(), a.secondaryinput()}) {
        if (x >= n) uses[static_cast<size_t>(x - n)]++;
      }
    }
    struct Slot {
      cache::MutableRef ref;
      std::unique_ptr<snapshot::Mount> mnt;
    };
    std::vector<Slot> slots(static_cast<size_t>(actions.size()));
    std::vector<std::unique_ptr<snapshot::Mount>> ro_mounts;
    std::string empty_dir;
    auto host_path = [&](int64_t x) -> Result<std::string> {
      if (x < 0) {
        if (empty_dir.empty()) {
          char tmpl[] = "/tmp/kiln-scratch-XXXXXX";
          if (!mkdtemp(tmpl)) return ErrnoStatus(errno, "mkdtemp");
          empty_dir = tmpl;
        }
        return empty_dir;
      }
      if (x < n) {
        KILN_ASSIGN_OR_RETURN(auto m, in_refs[static_cast<size_t>(x)]->View());
        ro_mounts.push_back(std::move(m));
        return ro_mounts.back()->path();
      }
      auto& s = slots[static_cast<size_t>(x - n)];
      if (!s.mnt) return Internal("file action result " + std::to_string(x - n) + " is gone");
      return s.mnt->path();
    };
    auto cleanup = [&] {
      if (!empty_dir.empty()) rmdir(empty_dir.c_str());
    };
    for (int k = 0; k < actions.size(); k++) {
      const pb::FileAction& a = actions[k];
      Status s = RunAction(ctx, a, k, n, in_refs, slots, uses, host_path);
      if (!s.ok()) {
        cleanup();
        return s;
      }
    }
    cleanup();
    std::vector<solver::OpResultPtr> out(static_cast<size_t>(llb::NumOutputs(op_)));
    for (int k = 0; k < actions.size(); k++) {
      int64_t o = actions[k].output();
      if (o < 0) continue;
      auto& s = slots[static_cast<size_t>(k)];
      s.mnt.reset();
      KILN_ASSIGN_OR_RETURN(auto ref, s.ref.Commit());
      out[static_cast<size_t>(o)] = std::make_shared<worker::WorkerRef>(std::move(ref));
    }
    return out;
  }

 private:
  template <typename Slots, typename HostPath>
  Status RunAction(const Context& ctx, const pb::FileAction& a, int k, int64_t n,
                   const std::vector<const cache::ImmutableRef*>& in_refs, Slots& slots,
                   std::vector<int>& uses, HostPath& host_path) {
    auto& slot = slots[static_cast<size_t>(k)];
    int64_t x = a.input();
    if (x >= n && uses[static_cast<size_t>(x - n)] == 1 && op_.file().actions(static_cast<int>(x - n)).output() < 0) {
      // The only reader of that result: take it over.
      auto& prev = slots[static_cast<size_t>(x - n)];
      slot.ref = std::move(prev.ref);
      slot.mnt = std::move(prev.mnt);
    } else {
      const cache::ImmutableRef* parent = x >= 0 && x < n ? in_refs[static_cast<size_t>(x)] : nullptr;
      KILN_ASSIGN_OR_RETURN(slot.ref, deps_.worker->cache().New(ctx, parent, "file op"));
      KILN_ASSIGN_OR_RETURN(slot.mnt, slot.ref.Mount());
      if (x >= n) {
        auto& prev = slots[static_cast<size_t>(x - n)];
        if (!prev.mnt) return Internal("file action input is gone");
        KILN_RETURN_IF_ERROR(CopyTree(ctx, prev.mnt->path(), slot.mnt->path(), CopyOptions{}));
      }
    }
    if (x >= n) uses[static_cast<size_t>(x - n)]--;
    std::string root = slot.mnt->path();
    file::UserResolver users([&host_path](int64_t in) { return host_path(in); });
    switch (a.action_case()) {
      case pb::FileAction::kMkdir:
        return file::Mkdir(ctx, root, a.mkdir(), users);
      case pb::FileAction::kMkfile:
        return file::Mkfile(ctx, root, a.mkfile(), users);
      case pb::FileAction::kRm:
        return file::Rm(ctx, root, a.rm());
      case pb::FileAction::kSymlink:
        return file::Symlink(ctx, root, a.symlink(), users);
      case pb::FileAction::kCopy: {
        KILN_ASSIGN_OR_RETURN(std::string src, host_path(a.secondaryinput()));
        if (a.secondaryinput() >= n) uses[static_cast<size_t>(a.secondaryinput() - n)]--;
        return file::Copy(ctx, src, root, a.copy(), users);
      }
      default:
        return InvalidArgument("unknown file action");
    }
  }

  template <typename Fn>
  static void ForEachNamedUser(const pb::FileAction& a, Fn fn) {
    auto visit = [&](const pb::ChownOpt& c) {
      if (c.has_user() && c.user().has_byname()) fn(c.user().byname().input());
      if (c.has_group() && c.group().has_byname()) fn(c.group().byname().input());
    };
    switch (a.action_case()) {
      case pb::FileAction::kCopy: if (a.copy().has_owner()) visit(a.copy().owner()); break;
      case pb::FileAction::kMkdir: if (a.mkdir().has_owner()) visit(a.mkdir().owner()); break;
      case pb::FileAction::kMkfile: if (a.mkfile().has_owner()) visit(a.mkfile().owner()); break;
      case pb::FileAction::kSymlink: if (a.symlink().has_owner()) visit(a.symlink().owner()); break;
      default: break;
    }
  }

  pb::Op op_;
  OpDeps deps_;
};

}  // namespace

std::shared_ptr<solver::Op> NewFileOp(const pb::Op& op, const OpDeps& deps) {
  return std::make_shared<FileOp>(op, deps);
}

}  // namespace kiln::llbsolver
