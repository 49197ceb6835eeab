#pragma once
// A C++ builder for LLB graphs (BuildKit's client/llb, in small): states are immutable values
// that share their parents; Marshal() produces a Definition with deterministic op bytes.
// Used by tests, tools and the native frontends. Thread-compatible.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pb/ops.pb.h"
#include "util/status.h"

namespace kiln::llb {

struct Node;

class State {
 public:
  State() = default;  // scratch
  static State Scratch() { return State(); }

  struct LocalOptions {
    std::vector<std::string> include_patterns;
    std::vector<std::string> exclude_patterns;
    std::vector<std::string> follow_paths;
    std::string shared_key_hint;
    std::string session_id;
  };
  static State Local(const std::string& name, const LocalOptions& opts = {});
  static State Source(const std::string& identifier, std::map<std::string, std::string> attrs = {});
  // docker-image://<ref> (ref as given: the daemon normalises it), for `platform`
  // ("os/arch[/variant]", empty: the worker's) with attrs such as image.resolvemode.
  static State Image(const std::string& ref, const std::string& platform = "",
                     std::map<std::string, std::string> attrs = {});
  static State Merge(const std::vector<State>& inputs, const std::string& custom_name = "");
  // The result of a definition made elsewhere (a frontend input; BuildKit's NewDefinitionOp):
  // its ops keep their bytes and digests, so they share cache and vertices with the build that
  // made them. InvalidArgument when `def` is empty or does not load (llb::LoadDefinition); one
  // whose terminal has no input (an empty result) is scratch. WithPlatform does not change such a
  // state, and its ops' source maps are not carried over.
  static Result<State> FromDefinition(const pb::Definition& def);
  static State Diff(const State& lower, const State& upper, const std::string& custom_name = "");

  bool scratch() const { return node_ == nullptr; }
  // Whether both states are the same output of the same op.
  bool SameAs(const State& other) const { return node_ == other.node_ && index_ == other.index_; }
  // Sets llb.customname on the op that produces this state.
  State WithCustomName(const std::string& name) const;
  State IgnoreCache() const;
  // Sets the platform ("os/arch[/variant]") of the op that produces this state: the platform it
  // runs for (an exec op's process, an image source's manifest).
  State WithPlatform(const std::string& platform) const;

  // Marks the op that produces this state as coming from these lines (1-based, inclusive) of
  // the source file given to Marshal: errors of that op then show those lines.
  State WithLocation(std::vector<std::pair<int, int>> lines) const;

  // The source file ops' locations refer to (BuildKit's pb.SourceInfo).
  struct SourceFile {
    std::string filename;
    std::string data;
    std::string language;  // "Dockerfile"
  };
  // The definition whose result is this state; with `source`, its source map too.
  Result<pb::Definition> Marshal(const SourceFile* source = nullptr) const;

 private:
  friend class FileOpBuilder;
  friend int64_t AddInput(Node& n, const State& s);
  friend class ExecBuilder;
  State(std::shared_ptr<Node> n, int idx) : node_(std::move(n)), index_(idx) {}
  std::shared_ptr<Node> node_;
  int index_ = 0;
};

// Builds one FileOp whose actions apply in order on top of `base`; Result() is the state after
// the last action.
class FileOpBuilder {
 public:
  explicit FileOpBuilder(State base) : base_(std::move(base)) {}

  // `owner`: who owns the created directories (unset: root, as BuildKit); `timestamp_ns`: their
  // times (unix nanoseconds, -1: now).
  FileOpBuilder& Mkdir(const std::string& path, int32_t mode, bool make_parents = false,
                       const pb::ChownOpt* owner = nullptr, int64_t timestamp_ns = -1);
  FileOpBuilder& Mkfile(const std::string& path, int32_t mode, const std::string& data);
  FileOpBuilder& Rm(const std::string& path, bool allow_not_found = false,
                    bool allow_wildcard = false);
  FileOpBuilder& Symlink(const std::string& oldpath, const std::string& newpath);
  // Copies src_path of `src` to dest_path; `opts` pre-filled fields (follow symlinks, modes, …)
  // are kept, src/dest are set here.
  FileOpBuilder& Copy(const State& src, const std::string& src_path, const std::string& dest_path,
                      pb::FileActionCopy opts = DefaultCopy());
  // Raw action for anything not covered above; input/secondary use the builder's numbering.
  static pb::FileActionCopy DefaultCopy();

  State Result(const std::string& custom_name = "") const;

 private:
  struct Action {
    pb::FileAction action;
    std::optional<State> secondary;
  };
  State base_;
  std::vector<Action> actions_;
};

}  // namespace kiln::llb
