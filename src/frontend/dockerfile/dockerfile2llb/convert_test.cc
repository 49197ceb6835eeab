#include "frontend/dockerfile/dockerfile2llb/convert.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "llb/definition.h"
#include "util/digest.h"

namespace kiln::dockerfile {
namespace {

using ::testing::HasSubstr;

struct Ops {
  std::vector<pb::Op> ops;
  std::vector<std::string> names;  // llb.customname of each op, "" when unset
};

Ops Decode(const pb::Definition& def) {
  Ops out;
  for (const auto& bytes : def.def()) {
    pb::Op op;
    EXPECT_TRUE(op.ParseFromString(bytes));
    out.ops.push_back(op);
    std::string dgst = Digest::FromBytes(bytes).str();
    auto it = def.metadata().find(dgst);
    std::string name;
    if (it != def.metadata().end()) {
      auto d = it->second.description().find("llb.customname");
      if (d != it->second.description().end()) name = d->second;
    }
    out.names.push_back(name);
  }
  return out;
}

ConvertOptions Opts() {
  ConvertOptions o;
  o.session_id = "sess1";
  o.resolve_image = [](const std::string& ref, const registry::Platform&) -> Result<ResolvedImage> {
    if (ref == "docker.io/library/base:1") {
      return ResolvedImage{
          "sha256:" + std::string(64, 'a'),
          R"({"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/bin:/bin","FROMBASE=1"],"WorkingDir":"/home","OnBuild":["ENV TRIGGERED=yes"]},"rootfs":{"type":"layers","diff_ids":["sha256:bbbb"]}})"};
    }
    return NotFound("no image " + ref);
  };
  return o;
}

TEST(ConvertTest, ArgsAreInHistoryAndRunCarriesThem) {
  ConvertOptions o = Opts();
  o.build_args["B"] = "from-cli";
  auto r = Dockerfile2LLB(
      "FROM scratch AS base\nARG A=1\nARG B\nARG C\nENV A=env\nRUN echo hi\n"
      "FROM base\nRUN echo child\n",
      o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto cfg = nlohmann::json::parse(r->image_config);
  std::vector<std::string> got;
  for (const auto& h : cfg["history"]) got.push_back(h["created_by"]);
  EXPECT_EQ(got, (std::vector<std::string>{
                     "ARG A=1", "ARG B=from-cli", "ARG C", "ENV A=env",
                     "RUN |3 A=env B=from-cli C= /bin/sh -c echo hi # buildkit",
                     "RUN |3 A=env B=from-cli C= /bin/sh -c echo child # buildkit"}));
}

TEST(ConvertTest, HistoryTextsAreBuildKits) {
  auto r = Dockerfile2LLB(
      "FROM scratch\nWORKDIR /app\nEXPOSE 80 53/udp\nVOLUME /data /cache\n"
      "SHELL [\"/bin/sh\", \"-ec\"]\nHEALTHCHECK --interval=5s --retries=2 CMD true\n"
      "ONBUILD RUN echo child\nENTRYPOINT [\"/bin/app\", \"a b\"]\nCMD echo hi\n",
      Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto cfg = nlohmann::json::parse(r->image_config);
  std::vector<std::string> got;
  std::vector<bool> empty;
  for (const auto& h : cfg["history"]) {
    got.push_back(h["created_by"]);
    empty.push_back(h.value("empty_layer", false));
  }
  EXPECT_EQ(
      got,
      (std::vector<std::string>{
          "WORKDIR /app", "EXPOSE [53/udp 80/tcp]", "VOLUME [/data /cache]", "SHELL [/bin/sh -ec]",
          "HEALTHCHECK {Test:[CMD-SHELL true] Interval:5s Timeout:0s StartPeriod:0s "
          "StartInterval:0s Retries:2}",
          "ENTRYPOINT [\"/bin/app\" \"a b\"]", "CMD [\"/bin/sh\" \"-ec\" \"echo hi\"]"}));
  // WORKDIR's mkdir is a layer; the rest only change the config (ONBUILD writes no history).
  EXPECT_EQ(empty, (std::vector<bool>{false, true, true, true, true, true, true}));
}

TEST(ConvertTest, ScratchCopyEnvWorkdirAndConfig) {
  ConvertOptions o = Opts();
  o.context_excludes = {"*.log"};
  auto r = Dockerfile2LLB(
      "FROM scratch\nENV A=1 B=\"two words\"\nWORKDIR /app\nCOPY hello.txt ./\n"
      "CMD [\"/bin/hello\"]\nLABEL k=v\nEXPOSE 80\nUSER 1000:1000\n",
      o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto cfg = nlohmann::json::parse(r->image_config);
  // FROM scratch starts with BuildKit's default PATH.
  EXPECT_EQ(cfg["config"]["Env"],
            nlohmann::json({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                            "A=1", "B=two words"}));
  EXPECT_EQ(cfg["config"]["WorkingDir"], "/app");
  EXPECT_EQ(cfg["config"]["Cmd"], nlohmann::json({"/bin/hello"}));
  EXPECT_EQ(cfg["config"]["Labels"]["k"], "v");
  EXPECT_TRUE(cfg["config"]["ExposedPorts"].contains("80/tcp"));
  EXPECT_EQ(cfg["config"]["User"], "1000:1000");
  Ops ops = Decode(r->definition);
  bool local = false, copy = false;
  for (size_t i = 0; i < ops.ops.size(); i++) {
    const pb::Op& op = ops.ops[i];
    if (op.has_source() && op.source().identifier() == "local://context") {
      local = true;
      EXPECT_EQ(op.source().attrs().at("local.session"), "sess1");
      EXPECT_THAT(op.source().attrs().at("local.excludepatterns"), HasSubstr("*.log"));
    }
    if (op.has_file()) {
      for (const auto& a : op.file().actions()) {
        if (a.has_copy()) {
          copy = true;
          EXPECT_EQ(a.copy().src(), "/hello.txt");
          EXPECT_EQ(a.copy().dest(), "/app/");
          EXPECT_THAT(ops.names[i], HasSubstr("COPY hello.txt ./"));
        }
      }
    }
  }
  EXPECT_TRUE(local);
  EXPECT_TRUE(copy);
}

TEST(ConvertTest, WorkdirIsCreatedAsTheStagesUser) {
  auto r = Dockerfile2LLB(
      "FROM scratch\nWORKDIR /root-owned\nUSER app:staff\nWORKDIR /app\n"
      "USER 1000\nWORKDIR /num\n",
      Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  Ops ops = Decode(r->definition);
  std::map<std::string, pb::FileActionMkDir> mkdirs;
  for (const auto& op : ops.ops) {
    if (!op.has_file()) continue;
    for (const auto& a : op.file().actions()) {
      if (a.has_mkdir()) mkdirs[a.mkdir().path()] = a.mkdir();
    }
  }
  ASSERT_EQ(mkdirs.size(), 3u);
  EXPECT_FALSE(mkdirs["/root-owned"].has_owner());
  EXPECT_EQ(mkdirs["/app"].owner().user().byname().name(), "app");
  EXPECT_EQ(mkdirs["/app"].owner().group().byname().name(), "staff");
  EXPECT_EQ(mkdirs["/num"].owner().user().byid(), 1000u);
  EXPECT_EQ(mkdirs["/num"].owner().group().byid(), 1000u);
}

TEST(ConvertTest, CacheMountOptionsReachTheExecOp) {
  auto r = Dockerfile2LLB(
      "FROM scratch AS seed\nFROM scratch\n"
      "RUN --mount=type=cache,target=/c,uid=1000,gid=1001,mode=0750 true\n"
      "RUN --mount=type=cache,target=/d,from=seed,source=/s,ro true\n",
      Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  Ops ops = Decode(r->definition);
  std::map<std::string, pb::Mount> caches;
  bool perm_dir = false;
  for (const auto& op : ops.ops) {
    if (op.has_exec()) {
      for (const auto& m : op.exec().mounts()) {
        if (m.mounttype() == pb::CACHE) caches[m.dest()] = m;
      }
    }
    if (op.has_file()) {
      for (const auto& a : op.file().actions()) {
        if (a.has_mkdir() && a.mkdir().path() == "/cache") {
          perm_dir = a.mkdir().mode() == 0750 && a.mkdir().owner().user().byid() == 1000 &&
                     a.mkdir().owner().group().byid() == 1001;
        }
      }
    }
  }
  ASSERT_EQ(caches.size(), 2u);
  EXPECT_EQ(caches["/c"].selector(), "/cache");
  EXPECT_GE(caches["/c"].input(), 0);
  EXPECT_FALSE(caches["/c"].readonly());
  EXPECT_TRUE(perm_dir);
  EXPECT_EQ(caches["/d"].selector(), "/s");
  EXPECT_TRUE(caches["/d"].readonly());
}

TEST(ConvertTest, OnlyStagesTheTargetNeedsAreBuilt) {
  auto r = Dockerfile2LLB(
      "FROM scratch AS unused\nRUN echo never\n"
      "FROM scratch AS build\nRUN echo built > /out\n"
      "FROM scratch\nCOPY --from=build /out /out\n",
      Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  Ops ops = Decode(r->definition);
  std::string all;
  for (const auto& op : ops.ops) {
    if (op.has_exec()) all += op.exec().meta().args(2) + ";";
  }
  EXPECT_EQ(all, "echo built > /out;");
  bool named = false;
  for (const auto& n : ops.names)
    named = named || n.find("[build 1/1] RUN echo built > /out") != std::string::npos;
  EXPECT_TRUE(named);
}

TEST(ConvertTest, ArgsExpandInFromAndStagesAndBuildArgsOverride) {
  ConvertOptions o = Opts();
  o.build_args = {{"TAG", "1"}, {"GREETING", "hi"}};
  auto r = Dockerfile2LLB(
      "ARG TAG=0\nFROM base:${TAG}\nARG GREETING=hello\nARG TARGETARCH\n"
      "RUN echo $GREETING $TARGETARCH\nENV G=$GREETING-$TARGETARCH\n",
      o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto cfg = nlohmann::json::parse(r->image_config);
  auto env = cfg["config"]["Env"];
  EXPECT_THAT(env.dump(), HasSubstr("G=hi-amd64"));
  EXPECT_THAT(env.dump(), HasSubstr("FROMBASE=1"));
  EXPECT_THAT(env.dump(), HasSubstr("TRIGGERED=yes"));  // the base image's ONBUILD ran
  EXPECT_FALSE(cfg["config"].contains("OnBuild"));
  EXPECT_EQ(cfg["config"]["WorkingDir"], "/home");
  Ops ops = Decode(r->definition);
  bool image = false, run = false;
  for (const auto& op : ops.ops) {
    if (op.has_source() && op.source().identifier().rfind("docker-image://", 0) == 0) {
      image = true;
      EXPECT_EQ(op.source().identifier(),
                "docker-image://docker.io/library/base:1@sha256:" + std::string(64, 'a'));
    }
    if (op.has_exec()) {
      run = true;
      const auto& m = op.exec().meta();
      std::vector<std::string> e(m.env().begin(), m.env().end());
      EXPECT_THAT(e, ::testing::Contains("GREETING=hi"));  // ARG values reach RUN
      EXPECT_EQ(m.cwd(), "/home");
      EXPECT_EQ(m.args(0), "/bin/sh");
    }
  }
  EXPECT_TRUE(image);
  EXPECT_TRUE(run);
  // ARGs are not part of the image config.
  EXPECT_THAT(env.dump(), ::testing::Not(HasSubstr("GREETING=")));
}

TEST(ConvertTest, ErrorsNameTheDockerfileAndLine) {
  SourceRange range;
  auto r = Dockerfile2LLB("FROM scratch\n\nCOPY --fro=x a b\n", Opts(), &range);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "Dockerfile:3: unknown flag: --fro (did you mean from?)");
  EXPECT_EQ(range.start, 3);
  r = Dockerfile2LLB("FROM scratch\nRUNN x\n", Opts(), &range);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("line 2"));
  ConvertOptions o = Opts();
  o.target = "nope";
  r = Dockerfile2LLB("FROM scratch AS a\n", o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("target stage \"nope\" could not be found"));
  r = Dockerfile2LLB("FROM missing:1\n", Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("Dockerfile:1: missing:1: no image docker.io/library/missing:1"));
  r = Dockerfile2LLB("FROM scratch\nCOPY a\n", Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("COPY requires at least two arguments"));
}

TEST(ConvertTest, RunMountsAndModes) {
  auto r = Dockerfile2LLB(
      "FROM scratch\nRUN --mount=type=cache,target=/root/.cache,sharing=locked "
      "--mount=type=secret,id=tok --network=none make\n",
      Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  Ops ops = Decode(r->definition);
  bool cache = false, secret = false;
  for (const auto& op : ops.ops) {
    if (!op.has_exec()) continue;
    EXPECT_EQ(op.exec().network(), pb::NONE);
    for (const auto& m : op.exec().mounts()) {
      if (m.mounttype() == pb::CACHE) {
        cache = true;
        EXPECT_EQ(m.dest(), "/root/.cache");
        EXPECT_EQ(m.cacheopt().sharing(), pb::LOCKED);
      }
      if (m.mounttype() == pb::SECRET) {
        secret = true;
        EXPECT_EQ(m.dest(), "/run/secrets/tok");
        EXPECT_EQ(m.secretopt().id(), "tok");
      }
    }
  }
  EXPECT_TRUE(cache);
  EXPECT_TRUE(secret);
  auto bad = Dockerfile2LLB("FROM scratch\nRUN --mount=type=nfs,target=/x true\n", Opts());
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("unsupported mount type \"nfs\""));
}

TEST(ConvertTest, HeredocRunAndBadInputsAreErrorsNotCrashes) {
  auto r = Dockerfile2LLB("FROM scratch\nRUN <<EOF\necho one\necho two\nEOF\n", Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  bool found = false;
  for (const auto& op : Decode(r->definition).ops) {
    if (op.has_exec()) found = op.exec().meta().args(2) == "echo one\necho two\n";
  }
  EXPECT_TRUE(found);
  for (const char* bad :
       {"FROM scratch\nCOPY --chown=99999999999999999999 a /b\n",
        "FROM scratch\nCOPY --chmod=9z a /b\n", "FROM scratch\nRUN --mount=type=cache true\n",
        "FROM scratch\nHEALTHCHECK --interval=xs CMD true\n",
        "FROM scratch\nCOPY --from=99999999999 a /b\n", "FROM a AS x\nFROM x AS a\n",
        "FROM scratch\nRUN --network=moon true\n"}) {
    auto res = Dockerfile2LLB(bad, Opts());
    if (res.ok()) continue;  // some are fine (a name that is no image fails later)
    EXPECT_THAT(res.status().message(), HasSubstr("Dockerfile:")) << bad;
  }
}

// Every golden Dockerfile of the parser tests, and mutations of it, converts or fails cleanly.
TEST(ConvertTest, MutatedDockerfilesNeverCrash) {
  std::vector<std::string> inputs;
  for (const auto& e : std::filesystem::directory_iterator(KILN_DOCKERFILE_TESTDATA)) {
    if (e.path().extension() != ".Dockerfile") continue;
    std::ifstream in(e.path(), std::ios::binary);
    inputs.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ASSERT_FALSE(inputs.empty());
  std::mt19937 rng(7);
  const std::string alphabet = "FROMRUNCOPY$:{}-=/\\\n \"'<>[]0123abc#";
  int converted = 0;
  for (const auto& base : inputs) {
    for (int i = 0; i < 200; i++) {
      std::string m = base;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < edits && !m.empty(); k++) {
        size_t pos = rng() % m.size();
        switch (rng() % 3) {
          case 0:
            m[pos] = alphabet[rng() % alphabet.size()];
            break;
          case 1:
            m.insert(pos, 1, alphabet[rng() % alphabet.size()]);
            break;
          default:
            m.erase(pos, 1 + rng() % 8);
            break;
        }
      }
      auto r = Dockerfile2LLB(m, Opts());
      if (r.ok()) converted++;
    }
  }
  EXPECT_GT(converted, 0);
}

}  // namespace
}  // namespace kiln::dockerfile

namespace kiln::dockerfile {
namespace {

// As BuildKit: a stage that a named context with an image config replaces is for the platform
// of that image, and so are the stages built FROM it.
TEST(NamedContextPlatformTest, AReplacedStageTakesItsImagesPlatform) {
  ConvertOptions o;
  o.target_platform = registry::Platform{"linux", "amd64", "", "", {}};
  o.named_context = [](const std::string& name,
                       const registry::Platform&) -> Result<std::optional<NamedContext>> {
    if (name != "base") return std::optional<NamedContext>();
    NamedContext nc;
    nc.state = llb::State::Image("docker.io/library/busybox:latest", "linux/arm64");
    nc.config =
        R"({"os":"linux","architecture":"arm64","variant":"v8",)"
        R"("rootfs":{"type":"layers","diff_ids":["sha256:)" +
        std::string(64, 'a') + R"("]},"config":{}})";
    return std::optional<NamedContext>(std::move(nc));
  };
  auto r = Dockerfile2LLB("FROM scratch AS base\nFROM base\nRUN true\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  int execs = 0;
  for (const auto& d : r->definition.def()) {
    pb::Op op;
    ASSERT_TRUE(op.ParseFromString(d));
    if (!op.has_exec()) continue;
    execs++;
    EXPECT_EQ(op.platform().architecture(), "arm64");
    EXPECT_EQ(op.platform().variant(), "v8");
  }
  EXPECT_EQ(execs, 1);
}

}  // namespace
}  // namespace kiln::dockerfile
