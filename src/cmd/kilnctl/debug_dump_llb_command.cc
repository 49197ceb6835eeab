// kilnctl debug dump-llb [file]: prints each op of an LLB definition (stdin or a file) as JSON
// with its digest and metadata, or as a Graphviz graph with --dot. Needs no daemon.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "client/definition.h"
#include "cmd/kilnctl/commands.h"

namespace kiln::kilnctl {

namespace {

struct DumpFlags {
  std::string file;
  bool dot = false;
};

Result<std::string> ReadInput(const std::string& file) {
  int fd = STDIN_FILENO;
  if (!file.empty() && file != "-") {
    fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "open " + file);
  }
  std::string out;
  char buf[65536];
  Status st;
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      st = ErrnoStatus(errno, "read");
      break;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  if (fd != STDIN_FILENO) close(fd);
  if (!st.ok()) return st;
  return out;
}

int RunDumpLlb(const DumpFlags& f) {
  auto bytes = ReadInput(f.file);
  if (!bytes.ok()) return ReportError(bytes.status());
  auto def = client::ParseDefinition(*bytes);
  if (!def.ok()) return ReportError(def.status());
  auto out = f.dot ? client::DumpLlbDot(*def) : client::DumpLlbJson(*def);
  if (!out.ok()) return ReportError(out.status());
  PrintStdout(*out);
  return 0;
}

}  // namespace

Command AddDebugDumpLlbCommand(CLI::App& debug, const GlobalOptions& g) {
  auto flags = std::make_shared<DumpFlags>();
  CLI::App* cmd = debug.add_subcommand(
      "dump-llb", "dump LLB in human-readable format. LLB can be also passed via stdin.");
  cmd->add_option("llbfile", flags->file, "LLB file (default: stdin)");
  cmd->add_flag("--dot", flags->dot, "Output dot format");
  return Command{cmd, [flags] { return RunDumpLlb(*flags); }};
}

}  // namespace kiln::kilnctl
