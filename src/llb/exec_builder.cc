#include "llb/exec_builder.h"

#include "llb/node.h"

namespace kiln::llb {

ExecBuilder::ExecBuilder(State root, std::vector<std::string> args) : root_(std::move(root)) {
  for (auto& a : args) exec_.mutable_meta()->add_args(std::move(a));
  exec_.mutable_meta()->set_cwd("/");
}

ExecBuilder& ExecBuilder::Env(const std::string& key, const std::string& value) {
  exec_.mutable_meta()->add_env(key + "=" + value);
  return *this;
}
ExecBuilder& ExecBuilder::Cwd(const std::string& dir) {
  exec_.mutable_meta()->set_cwd(dir);
  return *this;
}
ExecBuilder& ExecBuilder::User(const std::string& user) {
  exec_.mutable_meta()->set_user(user);
  return *this;
}
ExecBuilder& ExecBuilder::Hostname(const std::string& name) {
  exec_.mutable_meta()->set_hostname(name);
  return *this;
}
ExecBuilder& ExecBuilder::ExtraHost(const std::string& host, const std::string& ip) {
  auto* h = exec_.mutable_meta()->add_extrahosts();
  h->set_host(host);
  h->set_ip(ip);
  return *this;
}
ExecBuilder& ExecBuilder::Network(pb::NetMode mode) {
  exec_.set_network(mode);
  return *this;
}
ExecBuilder& ExecBuilder::Security(pb::SecurityMode mode) {
  exec_.set_security(mode);
  return *this;
}
ExecBuilder& ExecBuilder::ValidExitCodes(std::vector<int32_t> codes) {
  for (int32_t c : codes) exec_.mutable_meta()->add_validexitcodes(c);
  return *this;
}
ExecBuilder& ExecBuilder::ReadonlyRoot() {
  readonly_root_ = true;
  return *this;
}

ExecBuilder& ExecBuilder::Mount(const std::string& dest, const State& input, MountOptions opts) {
  Extra e;
  e.mount.set_dest(dest);
  e.mount.set_readonly(opts.readonly);
  e.mount.set_selector(opts.selector);
  e.mount.set_mounttype(pb::BIND);
  e.mount.set_output(opts.output && !opts.readonly ? 0 : -1);  // renumbered at marshal time
  if (!input.scratch()) e.input = input;
  mounts_.push_back(std::move(e));
  return *this;
}

ExecBuilder& ExecBuilder::Tmpfs(const std::string& dest, int64_t size) {
  Extra e;
  e.mount.set_dest(dest);
  e.mount.set_mounttype(pb::TMPFS);
  e.mount.set_output(-1);
  if (size > 0) e.mount.mutable_tmpfsopt()->set_size(size);
  mounts_.push_back(std::move(e));
  return *this;
}

ExecBuilder& ExecBuilder::Cache(const std::string& dest, const std::string& id,
                                pb::CacheSharingOpt sharing, std::optional<State> from,
                                const std::string& selector, bool readonly) {
  Extra e;
  e.mount.set_dest(dest);
  e.mount.set_mounttype(pb::CACHE);
  e.mount.set_output(-1);
  e.mount.set_selector(selector);
  e.mount.set_readonly(readonly);
  e.mount.mutable_cacheopt()->set_id(id);
  e.mount.mutable_cacheopt()->set_sharing(sharing);
  if (from && !from->scratch()) e.input = *from;
  mounts_.push_back(std::move(e));
  return *this;
}

ExecBuilder& ExecBuilder::Secret(const std::string& dest, const std::string& id, uint32_t uid,
                                 uint32_t gid, uint32_t mode, bool optional) {
  Extra e;
  e.mount.set_dest(dest);
  e.mount.set_mounttype(pb::SECRET);
  e.mount.set_output(-1);
  pb::SecretOpt* o = e.mount.mutable_secretopt();
  o->set_id(id);
  o->set_uid(uid);
  o->set_gid(gid);
  o->set_mode(mode);
  o->set_optional(optional);
  mounts_.push_back(std::move(e));
  return *this;
}

ExecBuilder& ExecBuilder::SSH(const std::string& dest, const std::string& id, uint32_t uid,
                              uint32_t gid, uint32_t mode, bool optional) {
  Extra e;
  e.mount.set_dest(dest.empty() ? "/run/buildkit/ssh_agent." + std::to_string(ssh_mounts_) : dest);
  ssh_mounts_++;
  e.mount.set_mounttype(pb::SSH);
  e.mount.set_output(-1);
  pb::SSHOpt* o = e.mount.mutable_sshopt();
  o->set_id(id);
  o->set_uid(uid);
  o->set_gid(gid);
  o->set_mode(mode);
  o->set_optional(optional);
  mounts_.push_back(std::move(e));
  return *this;
}

ExecBuilder& ExecBuilder::SecretEnv(const std::string& name, const std::string& id, bool optional) {
  pb::SecretEnv* s = exec_.add_secretenv();
  s->set_id(id);
  s->set_name(name);
  s->set_optional(optional);
  return *this;
}

State ExecBuilder::Output(const std::string& dest) const {
  if (node_) return State(node_, OutputIndex(dest));
  auto n = std::make_shared<Node>();
  auto input_of = [&](const State& s) { return AddInput(*n, s); };
  pb::ExecOp* e = n->op.mutable_exec();
  *e = exec_;
  // As BuildKit's llb: mount points the run created are removed from its result, and the first
  // ssh mount is the default agent socket.
  e->mutable_meta()->set_removemountstubsrecursive(true);
  if (ssh_mounts_ > 0) {
    bool has_sock = false;
    for (const auto& kv : e->meta().env()) has_sock |= kv.rfind("SSH_AUTH_SOCK=", 0) == 0;
    for (const auto& x : mounts_) {
      if (has_sock || x.mount.mounttype() != pb::SSH) continue;
      e->mutable_meta()->add_env("SSH_AUTH_SOCK=" + x.mount.dest());
      has_sock = true;
    }
  }
  int64_t next_output = 0;
  pb::Mount* root = e->add_mounts();
  root->set_dest("/");
  root->set_input(input_of(root_));
  root->set_readonly(readonly_root_);
  root->set_mounttype(pb::BIND);
  root->set_output(readonly_root_ ? -1 : next_output++);
  for (const auto& x : mounts_) {
    pb::Mount m = x.mount;
    m.set_input(x.input ? input_of(*x.input) : -1);
    if (m.output() >= 0) m.set_output(next_output++);
    *e->add_mounts() = std::move(m);
  }
  node_ = n;
  return State(node_, OutputIndex(dest));
}

int ExecBuilder::OutputIndex(const std::string& dest) const {
  for (const auto& m : node_->op.exec().mounts()) {
    if (m.dest() == dest && m.output() >= 0) return static_cast<int>(m.output());
  }
  return 0;  // a mount without an output: the op's first result
}

}  // namespace kiln::llb
