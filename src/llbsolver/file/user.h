#pragma once
// UserResolver: turns an LLB ChownOpt into the uid/gid that FileOp actions give to what they
// create, as BuildKit's readUser does. byID is used directly (a user id also sets the group id);
// byName is looked up in /etc/passwd or /etc/group of the root of the FileOp input (or earlier
// action) that NamedUserOpt.input names. A name that is not found but is a decimal number is
// used as that id, so "1000" works without a passwd file.
//
// Immutable after construction; thread-safe as long as the root function is.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "pb/ops.pb.h"
#include "util/status.h"

namespace kiln::llbsolver::file {

// Ownership to apply (BuildKit's copy.User).
struct Owner {
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool operator==(const Owner&) const = default;
};

class UserResolver {
 public:
  // Host path of the root directory of FileOp input/action index `input`, or "" for scratch
  // (which has no passwd or group file).
  using RootOfInput = std::function<Result<std::string>(int64_t input)>;

  // A resolver without roots: ids work, names resolve only if they are numeric.
  UserResolver();
  explicit UserResolver(RootOfInput root_of_input);

  // The owner for `chown`; nullopt when chown is null (ownership is left alone). A ChownOpt
  // without user means uid 0; without group, the user's primary group (or its id).
  // Errors: "unable to find user app: no matching entries in passwd file" (NotFound),
  // "unable to find group staff: no matching entries in group file", unreadable files.
  Result<std::optional<Owner>> Resolve(const pb::ChownOpt* chown) const;

 private:
  RootOfInput root_of_input_;
};

// The owner option of an action: nullptr when the action has none.
template <typename Action>
const pb::ChownOpt* OwnerOf(const Action& action) {
  return action.has_owner() ? &action.owner() : nullptr;
}

}  // namespace kiln::llbsolver::file
