#include <fmt/format.h>

#include "frontend/dockerfile/dockerfile2llb/converter.h"

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
  if (Stage* dep = FindStage(ref, s.index)) {
    KILN_RETURN_IF_ERROR(Build(*dep));
    return dep->state;
  }
  for (const auto& other : stages_) {
    if (!other.name.empty() && other.name == Lower(ref)) {
      return InvalidArgument("stage \"" + ref + "\" is defined after it is used");
    }
  }
  if (!opts_.resolve_image) return Unimplemented("images cannot be resolved here");
  KILN_ASSIGN_OR_RETURN(ResolvedImage img, opts_.resolve_image(ref));
  std::string pinned = ref;
  if (!img.digest.empty() && ref.find('@') == std::string::npos) pinned += "@" + img.digest;
  return llb::State::Image(pinned, "linux/amd64");
}

Status Converter::Copy(Stage& s, const Node& n, int step, bool add) {
  std::set<std::string> strings = {"from", "chown", "chmod", "exclude"};
  if (add) strings = {"chown", "chmod", "exclude", "checksum"};
  KILN_ASSIGN_OR_RETURN(Flags f,
                        Flags::Parse(n.flags, strings, {"link", "parents", "keep-git-dir"}));
  if (f.Bool("parents")) {
    // Keeping the sources' parent directories changes where files land: not a silent no-op.
    return Unimplemented((add ? std::string("ADD") : std::string("COPY")) +
                         " --parents is not supported by kiln yet");
  }
  std::vector<std::string> env = StageEnv(s);
  std::vector<std::string> words;
  for (const auto& w : n.next) {
    if (n.json) {
      words.push_back(w);
    } else {
      KILN_ASSIGN_OR_RETURN(std::string x, Expand(w, env));
      words.push_back(x);
    }
  }
  std::string name = add ? "ADD" : "COPY";
  if (words.size() < 2) return InvalidArgument(name + " requires at least two arguments");
  std::string dest_word = words.back();
  words.pop_back();
  std::string wd = s.image.WorkingDir().empty() ? "/" : s.image.WorkingDir();
  std::string dest = JoinWorkdir(wd, dest_word, true);
  if (words.size() > 1 && dest.back() != '/') {
    return InvalidArgument(
        "When using " + name +
        " with more than one source file, the destination must be a directory and end with a /");
  }
  pb::FileActionCopy base = llb::FileOpBuilder::DefaultCopy();
  if (add) base.set_attemptunpackdockercompatibility(true);
  if (auto m = f.Get("chmod")) {
    char* end = nullptr;
    long mode = std::strtol(m->c_str(), &end, 8);  // NOLINT(runtime/int)
    if (m->empty() || *end != '\0' || mode < 0 || mode > 07777) {
      return InvalidArgument("invalid chmod parameter " + *m +
                             ": only octal modes are supported by kiln yet");
    }
    base.set_mode(static_cast<int32_t>(mode));
  }
  if (auto c = f.Get("chown")) {
    KILN_ASSIGN_OR_RETURN(std::string chown, Expand(*c, env));
    *base.mutable_owner() = ChownFromSpec(chown);
  }
  for (const auto& ex : f.All("exclude")) base.add_exclude_patterns(ex);
  llb::State src = ContextState();
  if (auto from = f.Get("from")) {
    KILN_ASSIGN_OR_RETURN(std::string fr, Expand(*from, env));
    KILN_ASSIGN_OR_RETURN(src, FromState(s, fr));
  }
  llb::FileOpBuilder fb(s.state);
  for (const auto& w : words) {
    const Heredoc* hd = nullptr;
    for (const auto& h : n.heredocs) {
      if (w == "<<" + h.name || w == "<<-" + h.name) hd = &h;
    }
    if (hd != nullptr) {
      std::string content = hd->chomp ? ChompHeredoc(hd->content) : hd->content;
      if (hd->expand) {
        KILN_ASSIGN_OR_RETURN(content,
                              ShellLex(pr_.escape_token, ShellLexOptions{true, true, true, false})
                                  .ProcessWord(content, env));
      }
      llb::FileOpBuilder hf(llb::State::Scratch());
      hf.Mkfile("/" + hd->name, base.mode() >= 0 ? base.mode() : 0644, content);
      fb.Copy(hf.Result(), "/" + hd->name, dest, base);
      continue;
    }
    if (add &&
        (w.rfind("http://", 0) == 0 || w.rfind("https://", 0) == 0 || w.rfind("git@", 0) == 0)) {
      return Unimplemented("ADD from a URL (" + w + ") is not supported by kiln yet");
    }
    fb.Copy(src, CleanPath("/" + w), dest, base);
  }
  s.state = fb.Result(StepName(s, step, Text(n)));
  s.image.AddHistory(
      name + " " + fmt::format("{}", fmt::join(words, " ")) + " " + dest_word + " # buildkit",
      false);
  return Status::Ok();
}

}  // namespace kiln::dockerfile::convert_internal
