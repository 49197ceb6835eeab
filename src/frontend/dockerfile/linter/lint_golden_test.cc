// Build check goldens: every tests/testdata/dockerfile/lint/NAME.Dockerfile is converted with the
// checks on, and the warnings it gives ("L<start>-<end> Rule: message", in the order they are
// reported), then the conversion's error if it fails, are compared with NAME.golden. Options come
// from comment lines `# opt: key=value`: build-arg:*, target, platform, ignore (a .dockerignore
// pattern), all-stages (as the lint subrequest), check (BUILDKIT_DOCKERFILE_CHECK). Base images:
// `base:1` is linux/amd64 with PATH and HOME set, `arm:1` is linux/arm64. The build platform is
// linux/amd64. KILN_UPDATE_GOLDEN=1 rewrites the goldens.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

#include "frontend/dockerfile/dockerfile2llb/convert.h"
#include "frontend/dockerfile/golden_testing.h"
#include "util/digest.h"

namespace kiln::dockerfile {
namespace {

const std::filesystem::path kDir = std::filesystem::path(KILN_DOCKERFILE_TESTDATA) / "lint";

ConvertOptions OptionsFor(const std::string& dockerfile, std::string* out) {
  ConvertOptions o;
  o.session_id = "lint-session";
  o.resolve_image = [](const std::string& ref, const registry::Platform&) -> Result<ResolvedImage> {
    static const std::map<std::string, std::string> configs = {
        {"docker.io/library/base:1",
         R"({"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/bin:/bin",)"
         R"("HOME=/root"]},"rootfs":{"type":"layers","diff_ids":["sha256:)" +
             std::string(64, '1') + R"("]}})"},
        {"docker.io/library/arm:1",
         R"({"architecture":"arm64","os":"linux","config":{},"rootfs":{"type":"layers",)"
         R"("diff_ids":["sha256:)" +
             std::string(64, '2') + R"("]}})"},
    };
    auto it = configs.find(ref);
    if (it == configs.end()) return NotFound("no image " + ref);
    return ResolvedImage{Digest::FromBytes(it->second).str(), it->second};
  };
  o.build_platform = registry::Platform{"linux", "amd64", "", "", {}};
  o.lint_warn = [out](const lint::Warning& w) {
    for (const auto& r : w.location)
      *out += "L" + std::to_string(r.start) + "-" + std::to_string(r.end) + " ";
    *out += std::string(w.rule->name) + ": " + w.message + "\n";
  };
  golden::ForEachOption(dockerfile, [&](const std::string& k, const std::string& v) {
    if (k.rfind("build-arg:", 0) == 0) {
      o.build_args[k.substr(10)] = v;
    } else if (k == "target") {
      o.target = v;
    } else if (k == "platform") {
      auto p = registry::ParsePlatform(v);
      EXPECT_TRUE(p.ok()) << v;
      if (p.ok()) o.target_platform = *p;
    } else if (k == "ignore") {
      o.context_excludes.push_back(v);
    } else if (k == "all-stages") {
      o.all_stages = v == "true";
    } else if (k == "check") {
      auto c = lint::ParseLintOptions(v);
      EXPECT_TRUE(c.ok()) << v;
      if (c.ok()) o.lint_config = *c;
    } else {
      ADD_FAILURE() << "unknown golden option " << k;
    }
  });
  return o;
}

std::string Render(const std::string& dockerfile) {
  std::string out;
  SourceRange range;
  auto r = Dockerfile2LLB(dockerfile, OptionsFor(dockerfile, &out), &range);
  if (!r.ok()) {
    out += "error L" + std::to_string(range.start) + "-" + std::to_string(range.end) + ": " +
           r.status().message() + "\n";
  }
  return out;
}

class LintGoldenTest : public testing::TestWithParam<std::string> {};

TEST_P(LintGoldenTest, WarningsMatchGolden) {
  golden::ExpectMatchesGolden(kDir, GetParam(), Render);
}

INSTANTIATE_TEST_SUITE_P(Dockerfiles, LintGoldenTest, testing::ValuesIn(golden::Cases(kDir)),
                         golden::ParamName);

TEST(LintGoldenFiles, AreAllThere) {
  // Guards against a wrong testdata path silently running no case.
  EXPECT_GE(golden::Cases(kDir).size(), 15u);
}

TEST(LintGoldenFiles, WithoutAWarningFunctionNothingIsChecked) {
  // error=true fails only because a check reported; with no one to report to, none runs.
  ConvertOptions o;
  o.build_platform = registry::Platform{"linux", "amd64", "", "", {}};
  auto r = Dockerfile2LLB("# check=error=true\nFROM scratch\nCMD echo hi\n", o);
  EXPECT_TRUE(r.ok()) << r.status().message();
}

}  // namespace
}  // namespace kiln::dockerfile
