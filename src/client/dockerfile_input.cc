#include "client/dockerfile_input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>

#include "llb/builder.h"
#include "util/path.h"

namespace kiln::client {
namespace {

// A file read whole, or why not.
struct FileRead {
  enum Kind { kMissing, kRead, kUnusable } kind = kUnusable;
  std::string data;
};

// Reads `path` when it is a regular file of at most `max` bytes; a symlink, a directory, a
// larger file or a read error is unusable here (the session sync deals with those).
FileRead ReadRegular(const std::string& path, size_t max) {
  FileRead out;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) out.kind = FileRead::kMissing;
    return out;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) > max) {
    close(fd);
    return out;
  }
  out.data.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.data.size()) {
    ssize_t n = read(fd, out.data.data() + got, out.data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  char extra = 0;
  bool grown = got == out.data.size() && read(fd, &extra, 1) > 0;
  close(fd);
  if (got != out.data.size() || grown) return out;  // changed while read: let the sync see it
  out.kind = FileRead::kRead;
  return out;
}

}  // namespace

Result<bool> InlineDockerfile(BuildRequest& req) {
  if (req.frontend != "dockerfile.v0" || req.definition) return false;
  if (req.frontend_attrs.contains("dockerfilekey") || req.frontend_inputs.contains("dockerfile")) {
    return false;
  }
  auto df_dir = req.local_dirs.find("dockerfile");
  if (df_dir == req.local_dirs.end()) return false;
  auto fn = req.frontend_attrs.find("filename");
  std::string filename =
      fn == req.frontend_attrs.end() || fn->second.empty() ? "Dockerfile" : fn->second;
  if (CleanPath(filename) != filename || !IsLocalPath(filename) || filename == ".") return false;

  FileRead df = ReadRegular(df_dir->second + "/" + filename, kInlineDockerfileMax);
  if (df.kind != FileRead::kRead) return false;
  size_t left = kInlineDockerfileMax - df.data.size();
  const std::string ignore_name = filename + ".dockerignore";
  FileRead ignore = ReadRegular(df_dir->second + "/" + ignore_name, left);
  if (ignore.kind == FileRead::kUnusable) return false;
  if (ignore.kind == FileRead::kMissing) {
    // The frontend would read the context's .dockerignore: the same file, or none, goes in as
    // the Dockerfile's own. Without a context local there is nothing to exclude from.
    auto ctx_dir = req.local_dirs.find("context");
    if (ctx_dir != req.local_dirs.end() && !req.frontend_inputs.contains("context")) {
      ignore = ReadRegular(ctx_dir->second + "/.dockerignore", left);
      if (ignore.kind == FileRead::kUnusable) return false;
    }
  }

  llb::FileOpBuilder fb(llb::State::Scratch());
  if (auto slash = filename.rfind('/'); slash != std::string::npos) {
    fb.Mkdir("/" + filename.substr(0, slash), 0755, true);
  }
  fb.Mkfile("/" + filename, 0644, df.data);
  fb.Mkfile("/" + ignore_name, 0644, ignore.data);
  std::string base = filename.substr(filename.rfind('/') + 1);
  KILN_ASSIGN_OR_RETURN(pb::Definition def,
                        fb.Result("[internal] load build definition from " + base).Marshal());
  req.frontend_inputs["dockerfile"] = std::move(def);
  return true;
}

}  // namespace kiln::client
