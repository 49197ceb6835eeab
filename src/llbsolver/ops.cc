#include "llbsolver/ops.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "session/secrets.h"

namespace kiln::llbsolver {

Digest OpDigest(const std::string& kind, const google::protobuf::Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream sos(&out);
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&cos);
  }
  return Digest::FromParts({"kiln.op.v1", kind, out});
}

source::SecretFn JobSecrets(const Context& ctx, const OpDeps& deps, const solver::OpContext& oc) {
  return [&ctx, sessions = deps.sessions, &oc](const std::string& id) -> Result<std::string> {
    if (sessions == nullptr) return session::SecretNotFound(id);
    return session::GetSecret(ctx, *sessions, oc.session_ids, id);
  };
}

Result<std::shared_ptr<solver::Op>> NewOp(const llb::LoadedOp& lo, const OpDeps& deps) {
  switch (lo.op.op_case()) {
    case pb::Op::kSource:
      return NewSourceOp(lo.op, deps);
    case pb::Op::kFile:
      return NewFileOp(lo.op, deps);
    case pb::Op::kMerge:
      return NewMergeOp(lo.op, deps);
    case pb::Op::kDiff:
      return NewDiffOp(lo.op, deps);
    case pb::Op::kExec:
      return NewExecOp(lo.op, deps, llb::VertexName(lo));
    default:
      return Unimplemented("op " + lo.digest + " of this type is not supported");
  }
}

}  // namespace kiln::llbsolver
