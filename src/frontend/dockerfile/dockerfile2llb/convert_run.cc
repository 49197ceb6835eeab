#include <fmt/format.h>

#include "frontend/dockerfile/dockerfile2llb/converter.h"
#include "frontend/dockerfile/parser/heredoc.h"

namespace kiln::dockerfile::convert_internal {

namespace {

// BuildKit's summarizeHeredoc: the first line of the trimmed document, "..." when there are more.
std::string SummarizeHeredoc(std::string doc) {
  size_t b = doc.find_first_not_of(" \t\r\n\v\f");
  size_t e = doc.find_last_not_of(" \t\r\n\v\f");
  doc = b == std::string::npos ? "" : doc.substr(b, e - b + 1);
  size_t nl = doc.find('\n');
  std::string first = doc.substr(0, nl);
  if (!first.empty() && first.back() == '\r' && nl != std::string::npos) first.pop_back();
  return nl == std::string::npos ? first : first + "...";
}

bool EqualFold(const std::string& a, const char* b) { return Lower(a) == b; }

}  // namespace

// Proxy build args (any case) reach every RUN's environment without being declared, and stay
// out of the cache key and the history (BuildKit's proxyEnvFromBuildArgs).
std::optional<pb::ProxyEnv> Converter::ProxyEnv() const {
  pb::ProxyEnv pe;
  bool any = false;
  for (const auto& [k, v] : opts_.build_args) {  // sorted, so the last spelling wins as in Go
    if (EqualFold(k, "http_proxy")) pe.set_http_proxy(v), any = true;
    if (EqualFold(k, "https_proxy")) pe.set_https_proxy(v), any = true;
    if (EqualFold(k, "ftp_proxy")) pe.set_ftp_proxy(v), any = true;
    if (EqualFold(k, "no_proxy")) pe.set_no_proxy(v), any = true;
    if (EqualFold(k, "all_proxy")) pe.set_all_proxy(v), any = true;
  }
  if (!any) return std::nullopt;
  return pe;
}

Status Converter::Run(Stage& s, const Node& n) {
  KILN_ASSIGN_OR_RETURN(Flags f, ParseFlags(n));
  std::vector<std::string> args;
  std::vector<std::string> shell = s.image.Shell();
  if (shell.empty()) shell = {"/bin/sh", "-c"};
  std::string text = n.original;
  std::optional<llb::State> script;  // a heredoc with a shebang, run as a file
  std::string script_name;
  if (n.json) {
    args = n.next;
  } else {
    std::string cmd = n.next.empty() ? "" : n.next[0];
    if (!n.heredocs.empty()) {
      KILN_ASSIGN_OR_RETURN(std::optional<Heredoc> whole, internal::ParseHeredocWord(cmd));
      if (whole) {
        // The heredoc is the whole command: its content is the script (a file when it starts
        // with #!, else the shell's command string).
        const Heredoc& h = n.heredocs[0];
        std::string data = h.chomp ? ChompHeredoc(h.content) : h.content;
        if (data.rfind("#!", 0) == 0) {
          llb::FileOpBuilder fb(llb::State::Scratch());
          fb.Mkfile("/" + h.name, 0755, data);
          script = fb.Result("[internal] preparing inline document");
          script_name = h.name;
          cmd = "/dev/pipes/" + h.name;
        } else {
          cmd = data;
        }
        text += " (" + SummarizeHeredoc(h.content) + ")";
      } else {
        // Heredocs inside a longer command: the shell reads them itself.
        for (const auto& h : n.heredocs) cmd += "\n" + h.content + h.name;
      }
    }
    args = shell;
    args.push_back(cmd);
  }
  if (args.empty()) return InvalidArgument("RUN requires at least one argument");
  llb::ExecBuilder e(s.state, args);
  for (const auto& kv : StageEnv(s)) {
    size_t eq = kv.find('=');
    e.Env(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
  }
  e.Cwd(s.image.WorkingDir().empty() ? "/" : s.image.WorkingDir());
  if (!s.image.User().empty()) e.User(s.image.User());
  if (script) {
    llb::ExecBuilder::MountOptions mo;
    mo.readonly = true;
    mo.output = false;
    e.Mount("/dev/pipes/", *script, mo);
  }
  text = CommandText(s, text, true);
  if (auto pe = ProxyEnv()) *e.op().mutable_meta()->mutable_proxy_env() = *pe;
  e.Network(opts_.network_mode);
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
  for (const auto& u : opts_.ulimits) *e.op().mutable_meta()->add_ulimit() = u;
  for (const auto& [host, ip] : opts_.extra_hosts) e.ExtraHost(host, ip);
  if (opts_.shm_size > 0) e.Tmpfs("/dev/shm", opts_.shm_size);
  llb::State root = e.Root();
  if (s.ignore_cache) root = root.IgnoreCache();
  s.state = root.WithCustomName(StepName(s, text));
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
Status Converter::RunMount(Stage& s, llb::ExecBuilder& e, const std::string& spec) {
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
    size_t dollar = field.find('$', eq == std::string::npos ? field.size() : eq + 1);
    if (eq == std::string::npos) {
      kv[k] = "true";
    } else if (k == "from" && dollar != std::string::npos && dollar != field.size() - 1) {
      return InvalidArgument(
          "'from' doesn't support variable expansion, define alias stage instead");
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

}  // namespace kiln::dockerfile::convert_internal
