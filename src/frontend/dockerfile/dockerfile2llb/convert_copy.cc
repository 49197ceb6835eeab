#include <fmt/format.h>

#include "frontend/dockerfile/dockerfile2llb/converter.h"
#include "frontend/dockerfile/dockerfile2llb/remote_source.h"
#include "frontend/dockerfile/parser/heredoc.h"
#include "util/mode_set.h"

namespace kiln::dockerfile::convert_internal {

llb::State Converter::ContextState() {
  if (!context_) {
    llb::State::LocalOptions lo;
    lo.session_id = opts_.session_id;
    lo.shared_key_hint = opts_.context_name;
    lo.exclude_patterns = opts_.context_excludes;
    context_ =
        llb::State::Local(opts_.context_name, lo).WithCustomName("[internal] load build context");
  }
  return *context_;
}

// --from: a stage by name or index, else an image.
Result<llb::State> Converter::FromState(Stage& s, const std::string& ref) {
  // Any stage, before or after this one, by name or index (built first; a cycle is an error),
  // else a named context, else an image.
  KILN_ASSIGN_OR_RETURN(Stage * dep, StageOf(ref));
  if (dep != nullptr) {
    KILN_RETURN_IF_ERROR(Build(*dep));
    return dep->state;
  }
  // An image or a named context for the target platform, as BuildKit's implicit stage of
  // --from=image.
  KILN_ASSIGN_OR_RETURN(std::optional<NamedContext> nc, NamedContextFor(ref, target_platform_));
  if (nc) return nc->state;
  KILN_ASSIGN_OR_RETURN(PinnedImage img, ResolveImage(ref, target_platform_));
  return llb::State::Image(img.ref, target_platform_.String());
}

namespace {

// --chmod as BuildKit reads it: octal up to 07777, else a chmod(1) symbolic string (modeStr).
Status ApplyChmod(const std::string& chmod, pb::FileActionCopy& c) {
  const std::string non_octal =
      "invalid chmod parameter: '" + chmod + "'. it should be octal string and between 0 and 07777";
  bool octal = !chmod.empty() && chmod.size() <= 11 &&
               chmod.find_first_not_of("01234567") == std::string::npos;
  if (octal) {
    uint64_t v = std::strtoull(chmod.c_str(), nullptr, 8);
    if (v > 07777) return InvalidArgument(non_octal);
    c.set_mode(static_cast<int32_t>(v));
    return Status::Ok();
  }
  // A value that starts like a number is a malformed octal mode, not a symbolic one.
  if (!chmod.empty() && chmod[0] >= '0' && chmod[0] <= '9') return InvalidArgument(non_octal);
  auto parsed = ModeSet::Parse(chmod);
  KILN_RETURN_IF_ERROR(parsed.status());
  c.set_modestr(chmod);
  return Status::Ok();
}

bool HasWildcards(const std::string& p) {
  for (size_t i = 0; i < p.size(); i++) {
    if (p[i] == '\\') {
      i++;
    } else if (p[i] == '*' || p[i] == '?' || p[i] == '[') {
      return true;
    }
  }
  return false;
}

}  // namespace

Status Converter::Copy(Stage& s, const Node& n, bool add) {
  KILN_ASSIGN_OR_RETURN(Flags f, ParseFlags(n));
  const std::string name = add ? "ADD" : "COPY";
  std::vector<std::string> env = StageEnv(s);
  // Sources and destination are expanded in both forms (BuildKit's SourcesAndDest.Expand);
  // heredoc sources are kept aside and copied after the paths.
  std::vector<std::string> paths;
  std::vector<const Heredoc*> docs;
  size_t next_doc = 0;  // the parser's heredocs, in the order of their words
  for (size_t i = 0; i < n.next.size(); i++) {
    const std::string& w = n.next[i];
    const Heredoc* hd = nullptr;
    if (!n.json && i + 1 < n.next.size() && next_doc < n.heredocs.size()) {
      KILN_ASSIGN_OR_RETURN(std::optional<Heredoc> word, internal::ParseHeredocWord(w));
      if (word && word->name == n.heredocs[next_doc].name) hd = &n.heredocs[next_doc++];
    }
    if (hd != nullptr) {
      docs.push_back(hd);
      continue;
    }
    KILN_ASSIGN_OR_RETURN(std::string x, Expand(w, env));
    paths.push_back(x);
  }
  if (paths.size() + docs.size() < 2) {
    return InvalidArgument(name + " requires at least two arguments");
  }
  std::string dest_word = paths.back();
  paths.pop_back();
  std::string wd = s.image.WorkingDir().empty() ? "/" : s.image.WorkingDir();
  std::string dest = JoinWorkdir(wd, dest_word, true);
  if (paths.size() + docs.size() > 1 && dest.back() != '/') {
    return InvalidArgument(
        "When using " + name +
        " with more than one source file, the destination must be a directory and end with a /");
  }
  std::string chown, chmod;
  if (auto c = f.Get("chown")) {
    KILN_ASSIGN_OR_RETURN(chown, Expand(*c, env));
  }
  if (auto m = f.Get("chmod")) {
    KILN_ASSIGN_OR_RETURN(chmod, Expand(*m, env));
  }
  // What every copy of this instruction shares: owner, mode, exclusions.
  pb::FileActionCopy common;
  common.set_mode(-1);
  common.set_timestamp(-1);
  common.set_createdestpath(true);
  if (!chmod.empty()) KILN_RETURN_IF_ERROR(ApplyChmod(chmod, common));
  if (!chown.empty()) *common.mutable_owner() = ChownFromSpec(chown);
  for (const auto& ex : f.All("exclude")) common.add_exclude_patterns(ex);
  const bool parents = f.Bool("parents");
  // ADD --unpack: local archives are extracted unless it says false, downloads only when true.
  const std::optional<bool> unpack = add ? f.BoolIfGiven("unpack") : std::nullopt;

  llb::State src = ContextState();
  if (auto from = f.Get("from")) {
    // BuildKit resolves --from before any variable is known: no expansion.
    auto expanded = ShellLex(pr_.escape_token).ProcessWord(*from, {});
    if (!expanded.ok() || *expanded != *from) {
      return InvalidArgument(
          "variable expansion is not supported for --from, define a new stage with FROM using "
          "ARG from global scope as a workaround");
    }
    KILN_ASSIGN_OR_RETURN(src, FromState(s, *from));
  }
  const bool link = f.Bool("link") && chmod.empty();
  llb::FileOpBuilder fb(link ? llb::State::Scratch() : s.state);
  std::string history = name;
  if (parents) history += " --parents";
  if (!chown.empty()) history += " --chown=" + chown;
  if (!chmod.empty()) history += " --chmod=" + chmod;
  const std::string text = CommandText(s, n.original, false);
  const std::string label = StepName(s, text);
  for (const auto& w : paths) {
    history += " " + w;
    // A URL or git ref (ADD only): its own source, copied as BuildKit does.
    KILN_ASSIGN_OR_RETURN(
        std::optional<RemoteCopy> remote,
        RemoteCopyFor(
            w, RemoteCopyOptions{add, paths.size() + docs.size(), f.Get("checksum").value_or(""),
                                 f.BoolIfGiven("keep-git-dir"), unpack.value_or(false), label,
                                 common}));
    if (remote) {
      fb.Copy(remote->source, remote->path, dest, remote->copy);
      continue;
    }
    if (lint_node_ != nullptr && (add || !f.Get("from"))) {
      // filepath.Clean: relative stays relative, "" is ".".
      std::string clean = CleanPath("/" + w);
      if (w.empty() || w[0] != '/') clean = clean == "/" ? "." : clean.substr(1);
      lint::CheckCopySource(n, add, clean, IgnoreMatcher(), NodeLint());
    }
    pb::FileActionCopy c = common;
    c.set_followsymlink(true);
    c.set_dircopycontents(true);
    c.set_allowwildcard(true);
    c.set_allowemptywildcard(true);
    c.set_attemptunpackdockercompatibility(add && unpack.value_or(true));
    std::string from_path = w;
    if (parents) {
      // --parents: the source's path is kept below the destination. "a/./b/c" pivots at "a":
      // b/c lands at dest/b/c. Without wildcards the path must exist.
      size_t pivot = w.find("/./");
      std::string pattern = pivot == std::string::npos ? w : w.substr(pivot + 3);
      from_path = pivot == std::string::npos ? "/" : w.substr(0, pivot);
      pattern = CleanPath("/" + pattern).substr(1);
      c.add_include_patterns(pattern);
      if (!HasWildcards(from_path) && !HasWildcards(pattern)) {
        c.add_required_paths(CleanPath("/" + from_path + "/" + pattern));
      }
    }
    fb.Copy(src, CleanPath("/" + from_path), dest, c);
  }
  for (const Heredoc* hd : docs) {
    history += " <<" + hd->name;
    std::string content = hd->chomp ? ChompHeredoc(hd->content) : hd->content;
    if (hd->expand) {
      KILN_ASSIGN_OR_RETURN(content,
                            ShellLex(pr_.escape_token, ShellLexOptions{true, true, true, false})
                                .ProcessWord(content, env));
    }
    llb::FileOpBuilder hf(llb::State::Scratch());
    hf.Mkfile("/" + hd->name, 0644, content);
    fb.Copy(hf.Result("[internal] preparing inline document"), "/" + hd->name, dest, common);
  }
  history += " " + dest_word;
  llb::State copied = fb.Result(label);
  if (s.ignore_cache) copied = copied.IgnoreCache();
  if (link) copied = Located(copied);  // the merge below is located by Dispatch
  if (link) {
    // --link: the copy is made on an empty layer and merged onto the stage, so its cache does
    // not depend on what is below it (BuildKit's linked copy; the merge is named LINK ...).
    s.cmd_index--;  // the merge shows the copy's number
    copied = llb::State::Merge({s.state, copied}, StepName(s, "LINK " + text));
    if (s.ignore_cache) copied = copied.IgnoreCache();
  }
  s.state = copied;
  s.image.AddHistory(history + " # buildkit", false);
  return Status::Ok();
}

}  // namespace kiln::dockerfile::convert_internal
