#include "frontend/dockerfile/dockerignore.h"

#include <fmt/format.h>

#include "frontend/dockerfile/parser/lines.h"
#include "frontend/dockerfile/unicode.h"
#include "fsutil/pattern_matcher.h"
#include "util/path.h"

namespace kiln::dockerfile {

Result<std::vector<std::string>> ReadDockerignore(std::string_view contents) {
  std::vector<std::string> patterns;
  internal::LineScanner scanner(contents);
  std::string_view line;
  bool first = true;
  while (scanner.Next(&line)) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    first = false;
    if (!line.empty() && line[0] == '#') continue;
    std::string_view p = internal::TrimSpace(line);
    if (p.empty()) continue;
    bool exception = p[0] == '!';
    if (exception) p = internal::TrimSpace(p.substr(1));
    std::string pattern(p);
    if (!pattern.empty()) {
      pattern = CleanPath(pattern);
      if (pattern.size() > 1 && pattern[0] == '/') pattern.erase(0, 1);
    }
    patterns.push_back(exception ? "!" + pattern : pattern);
  }
  if (scanner.too_long()) return InvalidArgument("bufio.Scanner: token too long");
  KILN_RETURN_IF_ERROR(fsutil::PatternMatcher::Create(patterns));
  return patterns;
}

Result<DockerignoreFile> LoadDockerignore(std::string_view dockerfile_name,
                                          const ReadFileFn& read) {
  for (std::string name : {std::string(dockerfile_name) + std::string(kDockerignoreName),
                           std::string(kDockerignoreName)}) {
    KILN_ASSIGN_OR_RETURN(std::optional<std::string> contents, read(name));
    if (!contents) continue;
    auto patterns = ReadDockerignore(*contents);
    if (!patterns.ok()) return patterns.status().Annotate("failed parsing " + name);
    return DockerignoreFile{std::move(name), std::move(*patterns)};
  }
  return DockerignoreFile{};
}

}  // namespace kiln::dockerfile
