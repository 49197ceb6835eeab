#include "frontend/dockerfile/dockerfile2llb/convert.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "frontend/dockerfile/dockerfile2llb/flags.h"
#include "frontend/dockerfile/dockerfile2llb/image_config.h"
#include "frontend/dockerfile/dockerfile2llb/remote_source.h"
#include "frontend/dockerfile/shell/lex.h"
#include "llb/builder.h"
#include "llb/exec_builder.h"
#include "util/go_duration.h"
#include "util/go_quote.h"

namespace kiln::dockerfile {
namespace {

// KILN_ASSIGN_OR_RETURN whose error is placed at a Dockerfile node.
#define KILN_ASSIGN_AT(node, lhs, expr) \
  KILN_ASSIGN_AT_IMPL(KILN_CONCAT(kiln_at_, __LINE__), node, lhs, expr)
#define KILN_ASSIGN_AT_IMPL(tmp, node, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return At(node, tmp.status());   \
  lhs = std::move(tmp).value()

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

// The only platform kiln builds for so far.
const std::map<std::string, std::string>& PlatformArgs() {
  static const std::map<std::string, std::string> args = {{"TARGETPLATFORM", "linux/amd64"},
                                                          {"TARGETOS", "linux"},
                                                          {"TARGETARCH", "amd64"},
                                                          {"TARGETVARIANT", ""},
                                                          {"BUILDPLATFORM", "linux/amd64"},
                                                          {"BUILDOS", "linux"},
                                                          {"BUILDARCH", "amd64"},
                                                          {"BUILDVARIANT", ""}};
  return args;
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

struct Stage {
  std::string name;  // lower-cased AS name, or ""
  std::string display;
  int index = 0;
  const Node* from = nullptr;
  std::vector<const Node*> commands;
  // Filled by Build.
  bool built = false;
  bool building = false;
  llb::State state;
  ImageConfig image;
  std::map<std::string, std::string> args;  // declared ARGs with a value, for RUN and expansion
  std::set<std::string> declared;
  // Declared ARGs in order, with their values (BuildKit's buildArgs: RUN history lists them).
  std::vector<std::pair<std::string, std::optional<std::string>>> build_args;
};

class Converter {
 public:
  Converter(const ConvertOptions& opts, const ParseResult& pr)
      : opts_(opts), pr_(pr), lex_(pr.escape_token) {}

  Result<ConvertResult> Run(SourceRange* error_range) {
    error_range_ = error_range;
    KILN_RETURN_IF_ERROR(SplitStages());
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
    KILN_RETURN_IF_ERROR(Build(*target));
    for (const auto& [k, v] : opts_.labels) target->image.SetLabel(k, v);
    ConvertResult res;
    KILN_ASSIGN_OR_RETURN(res.definition, target->state.Marshal());
    res.image_config = target->image.Dump();
    return res;
  }

 private:
  Status At(const Node& n, const Status& st) {
    if (st.ok()) return st;
    if (error_range_ != nullptr) *error_range_ = n.range();
    return Status(st.code(),
                  fmt::format("{}:{}: {}", opts_.dockerfile_name, n.start_line, st.message()));
  }

  // Global ARGs before the first FROM, then stages.
  Status SplitStages() {
    Stage* cur = nullptr;
    for (const auto& n : pr_.children) {
      if (n.value == "from") {
        Stage s;
        s.index = static_cast<int>(stages_.size());
        s.from = &n;
        if (n.next.size() == 3 && Lower(n.next[1]) == "as") {
          s.name = Lower(n.next[2]);
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
        KILN_RETURN_IF_ERROR(MetaArg(n));
      } else {
        cur->commands.push_back(&n);
      }
    }
    if (stages_.empty()) return InvalidArgument("the Dockerfile has no build stage (no FROM)");
    return Status::Ok();
  }

  Status MetaArg(const Node& n) {
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

  std::vector<std::string> MetaEnv() const {
    std::vector<std::string> env;
    for (const auto& [k, v] : PlatformArgs()) env.push_back(k + "=" + v);
    for (const auto& [k, v] : meta_args_) env.push_back(k + "=" + v);
    return env;
  }

  // ARG values first, ENV over them (an ENV wins over an ARG of the same name).
  std::vector<std::string> StageEnv(const Stage& s) const {
    std::vector<std::string> env;
    for (const auto& [k, v] : s.args) {
      if (!s.image.GetEnv(k)) env.push_back(k + "=" + v);
    }
    for (auto& kv : s.image.Env()) env.push_back(kv);
    return env;
  }

  Result<std::string> Expand(const std::string& w, const std::vector<std::string>& env) const {
    return lex_.ProcessWord(w, env);
  }

  Stage* FindStage(const std::string& ref, int before) {
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

  std::string StepName(const Stage& s, int step, const std::string& text) const {
    int total = static_cast<int>(s.commands.size()) + 1;
    std::string prefix = stages_.size() > 1 ? s.display + " " : "";
    return fmt::format("[{}{}/{}] {}", prefix, step, total, text);
  }

  static std::string Text(const Node& n) {
    std::string t = n.original;
    size_t sp = t.find_first_of(" \t");
    std::string word = sp == std::string::npos ? t : t.substr(0, sp);
    return Upper(word) + (sp == std::string::npos ? "" : t.substr(sp));
  }

  Status Build(Stage& s) {
    if (s.built) return Status::Ok();
    if (s.building)
      return At(*s.from, InvalidArgument("circular dependency detected on stage: " + s.display));
    s.building = true;
    const Node& from = *s.from;
    KILN_ASSIGN_AT(from, Flags f, Flags::Parse(from.flags, {"platform"}));
    if (auto p = f.Get("platform")) {
      KILN_ASSIGN_AT(from, std::string plat, Expand(*p, MetaEnv()));
      if (plat != "linux/amd64" && plat != "linux/x86_64") {
        return At(from, Unimplemented("FROM --platform=" + plat +
                                      ": kiln builds for linux/amd64 only so far"));
      }
    }
    KILN_ASSIGN_AT(from, std::string base, Expand(from.next[0], MetaEnv()));
    if (base.empty())
      return At(from, InvalidArgument("base name (" + from.next[0] + ") should not be blank"));
    std::string from_text = "FROM " + base;
    if (Stage* dep = FindStage(base, s.index); dep != nullptr && Lower(base) == dep->name) {
      KILN_RETURN_IF_ERROR(Build(*dep));
      s.state = dep->state;
      s.image = dep->image;
      // The base stage's ARG values are in its state's environment, as in BuildKit.
      s.args = dep->args;
      s.declared = dep->declared;
      s.build_args = dep->build_args;
    } else if (Lower(base) == "scratch") {
      s.state = llb::State::Scratch();
    } else {
      if (!opts_.resolve_image) return At(from, Unimplemented("images cannot be resolved here"));
      auto resolved = opts_.resolve_image(base);
      if (!resolved.ok()) return At(from, resolved.status().Annotate(base));
      KILN_ASSIGN_AT(from, s.image, ImageConfig::FromJSON(resolved->config));
      std::string ref = base;
      if (!resolved->digest.empty() && base.find('@') == std::string::npos)
        ref += "@" + resolved->digest;
      s.state = llb::State::Image(ref, "linux/amd64").WithCustomName(StepName(s, 1, from_text));
    }
    // Triggers a base image left for images built FROM it.
    std::vector<std::string> triggers = s.image.OnBuild();
    s.image.ClearOnBuild();
    for (const auto& [k, v] : PlatformArgs()) (void)k, (void)v;
    int step = 2;
    for (const auto& t : triggers) {
      SourceRange r;
      auto parsed = Parse(t, &r);
      if (!parsed.ok()) return At(from, parsed.status().Annotate("ONBUILD trigger"));
      onbuild_nodes_.push_back(std::make_unique<ParseResult>(std::move(*parsed)));
      for (const auto& n : onbuild_nodes_.back()->children) {
        if (n.value == "onbuild" || n.value == "from" || n.value == "maintainer") {
          return At(from, InvalidArgument(n.value + " isn't allowed as an ONBUILD trigger"));
        }
        KILN_RETURN_IF_ERROR(Dispatch(s, n, 0, from));
      }
    }
    for (const Node* n : s.commands) {
      KILN_RETURN_IF_ERROR(Dispatch(s, *n, step++, *n));
    }
    s.building = false;
    s.built = true;
    return Status::Ok();
  }

  Status Dispatch(Stage& s, const Node& n, int step, const Node& where) {
    Status st = DispatchOne(s, n, step);
    if (!st.ok() && st.message().rfind(opts_.dockerfile_name + ":", 0) == 0) return st;
    return At(where, st);
  }

  Status DispatchOne(Stage& s, const Node& n, int step) {
    const std::string& v = n.value;
    std::vector<std::string> env = StageEnv(s);
    if (v == "run") return Run(s, n, step);
    if (v == "copy" || v == "add") return Copy(s, n, step, v == "add");
    if (v == "workdir") return Workdir(s, n, step);
    if (v == "env") {
      KILN_RETURN_IF_ERROR(Flags::Parse(n.flags, {}).status());
      std::string hist = "ENV";
      for (size_t i = 0; i + 1 < n.next.size(); i += 3) {
        KILN_ASSIGN_OR_RETURN(std::string key, Expand(n.next[i], env));
        KILN_ASSIGN_OR_RETURN(std::string val, Expand(n.next[i + 1], env));
        s.image.SetEnv(key, val);
        env = StageEnv(s);
        hist += " " + key + "=" + val;
      }
      s.image.AddHistory(hist, true);
      return Status::Ok();
    }
    if (v == "arg") {
      std::string hist = "ARG";
      for (const auto& w : n.next) {
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
          if (auto p = PlatformArgs().find(key); p != PlatformArgs().end()) val = p->second;
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
      s.image.AddHistory(hist, true);
      return Status::Ok();
    }
    if (v == "cmd" || v == "entrypoint") {
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
      } else {
        s.image.SetEntrypoint(args);
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
      std::vector<std::string> ports;
      for (const auto& w : n.next) {
        KILN_ASSIGN_OR_RETURN(std::string p, Expand(w, env));
        if (p.find('/') == std::string::npos) p += "/tcp";
        s.image.AddExposedPort(p);
        ports.push_back(p);
      }
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

  Status Healthcheck(Stage& s, const Node& n) {
    KILN_ASSIGN_OR_RETURN(Flags f, Flags::Parse(n.flags, {"interval", "timeout", "start-period",
                                                          "start-interval", "retries"}));
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

  Status Workdir(Stage& s, const Node& n, int step) {
    if (n.next.size() != 1) return InvalidArgument("WORKDIR requires exactly one argument");
    KILN_ASSIGN_OR_RETURN(std::string dir, Expand(n.next[0], StageEnv(s)));
    std::string wd = JoinWorkdir(s.image.WorkingDir(), dir, false);
    s.image.SetWorkingDir(wd);
    // The mkdir below is a layer of its own (BuildKit's withLayer).
    s.image.AddHistory("WORKDIR " + wd, wd == "/");
    if (wd != "/") {
      llb::FileOpBuilder fb(s.state);
      // Created as the stage's USER (BuildKit's WithUser), root when none is set.
      std::optional<pb::ChownOpt> owner;
      if (!s.image.User().empty()) owner = ChownFromSpec(s.image.User());
      fb.Mkdir(wd, 0755, true, owner ? &*owner : nullptr);
      s.state = fb.Result(StepName(s, step, "WORKDIR " + wd));
    }
    return Status::Ok();
  }

  Status Run(Stage& s, const Node& n, int step) {
    KILN_ASSIGN_OR_RETURN(Flags f, Flags::Parse(n.flags, {"mount", "network", "security"}));
    std::vector<std::string> args;
    std::vector<std::string> shell = s.image.Shell();
    if (shell.empty()) shell = {"/bin/sh", "-c"};
    if (n.json) {
      args = n.next;
    } else if (!n.heredocs.empty()) {
      std::string cmd = n.next.empty() ? "" : n.next[0];
      const Heredoc& h = n.heredocs[0];
      // Only a heredoc that is the whole command line (`RUN <<EOF`): its content is the script.
      std::string trimmed = cmd;
      while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t'))
        trimmed.pop_back();
      size_t start = trimmed.find_first_not_of(" \t");
      bool whole = start != std::string::npos && trimmed.compare(start, 2, "<<") == 0 &&
                   trimmed.find_first_of(" \t", start) == std::string::npos;
      if (n.heredocs.size() != 1 || !whole) {
        return Unimplemented(
            "RUN with a heredoc other than the whole command is not supported by kiln yet");
      }
      args = shell;
      args.push_back(h.chomp ? ChompHeredoc(h.content) : h.content);
    } else {
      args = shell;
      args.push_back(n.next.empty() ? "" : n.next[0]);
    }
    if (args.empty()) return InvalidArgument("RUN requires at least one argument");
    llb::ExecBuilder e(s.state, args);
    for (const auto& kv : StageEnv(s)) {
      size_t eq = kv.find('=');
      e.Env(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
    }
    e.Cwd(s.image.WorkingDir().empty() ? "/" : s.image.WorkingDir());
    if (!s.image.User().empty()) e.User(s.image.User());
    if (auto net = f.Get("network")) {
      if (*net == "none") {
        e.Network(pb::NONE);
      } else if (*net == "host") {
        e.Network(pb::HOST);
      } else if (*net != "default" && *net != "sandbox") {
        return InvalidArgument("unsupported network mode \"" + *net + "\"");
      }
    }
    if (auto sec = f.Get("security")) {
      if (*sec == "insecure") {
        e.Security(pb::INSECURE);
      } else if (*sec != "sandbox") {
        return InvalidArgument("unsupported security mode \"" + *sec + "\"");
      }
    }
    for (const auto& m : f.All("mount")) KILN_RETURN_IF_ERROR(RunMount(s, e, m));
    std::string text = n.json ? "RUN " + nlohmann::json(args).dump() : Text(n);
    s.state = e.Root().WithCustomName(StepName(s, step, text));
    // BuildKit's runCommandString: "|N K=V ..." for the stage's build args, then the command.
    std::vector<std::string> words;
    std::map<std::string, size_t> at;
    std::vector<std::string> run_env = StageEnv(s);
    for (const auto& [k, val] : s.build_args) {
      std::string value = val.value_or("");
      for (const auto& kv : run_env) {
        if (kv.compare(0, k.size() + 1, k + "=") == 0) value = kv.substr(k.size() + 1);
      }
      if (auto it = at.find(k); it != at.end()) {
        words[it->second] = k + "=" + value;
      } else {
        at[k] = words.size();
        words.push_back(k + "=" + value);
      }
    }
    if (!words.empty()) words.insert(words.begin(), "|" + std::to_string(words.size()));
    words.insert(words.end(), args.begin(), args.end());
    std::string created = "RUN ";
    for (size_t i = 0; i < words.size(); i++) created += (i ? " " : "") + words[i];
    s.image.AddHistory(created + " # buildkit", false);
    return Status::Ok();
  }

  // --mount=type=bind|cache|tmpfs|secret|ssh,target=...,...
  Status RunMount(Stage& s, llb::ExecBuilder& e, const std::string& spec) {
    std::map<std::string, std::string> kv;
    std::set<std::string> bools;
    size_t i = 0;
    while (i <= spec.size()) {
      size_t j = spec.find(',', i);
      if (j == std::string::npos) j = spec.size();
      std::string field = spec.substr(i, j - i);
      i = j + 1;
      if (field.empty()) continue;
      size_t eq = field.find('=');
      std::string k = Lower(field.substr(0, eq));
      if (k == "dst" || k == "destination") k = "target";
      if (k == "src") k = "source";
      if (eq == std::string::npos) {
        kv[k] = "true";
      } else {
        KILN_ASSIGN_OR_RETURN(kv[k], Expand(field.substr(eq + 1), StageEnv(s)));
      }
    }
    std::string type = kv.count("type") ? kv["type"] : "bind";
    std::string target = kv["target"];
    auto bool_of = [&](const char* k) { return kv.count(k) && (kv[k] == "true" || kv[k] == "1"); };
    auto uint_of = [&](const char* k, uint32_t def) -> Result<uint32_t> {
      if (!kv.count(k)) return def;
      char* end = nullptr;
      unsigned long v =
          std::strtoul(kv[k].c_str(), &end, k == std::string("mode") ? 8 : 10);  // NOLINT
      if (end == kv[k].c_str() || *end != '\0')
        return InvalidArgument(fmt::format("invalid {}: {}", k, kv[k]));
      return static_cast<uint32_t>(v);
    };
    std::string wd = s.image.WorkingDir().empty() ? "/" : s.image.WorkingDir();
    if (type == "ssh") {
      std::string id = kv.count("id") ? kv["id"] : "default";
      KILN_ASSIGN_OR_RETURN(uint32_t uid, uint_of("uid", 0));
      KILN_ASSIGN_OR_RETURN(uint32_t gid, uint_of("gid", 0));
      KILN_ASSIGN_OR_RETURN(uint32_t mode, uint_of("mode", 0600));
      e.SSH(target.empty() ? "" : JoinWorkdir(wd, target, false), id, uid, gid, mode,
            !bool_of("required"));
      return Status::Ok();
    }
    if (type == "secret") {
      std::string id = kv.count("id") ? kv["id"] : "";
      if (target.empty() && !kv.count("env")) {
        if (id.empty()) return InvalidArgument("secret mount needs an id or a target");
        target = "/run/secrets/" + id;
      }
      if (id.empty()) id = target.substr(target.rfind('/') + 1);
      KILN_ASSIGN_OR_RETURN(uint32_t uid, uint_of("uid", 0));
      KILN_ASSIGN_OR_RETURN(uint32_t gid, uint_of("gid", 0));
      KILN_ASSIGN_OR_RETURN(uint32_t mode, uint_of("mode", 0400));
      if (kv.count("env")) e.SecretEnv(kv["env"], id, !bool_of("required"));
      if (!target.empty())
        e.Secret(JoinWorkdir(wd, target, false), id, uid, gid, mode, !bool_of("required"));
      return Status::Ok();
    }
    if (target.empty()) return InvalidArgument("mount target is required (--mount=" + spec + ")");
    target = JoinWorkdir(wd, target, false);
    if (type == "tmpfs") {
      int64_t size = 0;
      if (kv.count("size")) size = std::strtoll(kv["size"].c_str(), nullptr, 10);
      e.Tmpfs(target, size);
      return Status::Ok();
    }
    // A cache mount without `from` starts from scratch; other mounts from the build context.
    llb::State from = type == "cache" ? llb::State::Scratch() : ContextState();
    if (kv.count("from")) {
      KILN_ASSIGN_OR_RETURN(from, FromState(s, kv["from"]));
    }
    std::string source = kv.count("source") ? CleanPath("/" + kv["source"]) : "/";
    if (type == "cache") {
      std::string sharing = kv.count("sharing") ? kv["sharing"] : "shared";
      pb::CacheSharingOpt opt = pb::SHARED;
      if (sharing == "private") {
        opt = pb::PRIVATE;
      } else if (sharing == "locked") {
        opt = pb::LOCKED;
      } else if (sharing != "shared") {
        return InvalidArgument("unsupported sharing value \"" + sharing + "\"");
      }
      std::string id = kv.count("id") ? kv["id"] : target;
      std::string selector = source == "/" ? "" : source;
      if (selector.empty() && (kv.count("uid") || kv.count("gid") || kv.count("mode"))) {
        // The cache directory's owner and mode (BuildKit's setCacheUIDGID): a /cache directory
        // made on top of the base, mounted as the cache's first content.
        KILN_ASSIGN_OR_RETURN(uint32_t uid, uint_of("uid", 0));
        KILN_ASSIGN_OR_RETURN(uint32_t gid, uint_of("gid", 0));
        KILN_ASSIGN_OR_RETURN(uint32_t mode, uint_of("mode", 0755));
        pb::ChownOpt owner;
        owner.mutable_user()->set_byid(uid);
        owner.mutable_group()->set_byid(gid);
        llb::FileOpBuilder fb(from);
        fb.Mkdir("/cache", static_cast<int32_t>(mode), false, &owner);
        from = fb.Result("[internal] setting cache mount permissions");
        selector = "/cache";
      }
      bool readonly = bool_of("ro") || bool_of("readonly");
      e.Cache(target, id, opt, from, selector, readonly);
      return Status::Ok();
    }
    if (type == "bind") {
      llb::ExecBuilder::MountOptions mo;
      mo.readonly = !bool_of("rw") && !bool_of("readwrite");
      mo.output = false;
      mo.selector = source == "/" ? "" : source;
      e.Mount(target, from, mo);
      return Status::Ok();
    }
    return InvalidArgument("unsupported mount type \"" + type + "\"");
  }

  llb::State ContextState() {
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
  Result<llb::State> FromState(Stage& s, const std::string& ref) {
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

  Status Copy(Stage& s, const Node& n, int step, bool add) {
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
      KILN_ASSIGN_OR_RETURN(
          std::optional<RemoteCopy> remote,
          RemoteCopyFor(w, RemoteCopyOptions{add, words.size(), f.Get("checksum").value_or(""),
                                             f.BoolIfGiven("keep-git-dir"),
                                             StepName(s, step, Text(n)), base}));
      if (remote) {
        fb.Copy(remote->source, remote->path, dest, remote->copy);
        continue;
      }
      fb.Copy(src, CleanPath("/" + w), dest, base);
    }
    s.state = fb.Result(StepName(s, step, Text(n)));
    s.image.AddHistory(
        name + " " + fmt::format("{}", fmt::join(words, " ")) + " " + dest_word + " # buildkit",
        false);
    return Status::Ok();
  }

  const ConvertOptions& opts_;
  const ParseResult& pr_;
  ShellLex lex_;
  SourceRange* error_range_ = nullptr;
  std::vector<Stage> stages_;
  std::map<std::string, std::string> meta_args_;
  std::set<std::string> meta_declared_;
  std::optional<llb::State> context_;
  std::string target_name_;
  std::vector<std::unique_ptr<ParseResult>> onbuild_nodes_;
};

}  // namespace

Result<ConvertResult> Dockerfile2LLB(std::string_view dockerfile, const ConvertOptions& opts,
                                     SourceRange* error_range) {
  SourceRange r;
  auto parsed = Parse(dockerfile, &r);
  if (!parsed.ok()) {
    if (error_range != nullptr) *error_range = r;
    return parsed.status();
  }
  Converter c(opts, *parsed);
  return c.Run(error_range);
}

}  // namespace kiln::dockerfile
