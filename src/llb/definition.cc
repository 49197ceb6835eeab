#include "llb/definition.h"

#include <algorithm>
#include <set>

#include "util/digest.h"

namespace kiln::llb {

namespace {

Status Invalid(const std::string& what) { return InvalidArgument("invalid LLB definition: " + what); }

std::string Short(const std::string& digest) { return digest.substr(0, 19); }

Status CheckCaps(const LoadedOp& op) {
  static const std::set<std::string> kCaps(SupportedCaps().begin(), SupportedCaps().end());
  for (const auto& [cap, on] : op.meta.caps()) {
    if (on && !kCaps.count(cap)) {
      return Unimplemented("op " + Short(op.digest) + " needs LLB capability \"" + cap +
                           "\", which this kiln daemon does not implement");
    }
  }
  return Status::Ok();
}

Status CheckOp(const LoadedOp& lo, size_t i) {
  const pb::Op& op = lo.op;
  std::string where = "op " + std::to_string(i) + " (" + Short(lo.digest) + ")";
  switch (op.op_case()) {
    case pb::Op::kSource:
      if (op.source().identifier().empty()) return Invalid(where + ": source op has no identifier");
      if (op.inputs_size() != 0) return Invalid(where + ": source op cannot have inputs");
      break;
    case pb::Op::kFile: {
      int n = op.file().actions_size();
      if (n == 0) return Invalid(where + ": file op has no actions");
      for (int k = 0; k < n; k++) {
        const auto& a = op.file().actions(k);
        int64_t limit = op.inputs_size() + k;  // inputs, then earlier actions
        if (a.input() < -1 || a.input() >= limit || a.secondaryinput() < -1 ||
            a.secondaryinput() >= limit) {
          return Invalid(where + ": file action " + std::to_string(k) + " refers to input " +
                         std::to_string(std::max(a.input(), a.secondaryinput())) +
                         " out of range");
        }
        if (a.action_case() == pb::FileAction::ACTION_NOT_SET) {
          return Invalid(where + ": file action " + std::to_string(k) + " has no action");
        }
      }
      break;
    }
    case pb::Op::kExec:
      if (op.exec().meta().args_size() == 0) return Invalid(where + ": exec op has no args");
      for (const auto& m : op.exec().mounts()) {
        if (m.input() < -1 || m.input() >= op.inputs_size()) {
          return Invalid(where + ": mount " + m.dest() + " refers to input " +
                         std::to_string(m.input()) + " out of range");
        }
      }
      break;
    case pb::Op::kMerge:
      if (op.merge().inputs_size() == 0) return Invalid(where + ": merge op has no inputs");
      for (const auto& in : op.merge().inputs()) {
        if (in.input() < 0 || in.input() >= op.inputs_size()) {
          return Invalid(where + ": merge input " + std::to_string(in.input()) + " out of range");
        }
      }
      break;
    case pb::Op::kDiff: {
      auto bad = [&](int64_t x) { return x < -1 || x >= op.inputs_size(); };
      if (bad(op.diff().lower().input()) || bad(op.diff().upper().input())) {
        return Invalid(where + ": diff input out of range");
      }
      break;
    }
    case pb::Op::kBuild:
      return Unimplemented(where + ": BuildOp is not supported");
    case pb::Op::kPassthrough:
      return Unimplemented(where + ": PassthroughOp is not supported");
    case pb::Op::OP_NOT_SET:
      return Invalid(where + ": unknown or missing op type");
  }
  return Status::Ok();
}

}  // namespace

int NumOutputs(const pb::Op& op) {
  switch (op.op_case()) {
    case pb::Op::kExec: {
      int n = 0;
      for (const auto& m : op.exec().mounts()) n = std::max<int>(n, static_cast<int>(m.output()) + 1);
      return n;
    }
    case pb::Op::kFile: {
      int n = 0;
      for (const auto& a : op.file().actions()) n = std::max<int>(n, static_cast<int>(a.output()) + 1);
      return n;
    }
    default:
      return 1;
  }
}

Result<LoadedDefinition> LoadDefinition(const pb::Definition& def) {
  if (def.def_size() == 0) return Invalid("empty definition");
  LoadedDefinition out;
  out.source = def.source();
  std::vector<std::string> order;
  for (int i = 0; i < def.def_size(); i++) {
    const std::string& raw = def.def(i);
    LoadedOp lo;
    lo.digest = Digest::FromBytes(raw).str();
    if (!lo.op.ParseFromString(raw)) {
      return Invalid("op " + std::to_string(i) + " is not a valid pb.Op message");
    }
    auto mit = def.metadata().find(lo.digest);
    if (mit != def.metadata().end()) lo.meta = mit->second;
    order.push_back(lo.digest);
    out.ops.emplace(lo.digest, std::move(lo));
  }
  // The last op is the terminal "return" op: no op type, one input naming the result.
  const LoadedOp& last = out.ops.at(order.back());
  if (last.op.op_case() != pb::Op::OP_NOT_SET || last.op.inputs_size() != 1) {
    return Invalid("the last op must be a terminal op with exactly one input");
  }
  out.root = last.op.inputs(0).digest();
  out.root_index = last.op.inputs(0).index();
  std::string terminal = order.back();
  // A definition of only the terminal op pointing at nothing is not allowed either.
  if (out.ops.count(out.root) == 0) return Invalid("result " + out.root + " is not an op of the definition");
  for (size_t i = 0; i + 1 < order.size(); i++) {
    const LoadedOp& lo = out.ops.at(order[i]);
    if (lo.digest == terminal) continue;
    KILN_RETURN_IF_ERROR(CheckOp(lo, i));
    KILN_RETURN_IF_ERROR(CheckCaps(lo));
    for (const auto& in : lo.op.inputs()) {
      auto it = out.ops.find(in.digest());
      if (it == out.ops.end() || it->first == terminal) {
        return Invalid("op " + std::to_string(i) + " has input " + in.digest() +
                       " that is not in the definition");
      }
      if (in.index() < 0 || in.index() >= NumOutputs(it->second.op)) {
        return Invalid("op " + std::to_string(i) + " uses output " + std::to_string(in.index()) +
                       " of " + Short(in.digest()) + ", which has " +
                       std::to_string(NumOutputs(it->second.op)) + " outputs");
      }
    }
  }
  const LoadedOp& root = out.ops.at(out.root);
  if (root.digest == terminal) return Invalid("the terminal op cannot be its own result");
  if (out.root_index < 0 || out.root_index >= NumOutputs(root.op)) {
    return Invalid("result index " + std::to_string(out.root_index) + " out of range");
  }
  // Cycle check: iterative DFS with colours, marking before recursing.
  std::map<std::string, int> colour;  // 0 new, 1 on stack, 2 done
  std::vector<std::pair<std::string, int>> stack{{out.root, 0}};
  colour[out.root] = 1;
  while (!stack.empty()) {
    auto& [d, next] = stack.back();
    const pb::Op& op = out.ops.at(d).op;
    if (next >= op.inputs_size()) {
      colour[d] = 2;
      stack.pop_back();
      continue;
    }
    const std::string& in = op.inputs(next++).digest();
    int c = colour[in];
    if (c == 1) return Invalid("the graph has a cycle through " + in);
    if (c == 0) {
      colour[in] = 1;
      stack.emplace_back(in, 0);
    }
  }
  out.ops.erase(terminal);
  return out;
}

std::string VertexName(const LoadedOp& lo) {
  auto it = lo.meta.description().find("llb.customname");
  if (it != lo.meta.description().end()) return it->second;
  const pb::Op& op = lo.op;
  switch (op.op_case()) {
    case pb::Op::kSource:
      return op.source().identifier();
    case pb::Op::kExec: {
      std::string s;
      for (const auto& a : op.exec().meta().args()) s += (s.empty() ? "" : " ") + a;
      return s;
    }
    case pb::Op::kFile: {
      std::string s;
      for (const auto& a : op.file().actions()) {
        if (!s.empty()) s += ", ";
        switch (a.action_case()) {
          case pb::FileAction::kMkdir: s += "mkdir " + a.mkdir().path(); break;
          case pb::FileAction::kMkfile: s += "mkfile " + a.mkfile().path(); break;
          case pb::FileAction::kRm: s += "rm " + a.rm().path(); break;
          case pb::FileAction::kCopy: s += "copy " + a.copy().src() + " " + a.copy().dest(); break;
          case pb::FileAction::kSymlink:
            s += "symlink " + a.symlink().newpath() + " -> " + a.symlink().oldpath();
            break;
          default: s += "unknown"; break;
        }
      }
      return s;
    }
    case pb::Op::kMerge: {
      std::string s = "merge (";
      for (int i = 0; i < op.inputs_size(); i++) s += (i ? ", " : "") + Short(op.inputs(i).digest());
      return s + ")";
    }
    case pb::Op::kDiff:
      return "diff";
    default:
      return lo.digest;
  }
}

const std::vector<std::string>& SupportedCaps() {
  static const std::vector<std::string> kCaps = {
      "source.local", "source.local.unique", "source.local.sessionid",
      "source.local.includepatterns", "source.local.followpaths", "source.local.excludepatterns",
      "source.local.sharedkeyhint", "source.local.differ",
      "file.base", "file.rm.wildcard", "file.copy.includeexcludepatterns",
      "file.rm.nofollowsymlink", "file.copy.alwaysreplaceexistingdestpaths",
      "file.copy.modestring", "file.symlink.create",
      "constraints", "platform", "meta.ignorecache", "meta.description", "meta.exportcache",
      "mergeop", "diffop",
      "source.image", "source.image.resolvemode", "source.ocilayout",
      // llb.HTTP and llb.Git (signatures, ssh and bundles are not implemented;
      // "soruce.http.uidgid" is BuildKit's spelling).
      "source.http", "source.http.checksum", "source.http.perm", "soruce.http.uidgid",
      "source.http.header", "source.http.auth", "source.git", "source.git.keepgitdir",
      "source.git.fullurl", "source.git.httpauth", "source.git.subdir", "source.git.checksum",
      "source.git.skipsubmodules", "source.git.mtime", "source.git.fetchbycommit",
      "exec.meta.base", "exec.meta.proxyenv", "exec.meta.network", "exec.meta.security",
      "exec.meta.setsdefaultpath", "exec.meta.ulimit", "exec.meta.cgroup.parent",
      "exec.meta.removemountstubs.recursive", "exec.mount.bind", "exec.mount.bind.readwrite-nooutput",
      "exec.mount.cache", "exec.mount.cache.sharing", "exec.mount.secret", "exec.mount.selector",
      "exec.mount.ssh", "exec.mount.tmpfs", "exec.mount.tmpfs.size", "exec.secretenv",
      "exec.validexitcode",
  };
  return kCaps;
}

}  // namespace kiln::llb
