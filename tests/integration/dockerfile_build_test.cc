// The built-in Dockerfile frontend (dockerfile.v0) end to end: kilnctl's client-side flow over
// LLBBridge and the frontend named in Control.Solve, FROM an image in Debian's docker-registry
// on 127.0.0.1, RUN through runc, COPY from the context and from another stage, .dockerignore,
// build args, config instructions seen by later steps, and errors that point at the line.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "harness.h"
#include "registry_fixture.h"

namespace kiln::itest {
namespace {

class DockerfileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new RegistryFixture();
    ASSERT_TRUE(registry_->Start(RegistryMode::kPlain)) << registry_->error();
    auto images = registry_->PushFixtureImages({"busybox"});
    ASSERT_FALSE(images.is_discarded()) << registry_->error();
  }
  static void TearDownTestSuite() { delete registry_; }

  void SetUp() override {
    ASSERT_NE(registry_, nullptr);
    ASSERT_TRUE(daemon_.Start()) << daemon_.Log();
    ctx_ = MakeTempDir("kiln-df-ctx");
    out_ = MakeTempDir("kiln-df-out");
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- kilnd log ----\n" << daemon_.Log() << "\n";
    std::filesystem::remove_all(ctx_);
    std::filesystem::remove_all(out_);
  }

  std::string Busybox() const { return registry_->host() + "/busybox:latest"; }

  RunResult Build(const std::vector<std::string>& extra, bool in_solve = false) {
    std::vector<std::string> args = {
        "build",    "--progress=plain",       "--frontend", "dockerfile.v0",
        "--local",  "context=" + ctx_,        "--local",    "dockerfile=" + ctx_,
        "--output", "type=local,dest=" + out_};
    if (in_solve) args.push_back("--frontend-in-solve");
    args.insert(args.end(), extra.begin(), extra.end());
    return daemon_.Kilnctl(args);
  }

  static RegistryFixture* registry_;
  Daemon daemon_;
  std::string ctx_, out_;
};

RegistryFixture* DockerfileTest::registry_ = nullptr;

TEST_F(DockerfileTest, MultiStageBuildWithRunCopyArgsAndDockerignore) {
  WriteFile(ctx_ + "/Dockerfile",
            "# syntax=docker/dockerfile:1\n"
            "ARG BASE=" +
                Busybox() +
                "\n"
                "FROM $BASE AS build\n"
                "ARG GREETING=hello\n"
                "WORKDIR /work\n"
                "COPY app/ ./app/\n"
                "RUN echo \"$GREETING from $(cat app/name.txt)\" > /work/greeting.txt && ls app > "
                "/work/listing.txt\n"
                "FROM scratch\n"
                "COPY --from=build /work/greeting.txt /work/listing.txt /out/\n"
                "COPY top.txt /\n"
                "ENV MODE=release\n"
                "CMD [\"/bin/app\"]\n");
  WriteFile(ctx_ + "/.dockerignore", "app/secret.txt\n");
  WriteFile(ctx_ + "/app/name.txt", "kiln");
  WriteFile(ctx_ + "/app/secret.txt", "do not send");
  WriteFile(ctx_ + "/top.txt", "top\n");
  auto r = Build({"--opt", "build-arg:GREETING=hi"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(out_ + "/out/greeting.txt"), "hi from kiln\n");
  // .dockerignore kept secret.txt out of the context.
  EXPECT_EQ(ReadFile(out_ + "/out/listing.txt"), "name.txt\n");
  EXPECT_EQ(ReadFile(out_ + "/top.txt"), "top\n");
  EXPECT_NE(r.err.find("[build 4/4] RUN echo"), std::string::npos) << r.err;

  // The same build again is fully cached; the frontend named in Control.Solve (older buildctl)
  // gives the same files.
  std::filesystem::remove_all(out_);
  auto again = Build({"--opt", "build-arg:GREETING=hi"}, true);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(ReadFile(out_ + "/out/greeting.txt"), "hi from kiln\n");
  EXPECT_NE(again.err.find("CACHED"), std::string::npos) << again.err;
}

TEST_F(DockerfileTest, EnvWorkdirUserAndShellReachLaterSteps) {
  WriteFile(ctx_ + "/Dockerfile", "FROM " + Busybox() +
                                      "\nENV A=1 B=\"two words\"\nWORKDIR /srv\n"
                                      "RUN mkdir -m 777 /out\nUSER kiln\n"
                                      "SHELL [\"/bin/sh\", \"-ec\"]\n"
                                      "RUN id -u > /out/uid && echo \"$A|$B|$(pwd)\" > /out/env\n"
                                      "WORKDIR /mine\n"
                                      "RUN touch ok && stat -c %u . > /out/wd_uid\n");
  auto r = Build({});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(out_ + "/out/uid"), "1000\n");
  EXPECT_EQ(ReadFile(out_ + "/out/env"), "1|two words|/srv\n");
  // WORKDIR after USER creates the directory as that user, who can write into it.
  EXPECT_EQ(ReadFile(out_ + "/out/wd_uid"), "1000\n");
}

TEST_F(DockerfileTest, CacheMountOwnerModeSeedAndReadOnly) {
  WriteFile(ctx_ + "/Dockerfile",
            "FROM " + Busybox() +
                " AS seed\n"
                "RUN mkdir /seed && echo seeded > /seed/seed.txt\n"
                "FROM " +
                Busybox() +
                "\n"
                "RUN mkdir -m 777 /out\n"
                "RUN --mount=type=cache,id=perm,target=/c,uid=1000,gid=1001,mode=0750 "
                "stat -c '%u:%g %a' /c > /out/perm\n"
                "RUN --mount=type=cache,id=seeded,target=/d,from=seed,source=/seed "
                "cat /d/seed.txt > /out/seeded\n"
                "RUN --mount=type=cache,id=ro,target=/r,ro "
                "(touch /r/x 2>/dev/null && echo rw || echo ro) > /out/ro\n");
  auto r = Build({});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(out_ + "/out/perm"), "1000:1001 750\n");
  EXPECT_EQ(ReadFile(out_ + "/out/seeded"), "seeded\n");
  EXPECT_EQ(ReadFile(out_ + "/out/ro"), "ro\n");
}

TEST_F(DockerfileTest, UnsupportedFrontendOptionsAreErrorsNotSilentDifferences) {
  WriteFile(ctx_ + "/Dockerfile", "FROM scratch\nCOPY top.txt /\n");
  WriteFile(ctx_ + "/top.txt", "top\n");
  auto r = Build({"--opt", "platform=linux/amd64"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Build({"--opt", "platform=linux/amd64,linux/arm64/v8/x"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("failed to parse target platform linux/arm64/v8/x: invalid platform"),
            std::string::npos)
      << r.err;
  WriteFile(ctx_ + "/Dockerfile.ctx", "FROM top\n");
  r = Build({"--opt", "context:top=oci-layout://store@sha256:" + std::string(64, 'a'), "--opt",
             "filename=Dockerfile.ctx"});
  EXPECT_NE(r.exit_code, 0);
  // No --oci-layout store=DIR: the session serves no content store to read it from.
  EXPECT_NE(r.err.find("unable to get info about digest: the client session does not serve a "
                       "content store"),
            std::string::npos)
      << r.err;
}

// Both client flows return a result of several platforms (the frontend run in the daemon, and
// LLBBridge's ref maps handed back through Return): one directory per platform.
TEST_F(DockerfileTest, SeveralPlatformsGiveOneDirectoryEachInBothFlows) {
  WriteFile(
      ctx_ + "/Dockerfile",
      "FROM scratch\nARG TARGETPLATFORM\nCOPY top.txt /\nCOPY <<EOT /p\n$TARGETPLATFORM\nEOT\n");
  WriteFile(ctx_ + "/top.txt", "top\n");
  for (bool in_solve : {false, true}) {
    SCOPED_TRACE(in_solve ? "frontend in solve" : "client-side frontend flow");
    std::filesystem::remove_all(out_);
    auto r = Build({"--opt", "platform=linux/arm64,linux/arm/v7"}, in_solve);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(ReadFile(out_ + "/linux_arm64/p"), "linux/arm64\n");
    EXPECT_EQ(ReadFile(out_ + "/linux_arm_v7/p"), "linux/arm/v7\n");
    EXPECT_EQ(ReadFile(out_ + "/linux_arm_v7/top.txt"), "top\n");
    EXPECT_FALSE(std::filesystem::exists(out_ + "/top.txt"));
  }
  // platform-split=false merges the platforms; a file both have is an error.
  std::filesystem::remove_all(out_);
  auto r = daemon_.Kilnctl({"build", "--frontend", "dockerfile.v0", "--local", "context=" + ctx_,
                            "--local", "dockerfile=" + ctx_, "--opt",
                            "platform=linux/arm64,linux/arm/v7", "--output",
                            "type=local,dest=" + out_ + ",platform-split=false"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cannot overwrite p from linux/arm64 with linux/arm/v7 when split option "
                       "is disabled"),
            std::string::npos)
      << r.err;
}

TEST_F(DockerfileTest, NamedContextsReplaceImagesStagesAndCopySources) {
  // FROM alpine is served by a docker-image:// context, the "gen" stage by a local directory
  // (less its own .dockerignore), and COPY --from=extra by another local.
  std::string extra = MakeTempDir("kiln-df-extra");
  std::string gen = MakeTempDir("kiln-df-gen");
  WriteFile(extra + "/extra.txt", "extra\n");
  WriteFile(gen + "/gen.txt", "generated\n");
  WriteFile(gen + "/skip.txt", "ignored\n");
  WriteFile(gen + "/.dockerignore", "skip.txt\n");
  WriteFile(ctx_ + "/Dockerfile",
            "FROM scratch AS gen\n"
            "RUN never-runs\n"
            "FROM alpine\n"
            "COPY --from=gen / /gen/\n"
            "COPY --from=extra extra.txt /\n"
            "RUN ls /gen > /gen-list\n");
  auto r = Build({"--local", "extra=" + extra, "--local", "gen=" + gen, "--opt",
                  "context:alpine=docker-image://" + Busybox(), "--opt", "context:gen=local:gen",
                  "--opt", "context:extra=local:extra"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(out_ + "/extra.txt"), "extra\n");
  EXPECT_EQ(ReadFile(out_ + "/gen/gen.txt"), "generated\n");
  EXPECT_EQ(ReadFile(out_ + "/gen-list"), "gen.txt\n");
  EXPECT_NE(r.err.find("[context alpine] " + Busybox()), std::string::npos) << r.err;
  std::filesystem::remove_all(extra);
  std::filesystem::remove_all(gen);
}

TEST_F(DockerfileTest, FrontendRunOptionsReachEveryRun) {
  WriteFile(ctx_ + "/Dockerfile",
            "FROM " + Busybox() +
                "\n"
                "RUN mkdir /out && grep myhost /etc/hosts > /out/hosts && ulimit -n > /out/nofile "
                "&& df -k /dev/shm | tail -n 1 | awk '{print $2}' > /out/shm "
                "&& grep -c : /proc/net/dev > /out/ifaces && echo \"$HTTP_PROXY|$no_proxy\" > "
                "/out/proxy\n"
                "RUN --network=default cat /proc/sys/kernel/random/uuid > /out/run-id\n");
  std::vector<std::string> opts = {"--opt", "add-hosts=myhost=10.1.2.3",
                                   "--opt", "ulimit=nofile=1234:2345",
                                   "--opt", "shm-size=2097152",
                                   "--opt", "force-network-mode=none",
                                   "--opt", "build-arg:HTTP_PROXY=http://proxy.invalid:3128",
                                   "--opt", "build-arg:no_proxy=localhost"};
  auto r = Build(opts);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(out_ + "/out/hosts"), "10.1.2.3\tmyhost\n");
  EXPECT_EQ(ReadFile(out_ + "/out/nofile"), "1234\n");
  EXPECT_EQ(ReadFile(out_ + "/out/shm"), "2048\n");
  // force-network-mode=none: only the loopback interface (plus /proc/net/dev's header lines).
  EXPECT_EQ(ReadFile(out_ + "/out/ifaces"), "1\n");
  EXPECT_EQ(ReadFile(out_ + "/out/proxy"), "http://proxy.invalid:3128|localhost\n");
  std::string first = ReadFile(out_ + "/out/run-id");

  // Cached as a whole; a proxy change does not invalidate the cache (it is not in the key).
  opts[opts.size() - 3] = "build-arg:HTTP_PROXY=http://other.invalid:3128";
  r = Build(opts);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(out_ + "/out/run-id"), first);
  // no-cache re-runs every stage's steps.
  opts.insert(opts.end(), {"--opt", "no-cache="});
  r = Build(opts);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(ReadFile(out_ + "/out/run-id"), first);
  // Bad values name the option.
  r = Build({"--opt", "ulimit=nofile=9:1"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("frontend option ulimit: ulimit soft limit must be less than or equal to "
                       "hard limit: 9 > 1"),
            std::string::npos)
      << r.err;
  r = Build({"--opt", "add-hosts=h=not-an-ip"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("failed to parse IP not-an-ip"), std::string::npos) << r.err;
}

TEST_F(DockerfileTest, ErrorsPointAtTheLine) {
  WriteFile(ctx_ + "/Dockerfile", "FROM scratch\nCOPY --form=x a b\n");
  auto r = Build({});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Dockerfile:2: unknown flag: --form"), std::string::npos) << r.err;
  // The lines come as BuildKit's typed source detail, printed as buildctl prints them.
  EXPECT_NE(r.err.find("Dockerfile:2\n--------------------\n   1 |     FROM scratch\n"
                       "   2 | >>> COPY --form=x a b\n"),
            std::string::npos)
      << r.err;

  // A failing RUN, and a COPY of a missing file, point at their lines too.
  WriteFile(ctx_ + "/Dockerfile", "FROM " + Busybox() + "\nRUN true\nRUN exit 7\n");
  r = Build({});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("did not complete successfully: exit code: 7"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("   2 |     RUN true\n   3 | >>> RUN exit 7\n"), std::string::npos) << r.err;
  WriteFile(ctx_ + "/Dockerfile", "FROM scratch\nCOPY nothere.txt /\n");
  r = Build({});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("\"/nothere.txt\": not found"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("   2 | >>> COPY nothere.txt /\n"), std::string::npos) << r.err;

  std::filesystem::remove(ctx_ + "/Dockerfile");
  r = Build({});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("failed to read dockerfile"), std::string::npos) << r.err;

  WriteFile(ctx_ + "/Dockerfile", "# syntax=example.com/other/frontend:1\nFROM scratch\n");
  r = Build({});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("external frontend images are not supported"), std::string::npos) << r.err;
  // kilnd keeps serving.
  EXPECT_EQ(daemon_.Kilnctl({"debug", "workers"}).exit_code, 0);
}

}  // namespace
}  // namespace kiln::itest
