#include "registry/hosts.h"

#include <gtest/gtest.h>

namespace kiln::registry {
namespace {

TEST(HostsTest, DockerHubIsServedByRegistry1) {
  Hosts h;
  auto eps = h.PullEndpoints("docker.io");
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].host, "registry-1.docker.io");
  EXPECT_EQ(eps[0].BaseURL(), "https://registry-1.docker.io/v2");
  EXPECT_FALSE(eps[0].mirror);
}

TEST(HostsTest, MirrorsComeFirstWithTheirOwnSettings) {
  Hosts h;
  HostConfig hub;
  hub.mirrors = {"mirror.local:5000", "https://mirror.example.com/cache/", "http://plain.mirror"};
  h.Set("docker.io", hub);
  HostConfig m;
  m.http = true;
  h.Set("mirror.local:5000", m);
  auto eps = h.PullEndpoints("docker.io");
  ASSERT_EQ(eps.size(), 4u);
  EXPECT_EQ(eps[0].BaseURL(), "http://mirror.local:5000/v2");
  EXPECT_TRUE(eps[0].mirror);
  EXPECT_EQ(eps[1].BaseURL(), "https://mirror.example.com/v2/cache");
  EXPECT_EQ(eps[2].BaseURL(), "http://plain.mirror/v2");
  EXPECT_EQ(eps[3].BaseURL(), "https://registry-1.docker.io/v2");
  EXPECT_FALSE(eps[3].mirror);
  EXPECT_EQ(h.PushEndpoints("docker.io").size(), 1u);
}

TEST(HostsTest, PerHostSettings) {
  HostConfig c;
  c.insecure = true;
  c.ca = {"/etc/ca.pem"};
  c.credentials = Credentials{"u", "p"};
  Hosts h({{"myreg.example:443", c}});
  auto eps = h.PullEndpoints("myreg.example:443");
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_TRUE(eps[0].insecure);
  EXPECT_EQ(eps[0].ca, std::vector<std::string>{"/etc/ca.pem"});
  EXPECT_EQ(eps[0].credentials, (Credentials{"u", "p"}));
  EXPECT_EQ(h.Config("index.docker.io").mirrors.size(), 0u);
  HostConfig hub;
  hub.http = true;
  Hosts aliased({{"registry-1.docker.io", hub}});
  EXPECT_TRUE(aliased.Config("docker.io").http);
}

TEST(HostsTest, LocalhostIsPlainHTTPUnlessConfigured) {
  Hosts h;
  EXPECT_EQ(h.PullEndpoints("localhost:5000")[0].scheme, "http");
  EXPECT_EQ(h.PullEndpoints("127.0.0.1:5000")[0].scheme, "http");
  EXPECT_EQ(h.PullEndpoints("[::1]:5000")[0].scheme, "http");
  EXPECT_EQ(h.PullEndpoints("localhost")[0].scheme, "http");
  EXPECT_EQ(h.PullEndpoints("localhost.example.com")[0].scheme, "https");
  EXPECT_EQ(h.PullEndpoints("127.0.0.1.nip.io")[0].scheme, "https");
  h.Set("localhost:5000", HostConfig{});  // a table without http = true: HTTPS
  EXPECT_EQ(h.PullEndpoints("localhost:5000")[0].scheme, "https");
}

}  // namespace
}  // namespace kiln::registry
