#include "client/definition.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include <vector>

#include "client/go_format.h"
#include "util/digest.h"

namespace kiln::client {

namespace {

Result<std::string> ToJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  std::string out;
  auto st = google::protobuf::util::MessageToJsonString(m, &out, opts);
  if (!st.ok()) return Internal("json: " + std::string(st.message()));
  return out;
}

struct ParsedOp {
  pb::Op op;
  std::string digest;
};

Result<std::vector<ParsedOp>> ParseOps(const pb::Definition& def) {
  std::vector<ParsedOp> ops;
  for (const std::string& dt : def.def()) {
    ParsedOp p;
    if (!p.op.ParseFromString(dt)) return InvalidArgument("failed to parse op");
    p.digest = OpDigest(dt);
    ops.push_back(std::move(p));
  }
  return ops;
}

std::pair<std::string, std::string> DotAttr(const ParsedOp& p) {
  const pb::Op& op = p.op;
  switch (op.op_case()) {
    case pb::Op::kSource:
      return {op.source().identifier(), "ellipse"};
    case pb::Op::kExec: {
      std::string args;
      for (const std::string& a : op.exec().meta().args()) {
        if (!args.empty()) args += " ";
        args += a;
      }
      return {args, "box"};
    }
    case pb::Op::kBuild:
      return {"build", "box3d"};
    case pb::Op::kMerge:
      return {"merge", "invtriangle"};
    case pb::Op::kDiff:
      return {"diff", "doublecircle"};
    case pb::Op::kFile: {
      std::string names;
      for (const auto& a : op.file().actions()) {
        std::string name;
        switch (a.action_case()) {
          case pb::FileAction::kCopy:
            name = fmt::format("copy{{src={}, dest={}}}", a.copy().src(), a.copy().dest());
            break;
          case pb::FileAction::kMkfile:
            name = fmt::format("mkfile{{path={}}}", a.mkfile().path());
            break;
          case pb::FileAction::kMkdir:
            name = fmt::format("mkdir{{path={}}}", a.mkdir().path());
            break;
          case pb::FileAction::kRm:
            name = fmt::format("rm{{path={}}}", a.rm().path());
            break;
          case pb::FileAction::kSymlink:
            name = fmt::format("symlink{{oldpath={}, newpath={}}}", a.symlink().oldpath(),
                               a.symlink().newpath());
            break;
          default:
            break;
        }
        if (!names.empty()) names += ",";
        names += name;
      }
      return {names, "note"};
    }
    default:
      return {p.digest, "plaintext"};
  }
}

}  // namespace

Result<pb::Definition> ParseDefinition(std::string_view bytes) {
  pb::Definition def;
  if (!def.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return InvalidArgument("failed to parse input");
  }
  return def;
}

std::string OpDigest(std::string_view op_bytes) { return Digest::FromBytes(op_bytes).str(); }

void SetIgnoreCache(pb::Definition* def) {
  for (const std::string& dt : def->def()) {
    (*def->mutable_metadata())[OpDigest(dt)].set_ignore_cache(true);
  }
}

Result<std::set<std::string>> LocalNames(const pb::Definition& def) {
  KILN_ASSIGN_OR_RETURN(std::vector<ParsedOp> ops, ParseOps(def));
  std::set<std::string> names;
  for (const ParsedOp& p : ops) {
    if (p.op.op_case() != pb::Op::kSource) continue;
    std::string_view id = p.op.source().identifier();
    if (id.starts_with("local://")) names.insert(std::string(id.substr(8)));
  }
  return names;
}

Result<std::string> DumpLlbJson(const pb::Definition& def) {
  KILN_ASSIGN_OR_RETURN(std::vector<ParsedOp> ops, ParseOps(def));
  std::string out;
  for (const ParsedOp& p : ops) {
    KILN_ASSIGN_OR_RETURN(std::string op_json, ToJson(p.op));
    std::string md_json = "null";
    if (auto it = def.metadata().find(p.digest); it != def.metadata().end()) {
      KILN_ASSIGN_OR_RETURN(md_json, ToJson(it->second));
    }
    out += fmt::format("{{\"Op\":{},\"Digest\":\"{}\",\"OpMetadata\":{}}}\n", op_json, p.digest,
                       md_json);
  }
  return out;
}

Result<std::string> DumpLlbDot(const pb::Definition& def) {
  KILN_ASSIGN_OR_RETURN(std::vector<ParsedOp> ops, ParseOps(def));
  std::string out = "digraph {\n";
  for (const ParsedOp& p : ops) {
    auto [name, shape] = DotAttr(p);
    out += fmt::format("  {} [label={} shape={}];\n", GoQuote(p.digest), GoQuote(name),
                       GoQuote(shape));
  }
  for (const ParsedOp& p : ops) {
    for (int i = 0; i < p.op.inputs_size(); ++i) {
      std::string label;
      if (p.op.op_case() == pb::Op::kExec) {
        for (const auto& m : p.op.exec().mounts()) {
          if (m.input() == i && m.dest() != "/") label = m.dest();
        }
      }
      out += fmt::format("  {} -> {} [label={}];\n", GoQuote(p.op.inputs(i).digest()),
                         GoQuote(p.digest), GoQuote(label));
    }
  }
  out += "}\n";
  return out;
}

}  // namespace kiln::client
