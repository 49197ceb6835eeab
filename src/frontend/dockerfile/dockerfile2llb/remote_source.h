#pragma once
// The remote sources of ADD (BuildKit's dispatchCopy branches for git refs and URLs): an
// http(s) URL becomes an http source holding one file named after the URL, copied without
// unpacking unless `ADD --unpack=true`; a git ref becomes a git source whose tree is copied. COPY
// refuses both. Pure functions, thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "frontend/dockerfile/dockerfile2llb/git_ref.h"
#include "llb/builder.h"
#include "pb/ops.pb.h"
#include "util/status.h"

namespace kiln::dockerfile {

struct RemoteCopyOptions {
  bool add = true;                   // ADD (else COPY)
  size_t sources = 1;                // how many sources the instruction has
  std::string checksum;              // --checksum
  std::optional<bool> keep_git_dir;  // --keep-git-dir when given
  bool unpack = false;               // --unpack=true: a downloaded archive is extracted
  std::string step_name;             // the step's progress name, given to the source too
  pb::FileActionCopy base;           // --chmod, --chown, --exclude of the instruction
};

struct RemoteCopy {
  llb::State source;
  std::string path;  // what to copy from the source
  pb::FileActionCopy copy;
};

// True for an http(s) URL that is not a git ref (BuildKit's isHTTPSource).
bool IsHttpSource(const std::string& src);
// True for a git ref (BuildKit's isGitSource).
bool IsGitSource(const std::string& src);

// llb.Git for a parsed ref: the repository's tree at g.ref (and g.subdir), named `name`.
llb::State GitRefSource(const GitRef& g, bool keep_git_dir, const std::string& checksum,
                        const std::string& name);

// The source and copy for `src` when it is a URL or a git ref; nullopt for a context path.
// --checksum needs ADD with one http(s) or git source.
Result<std::optional<RemoteCopy>> RemoteCopyFor(const std::string& src, const RemoteCopyOptions& o);

}  // namespace kiln::dockerfile
