#include "llb/builder.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "llb/definition.h"
#include "llb/node.h"
#include "util/digest.h"

namespace kiln::llb {

namespace {

std::string Deterministic(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream sos(&out);
  google::protobuf::io::CodedOutputStream cos(&sos);
  cos.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&cos);
  cos.Trim();
  return out;
}

std::string JsonArray(const std::vector<std::string>& v) { return nlohmann::json(v).dump(); }

}  // namespace

State State::Local(const std::string& name, const LocalOptions& opts) {
  std::map<std::string, std::string> attrs;
  if (!opts.include_patterns.empty())
    attrs["local.includepattern"] = JsonArray(opts.include_patterns);
  if (!opts.exclude_patterns.empty())
    attrs["local.excludepatterns"] = JsonArray(opts.exclude_patterns);
  if (!opts.follow_paths.empty()) attrs["local.followpaths"] = JsonArray(opts.follow_paths);
  if (!opts.shared_key_hint.empty()) attrs["local.sharedkeyhint"] = opts.shared_key_hint;
  if (!opts.session_id.empty()) attrs["local.session"] = opts.session_id;
  return Source("local://" + name, std::move(attrs));
}

State State::Source(const std::string& identifier, std::map<std::string, std::string> attrs) {
  auto n = std::make_shared<Node>();
  auto* src = n->op.mutable_source();
  src->set_identifier(identifier);
  for (auto& [k, v] : attrs) (*src->mutable_attrs())[k] = v;
  return State(n, 0);
}

namespace {

// "os/arch[/variant]" as a pb::Platform.
void SetPlatform(pb::Op& op, std::string_view platform) {
  auto* p = op.mutable_platform();
  std::string parts[3];
  for (auto& part : parts) {
    size_t slash = platform.find('/');
    part = std::string(platform.substr(0, slash));
    platform = slash == std::string_view::npos ? std::string_view() : platform.substr(slash + 1);
  }
  p->set_os(parts[0]);
  p->set_architecture(parts[1]);
  p->set_variant(parts[2]);
}

}  // namespace

State State::Image(const std::string& ref, const std::string& platform,
                   std::map<std::string, std::string> attrs) {
  State s = Source("docker-image://" + ref, std::move(attrs));
  if (!platform.empty()) SetPlatform(s.node_->op, platform);
  return s;
}

Result<State> State::FromDefinition(const pb::Definition& def) {
  if (def.def_size() == 0) {
    return InvalidArgument("invalid nil input definition to definition op");
  }
  if (pb::Op terminal; def.def_size() == 1 && terminal.ParseFromString(def.def(0)) &&
                       terminal.inputs_size() == 0 && terminal.op_case() == pb::Op::OP_NOT_SET) {
    return State();  // only a terminal without an input: an empty result
  }
  KILN_ASSIGN_OR_RETURN(LoadedDefinition loaded, LoadDefinition(def));
  if (loaded.root.empty()) return State();
  auto e = std::make_shared<EmbeddedDefinition>();
  e->root = loaded.root;
  std::set<std::string> seen;
  for (int i = 0; i + 1 < def.def_size(); i++) {  // the last op is the terminal
    std::string dgst = Digest::FromBytes(def.def(i)).str();
    if (!seen.insert(dgst).second) continue;
    e->ops.emplace_back(dgst, def.def(i));
    auto m = def.metadata().find(dgst);
    if (m != def.metadata().end()) e->meta[dgst] = m->second;
  }
  auto n = std::make_shared<Node>();
  n->embedded = std::move(e);
  return State(n, static_cast<int>(loaded.root_index));
}

State State::WithPlatform(const std::string& platform) const {
  if (!node_ || platform.empty() || node_->embedded) return *this;
  auto n = std::make_shared<Node>(*node_);
  SetPlatform(n->op, platform);
  return State(n, index_);
}

State State::Merge(const std::vector<State>& inputs, const std::string& custom_name) {
  auto n = std::make_shared<Node>();
  auto* m = n->op.mutable_merge();
  for (const auto& s : inputs) {
    if (s.scratch()) continue;  // scratch adds nothing to a merge
    m->add_inputs()->set_input(static_cast<int64_t>(n->inputs.size()));
    n->inputs.push_back(s);
  }
  if (n->inputs.empty()) return State();
  State out(n, 0);
  return custom_name.empty() ? out : out.WithCustomName(custom_name);
}

State State::Diff(const State& lower, const State& upper, const std::string& custom_name) {
  auto n = std::make_shared<Node>();
  auto* d = n->op.mutable_diff();
  auto add = [&](const State& s) -> int64_t {
    if (s.scratch()) return -1;
    n->inputs.push_back(s);
    return static_cast<int64_t>(n->inputs.size() - 1);
  };
  d->mutable_lower()->set_input(add(lower));
  d->mutable_upper()->set_input(add(upper));
  State out(n, 0);
  return custom_name.empty() ? out : out.WithCustomName(custom_name);
}

State State::WithCustomName(const std::string& name) const {
  if (!node_) return *this;
  auto n = std::make_shared<Node>(*node_);
  (*n->meta.mutable_description())["llb.customname"] = name;
  return State(n, index_);
}

State State::IgnoreCache() const {
  if (!node_) return *this;
  auto n = std::make_shared<Node>(*node_);
  n->meta.set_ignore_cache(true);
  return State(n, index_);
}

State State::WithLocation(std::vector<std::pair<int, int>> lines) const {
  if (!node_) return *this;
  auto n = std::make_shared<Node>(*node_);
  n->location = std::move(lines);
  return State(n, index_);
}

Result<pb::Definition> State::Marshal(const SourceFile* source) const {
  pb::Definition def;
  std::map<const Node*, std::string> done;  // node -> digest
  std::set<std::string> added;
  std::function<std::string(const Node*)> visit = [&](const Node* n) -> std::string {
    auto it = done.find(n);
    if (it != done.end()) return it->second;
    if (n->embedded) {
      for (const auto& [dgst, bytes] : n->embedded->ops) {
        if (!added.insert(dgst).second) continue;
        def.add_def(bytes);
        auto m = n->embedded->meta.find(dgst);
        if (m != n->embedded->meta.end()) (*def.mutable_metadata())[dgst] = m->second;
      }
      const std::string& root = n->embedded->root;
      if (n->meta.ByteSizeLong() > 0) (*def.mutable_metadata())[root].MergeFrom(n->meta);
      return done[n] = root;
    }
    pb::Op op = n->op;
    for (const auto& in : n->inputs) {
      auto* i = op.add_inputs();
      i->set_digest(visit(in.node_.get()));
      i->set_index(in.index_);
    }
    std::string bytes = Deterministic(op);
    std::string dgst = Digest::FromBytes(bytes).str();
    done[n] = dgst;
    if (added.insert(dgst).second) {
      def.add_def(bytes);
      if (n->meta.ByteSizeLong() > 0) (*def.mutable_metadata())[dgst] = n->meta;
      if (source != nullptr && !n->location.empty()) {
        pb::Location* loc = (*def.mutable_source()->mutable_locations())[dgst].add_locations();
        loc->set_sourceindex(0);
        for (const auto& [start, end] : n->location) {
          pb::Range* r = loc->add_ranges();
          r->mutable_start()->set_line(start);
          r->mutable_end()->set_line(end);
        }
      }
    }
    return dgst;
  };
  pb::Op terminal;
  if (node_) {
    auto* in = terminal.add_inputs();
    in->set_digest(visit(node_.get()));
    in->set_index(index_);
  }
  def.add_def(Deterministic(terminal));
  if (source != nullptr && def.has_source()) {
    pb::SourceInfo* info = def.mutable_source()->add_infos();
    info->set_filename(source->filename);
    info->set_data(source->data);
    info->set_language(source->language);
  }
  return def;
}

pb::FileActionCopy FileOpBuilder::DefaultCopy() {
  pb::FileActionCopy c;
  c.set_mode(-1);
  c.set_timestamp(-1);
  c.set_followsymlink(true);
  c.set_dircopycontents(true);
  c.set_createdestpath(true);
  c.set_allowwildcard(true);
  c.set_allowemptywildcard(true);
  return c;
}

FileOpBuilder& FileOpBuilder::Mkdir(const std::string& path, int32_t mode, bool make_parents,
                                    const pb::ChownOpt* owner, int64_t timestamp_ns) {
  Action a;
  auto* m = a.action.mutable_mkdir();
  m->set_path(path);
  m->set_mode(mode);
  m->set_makeparents(make_parents);
  if (owner != nullptr) *m->mutable_owner() = *owner;
  m->set_timestamp(timestamp_ns);
  actions_.push_back(std::move(a));
  return *this;
}

FileOpBuilder& FileOpBuilder::Mkfile(const std::string& path, int32_t mode,
                                     const std::string& data) {
  Action a;
  auto* m = a.action.mutable_mkfile();
  m->set_path(path);
  m->set_mode(mode);
  m->set_data(data);
  m->set_timestamp(-1);
  actions_.push_back(std::move(a));
  return *this;
}

FileOpBuilder& FileOpBuilder::Rm(const std::string& path, bool allow_not_found,
                                 bool allow_wildcard) {
  Action a;
  auto* m = a.action.mutable_rm();
  m->set_path(path);
  m->set_allownotfound(allow_not_found);
  m->set_allowwildcard(allow_wildcard);
  actions_.push_back(std::move(a));
  return *this;
}

FileOpBuilder& FileOpBuilder::Symlink(const std::string& oldpath, const std::string& newpath) {
  Action a;
  auto* m = a.action.mutable_symlink();
  m->set_oldpath(oldpath);
  m->set_newpath(newpath);
  m->set_timestamp(-1);
  actions_.push_back(std::move(a));
  return *this;
}

FileOpBuilder& FileOpBuilder::Copy(const State& src, const std::string& src_path,
                                   const std::string& dest_path, pb::FileActionCopy opts) {
  Action a;
  opts.set_src(src_path);
  opts.set_dest(dest_path);
  *a.action.mutable_copy() = std::move(opts);
  a.secondary = src;
  actions_.push_back(std::move(a));
  return *this;
}

int64_t AddInput(Node& n, const State& s) {
  if (s.scratch()) return -1;
  for (size_t i = 0; i < n.inputs.size(); i++) {
    if (n.inputs[i].node_ == s.node_ && n.inputs[i].index_ == s.index_)
      return static_cast<int64_t>(i);
  }
  n.inputs.push_back(s);
  return static_cast<int64_t>(n.inputs.size() - 1);
}

State FileOpBuilder::Result(const std::string& custom_name) const {
  if (actions_.empty()) return base_;
  auto n = std::make_shared<Node>();
  // Inputs: the base (if not scratch), then each distinct copy source.
  auto input_of = [&](const State& s) { return AddInput(*n, s); };
  int64_t base = input_of(base_);
  for (const auto& a : actions_) {
    if (a.secondary) input_of(*a.secondary);
  }
  int64_t nin = static_cast<int64_t>(n->inputs.size());
  auto* fop = n->op.mutable_file();
  for (size_t k = 0; k < actions_.size(); k++) {
    pb::FileAction fa = actions_[k].action;
    fa.set_input(k == 0 ? base : nin + static_cast<int64_t>(k) - 1);
    fa.set_secondaryinput(actions_[k].secondary ? input_of(*actions_[k].secondary) : -1);
    fa.set_output(k + 1 == actions_.size() ? 0 : -1);
    *fop->add_actions() = std::move(fa);
  }
  State out(n, 0);
  return custom_name.empty() ? out : out.WithCustomName(custom_name);
}

}  // namespace kiln::llb
