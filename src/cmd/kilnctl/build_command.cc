// kilnctl build: buildctl build's flags and flow (client/build.h does the protocol).

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string_view>

#include "client/atomic_file.h"
#include "client/build.h"
#include "client/build_options.h"
#include "client/definition.h"
#include "client/dockerfile_input.h"
#include "client/id.h"
#include "client/metadata_file.h"
#include "client/progress_display.h"
#include "client/ssh_service.h"
#include "client/warnings_summary.h"
#include "cmd/kilnctl/commands.h"

namespace kiln::kilnctl {

namespace {

struct BuildFlags {
  std::vector<std::string> outputs;
  std::string progress = "auto";
  std::vector<std::string> locals;
  std::vector<std::string> oci_layouts;
  std::string frontend;
  std::vector<std::string> opts;
  bool no_cache = false;
  std::vector<std::string> allow;
  std::string metadata_file;
  std::string ref_file;
  bool frontend_in_solve = false;
  std::vector<std::string> secrets;
  std::vector<std::string> ssh;
};

Result<std::string> ReadAll(int fd) {
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read stdin");
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<client::BuildRequest> MakeRequest(const BuildFlags& f) {
  client::BuildRequest req;
  KILN_RETURN_IF_ERROR(client::ValidateAllow(f.allow));
  req.entitlements = f.allow;
  KILN_ASSIGN_OR_RETURN(req.exports, client::ParseOutputs(f.outputs, isatty(STDOUT_FILENO) == 1));
  KILN_ASSIGN_OR_RETURN(req.frontend_attrs,
                        client::ParseOpts(f.opts, [](const char* k) { return getenv(k); }));
  KILN_ASSIGN_OR_RETURN(req.local_dirs, client::ParseLocals(f.locals));
  KILN_ASSIGN_OR_RETURN(req.oci_layouts, client::ParseOCILayouts(f.oci_layouts));
  const client::GetEnvFn env = [](const char* k) { return getenv(k); };
  if (!f.ssh.empty()) {
    KILN_ASSIGN_OR_RETURN(req.ssh_agents, client::ResolveSSHAgents(client::ParseSSH(f.ssh), env));
  }
  if (!f.secrets.empty()) {
    KILN_ASSIGN_OR_RETURN(std::vector<client::SecretSource> sources,
                          client::ParseSecrets(f.secrets));
    KILN_ASSIGN_OR_RETURN(req.secrets, client::SecretStore::New(sources, env));
  }
  req.frontend = f.frontend;
  req.frontend_in_solve = f.frontend_in_solve;
  // Test knob (docs/dev/filesync-batch.md): serve only BuildKit's FileSync.DiffCopy.
  const char* no_batch = getenv("KILN_NO_BATCH_SYNC");
  req.batch_sync = no_batch == nullptr || *no_batch == '\0' || std::string_view(no_batch) == "0";
  if (f.frontend.empty()) {
    if (isatty(STDIN_FILENO) == 1) {
      return InvalidArgument("please specify --frontend or pipe LLB definition to stdin");
    }
    KILN_ASSIGN_OR_RETURN(std::string bytes, ReadAll(STDIN_FILENO));
    KILN_ASSIGN_OR_RETURN(pb::Definition def, client::ParseDefinition(bytes));
    if (def.def_size() == 0) {
      return InvalidArgument("empty definition sent to build. Specify --frontend instead?");
    }
    if (f.no_cache) client::SetIgnoreCache(&def);
    req.definition = std::move(def);
  } else if (f.no_cache) {
    req.frontend_attrs["no-cache"] = "";
  }
  // The Dockerfile goes with the request, not through the session (client/dockerfile_input.h).
  // Test and benchmark knob: KILN_NO_INLINE_DOCKERFILE=1 leaves it to the session.
  const char* no_inline = getenv("KILN_NO_INLINE_DOCKERFILE");
  if (no_inline == nullptr || *no_inline == '\0' || std::string_view(no_inline) == "0") {
    KILN_RETURN_IF_ERROR(client::InlineDockerfile(req).status());
  }
  if (req.frontend_attrs.contains("requestid") && !req.frontend_attrs.contains("frontend.caps")) {
    req.frontend_attrs["frontend.caps"] = "moby.buildkit.frontend.subrequests";
  }
  return req;
}

// Prints the result of a frontend subrequest (e.g. --opt requestid=frontend.lint); returns the
// exit code its result.statuscode asks for (1 when the checks found something).
int PrintSubrequestResult(const std::map<std::string, std::string>& metadata) {
  if (auto it = metadata.find("result.txt"); it != metadata.end()) {
    PrintStdout(it->second);
  } else {
    for (const auto& [k, v] : metadata) {
      if (k.starts_with("result.")) PrintStdout(fmt::format("{}\n{}\n", k, v));
    }
  }
  auto code = metadata.find("result.statuscode");
  return code != metadata.end() && code->second != "0" ? 1 : 0;
}

int RunBuild(const GlobalOptions& g, const BuildFlags& f) {
  auto mode = client::ParseProgressMode(f.progress);
  if (!mode.ok()) return ReportError(mode.status());
  auto req = MakeRequest(f);
  if (!req.ok()) return ReportError(req.status());
  req->ref = client::NewId();

  auto conn = Connect(g, /*allow_embedded=*/true);
  if (!conn.ok()) return ReportError(conn.status());
  auto display = client::NewProgressDisplay(*mode, STDERR_FILENO);
  if (!display.ok()) return ReportError(display.status());

  // kilnctl exits right after the build; a private kilnd, stopped first, must not wait for the
  // session to end.
  req->session_ends_with_process = conn->embedded == nullptr;
  client::WarningsSummary warnings;
  auto resp = client::Build(RootContext(), *conn->rpc, *req,
                            [d = display->get(), &warnings](const auto& s) {
                              warnings.Add(s);
                              d->Update(s);
                            });
  (*display)->Done();
  // After the progress, as buildx: the warnings with their details and lines.
  if (*mode != client::ProgressMode::kQuiet && *mode != client::ProgressMode::kRawJson) {
    PrintStderr(warnings.Format());
  }

  if (!f.ref_file.empty()) {
    client::WriteFileAtomic(f.ref_file, req->ref).IgnoreError();  // as buildctl: best effort
  }
  Status st = resp.status();
  if (st.ok() && !f.metadata_file.empty()) {
    st = client::WriteMetadataFile(f.metadata_file, resp->exporter_response);
  }
  int exit_code = 0;
  if (st.ok() && req->frontend_attrs.contains("requestid")) {
    exit_code = PrintSubrequestResult(resp->frontend_metadata);
  }
  if (conn->embedded) {
    conn->rpc.reset();
    Status stop = conn->embedded->Stop();
    if (st.ok() && !stop.ok()) st = stop;
  } else {
    KeepUntilExit(std::move(conn->rpc));
  }
  if (!st.ok()) return ReportError(st);
  return exit_code;
}

}  // namespace

Command AddBuildCommand(CLI::App& app, const GlobalOptions& g) {
  auto flags = std::make_shared<BuildFlags>();
  CLI::App* cmd = app.add_subcommand("build", "build");
  cmd->alias("b");
  cmd->add_option("-o,--output", flags->outputs,
                  "Define exports for build result, e.g. --output type=local,dest=out")
      ->allow_extra_args(false);
  cmd->add_option("--progress", flags->progress,
                  "Set type of progress (auto, plain, tty, rawjson). Use plain to show container "
                  "output")
      ->default_str("auto");
  cmd->add_option("--local", flags->locals, "Allow build access to the local directory")
      ->allow_extra_args(false);
  cmd->add_option("--oci-layout", flags->oci_layouts,
                  "Allow build access to the local OCI layout, e.g. --oci-layout name=dir")
      ->allow_extra_args(false);
  cmd->add_option("--frontend", flags->frontend, "Define frontend used for build");
  cmd->add_option("--opt", flags->opts,
                  "Define custom options for frontend, e.g. --opt target=foo --opt "
                  "build-arg:foo=bar")
      ->allow_extra_args(false);
  cmd->add_flag("--no-cache", flags->no_cache, "Disable cache for all the vertices");
  cmd->add_option("--allow", flags->allow,
                  "Allow extra privileged entitlement, e.g. network.host, security.insecure")
      ->allow_extra_args(false);
  cmd->add_option("--secret", flags->secrets,
                  "Secret value exposed to the build. Format id=secretname,src=filepath")
      ->allow_extra_args(false);
  cmd->add_option("--ssh", flags->ssh,
                  "Allow forwarding SSH agent to the builder. Format default|<id>[=<socket>]")
      ->allow_extra_args(false);
  cmd->add_option("--metadata-file", flags->metadata_file,
                  "Output build metadata (e.g., image digest) to a file as JSON");
  cmd->add_option("--ref-file", flags->ref_file, "Write build ref to a file");
  cmd->add_flag("--frontend-in-solve", flags->frontend_in_solve,
                "Name the frontend in Control.Solve (the pre-v0.11 flow)")
      ->group("");
  return Command{cmd, [&g, flags] { return RunBuild(g, *flags); }};
}

}  // namespace kiln::kilnctl
