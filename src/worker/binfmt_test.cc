#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "worker/worker.h"

namespace kiln::worker {
namespace {

class BinfmtTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-binfmt-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::vector<std::string> Listed() {
    std::vector<std::string> out;
    for (const auto& p : BinfmtPlatforms(dir_)) {
      out.push_back(p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant));
    }
    return out;
  }
  std::string dir_;
};

TEST_F(BinfmtTest, EnabledQemuHandlersAreListedInNameOrder) {
  Write("register", "");
  Write("status", "enabled\n");
  Write("qemu-riscv64", "enabled\ninterpreter /usr/libexec/qemu-binfmt/riscv64-binfmt-P\n");
  Write("qemu-arm", "enabled\ninterpreter /usr/libexec/qemu-binfmt/arm-binfmt-P\n");
  Write("qemu-s390x", "disabled\ninterpreter /usr/libexec/qemu-binfmt/s390x-binfmt-P\n");
  Write("python3.11", "enabled\ninterpreter /usr/bin/python3.11\n");
  Write("qemu-unknownarch", "enabled\n");
  EXPECT_EQ(Listed(), (std::vector<std::string>{"linux/arm/v7", "linux/riscv64"}));
}

TEST_F(BinfmtTest, TheHostArchitectureIsNotListedTwice) {
  const Platform host = HostPlatform();
  const std::map<std::string, std::string> qemu = {{"amd64", "qemu-x86_64"},
                                                   {"arm64", "qemu-aarch64"}};
  auto it = qemu.find(host.architecture);
  if (it == qemu.end()) GTEST_SKIP() << "no qemu name for host " << host.architecture;
  Write(it->second, "enabled\n");
  EXPECT_TRUE(Listed().empty());
}

TEST_F(BinfmtTest, NoDirectoryMeansNoEmulation) {
  EXPECT_TRUE(BinfmtPlatforms(dir_ + "/missing").empty());
}

}  // namespace
}  // namespace kiln::worker
