// Dockerfile build checks end to end: the real kilnd runs the built-in frontend, whose warnings
// reach kilnctl in the Status stream (VertexWarning, attached to the vertex that loaded the
// Dockerfile, with the source and lines); kilnctl shows them in the progress and prints them
// after it. `# check=error=true` fails the build after them; the frontend.lint subrequest checks
// without building. Only FROM scratch: no registry needed.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"

namespace kiln::itest {
namespace {

class DockerfileLintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(daemon_.Start()) << daemon_.Log();
    ctx_ = MakeTempDir("kiln-lint-ctx");
    out_ = MakeTempDir("kiln-lint-out");
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- kilnd log ----\n" << daemon_.Log() << "\n";
    std::filesystem::remove_all(ctx_);
    std::filesystem::remove_all(out_);
  }

  RunResult Build(const std::vector<std::string>& extra, const std::string& progress = "plain",
                  bool output = true) {
    std::vector<std::string> args = {
        "build",   "--progress=" + progress, "--frontend", "dockerfile.v0",
        "--local", "context=" + ctx_,        "--local",    "dockerfile=" + ctx_};
    if (output) {
      args.push_back("--output");
      args.push_back("type=local,dest=" + out_);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return daemon_.Kilnctl(args);
  }

  Daemon daemon_;
  std::string ctx_, out_;
};

const char* kWarned =
    "FROM scratch\n"
    "COPY a.txt /\n"
    "CMD echo hi\n"
    "ENV A 1\n";

const char* kJsonArgs =
    "JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior "
    "related to OS signals (line 3)";

TEST_F(DockerfileLintTest, WarningsArriveInTheStatusStreamAndArePrintedAfterTheBuild) {
  WriteFile(ctx_ + "/Dockerfile", kWarned);
  WriteFile(ctx_ + "/a.txt", "a\n");
  for (bool in_solve : {false, true}) {
    SCOPED_TRACE(in_solve ? "frontend in Solve" : "LLBBridge flow");
    std::vector<std::string> extra;
    if (in_solve) extra.push_back("--frontend-in-solve");
    auto r = Build(extra);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(ReadFile(out_ + "/a.txt"), "a\n");
    // After the progress, as buildx --debug prints them. (The plain progress shows "#N WARN:"
    // only if the Dockerfile's vertex is printed again after the warning came, as buildctl; the
    // rawjson test below checks the stream itself.)
    EXPECT_NE(r.err.find(std::string("\n 2 warnings found:\n - ") + kJsonArgs +
                         "\nJSON arguments recommended for ENTRYPOINT/CMD to prevent unintended "
                         "behavior related to OS signals\n"
                         "More info: https://docs.docker.com/go/dockerfile/rule/"
                         "json-args-recommended/\n"
                         "Dockerfile:3\n--------------------\n"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find(" - LegacyKeyValueFormat: \"ENV key=value\" should be used instead of "
                         "legacy \"ENV key value\" format (line 4)\n"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("   4 | >>> ENV A 1\n"), std::string::npos) << r.err;
  }
}

TEST_F(DockerfileLintTest, WarningsNameTheDockerfileVertexAndCarryTheSource) {
  WriteFile(ctx_ + "/Dockerfile", kWarned);
  WriteFile(ctx_ + "/a.txt", "a\n");
  auto r = Build({}, "rawjson");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string load_vertex;
  std::vector<nlohmann::json> warnings;
  std::istringstream in(r.err);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    for (const auto& v : j.value("vertexes", nlohmann::json::array())) {
      if (v.value("name", "") == "[internal] load build definition from Dockerfile") {
        load_vertex = v.value("digest", "");
      }
    }
    for (const auto& w : j.value("warnings", nlohmann::json::array())) warnings.push_back(w);
  }
  ASSERT_EQ(warnings.size(), 2u) << r.err;
  ASSERT_FALSE(load_vertex.empty()) << r.err;
  EXPECT_EQ(warnings[0]["vertex"], load_vertex);
  EXPECT_EQ(warnings[0]["level"], 1);
  EXPECT_EQ(warnings[0]["url"],
            "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/");
  EXPECT_EQ(warnings[0]["sourceInfo"]["filename"], "Dockerfile");
  EXPECT_EQ(warnings[0]["sourceInfo"]["language"], "Dockerfile");
  EXPECT_EQ(warnings[0]["range"][0]["start"]["line"], 3);
  EXPECT_EQ(warnings[1]["range"][0]["end"]["line"], 4);
  // The rawjson printer prints no summary: the stream is the output.
  EXPECT_EQ(r.err.find("warnings found"), std::string::npos);
}

TEST_F(DockerfileLintTest, ErrorTrueFailsTheBuildAfterTheWarnings) {
  WriteFile(ctx_ + "/Dockerfile", std::string("# check=error=true\n") + kWarned);
  WriteFile(ctx_ + "/a.txt", "a\n");
  auto r = Build({});
  EXPECT_NE(r.exit_code, 0);
  size_t summary = r.err.find(" 2 warnings found:");
  size_t error =
      r.err.find("lint violation found for rules: JSONArgsRecommended, LegacyKeyValueFormat");
  EXPECT_NE(summary, std::string::npos) << r.err;
  EXPECT_NE(error, std::string::npos) << r.err;
  EXPECT_LT(summary, error) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out_ + "/a.txt"));

  // The build arg replaces the directive.
  r = Build({"--opt", "build-arg:BUILDKIT_DOCKERFILE_CHECK=skip=all"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("warnings found"), std::string::npos) << r.err;
  r = Build({"--opt", "build-arg:BUILDKIT_DOCKERFILE_CHECK=skip"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK: invalid check "
                       "option \"skip\""),
            std::string::npos)
      << r.err;
}

TEST_F(DockerfileLintTest, TheLintSubrequestChecksWithoutBuilding) {
  // The unused stage is checked too, and its RUN never runs (it would fail).
  WriteFile(ctx_ + "/Dockerfile",
            "FROM scratch AS unused\nRUN exit 1\nCMD echo unused\n"
            "FROM scratch\nCMD [\"ok\"]\n");
  auto r = Build({"--opt", "requestid=frontend.lint"}, "plain", /*output=*/false);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("\nWARNING: JSONArgsRecommended - "
                       "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/\n"
                       "JSON arguments recommended for CMD to prevent unintended behavior related "
                       "to OS signals\nDockerfile:3\n"),
            std::string::npos)
      << r.out << r.err;
  EXPECT_EQ(r.err.find("RUN exit 1"), std::string::npos) << r.err;

  WriteFile(ctx_ + "/Dockerfile", "FROM scratch\nCMD [\"ok\"]\n");
  r = Build({"--opt", "requestid=frontend.lint"}, "plain", /*output=*/false);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "");

  r = Build({"--opt", "requestid=frontend.nothing"}, "plain", /*output=*/false);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unsupported request frontend.nothing"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kiln::itest
