#include "client/dockerfile_input.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace kiln::client {
namespace {

namespace fs = std::filesystem;

class InlineDockerfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-dfin-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ + "/df");
    fs::create_directories(dir_ + "/ctx");
    req_.frontend = "dockerfile.v0";
    req_.local_dirs = {{"context", dir_ + "/ctx"}, {"dockerfile", dir_ + "/df"}};
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& rel, const std::string& data) {
    fs::create_directories(fs::path(dir_ + "/" + rel).parent_path());
    std::ofstream(dir_ + "/" + rel) << data;
  }

  // The files the input definition makes (Mkfile path -> data), its directories (Mkdir) and
  // the name of its last op.
  struct Made {
    std::map<std::string, std::string> files;
    std::vector<std::string> dirs;
    std::string name;
  };
  Made Input() {
    Made out;
    auto it = req_.frontend_inputs.find("dockerfile");
    if (it == req_.frontend_inputs.end()) return out;
    for (const auto& bytes : it->second.def()) {
      pb::Op op;
      EXPECT_TRUE(op.ParseFromString(bytes));
      for (const auto& a : op.file().actions()) {
        if (a.has_mkfile()) out.files[a.mkfile().path()] = a.mkfile().data();
        if (a.has_mkdir()) out.dirs.push_back(a.mkdir().path());
      }
    }
    for (const auto& [digest, md] : it->second.metadata()) {
      auto n = md.description().find("llb.customname");
      if (n != md.description().end()) out.name = n->second;
    }
    return out;
  }

  std::string dir_;
  BuildRequest req_;
};

TEST_F(InlineDockerfileTest, SendsTheDockerfileWithTheContextsDockerignore) {
  Write("df/Dockerfile", "FROM scratch\n");
  Write("ctx/.dockerignore", "secret\n");
  auto r = InlineDockerfile(req_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r);
  Made m = Input();
  EXPECT_EQ(m.files,
            (std::map<std::string, std::string>{{"/Dockerfile", "FROM scratch\n"},
                                                {"/Dockerfile.dockerignore", "secret\n"}}));
  EXPECT_EQ(m.name, "[internal] load build definition from Dockerfile");
  // The local stays for anything else that asks for it.
  EXPECT_TRUE(req_.local_dirs.contains("dockerfile"));
}

TEST_F(InlineDockerfileTest, TheDockerfilesOwnDockerignoreWins) {
  Write("df/app/web.Dockerfile", "FROM scratch\n");
  Write("df/app/web.Dockerfile.dockerignore", "own\n");
  Write("ctx/.dockerignore", "context\n");
  req_.frontend_attrs["filename"] = "app/web.Dockerfile";
  ASSERT_TRUE(*InlineDockerfile(req_));
  Made m = Input();
  EXPECT_EQ(m.files["/app/web.Dockerfile"], "FROM scratch\n");
  EXPECT_EQ(m.files["/app/web.Dockerfile.dockerignore"], "own\n");
  EXPECT_EQ(m.dirs, std::vector<std::string>{"/app"});
  EXPECT_EQ(m.name, "[internal] load build definition from web.Dockerfile");
}

TEST_F(InlineDockerfileTest, NoDockerignoreAnywhereIsAnEmptyOne) {
  Write("df/Dockerfile", "FROM scratch\n");
  ASSERT_TRUE(*InlineDockerfile(req_));
  EXPECT_EQ(Input().files["/Dockerfile.dockerignore"], "");
}

TEST_F(InlineDockerfileTest, LeavesRequestsItDoesNotFit) {
  Write("df/Dockerfile", "FROM scratch\n");
  auto unchanged = [&](BuildRequest req, const char* why) {
    req_ = std::move(req);
    auto r = InlineDockerfile(req_);
    ASSERT_TRUE(r.ok()) << why;
    EXPECT_FALSE(*r) << why;
    EXPECT_FALSE(req_.frontend_inputs.contains("dockerfile")) << why;
  };
  BuildRequest base = req_;
  BuildRequest r = base;
  r.frontend = "gateway.v0";
  unchanged(r, "another frontend");
  r = base;
  r.definition = pb::Definition();
  unchanged(r, "a definition");
  r = base;
  r.frontend_attrs["dockerfilekey"] = "dockerfile";
  unchanged(r, "dockerfilekey");
  r = base;
  r.local_dirs.erase("dockerfile");
  unchanged(r, "no dockerfile local");
  for (const char* name : {"../Dockerfile", "/Dockerfile", "./Dockerfile", "a//Dockerfile", "."}) {
    r = base;
    r.frontend_attrs["filename"] = name;
    unchanged(r, name);
  }
  r = base;
  r.frontend_attrs["filename"] = "missing";
  unchanged(r, "a missing Dockerfile");

  Write("df/real", "FROM scratch\n");
  ASSERT_EQ(symlink("real", (dir_ + "/df/link").c_str()), 0);
  r = base;
  r.frontend_attrs["filename"] = "link";
  unchanged(r, "a symlink");
  fs::create_directories(dir_ + "/df/adir");
  r = base;
  r.frontend_attrs["filename"] = "adir";
  unchanged(r, "a directory");
  Write("df/big", std::string(kInlineDockerfileMax + 1, '#'));
  r = base;
  r.frontend_attrs["filename"] = "big";
  unchanged(r, "too large");
  fs::create_directories(dir_ + "/ctx/.dockerignore");
  unchanged(base, "a .dockerignore that is not a file");
}

TEST_F(InlineDockerfileTest, AnInputAlreadyNamedDockerfileIsKept) {
  Write("df/Dockerfile", "FROM scratch\n");
  pb::Definition mine;
  mine.add_def("x");
  req_.frontend_inputs["dockerfile"] = mine;
  ASSERT_FALSE(*InlineDockerfile(req_));
  EXPECT_EQ(req_.frontend_inputs["dockerfile"].def(0), "x");
}

}  // namespace
}  // namespace kiln::client
