// hello_llb: writes an LLB Definition to stdout, for `kilnctl build` to read (as BuildKit's
// examples do for buildctl). The graph copies the local "context" into /src, adds a generated
// file, and merges in a small tree of its own:
//
//   hello_llb | kilnctl build --local context=. --output type=local,dest=out
//
// `hello_llb --context-only` writes a graph of just the local context (used by bench/);
// `hello_llb --image REF [PLATFORM]` a graph of just that image's root filesystem;
// `hello_llb --run-chain N TAG [CMD...]` N `RUN true` (or CMD) steps, one on another, over the
// local context as the root filesystem (TAG goes into each step's env, so a new TAG is uncached).

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "llb/builder.h"
#include "llb/exec_builder.h"

int main(int argc, char** argv) {
  using kiln::llb::FileOpBuilder;
  using kiln::llb::State;
  State::LocalOptions opts;
  opts.exclude_patterns = {".git", "out"};
  State ctx = State::Local("context", opts);
  if (argc > 3 && std::string(argv[1]) == "--run-chain") {
    int n = std::atoi(argv[2]);
    std::vector<std::string> cmd(argv + 4, argv + argc);
    if (cmd.empty()) cmd = {"true"};
    State s = State::Local("context");
    for (int i = 0; i < n; i++) {
      s = kiln::llb::ExecBuilder(s, cmd).Env("KILN_BENCH", std::string(argv[3]) + "-" + std::to_string(i)).Root();
    }
    std::string bytes = s.Marshal()->SerializeAsString();
    return write(1, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) ? 0 : 1;
  }
  if (argc > 1 && (std::string(argv[1]) == "--context-only" || std::string(argv[1]) == "--image")) {
    if (std::string(argv[1]) == "--image") {
      if (argc < 3) {
        std::fprintf(stderr, "usage: hello_llb --image REF [PLATFORM]\n");
        return 2;
      }
      ctx = State::Image(argv[2], argc > 3 ? argv[3] : "");
    }
    std::string bytes = ctx.Marshal()->SerializeAsString();
    return write(1, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) ? 0 : 1;
  }
  State src = FileOpBuilder(State::Scratch())
                  .Copy(ctx, "/", "/src/")
                  .Mkfile("/src/BUILT_BY", 0644, "kiln\n")
                  .Result("copy context to /src");
  State meta = FileOpBuilder(State::Scratch())
                   .Mkdir("/meta", 0755)
                   .Mkfile("/meta/hello.txt", 0644, "hello from an LLB graph\n")
                   .Symlink("hello.txt", "/meta/latest")
                   .Result("make /meta");
  auto def = State::Merge({src, meta}, "merge /src and /meta").Marshal();
  if (!def.ok()) {
    std::fprintf(stderr, "hello_llb: %s\n", def.status().message().c_str());
    return 1;
  }
  std::string bytes = def->SerializeAsString();
  if (write(1, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) return 1;
  return 0;
}
