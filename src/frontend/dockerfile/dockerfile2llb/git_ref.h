#pragma once
// Git references in Dockerfiles (BuildKit's frontend/dockerfile/dfgitutil): which ADD sources
// and build contexts are git repositories, and the remote, ref, subdir and options they name
// ("https://host/repo.git#ref:subdir", "git@host:repo.git?branch=main&keep-git-dir=1", ...).
// Pure functions, thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include "util/status.h"

namespace kiln::dockerfile {

struct GitRef {
  std::string remote;      // what git fetches from, without fragment and query
  std::string short_name;  // "repo" for ".../repo.git"
  std::string ref;         // a commit, tag or branch; "" for the default branch
  std::string checksum;    // ?checksum= / ?commit=: the commit the ref must resolve to
  std::string subdir;      // relative, cleaned; "" for the repository root
  // "github.com/org/repo": a git ref only where a local path cannot be meant (build contexts).
  bool indistinguishable_from_local = false;
  bool unencrypted_tcp = false;  // git:// or http://
  std::optional<bool> keep_git_dir;
  std::optional<bool> submodules;
  std::string mtime;  // "checkout" or "commit"
  bool fetch_by_commit = false;
};

struct GitRefParse {
  std::optional<GitRef> ref;  // set when `error` is ok
  bool is_git = false;        // the string is meant as a git ref (its error is the user's)
  Status error;
};

// BuildKit's ParseGitRef: http(s) URLs are git refs only with a ".git" path; "./" and "../"
// paths, plain words and unknown schemes are not git (is_git false, with an error).
GitRefParse ParseGitRef(std::string_view s);

}  // namespace kiln::dockerfile
