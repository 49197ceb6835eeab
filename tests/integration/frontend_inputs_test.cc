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
    KILN_ASSIGN_OR_RETURN(auto channel, client::Dial(daemon_.addr()));
    auto control = moby::buildkit::v1::Control::NewStub(channel);
    auto bridge = moby::buildkit::v1::frontend::LLBBridge::NewStub(channel);
    return client::Build(Context::Background(), control.get(), bridge.get(), req, nullptr);
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

INSTANTIATE_TEST_SUITE_P(Flows, FrontendInputsTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "FrontendInSolve" : "ClientSideGateway";
                         });

}  // namespace
}  // namespace kiln::itest
