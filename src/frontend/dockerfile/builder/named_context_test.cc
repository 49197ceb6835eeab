// Named contexts of the oci-layout:// and input: kinds, against a scripted bridge: the states
// they produce (as the daemon's sources read them), the configs, and the errors as BuildKit's.
#include "frontend/dockerfile/builder/named_context.h"

#include <gtest/gtest.h>

#include "llb/definition.h"
#include "util/base64.h"

namespace kiln::dockerfile {
namespace {

constexpr char kConfig[] =
    R"({"architecture":"amd64","os":"linux","config":{"Env":["foo=bar"],"WorkingDir":"/test"},)"
    R"("rootfs":{"type":"layers","diff_ids":[]}})";

class FakeBridge final : public frontend::FrontendLLBBridge {
 public:
  Result<frontend::SolveResult> Solve(const Context&, const pb::Definition&) override {
    return frontend::SolveResult{};
  }
  Result<frontend::SolveResult> SolveFrontend(const Context&, const std::string&,
                                              const std::map<std::string, std::string>&,
                                              const frontend::Inputs&) override {
    return Unimplemented("no frontends");
  }
  Result<std::string> ReadFile(const Context&, const solver::OpResultPtr&, const std::string&,
                               int64_t, int64_t) override {
    return NotFound("no files");
  }
  Result<frontend::ResolvedImageConfig> ResolveImageConfig(
      const Context&, const std::string& ref,
      const frontend::ResolveImageConfigOptions& opts) override {
    resolved.push_back(ref);
    last = opts;
    if (!answer.ok()) return answer.status();
    return *answer;
  }
  std::string session_id() const override { return "sess-1"; }
  Status WithProgress(const std::string& name, const std::function<Status()>& body) override {
    progress.push_back(name);
    return body();
  }

  Result<frontend::ResolvedImageConfig> answer =
      frontend::ResolvedImageConfig{"sha256:" + std::string(64, 'a'), kConfig};
  std::vector<std::string> resolved;
  std::vector<std::string> progress;
  frontend::ResolveImageConfigOptions last;
};

const std::string kDigest = "sha256:" + std::string(64, 'a');

class NamedContextTest : public ::testing::Test {
 protected:
  Result<std::optional<NamedContext>> Load(const std::string& name) {
    NamedContexts nc(ctx_, bridge_, opts_, inputs_, nullptr);
    return nc.Load(name, registry::Platform{"linux", "amd64", "", "", {}});
  }
  // The source op that produces `st`.
  pb::SourceOp SourceOf(const llb::State& st) {
    auto def = st.Marshal();
    EXPECT_TRUE(def.ok());
    auto loaded = llb::LoadDefinition(*def);
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    return loaded->ops.at(loaded->root).op.source();
  }

  Context ctx_ = Context::Background();
  FakeBridge bridge_;
  std::map<std::string, std::string> opts_;
  frontend::Inputs inputs_;
};

TEST_F(NamedContextTest, OCILayoutIsAnOCILayoutSourceOfTheClientsStore) {
  opts_["context:base"] = "oci-layout://ocione@" + kDigest;
  auto nc = Load("base");
  ASSERT_TRUE(nc.ok()) << nc.status().ToString();
  ASSERT_TRUE(nc->has_value());
  pb::SourceOp src = SourceOf((*nc)->state);
  EXPECT_EQ(src.identifier(), "oci-layout://docker.io/library/base@" + kDigest);
  EXPECT_EQ(src.attrs().at("oci.session"), "sess-1");
  EXPECT_EQ(src.attrs().at("oci.store"), "ocione");
  EXPECT_EQ((*nc)->config, std::string(kConfig));
  // The config was asked of the layout, not of a registry.
  ASSERT_EQ(bridge_.resolved.size(), 1u);
  EXPECT_EQ(bridge_.resolved[0], "docker.io/library/base@" + kDigest);
  EXPECT_TRUE(bridge_.last.oci_layout);
  EXPECT_EQ(bridge_.last.store_id, "ocione");
  EXPECT_EQ(bridge_.last.session_id, "sess-1");
  ASSERT_TRUE(bridge_.last.platform.has_value());
  EXPECT_EQ(bridge_.last.platform->architecture(), "amd64");
  EXPECT_EQ(bridge_.progress,
            std::vector<std::string>{"[context base] load metadata for docker.io/library/base@" +
                                     kDigest});
}

TEST_F(NamedContextTest, OCILayoutWithoutSlashesAndWithATag) {
  opts_["context:foo"] = "oci-layout:store/x:v1@" + kDigest;
  auto nc = Load("foo");
  ASSERT_TRUE(nc.ok()) << nc.status().ToString();
  EXPECT_EQ(bridge_.last.store_id, "store/x");
  EXPECT_EQ(SourceOf((*nc)->state).attrs().at("oci.store"), "store/x");
}

TEST_F(NamedContextTest, OCILayoutNeedsADigest) {
  opts_["context:base"] = "oci-layout://ocione:latest";
  auto nc = Load("base");
  ASSERT_FALSE(nc.ok());
  EXPECT_EQ(nc.status().message(), "oci-layout reference \"ocione:latest\" has no digest");
  EXPECT_TRUE(bridge_.resolved.empty());
}

TEST_F(NamedContextTest, OCILayoutBadReferenceNamesIt) {
  opts_["context:base"] = "oci-layout://Bad@" + kDigest;
  auto nc = Load("base");
  ASSERT_FALSE(nc.ok());
  EXPECT_NE(nc.status().message().find("could not parse oci-layout reference \"Bad@"),
            std::string::npos)
      << nc.status().message();
}

TEST_F(NamedContextTest, OCILayoutResolveErrorsReachTheUser) {
  opts_["context:base"] = "oci-layout://ocione@" + kDigest;
  bridge_.answer = NotFound("content " + kDigest + ": not found");
  auto nc = Load("base");
  ASSERT_FALSE(nc.ok());
  EXPECT_EQ(nc.status().code(), Code::kNotFound);
}

pb::Definition InputDefinition() {
  return *llb::FileOpBuilder(llb::State::Scratch()).Mkfile("/out", 0644, "x").Result().Marshal();
}

TEST_F(NamedContextTest, InputIsTheFrontendInputsDefinition) {
  inputs_["base"] = InputDefinition();
  opts_["context:base"] = "input:base";
  auto nc = Load("base");
  ASSERT_TRUE(nc.ok()) << nc.status().ToString();
  ASSERT_TRUE(nc->has_value());
  EXPECT_FALSE((*nc)->config.has_value());
  auto def = (*nc)->state.Marshal();
  ASSERT_TRUE(def.ok());
  auto want = llb::LoadDefinition(inputs_["base"]);
  auto got = llb::LoadDefinition(*def);
  ASSERT_TRUE(want.ok() && got.ok());
  EXPECT_EQ(got->root, want->root);
}

TEST_F(NamedContextTest, InputMetadataGivesTheImageConfig) {
  inputs_["in"] = InputDefinition();
  opts_["context:base"] = "input:in";
  opts_["input-metadata:in"] =
      R"({"containerimage.config":")" + Base64Encode(kConfig) + R"(","other":null})";
  auto nc = Load("base");
  ASSERT_TRUE(nc.ok()) << nc.status().ToString();
  EXPECT_EQ((*nc)->config, std::string(kConfig));
}

TEST_F(NamedContextTest, InputErrorsAsBuildKit) {
  opts_["context:base"] = "input:missing";
  auto nc = Load("base");
  ASSERT_FALSE(nc.ok());
  EXPECT_EQ(nc.status().message(), "invalid input missing for base");

  inputs_["in"] = InputDefinition();
  opts_["context:base"] = "input:in";
  opts_["input-metadata:in"] = "{not json";
  nc = Load("base");
  ASSERT_FALSE(nc.ok());
  EXPECT_EQ(nc.status().message(), "failed to parse input metadata {not json");

  opts_["input-metadata:in"] = R"({"containerimage.config":"!!"})";
  nc = Load("base");
  ASSERT_FALSE(nc.ok());
  EXPECT_EQ(nc.status().message(),
            R"(failed to parse input metadata {"containerimage.config":"!!"})");

  opts_["input-metadata:in"] = R"({"containerimage.config":")" + Base64Encode("[1]") + "\"}";
  nc = Load("base");
  ASSERT_FALSE(nc.ok());
  EXPECT_EQ(nc.status().message(), "failed to parse image config for base");
}

TEST_F(NamedContextTest, InputWithABrokenDefinitionIsAnError) {
  pb::Definition bad;
  bad.add_def("garbage");
  inputs_["in"] = bad;
  opts_["context:base"] = "input:in";
  auto nc = Load("base");
  ASSERT_FALSE(nc.ok());
  EXPECT_EQ(nc.status().code(), Code::kInvalidArgument);
  EXPECT_NE(nc.status().message().find("input in for base"), std::string::npos);
}

}  // namespace
}  // namespace kiln::dockerfile
