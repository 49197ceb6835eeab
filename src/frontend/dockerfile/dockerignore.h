#pragma once
// .dockerignore files, as BuildKit reads them (moby/patternmatcher/ignorefile.ReadAll and the
// Dockerfile frontend's choice of file):
//
// - A UTF-8 BOM is dropped; lines end at '\n' (a '\r' before it is dropped too).
// - A line whose first byte is '#' is a comment (an indented '#' is not).
// - Blanks around a pattern are trimmed and empty lines skipped; a leading '!' (exception) is
//   kept and the blanks after it trimmed.
// - Each pattern is cleaned as Go's filepath.Clean ("a//b/../c/" -> "a/c") and one leading '/'
//   is removed, so "/x" and "x" are the same.
//
// Unlike ReadAll, every pattern is also checked with fsutil's pattern matcher here, so a bad
// pattern fails now, naming it, instead of when the context is sent.
// Stateless functions; thread-safe.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kiln::dockerfile {

inline constexpr std::string_view kDockerignoreName = ".dockerignore";

// The patterns of a .dockerignore file, in order.
Result<std::vector<std::string>> ReadDockerignore(std::string_view contents);

// Reads a file by name: its contents, nullopt when it does not exist, or an error.
using ReadFileFn = std::function<Result<std::optional<std::string>>(std::string_view name)>;

struct DockerignoreFile {
  std::string name;                   // the file used; empty when there is none
  std::vector<std::string> patterns;  // empty when there is none
};

// The frontend's choice: `<dockerfile_name>.dockerignore` (beside the Dockerfile, e.g.
// "app/web.Dockerfile.dockerignore") when it exists, else `.dockerignore` at the context root.
// Errors from the file are prefixed "failed parsing <name>: ".
Result<DockerignoreFile> LoadDockerignore(std::string_view dockerfile_name, const ReadFileFn& read);

}  // namespace kiln::dockerfile
