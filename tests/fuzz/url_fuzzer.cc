// libFuzzer harness for the URL and git-remote parsers the http and git sources and ADD use:
// any bytes must parse or fail cleanly, never crash or trip a CHECK. Aborts when a parse breaks
// its own invariants: a parsed URL without its fragment must parse again to the same parts, a
// git ref that parsed must have a remote that parses as a git remote.
// Built for libFuzzer with clang (-DKILN_FUZZ=ON); url_fuzz_smoke.cc drives the same entry point
// over mutated seeds in every ctest run.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "frontend/dockerfile/dockerfile2llb/git_ref.h"
#include "frontend/dockerfile/dockerfile2llb/remote_source.h"
#include "util/git_url.h"
#include "util/url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  if (auto u = kiln::ParseUrl(input); u.ok()) {
    auto again = kiln::ParseUrl(u->WithoutFragment());
    if (!again.ok() || again->scheme != u->scheme || again->host != u->host ||
        again->path != u->path || again->raw_query != u->raw_query) {
      abort();
    }
  }
  (void)kiln::ParseQuery(input);
  if (auto g = kiln::ParseGitUrl(input); g.ok() && g->remote.empty()) abort();
  auto ref = kiln::dockerfile::ParseGitRef(input);
  if (ref.ref.has_value() && !ref.ref->indistinguishable_from_local &&
      !kiln::ParseGitUrl(ref.ref->remote).ok()) {
    abort();
  }
  kiln::dockerfile::RemoteCopyOptions o;
  (void)kiln::dockerfile::RemoteCopyFor(input, o);
  o.checksum = "sha256:0";
  (void)kiln::dockerfile::RemoteCopyFor(input, o);
  return 0;
}
