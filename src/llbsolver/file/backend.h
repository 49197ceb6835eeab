#pragma once
// The FileOp actions (BuildKit's solver/llbsolver/file backend) on mounted snapshot
// directories. Every path in an action is absolute inside its root and is resolved with
// symlinks evaluated inside that root, so nothing outside a root is ever read or written.
// Errors name paths inside the root, Go style: "mkdir /a/b: no such file or directory".
//
// Semantics follow BuildKit and fsutil's copy; where kiln differs it says so below.
// Stateless functions; thread-safe as long as callers do not write the same root at once.

#include <string>

#include "llbsolver/file/user.h"
#include "pb/ops.pb.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::llbsolver::file {

// Creates a directory with mode & 0777 (umask ignored), owner and timestamp. With makeParents
// the missing parents are created alike and an existing directory is fine; without it the
// parent must exist and an existing entry at path is left alone.
Status Mkdir(const Context& ctx, const std::string& root, const pb::FileActionMkDir& action,
             const UserResolver& users);

// Writes data to path (following a symlink there inside root), creating it with mode & 0777;
// an existing file is truncated and keeps its mode, as in BuildKit. Then owner and timestamp.
Status Mkfile(const Context& ctx, const std::string& root, const pb::FileActionMkFile& action,
              const UserResolver& users);

// Removes path and everything below it (a final symlink is removed, not followed). A missing
// path is an error unless allowNotFound. With allowWildcard, every match is removed and no
// match is not an error.
Status Rm(const Context& ctx, const std::string& root, const pb::FileActionRm& action);

// Creates a symlink at newpath pointing at oldpath (stored as given), with owner and timestamp.
Status Symlink(const Context& ctx, const std::string& root, const pb::FileActionSymlink& action,
               const UserResolver& users);

// Copies action.src from src_root to action.dest in dest_root with fsutil's rules:
// followSymlink (the source itself, never links below it), dirCopyContents, createDestPath,
// a dest ending in "/" meaning "into this directory", copying into an existing directory,
// allowWildcard / allowEmptyWildcard, include/exclude patterns, alwaysReplaceExistingDestPaths,
// owner (also for created parent directories), mode or modeStr, timestamp, and ADD's archive
// extraction (attemptUnpackDockerCompatibility). Errors start with "failed to copy files: ".
Status Copy(const Context& ctx, const std::string& src_root, const std::string& dest_root,
            const pb::FileActionCopy& action, const UserResolver& users);

}  // namespace kiln::llbsolver::file
