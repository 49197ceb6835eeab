#include "frontend/dockerfile/dockerfile2llb/convert.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include "frontend/dockerfile/dockerfile2llb/config_values.h"
#include "frontend/dockerfile/dockerfile2llb/converter.h"
#include "registry/reference.h"
#include "util/go_duration.h"
#include "util/go_quote.h"

namespace kiln::dockerfile {
namespace convert_internal {

// History texts as BuildKit formats them with Go's fmt: %v of a []string is "[a b]", %q is
// "[\"a\" \"b\"]".
std::string GoList(const std::vector<std::string>& v) {
  return "[" + fmt::format("{}", fmt::join(v, " ")) + "]";
}
std::string GoQuotedList(const std::vector<std::string>& v) {
  std::vector<std::string> q;
  for (const auto& s : v) q.push_back(GoQuote(s));
  return GoList(q);
}
// %+v of the healthcheck config: "{Test:[CMD-SHELL true] Interval:5s Timeout:0s ...}".
std::string HealthcheckString(const nlohmann::json& hc) {
  std::vector<std::string> test;
  if (hc.contains("Test") && hc["Test"].is_array()) {
    for (const auto& t : hc["Test"]) test.push_back(t.is_string() ? t.get<std::string>() : "");
  }
  auto ns = [&](const char* k) -> int64_t {
    return hc.contains(k) && hc[k].is_number_integer() ? hc[k].get<int64_t>() : 0;
  };
  return fmt::format(
      "{{Test:{} Interval:{} Timeout:{} StartPeriod:{} StartInterval:{} Retries:{}}}", GoList(test),
      GoDurationString(ns("Interval")), GoDurationString(ns("Timeout")),
      GoDurationString(ns("StartPeriod")), GoDurationString(ns("StartInterval")), ns("Retries"));
}

// "user[:group]" (names or numeric ids) as a FileOp owner; names are looked up in the op's
// first input, as BuildKit's WithUser. The group defaults to the user.
pb::ChownOpt ChownFromSpec(const std::string& spec) {
  std::string user = spec.substr(0, spec.find(':'));
  std::string group = spec.find(':') == std::string::npos ? user : spec.substr(spec.find(':') + 1);
  auto set = [](pb::UserOpt* u, const std::string& v) {
    bool numeric = !v.empty() && v.size() <= 10 && std::all_of(v.begin(), v.end(), ::isdigit);
    if (numeric && std::strtoull(v.c_str(), nullptr, 10) > 0xFFFFFFFFull) numeric = false;
    if (numeric) {
      u->set_byid(static_cast<uint32_t>(std::strtoull(v.c_str(), nullptr, 10)));
    } else {
      u->mutable_byname()->set_name(v);
      u->mutable_byname()->set_input(0);
    }
  };
  pb::ChownOpt o;
  set(o.mutable_user(), user);
  set(o.mutable_group(), group);
  return o;
}

std::map<std::string, std::string> PlatformArgs(
    const registry::Platform& build, const registry::Platform& target,
    const std::map<std::string, std::string>& overrides) {
  std::map<std::string, std::string> args = {
      {"BUILDPLATFORM", build.String()},   {"BUILDOS", build.os},
      {"BUILDARCH", build.architecture},   {"BUILDVARIANT", build.variant},
      {"TARGETPLATFORM", target.String()}, {"TARGETOS", target.os},
      {"TARGETARCH", target.architecture}, {"TARGETVARIANT", target.variant}};
  for (auto& [k, v] : args) {
    if (auto it = overrides.find(k); it != overrides.end()) v = it->second;
  }
  return args;
}

std::string CrossPlatformSuffix(const registry::Platform& base,
                                const std::vector<std::string>& env) {
  // The TARGET* values the stage declared (BuildKit's platformFromEnv).
  std::optional<registry::Platform> target;
  registry::Platform parts;
  bool set = false;
  for (const auto& kv : env) {
    size_t eq = kv.find('=');
    std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (k == "TARGETPLATFORM") {
      if (auto p = registry::ParsePlatform(v); p.ok()) {
        target = *p;
        break;
      }
    } else if (k == "TARGETOS" || k == "TARGETARCH" || k == "TARGETVARIANT") {
      (k == "TARGETOS" ? parts.os : k == "TARGETARCH" ? parts.architecture : parts.variant) = v;
      set = true;
    }
  }
  if (!target && !set) return "";
  registry::Platform t = target ? *target : parts;
  if (t.os.empty()) t.os = base.os;
  if (t.architecture.empty()) t.architecture = base.architecture;
  t = registry::Normalize(t);
  if (t.os == base.os && t.architecture != base.architecture) {
    return "->" + t.architecture + (t.variant.empty() ? "" : "/" + t.variant);
  }
  if (t.os != base.os) return "->" + t.String();
  return "";
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// path.Join + Clean for absolute container paths; keeps a trailing slash when `keep_slash`.
std::string CleanPath(const std::string& p) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string part = p.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

std::string JoinWorkdir(const std::string& workdir, const std::string& p, bool keep_slash) {
  std::string joined = !p.empty() && p[0] == '/' ? p : (workdir.empty() ? "/" : workdir) + "/" + p;
  std::string c = CleanPath(joined);
  if (keep_slash && !p.empty() &&
      (p.back() == '/' || (p.size() >= 2 && p.substr(p.size() - 2) == "/.")) && c != "/") {
    c += "/";
  }
  return c;
}

Result<ConvertResult> Converter::Run(SourceRange* error_range) {
  error_range_ = error_range;
  target_platform_ = opts_.target_platform ? *opts_.target_platform : opts_.build_platform;
  platform_args_ = PlatformArgs(opts_.build_platform, target_platform_, opts_.build_args);
  KILN_RETURN_IF_ERROR(SetUpLint());
  KILN_RETURN_IF_ERROR(SplitStages());
  CheckFroms();
  KILN_RETURN_IF_ERROR(CheckStageCycles());
  // SOURCE_DATE_EPOCH: a build arg, else a global ARG's default.
  epoch_ = opts_.epoch;
  std::optional<std::string> sde;
  if (auto it = opts_.build_args.find("SOURCE_DATE_EPOCH"); it != opts_.build_args.end()) {
    sde = it->second;
  } else if (auto m = meta_args_.find("SOURCE_DATE_EPOCH"); m != meta_args_.end()) {
    sde = m->second;
  }
  if (!epoch_ && sde && !sde->empty()) {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(sde->c_str(), &end, 10);  // NOLINT(runtime/int)
    if (*end != '\0' || errno != 0) {
      return InvalidArgument("invalid SOURCE_DATE_EPOCH " + GoQuote(*sde) +
                             ": kiln takes a unix time in seconds");
    }
    epoch_ = v;
  }
  Stage* target = nullptr;
  if (opts_.target.empty()) {
    target = &stages_.back();
  } else {
    for (auto& s : stages_) {
      if (s.name == Lower(opts_.target)) target = &s;
    }
    if (target == nullptr)
      return InvalidArgument("target stage \"" + opts_.target + "\" could not be found");
  }
  target_name_ = target->name.empty() ? "default" : target->name;
  if (opts_.all_stages) {
    for (auto& s : stages_) KILN_RETURN_IF_ERROR(Build(s));
  }
  KILN_RETURN_IF_ERROR(Build(*target));
  // With `# check=error=true`, the warnings sent so far fail the build.
  KILN_RETURN_IF_ERROR(lint_.Error());
  for (const auto& [k, v] : opts_.labels) target->image.SetLabel(k, v);
  // An explicit target platform is the image's (BuildKit keeps the base image's variant when
  // os and architecture agree and the target names none).
  if (opts_.target_platform) target->image.SetPlatform(*opts_.target_platform);
  ConvertResult res;
  // The source map: each op's instruction lines, so an op's error shows them.
  llb::State::SourceFile source{opts_.dockerfile_name, std::string(dockerfile_), "Dockerfile"};
  KILN_ASSIGN_OR_RETURN(res.definition, target->state.Marshal(&source));
  res.image_config = target->image.Dump();
  return res;
}

Status Converter::At(const Node& n, const Status& st) {
  if (st.ok()) return st;
  if (error_range_ != nullptr) *error_range_ = n.range();
  return Status(st.code(),
                fmt::format("{}:{}: {}", opts_.dockerfile_name, n.start_line, st.message()));
}

// Global ARGs before the first FROM, then stages.
Status Converter::SplitStages() {
  Stage* cur = nullptr;
  for (const auto& n : pr_.children) {
    KILN_RETURN_IF_ERROR(At(n, CheckInstruction(n)));
    for (const auto& child : n.children) KILN_RETURN_IF_ERROR(At(n, CheckInstruction(child)));
    if (n.value == "from") {
      Stage s;
      s.index = static_cast<int>(stages_.size());
      s.from = &n;
      if (n.next.size() == 3 && Lower(n.next[1]) == "as") {
        s.name = Lower(n.next[2]);
        bool valid = !s.name.empty() && s.name[0] >= 'a' && s.name[0] <= 'z' &&
                     s.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.") ==
                         std::string::npos;
        if (!valid) {
          return At(n, InvalidArgument("invalid name for build stage: " + GoQuote(n.next[2]) +
                                       ", name can't start with a number or contain symbols"));
        }
      } else if (n.next.size() != 1) {
        return At(n, InvalidArgument("FROM requires either one or three arguments"));
      }
      s.display = s.name.empty() ? "stage-" + std::to_string(s.index) : s.name;
      for (const auto& other : stages_) {
        if (!s.name.empty() && other.name == s.name) {
          return At(n, InvalidArgument("duplicate stage name \"" + s.name + "\""));
        }
      }
      stages_.push_back(std::move(s));
      cur = &stages_.back();
    } else if (cur == nullptr) {
      if (n.value != "arg") return At(n, InvalidArgument("no build stage in current context"));
      meta_arg_nodes_.push_back(&n);
      KILN_RETURN_IF_ERROR(MetaArg(n));
    } else {
      cur->commands.push_back(&n);
    }
  }
  if (stages_.empty()) return InvalidArgument("the Dockerfile has no build stage (no FROM)");
  return Status::Ok();
}

Status Converter::MetaArg(const Node& n) {
  for (const auto& w : n.next) {
    KILN_ASSIGN_AT(n, std::string word, Expand(w, MetaEnv()));
    size_t eq = word.find('=');
    std::string key = word.substr(0, eq);
    auto ba = opts_.build_args.find(key);
    if (ba != opts_.build_args.end()) {
      meta_args_[key] = ba->second;
    } else if (eq != std::string::npos) {
      meta_args_[key] = word.substr(eq + 1);
    } else {
      meta_args_.erase(key);
      meta_declared_.insert(key);
    }
    meta_declared_.insert(key);
  }
  return Status::Ok();
}

std::vector<std::string> Converter::MetaEnv() const {
  std::vector<std::string> env;
  for (const auto& [k, v] : platform_args_) env.push_back(k + "=" + v);
  for (const auto& [k, v] : meta_args_) env.push_back(k + "=" + v);
  return env;
}

// ARG values first, ENV over them (an ENV wins over an ARG of the same name).
std::vector<std::string> Converter::StageEnv(const Stage& s) const {
  std::vector<std::string> env;
  for (const auto& [k, v] : s.args) {
    if (!s.image.GetEnv(k)) env.push_back(k + "=" + v);
  }
  for (auto& kv : s.image.Env()) env.push_back(kv);
  return env;
}

Stage* Converter::FindStage(const std::string& ref, int before) {
  std::string l = Lower(ref);
  for (auto& s : stages_) {
    if (s.index >= before) break;
    if (!s.name.empty() && s.name == l) return &s;
  }
  bool numeric = !ref.empty() && std::all_of(ref.begin(), ref.end(), ::isdigit);
  if (numeric) {
    int i = ref.size() > 6 ? 999999 : static_cast<int>(std::strtol(ref.c_str(), nullptr, 10));
    if (i < before) return &stages_[static_cast<size_t>(i)];
  }
  return nullptr;
}

std::string Converter::StepName(Stage& s, const std::string& text) {
  if (s.cmd_total == 0) return text;
  std::string prefix = stages_.size() > 1 ? s.display + " " : "";
  if (opts_.multi_platform) {
    prefix = s.platform.String() + CrossPlatformSuffix(s.platform, StageEnv(s)) + " " + prefix;
  }
  s.cmd_index++;
  // The number is padded to the width of the total, as Go's %*d.
  int width = static_cast<int>(std::to_string(s.cmd_total).size());
  return fmt::format("[{}{:>{}}/{}] {}{}", prefix, s.cmd_index, width, s.cmd_total,
                     s.in_onbuild ? "ONBUILD " : "", text);
}

std::string Converter::CommandText(const Stage& s, const std::string& original, bool raw) const {
  ShellLexOptions o;
  o.raw_quotes = raw;
  o.skip_unset_env = raw;
  auto expanded = ShellLex(pr_.escape_token, o).ProcessWord(original, StageEnv(s));
  std::string t = expanded.ok() ? *expanded : original;
  size_t sp = t.find(' ');
  return Upper(t.substr(0, sp)) + (sp == std::string::npos ? "" : t.substr(sp));
}

Result<Converter::PinnedImage> Converter::ResolveImage(const std::string& name,
                                                       const registry::Platform& platform) const {
  auto parsed = registry::ParseReference(name);
  if (!parsed.ok()) {
    return InvalidArgument("failed to parse stage name \"" + name +
                           "\": " + parsed.status().message());
  }
  if (!opts_.resolve_image) return Unimplemented("images cannot be resolved here");
  auto resolved = opts_.resolve_image(parsed->String(), platform);
  if (!resolved.ok()) return resolved.status().Annotate(name);
  PinnedImage img{parsed->String(), std::move(resolved->config)};
  if (!resolved->digest.empty() && parsed->digest.empty()) img.ref += "@" + resolved->digest;
  return img;
}

Result<std::optional<NamedContext>> Converter::NamedContextFor(
    const std::string& name, const registry::Platform& platform) const {
  if (!opts_.named_context) return std::optional<NamedContext>();
  return opts_.named_context(name, platform);
}

Result<std::optional<registry::Platform>> Converter::FromPlatform(const Node& from) {
  KILN_ASSIGN_AT(from, Flags f, ParseFlags(from));
  auto p = f.Get("platform");
  if (!p) return std::optional<registry::Platform>();
  KILN_ASSIGN_AT(from, std::string plat, Expand(*p, MetaEnv()));
  if (plat.empty()) {
    return At(from, InvalidArgument("empty platform value from expression " + *p));
  }
  auto parsed = registry::ParsePlatform(plat);
  if (!parsed.ok()) {
    return At(from,
              InvalidArgument("failed to parse platform " + *p + ": " + parsed.status().message()));
  }
  return std::optional<registry::Platform>(*parsed);
}

Status Converter::Build(Stage& s) {
  if (s.built) return Status::Ok();
  if (s.building)
    return At(*s.from, InvalidArgument("circular dependency detected on stage: " + s.display));
  s.building = true;
  const Node& from = *s.from;
  KILN_ASSIGN_OR_RETURN(std::optional<registry::Platform> from_platform, FromPlatform(from));
  s.platform = from_platform ? *from_platform : target_platform_;
  if (!s.name.empty()) {
    // A named context of the stage's name replaces the whole stage.
    KILN_ASSIGN_AT(from, std::optional<NamedContext> nc, NamedContextFor(s.name, s.platform));
    if (nc) {
      s.state = nc->state;
      if (nc->config) {
        KILN_ASSIGN_AT(from, s.image, ImageConfig::FromJSON(*nc->config));
        // As BuildKit: the stage is for the platform its image says (stages FROM it too).
        if (auto p = s.image.Platform()) s.platform = *p;
      }
      s.building = false;
      s.built = true;
      return Status::Ok();
    }
  }
  KILN_ASSIGN_AT(from, std::string base, Expand(from.next[0], MetaEnv()));
  if (base.empty())
    return At(from, InvalidArgument("base name (" + from.next[0] + ") should not be blank"));
  // Numbered steps: FROM an image, then every RUN, COPY, ADD and WORKDIR.
  for (const Node* n : s.commands) {
    if (n->value == "run" || n->value == "copy" || n->value == "add" || n->value == "workdir") {
      s.cmd_total++;
    }
  }
  if (opts_.no_cache) {
    s.ignore_cache = opts_.no_cache->empty();
    for (const auto& name : *opts_.no_cache) s.ignore_cache |= Lower(name) == s.name;
  }
  Stage* base_stage = FindStage(base, s.index);
  if (base_stage != nullptr && Lower(base) != base_stage->name) base_stage = nullptr;
  std::optional<NamedContext> base_context;
  if (base_stage == nullptr && Lower(base) != "scratch") {
    KILN_ASSIGN_AT(from, base_context, NamedContextFor(base, s.platform));
  }
  if (Stage* dep = base_stage) {
    KILN_RETURN_IF_ERROR(Build(*dep));
    s.state = dep->state;
    s.image = dep->image;
    s.platform = dep->platform;  // as BuildKit, a stage FROM a stage builds for its platform
    // The base stage's ARG values are in its state's environment, as in BuildKit.
    s.args = dep->args;
    s.declared = dep->declared;
    s.build_args = dep->build_args;
    s.workdir_set = dep->workdir_set;
  } else if (Lower(base) == "scratch") {
    // BuildKit's emptyImage: the target platform, whatever FROM --platform says.
    s.state = llb::State::Scratch();
    s.image = ImageConfig(target_platform_);
    s.platform = target_platform_;
  } else if (base_context) {
    s.cmd_total++;  // counted as BuildKit does, though the context's op is not numbered
    s.state = base_context->state;
    if (base_context->config) {
      KILN_ASSIGN_AT(from, s.image, ImageConfig::FromJSON(*base_context->config));
    }
  } else {
    KILN_ASSIGN_AT(from, PinnedImage img, ResolveImage(base, s.platform));
    KILN_ASSIGN_AT(from, s.image, ImageConfig::FromJSON(img.config));
    CheckBaseImagePlatform(s, base);
    s.cmd_total++;
    // An image without layers is scratch (BuildKit's isScratch).
    if (!s.image.HasLayers()) {
      s.state = llb::State::Scratch();
    } else {
      s.state = llb::State::Image(img.ref, s.platform.String())
                    .WithCustomName(StepName(s, "FROM " + img.ref))
                    .WithLocation({{from.start_line, from.end_line}});
    }
  }
  s.image.SetHistoryTime(epoch_);
  // Triggers a base image left for images built FROM it.
  std::vector<std::string> triggers = s.image.OnBuild();
  s.image.ClearOnBuild();
  for (const auto& t : triggers) {
    SourceRange r;
    auto parsed = Parse(t, &r);
    if (!parsed.ok()) return At(from, parsed.status().Annotate("ONBUILD trigger"));
    onbuild_nodes_.push_back(std::make_unique<ParseResult>(std::move(*parsed)));
    for (const auto& n : onbuild_nodes_.back()->children) {
      if (n.value == "onbuild" || n.value == "from" || n.value == "maintainer") {
        return At(from, InvalidArgument(n.value + " isn't allowed as an ONBUILD trigger"));
      }
      s.in_onbuild = true;
      Status st = Dispatch(s, n, from);
      s.in_onbuild = false;
      KILN_RETURN_IF_ERROR(st);
    }
  }
  for (const Node* n : s.commands) {
    KILN_RETURN_IF_ERROR(Dispatch(s, *n, *n));
  }
  s.building = false;
  s.built = true;
  return Status::Ok();
}

llb::State Converter::Located(const llb::State& state) const {
  if (where_ == nullptr) return state;
  return state.WithLocation({{where_->start_line, where_->end_line}});
}

Status Converter::Dispatch(Stage& s, const Node& n, const Node& where) {
  const llb::State before = s.state;
  const Node* outer = where_;
  where_ = &where;
  // A base image's ONBUILD triggers are not checked.
  LintScope scope(*this, s.in_onbuild ? nullptr : &s, &n);
  Status st = DispatchOne(s, n);
  // The op the instruction made runs on the stage's platform (BuildKit's llb.Platform).
  if (st.ok() && !s.state.SameAs(before))
    s.state = Located(s.state).WithPlatform(s.platform.String());
  where_ = outer;
  if (!st.ok() && st.message().rfind(opts_.dockerfile_name + ":", 0) == 0) return st;
  return At(where, st);
}

Status Converter::DispatchOne(Stage& s, const Node& n) {
  const std::string& v = n.value;
  std::vector<std::string> env = StageEnv(s);
  if (v == "run") return Run(s, n);
  if (v == "copy" || v == "add") return Copy(s, n, v == "add");
  if (v == "workdir") return Workdir(s, n);
  if (v == "env") {
    std::string hist = "ENV";
    std::vector<std::string> keys;
    for (size_t i = 0; i + 1 < n.next.size(); i += 3) {
      KILN_ASSIGN_OR_RETURN(std::string key, Expand(n.next[i], env));
      keys.push_back(key);
      KILN_ASSIGN_OR_RETURN(std::string val, Expand(n.next[i + 1], env));
      // Every pair is expanded with the environment from before the instruction.
      s.image.SetEnv(key, val);
      hist += " " + key + "=" + val;
    }
    if (lint_node_ != nullptr) lint::CheckKeyValues(n, keys, NodeLint());
    s.image.AddHistory(hist, true);
    return Status::Ok();
  }
  if (v == "arg") {
    std::string hist = "ARG";
    for (const auto& w : n.next) {
      std::string written_key = w.substr(0, w.find('='));
      if (lint_node_ != nullptr) lint::CheckArgKey(n, written_key, NodeLint());
      // A default that a build arg replaces is not checked for undefined variables.
      LintScope unchecked(*this, opts_.build_args.contains(written_key) ? nullptr : lint_stage_,
                          lint_node_);
      KILN_ASSIGN_OR_RETURN(std::string word, Expand(w, env));
      size_t eq = word.find('=');
      std::string key = word.substr(0, eq);
      std::optional<std::string> val;
      if (eq != std::string::npos) val = word.substr(eq + 1);
      auto ba = opts_.build_args.find(key);
      if (ba != opts_.build_args.end()) {
        val = ba->second;
      } else if (!val) {
        if (auto m = meta_args_.find(key); m != meta_args_.end()) val = m->second;
        if (auto p = platform_args_.find(key); p != platform_args_.end()) val = p->second;
        if (key == "TARGETSTAGE") val = target_name_;
      }
      s.declared.insert(key);
      if (val) s.args[key] = *val;
      s.build_args.emplace_back(key, val);
      hist += " " + key + (val ? "=" + *val : "");
    }
    s.image.AddHistory(hist, true);
    return Status::Ok();
  }
  if (v == "label") {
    std::string hist = "LABEL";
    for (size_t i = 0; i + 1 < n.next.size(); i += 3) {
      KILN_ASSIGN_OR_RETURN(std::string key, Expand(n.next[i], env));
      KILN_ASSIGN_OR_RETURN(std::string val, Expand(n.next[i + 1], env));
      s.image.SetLabel(key, val);
      hist += " " + key + "=" + val;
    }
    if (lint_node_ != nullptr) lint::CheckKeyValues(n, {}, NodeLint());
    s.image.AddHistory(hist, true);
    return Status::Ok();
  }
  if (v == "cmd" || v == "entrypoint") {
    if (lint_node_ != nullptr) {
      s.used_once.Mark(n, NodeLint());
      lint::CheckShellForm(n, !s.image.Shell().empty(), NodeLint());
    }
    std::vector<std::string> args = n.next;
    if (!n.json) {
      std::vector<std::string> sh = s.image.Shell();
      if (sh.empty()) sh = {"/bin/sh", "-c"};
      std::string cmd = n.next.empty() ? "" : n.next[0];
      args = sh;
      args.push_back(cmd);
    }
    if (v == "cmd") {
      s.image.SetCmd(args);
      s.cmd_set = true;
    } else {
      s.image.SetEntrypoint(args, s.cmd_set);
    }
    s.image.AddHistory(Upper(v) + " " + GoQuotedList(args), true);
    return Status::Ok();
  }
  if (v == "user") {
    if (n.next.size() != 1) return InvalidArgument("USER requires exactly one argument");
    KILN_ASSIGN_OR_RETURN(std::string u, Expand(n.next[0], env));
    s.image.SetUser(u);
    s.image.AddHistory("USER " + u, true);
    return Status::Ok();
  }
  if (v == "expose") {
    // The words are sorted as written, then expanded (several fields each) and parsed.
    std::vector<std::string> words = n.next, specs;
    std::sort(words.begin(), words.end());
    for (const auto& w : words) {
      KILN_ASSIGN_OR_RETURN(std::vector<std::string> fields, lex_.ProcessWords(w, env));
      specs.insert(specs.end(), fields.begin(), fields.end());
    }
    if (lint_node_ != nullptr) {
      for (const auto& spec : specs) lint::CheckExposePort(n, spec, NodeLint());
    }
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> ports, ParsePorts(specs));
    for (const auto& p : ports) s.image.AddExposedPort(p);
    s.image.AddHistory("EXPOSE " + GoList(ports), true);
    return Status::Ok();
  }
  if (v == "volume") {
    std::vector<std::string> volumes;
    for (const auto& w : n.next) {
      KILN_ASSIGN_OR_RETURN(std::string p, Expand(w, env));
      if (p.empty()) return InvalidArgument("VOLUME specified can not be an empty string");
      s.image.AddVolume(p);
      volumes.push_back(p);
    }
    s.image.AddHistory("VOLUME " + GoList(volumes), true);
    return Status::Ok();
  }
  if (v == "stopsignal") {
    if (n.next.size() != 1) return InvalidArgument("STOPSIGNAL requires exactly one argument");
    KILN_ASSIGN_OR_RETURN(std::string sig, Expand(n.next[0], env));
    KILN_RETURN_IF_ERROR(CheckSignal(sig));
    s.image.SetStopSignal(sig);
    s.image.AddHistory("STOPSIGNAL " + sig, true);
    return Status::Ok();
  }
  if (v == "shell") {
    if (!n.json) return InvalidArgument("SHELL requires the arguments to be in JSON form");
    s.image.SetShell(n.next);
    s.image.AddHistory("SHELL " + GoList(n.next), true);
    return Status::Ok();
  }
  if (v == "maintainer") {
    s.image.SetMaintainer(n.next.empty() ? "" : n.next[0]);
    s.image.AddHistory("MAINTAINER " + (n.next.empty() ? "" : n.next[0]), true);
    return Status::Ok();
  }
  if (v == "onbuild") {
    std::string trigger = n.original;
    size_t sp = trigger.find_first_of(" \t");
    trigger = sp == std::string::npos ? "" : trigger.substr(trigger.find_first_not_of(" \t", sp));
    s.image.AddOnBuild(trigger);  // no history entry, as BuildKit
    return Status::Ok();
  }
  if (v == "healthcheck") return Healthcheck(s, n);
  return Unimplemented("instruction " + Upper(v) + " is not supported by kiln yet");
}

Status Converter::Healthcheck(Stage& s, const Node& n) {
  KILN_ASSIGN_OR_RETURN(Flags f, ParseFlags(n));
  if (lint_node_ != nullptr) s.used_once.Mark(n, NodeLint());
  if (n.next.empty()) return InvalidArgument("HEALTHCHECK requires an argument");
  std::string type = Upper(n.next[0]);
  nlohmann::json hc;
  if (type == "NONE") {
    if (n.next.size() > 1) return InvalidArgument("HEALTHCHECK NONE takes no arguments");
    hc["Test"] = {"NONE"};
  } else if (type == "CMD") {
    std::vector<std::string> rest(n.next.begin() + 1, n.next.end());
    if (rest.empty()) return InvalidArgument("Missing command after HEALTHCHECK CMD");
    nlohmann::json test = nlohmann::json::array();
    if (n.json) {
      test.push_back("CMD");
      for (const auto& a : rest) test.push_back(a);
    } else {
      test = {"CMD-SHELL", rest[0]};
    }
    hc["Test"] = test;
    for (const char* d : {"interval", "timeout", "start-period", "start-interval"}) {
      if (auto v = f.Get(d)) {
        KILN_ASSIGN_OR_RETURN(int64_t ns, ParseGoDuration(*v));
        if (ns != 0 && ns < 1000000) {
          return InvalidArgument(fmt::format("Interval \"{}\" cannot be less than 1ms", d));
        }
        static const std::map<std::string, std::string> keys = {
            {"interval", "Interval"},
            {"timeout", "Timeout"},
            {"start-period", "StartPeriod"},
            {"start-interval", "StartInterval"}};
        hc[keys.at(d)] = ns;
      }
    }
    if (auto r = f.Get("retries")) {
      char* end = nullptr;
      long retries = std::strtol(r->c_str(), &end, 10);  // NOLINT(runtime/int)
      if (end == r->c_str() || *end != '\0' || retries < 0) {
        return InvalidArgument("--retries cannot be negative or not a number: " + *r);
      }
      hc["Retries"] = retries;
    }
  } else {
    return InvalidArgument("Unknown type \"" + type + "\" in HEALTHCHECK (try CMD)");
  }
  s.image.SetHealthcheck(hc);
  s.image.AddHistory("HEALTHCHECK " + HealthcheckString(hc), true);
  return Status::Ok();
}

Status Converter::Workdir(Stage& s, const Node& n) {
  if (n.next.size() != 1) return InvalidArgument("WORKDIR requires exactly one argument");
  KILN_ASSIGN_OR_RETURN(std::string dir, Expand(n.next[0], StageEnv(s)));
  if (lint_node_ != nullptr && !s.workdir_set) lint::CheckWorkdir(n, dir, NodeLint());
  s.workdir_set = true;
  std::string wd = JoinWorkdir(s.image.WorkingDir(), dir, false);
  s.image.SetWorkingDir(wd);
  // The mkdir below is a layer of its own (BuildKit's withLayer).
  s.image.AddHistory("WORKDIR " + wd, wd == "/");
  if (wd != "/") {
    llb::FileOpBuilder fb(s.state);
    // Created as the stage's USER (BuildKit's WithUser), root when none is set.
    std::optional<pb::ChownOpt> owner;
    if (!s.image.User().empty()) owner = ChownFromSpec(s.image.User());
    int64_t ts = epoch_ ? *epoch_ * 1000000000 : -1;  // SOURCE_DATE_EPOCH
    fb.Mkdir(wd, 0755, true, owner ? &*owner : nullptr, ts);
    s.state = fb.Result(StepName(s, CommandText(s, n.original, false)));
  }
  return Status::Ok();
}

}  // namespace convert_internal

Result<ConvertResult> Dockerfile2LLB(std::string_view dockerfile, const ConvertOptions& opts,
                                     SourceRange* error_range) {
  SourceRange r;
  auto parsed = Parse(dockerfile, &r);
  if (!parsed.ok()) {
    if (error_range != nullptr) *error_range = r;
    return parsed.status();
  }
  convert_internal::Converter c(opts, *parsed, dockerfile);
  return c.Run(error_range);
}

}  // namespace kiln::dockerfile
