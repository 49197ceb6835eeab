#include "frontend/dockerfile/dockerfile2llb/git_ref.h"

#include <map>

#include "util/git_url.h"

namespace kiln::dockerfile {

namespace {

Status ParseQueryBool(const std::string& key, const std::string& v, bool* out) {
  if (v.empty() || v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True") {
    *out = true;
    return Status::Ok();
  }
  if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False") {
    *out = false;
    return Status::Ok();
  }
  return InvalidArgument("invalid " + key + " value: \"" + v + "\"");
}

// BuildKit's loadQuery: ref, tag, branch, subdir, checksum/commit, keep-git-dir, submodules,
// mtime, fetch-by-commit; anything else is an error.
Status LoadQuery(const std::vector<std::pair<std::string, std::string>>& query, GitRef* g) {
  std::map<std::string, int> seen;
  for (const auto& [k, v] : query) seen[k]++;
  std::string tag, branch;
  for (const auto& [k, v] : query) {
    if (seen[k] > 1) return InvalidArgument("query \"" + k + "\" has multiple values");
    bool flag = k == "submodules" || k == "keep-git-dir" || k == "fetch-by-commit";
    if (v.empty() && !flag) return InvalidArgument("query \"" + k + "\" has no value");
    if (k == "ref" || k == "subdir") {
      std::string& field = k == "ref" ? g->ref : g->subdir;
      if (!field.empty() && field != v) {
        return InvalidArgument(k + " conflicts: \"" + field + "\" vs \"" + v + "\"");
      }
      field = v;
    } else if (k == "tag") {
      tag = v;
    } else if (k == "branch") {
      branch = v;
    } else if (k == "checksum" || k == "commit") {
      g->checksum = v;
    } else if (flag) {
      bool b = false;
      KILN_RETURN_IF_ERROR(ParseQueryBool(k, v, &b));
      if (k == "keep-git-dir") g->keep_git_dir = b;
      if (k == "submodules") g->submodules = b;
      if (k == "fetch-by-commit") g->fetch_by_commit = b;
    } else if (k == "mtime") {
      if (v != "checkout" && v != "commit") {
        return InvalidArgument("invalid mtime value: \"" + v +
                               "\" (must be \"checkout\" or \"commit\")");
      }
      g->mtime = v;
    } else {
      return InvalidArgument("unexpected query \"" + k + "\"");
    }
  }
  if (!tag.empty() && !branch.empty()) return InvalidArgument("branch conflicts with tag");
  for (auto [value, prefix] : {std::pair{tag, "refs/tags/"}, std::pair{branch, "refs/heads/"}}) {
    if (value.empty()) continue;
    if (value.rfind(prefix, 0) != 0) value = prefix + value;
    if (!g->ref.empty() && g->ref != value) {
      return InvalidArgument("ref conflicts: \"" + g->ref + "\" vs \"" + value + "\"");
    }
    g->ref = value;
  }
  return Status::Ok();
}

}  // namespace

GitRefParse ParseGitRef(std::string_view s) {
  GitRefParse out;
  if (s.starts_with("./") || s.starts_with("../")) {
    out.error = InvalidArgument("a relative path is not a git ref");
    return out;
  }
  GitRef g;
  std::string url(s);
  if (s.starts_with("github.com/")) {
    g.indistinguishable_from_local = true;
    url = "https://" + url;
  } else if (!LooksLikeGitTransport(s)) {
    out.error = InvalidArgument("unknown protocol");
    return out;
  }
  auto parsed = ParseGitUrl(url);
  if (!parsed.ok()) {
    out.error = parsed.status();
    return out;
  }
  if (!g.indistinguishable_from_local) {
    g.unencrypted_tcp = parsed->scheme == "http" || parsed->scheme == "git";
    if ((parsed->scheme == "http" || parsed->scheme == "https") &&
        !parsed->path.ends_with(".git")) {
      out.error = InvalidArgument("an http(s) URL is a git ref only when its path ends in .git");
      return out;
    }
  }
  g.remote = parsed->remote;
  if (g.indistinguishable_from_local) g.remote = g.remote.substr(g.remote.find("://") + 3);
  g.ref = parsed->ref;
  g.subdir = parsed->subdir;
  std::string last = g.remote.substr(g.remote.rfind('/') + 1);
  g.short_name = last.ends_with(".git") ? last.substr(0, last.size() - 4) : last;
  out.is_git = true;
  out.error = LoadQuery(parsed->query, &g);
  if (out.error.ok()) out.ref = std::move(g);
  return out;
}

}  // namespace kiln::dockerfile
