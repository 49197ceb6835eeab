#pragma once
// Builds one ExecOp (a RUN step): a root filesystem, the process's Meta and extra mounts. Each
// writable mount with an output gives a State (Root() for "/", GetMount() for the others).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "llb/builder.h"
#include "pb/ops.pb.h"

namespace kiln::llb {

struct Node;

class ExecBuilder {
 public:
  ExecBuilder(State root, std::vector<std::string> args);

  ExecBuilder& Env(const std::string& key, const std::string& value);
  ExecBuilder& Cwd(const std::string& dir);
  ExecBuilder& User(const std::string& user);
  ExecBuilder& Hostname(const std::string& name);
  ExecBuilder& ExtraHost(const std::string& host, const std::string& ip);
  ExecBuilder& Network(pb::NetMode mode);
  ExecBuilder& Security(pb::SecurityMode mode);
  ExecBuilder& ValidExitCodes(std::vector<int32_t> codes);
  ExecBuilder& ReadonlyRoot();

  struct MountOptions {
    bool readonly = false;
    std::string selector;
    bool output = true;  // a writable bind mount gives a result (ignored when readonly)
  };
  // A bind mount of `input` (scratch: an empty directory) at `dest`.
  ExecBuilder& Mount(const std::string& dest, const State& input, MountOptions opts);
  ExecBuilder& Mount(const std::string& dest, const State& input) {
    return Mount(dest, input, MountOptions{});
  }
  ExecBuilder& Tmpfs(const std::string& dest, int64_t size = 0);
  // A cache mount kept across builds by `id` (BuildKit's --mount=type=cache), first filled from
  // `from` (at `selector` in it, "" for its root), read-only when asked.
  ExecBuilder& Cache(const std::string& dest, const std::string& id,
                     pb::CacheSharingOpt sharing = pb::SHARED,
                     std::optional<State> from = std::nullopt, const std::string& selector = "",
                     bool readonly = false);
  // A secret from the client's session (--secret id=...), a readonly file at `dest` (relative:
  // against the cwd) owned uid:gid with `mode` (BuildKit's llb.AddSecret defaults).
  ExecBuilder& Secret(const std::string& dest, const std::string& id, uint32_t uid = 0,
                      uint32_t gid = 0, uint32_t mode = 0400, bool optional = false);
  // The client's ssh agent `id` (--ssh) as a socket at `dest` ("" is
  // /run/buildkit/ssh_agent.<n>, n counting this op's ssh mounts, as llb.AddSSHSocket does).
  ExecBuilder& SSH(const std::string& dest = "", const std::string& id = "default",
                   uint32_t uid = 0, uint32_t gid = 0, uint32_t mode = 0600, bool optional = false);
  // The secret `id` as the environment variable `name`.
  ExecBuilder& SecretEnv(const std::string& name, const std::string& id, bool optional = false);
  // Raw access for tests of unusual shapes.
  pb::ExecOp& op() { return exec_; }

  // The op is fixed by the first of these calls; later changes to the builder are not seen.
  State Root() const { return Output("/"); }
  State GetMount(const std::string& dest) const { return Output(dest); }

 private:
  State Output(const std::string& dest) const;
  int OutputIndex(const std::string& dest) const;
  mutable std::shared_ptr<Node> node_;
  State root_;
  pb::ExecOp exec_;
  bool readonly_root_ = false;
  int ssh_mounts_ = 0;
  struct Extra {
    pb::Mount mount;  // input/output filled at marshal time
    std::optional<State> input;
  };
  std::vector<Extra> mounts_;
};

}  // namespace kiln::llb
