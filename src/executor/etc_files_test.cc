#include "executor/etc_files.h"

#include <gtest/gtest.h>

namespace kiln::executor {
namespace {

TEST(EtcFilesTest, HostsHaveLocalhostHostnameAndExtraHosts) {
  EXPECT_EQ(HostsFile("", {}),
            "127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  EXPECT_EQ(HostsFile("box", {{"db", "10.0.0.5"}, {"v6", "fd00::1"}}),
            "127.0.0.1\tlocalhost box\n::1\tlocalhost ip6-localhost ip6-loopback\n"
            "10.0.0.5\tdb\nfd00::1\tv6\n");
}

TEST(EtcFilesTest, ResolvConfDropsLoopbackNameserversUnlessHostNetwork) {
  const std::string host =
      "# generated\n"
      "nameserver 127.0.0.1\n"
      "nameserver 10.1.2.3\n"
      "nameserver ::1\n"
      "nameserver 2001:db8:0:0::53\n"
      "search a.example b.example\n"
      "options ndots:2\n"
      "options timeout:1\n"
      "sortlist 10.0.0.0/8\n";
  EXPECT_EQ(ResolvConf(host, false),
            "nameserver 10.1.2.3\nnameserver 2001:db8::53\nsearch a.example b.example\n"
            "options ndots:2 timeout:1\nsortlist 10.0.0.0/8\n");
  EXPECT_EQ(ResolvConf(host, true),
            "nameserver 127.0.0.1\nnameserver 10.1.2.3\nnameserver ::1\n"
            "nameserver 2001:db8::53\nsearch a.example b.example\noptions ndots:2 timeout:1\n"
            "sortlist 10.0.0.0/8\n");
}

TEST(EtcFilesTest, ResolvConfFallsBackToPublicResolvers) {
  const std::string kDefaults =
      "nameserver 8.8.8.8\nnameserver 8.8.4.4\nnameserver 2001:4860:4860::8888\n"
      "nameserver 2001:4860:4860::8844\n";
  EXPECT_EQ(ResolvConf("nameserver 127.0.0.53\noptions edns0\n", false),
            kDefaults + "options edns0\n");
  EXPECT_EQ(ResolvConf("", false), kDefaults);
  EXPECT_EQ(ResolvConf("", true), kDefaults);  // even host networking needs a nameserver
  EXPECT_EQ(ResolvConf("nameserver ::ffff:127.0.0.1\nnameserver bogus\n", false), kDefaults);
  EXPECT_EQ(ResolvConf("nameserver 127.0.0.53\n", true), "nameserver 127.0.0.53\n");
}

TEST(EtcFilesTest, ResolvConfKeepsOnlyTheLastSearchLine) {
  EXPECT_EQ(ResolvConf("nameserver 1.1.1.1\nsearch a\ndomain b c\n", false),
            "nameserver 1.1.1.1\nsearch b c\n");
}

TEST(EtcFilesTest, SystemdResolvedStubMeansItsUpstreamFile) {
  EXPECT_EQ(ResolvConfSourcePath("nameserver 127.0.0.53\noptions edns0\n", false),
            "/run/systemd/resolve/resolv.conf");
  EXPECT_EQ(ResolvConfSourcePath("nameserver 127.0.0.53\n", true), "/etc/resolv.conf");
  EXPECT_EQ(ResolvConfSourcePath("nameserver 127.0.0.53\nnameserver 1.1.1.1\n", false),
            "/etc/resolv.conf");
}

}  // namespace
}  // namespace kiln::executor
