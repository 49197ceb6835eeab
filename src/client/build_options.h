#pragma once
// Parsing of kilnctl build's repeated flags, with buildctl's rules and messages:
// --output/-o (CSV, type=..., dest kept by the client), --local name=dir, --opt k=v and --allow.
// Stateless free functions; the environment is read through the `getenv` argument so tests can
// script it.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kiln::client {

// One --output. For exporters that write to the client, `dest` is removed from attrs (the daemon
// never sees it) and kept here: a directory for local, a file ("-" = stdout) for tar and for
// oci/docker with tar=true (the default).
struct ExportEntry {
  std::string type;
  std::map<std::string, std::string> attrs;
  std::string output_dir;
  std::string output_file;
};

using GetEnvFn = std::function<const char*(const char*)>;

// `stdout_is_tty`: writing a tarball to a terminal is refused, as buildctl does.
Result<ExportEntry> ParseOutput(std::string_view csv, bool stdout_is_tty);
Result<std::vector<ExportEntry>> ParseOutputs(const std::vector<std::string>& values,
                                              bool stdout_is_tty);

// "k=v" list to a map (the last of duplicates wins); "invalid value X" without '='.
Result<std::map<std::string, std::string>> ParseAttrMap(const std::vector<std::string>& values);

// --local name=dir; every dir must exist and be a directory.
Result<std::map<std::string, std::string>> ParseLocals(const std::vector<std::string>& values);

// --oci-layout id=dir (buildctl's ParseOCILayout; the last of duplicates wins): each dir must be
// a directory, an OCI layout served to the build as the content store "oci:<id>".
Result<std::map<std::string, std::string>> ParseOCILayouts(const std::vector<std::string>& values);

// --opt k=v; "build-arg:NAME" without a value takes NAME from the environment (left out when
// unset) and $SOURCE_DATE_EPOCH becomes build-arg:SOURCE_DATE_EPOCH.
Result<std::map<std::string, std::string>> ParseOpts(const std::vector<std::string>& values,
                                                     const GetEnvFn& getenv);

// One --secret: CSV of type=file|env, id, src|source, env (buildctl's parseSecret). type=env
// without env= takes the variable's name from src. The id is not defaulted here: the store
// (secrets_service.h) refuses an empty one, as buildctl's does.
struct SecretSource {
  std::string id;
  std::string file_path;
  std::string env;
  bool operator==(const SecretSource&) const = default;
};
Result<SecretSource> ParseSecret(std::string_view value);
Result<std::vector<SecretSource>> ParseSecrets(const std::vector<std::string>& values);

// One --ssh: ID[=path[,path...]] (buildctl's ParseSSH; it never fails). An empty ID is
// "default"; no path is $SSH_AUTH_SOCK (resolved by ssh_service.h).
struct SSHAgentConfig {
  std::string id;
  std::vector<std::string> paths;
  bool operator==(const SSHAgentConfig&) const = default;
};
std::vector<SSHAgentConfig> ParseSSH(const std::vector<std::string>& values);

// --allow: network.host, security.insecure, device[=name[,alias=x]].
Status ValidateAllow(const std::vector<std::string>& values);

}  // namespace kiln::client
