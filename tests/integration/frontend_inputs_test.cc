// Frontend inputs end to end (SolveRequest.FrontendInputs): a C++ client hands the Dockerfile
// frontend a definition as input "base" with its image config as input-metadata:base, and the
// Dockerfile builds FROM it (context:base=input:base), as BuildKit's testNamedInputContext.
// Neither kilnctl nor buildctl has a flag for inputs, so this drives kiln's client library,
// through both flows: the frontend named in Control.Solve and the client-side LLBBridge one.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "client/build.h"
#include "client/connection.h"
#include "client/dockerfile_input.h"
#include "harness.h"
#include "llb/builder.h"
#include "registry_fixture.h"
#include "util/base64.h"

namespace kiln::itest {
namespace {

class FrontendInputsTest : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() {
    registry_ = new RegistryFixture();
    if (registry_->StartPlainWithImages({"busybox"}).is_discarded()) {
      setup_error_ = registry_->error();
    }
  }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    ASSERT_TRUE(daemon_.Start()) << daemon_.Log();
    dir_ = MakeTempDir("kiln-inputs");
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- kilnd log ----\n" << daemon_.Log() << "\n";
    std::filesystem::remove_all(dir_);
  }

  Result<client::BuildResponse> Build(client::BuildRequest req) {
    KILN_ASSIGN_OR_RETURN(auto conn, client::Dial(daemon_.addr()));
    return client::Build(Context::Background(), *conn, req, nullptr);
  }

  client::BuildRequest Request(const std::string& dockerfile) {
    WriteFile(dir_ + "/df/Dockerfile", dockerfile);
    std::filesystem::create_directories(dir_ + "/ctx");
    client::BuildRequest req;
    req.frontend = "dockerfile.v0";
    req.frontend_in_solve = GetParam();
    req.local_dirs = {{"context", dir_ + "/ctx"}, {"dockerfile", dir_ + "/df"}};
    req.exports = {client::ExportEntry{"local", {}, dir_ + "/out", ""}};
    return req;
  }

  static RegistryFixture* registry_;
  static std::string setup_error_;
  Daemon daemon_;
  std::string dir_;
};

RegistryFixture* FrontendInputsTest::registry_ = nullptr;
std::string FrontendInputsTest::setup_error_;

TEST_P(FrontendInputsTest, DockerfileBuildsFromAnInputWithItsConfig) {
  // The input: busybox with /out written, as another build's result would be.
  llb::State base = llb::FileOpBuilder(llb::State::Image(registry_->host() + "/busybox"))
                        .Mkfile("/out", 0644, "first\n")
                        .Result("write /out");
  auto def = base.Marshal();
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  nlohmann::json config = {{"architecture", "amd64"},
                           {"os", "linux"},
                           {"config", {{"Env", {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "FOO=bar"}}}},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", nlohmann::json::array()}}}};
  nlohmann::json metadata = {{"containerimage.config", Base64Encode(config.dump())}};

  client::BuildRequest req = Request(
      "FROM base AS build\n"
      "RUN echo \"foo is $FOO\" > /foo\n"
      "FROM scratch\n"
      "COPY --from=build /foo /out /\n");
  req.frontend_attrs = {{"context:base", "input:base"}, {"input-metadata:base", metadata.dump()}};
  req.frontend_inputs = {{"base", *def}};
  auto r = Build(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadFile(dir_ + "/out/out"), "first\n");
  EXPECT_EQ(ReadFile(dir_ + "/out/foo"), "foo is bar\n");
}

TEST_P(FrontendInputsTest, AMissingInputIsBuildKitsError) {
  client::BuildRequest req = Request("FROM base\n");
  req.frontend_attrs = {{"context:base", "input:base"}};
  auto r = Build(req);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("invalid input base for base"), std::string::npos)
      << r.status().ToString();
}

// The Dockerfile from the input named "dockerfile" (what buildx sends for `-f -`, kilnctl for
// any small Dockerfile), with the .dockerignore beside it, instead of the session's local.
TEST_P(FrontendInputsTest, TheDockerfileInputStandsInForTheLocal) {
  client::BuildRequest req = Request("FROM scratch\nCOPY . /from-local/\n");
  WriteFile(dir_ + "/ctx/a.txt", "a\n");
  WriteFile(dir_ + "/ctx/b.txt", "b\n");
  WriteFile(dir_ + "/ctx/.dockerignore", "a.txt\n");  // what the local flow would use
  auto def = llb::FileOpBuilder(llb::State::Scratch())
                 .Mkfile("/Dockerfile", 0644, "FROM scratch\nCOPY . /from-input/\n")
                 .Mkfile("/Dockerfile.dockerignore", 0644, "b.txt\n.dockerignore\n")
                 .Result("[internal] load build definition from Dockerfile")
                 .Marshal();
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  req.frontend_inputs = {{"dockerfile", *def}};
  auto r = Build(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/out/from-local"));
  EXPECT_EQ(ReadFile(dir_ + "/out/from-input/a.txt"), "a\n");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/out/from-input/b.txt"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/out/from-input/.dockerignore"));

  // dockerfilekey names the local to read and so sets the input aside, as in BuildKit.
  req.frontend_attrs["dockerfilekey"] = "dockerfile";
  std::filesystem::remove_all(dir_ + "/out");
  r = Build(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/out/from-input"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/out/from-local/a.txt"));
  EXPECT_EQ(ReadFile(dir_ + "/out/from-local/b.txt"), "b\n");
}

// kilnctl's request (client::InlineDockerfile) builds what the session's local would.
TEST_P(FrontendInputsTest, AnInlinedDockerfileBuildsAsTheLocalOne) {
  client::BuildRequest req = Request("FROM scratch\nCOPY . /all/\n");
  WriteFile(dir_ + "/ctx/keep.txt", "keep\n");
  WriteFile(dir_ + "/ctx/.env", "secret\n");
  WriteFile(dir_ + "/ctx/.dockerignore", ".env\n");
  for (bool inline_it : {false, true}) {
    client::BuildRequest r = req;
    if (inline_it) {
      auto done = client::InlineDockerfile(r);
      ASSERT_TRUE(done.ok() && *done);
    }
    std::filesystem::remove_all(dir_ + "/out");
    auto res = Build(r);
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(ReadFile(dir_ + "/out/all/keep.txt"), "keep\n") << inline_it;
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/out/all/.env")) << inline_it;
    EXPECT_TRUE(std::filesystem::exists(dir_ + "/out/all/.dockerignore")) << inline_it;
  }
}

// A lower-case "dockerfile" is read when there is no "Dockerfile" (moby/moby#10858).
TEST_P(FrontendInputsTest, ALowerCaseDockerfileIsFound) {
  client::BuildRequest req = Request("");
  std::filesystem::remove(dir_ + "/df/Dockerfile");
  WriteFile(dir_ + "/df/dockerfile", "FROM scratch\nCOPY a.txt /\n");
  WriteFile(dir_ + "/ctx/a.txt", "a\n");
  auto r = Build(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadFile(dir_ + "/out/a.txt"), "a\n");
}

INSTANTIATE_TEST_SUITE_P(Flows, FrontendInputsTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "FrontendInSolve" : "ClientSideGateway";
                         });

}  // namespace
}  // namespace kiln::itest
