// Registry credentials across a real session: kilnctl's session (client::Session, serving Auth
// from a docker config) attached to the daemon's real session::Manager through an in-process
// Control/Session service, asked the way the image source will ask (session::GetCredentials and
// the registry::CredentialsFn from source::SessionCredentials).

#include <gmock/gmock.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "client/auth_service.h"
#include "client/connection.h"
#include "client/session.h"
#include "client/testing/fake_daemon.h"
#include "client/testing/session_only_control.h"
#include "client/tree_merge.h"
#include "control/control.grpc.pb.h"
#include "session/auth.h"
#include "session/session.h"
#include "source/registry_credentials.h"

namespace kiln::client {
namespace {

namespace bk = moby::buildkit::v1;
using ::testing::Contains;
using ::testing::HasSubstr;

class AuthSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::HoldGrpc();
    char tmpl[] = "/tmp/kiln-authsession-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(mkdir((dir_ + "/bin").c_str(), 0755), 0);
    const char* path = getenv("PATH");
    old_path_ = path != nullptr ? path : "";
    setenv("PATH", (dir_ + "/bin:" + old_path_).c_str(), 1);

    service_ = std::make_unique<testing::SessionOnlyControl>(&manager_);
    grpc::ServerBuilder b;
    b.AddListeningPort("unix://" + dir_ + "/d.sock", grpc::InsecureServerCredentials());
    b.RegisterService(service_.get());
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    auto ch = Dial("unix://" + dir_ + "/d.sock");
    ASSERT_TRUE(ch.ok()) << ch.status().ToString();
    conn_ = std::move(*ch);
  }

  void TearDown() override {
    for (auto& s : sessions_) s->Close().IgnoreError();
    sessions_.clear();
    server_->Shutdown();
    setenv("PATH", old_path_.c_str(), 1);
    RemoveTree(dir_).IgnoreError();
  }

  // Starts a kilnctl session whose docker config is `config_json` (nullopt: no Auth served).
  std::string StartSession(const std::optional<std::string>& config_json) {
    SessionConfig cfg;
    cfg.serve_auth = config_json.has_value();
    if (config_json) {
      std::string file = dir_ + "/config-" + std::to_string(sessions_.size()) + ".json";
      std::ofstream(file) << *config_json;
      cfg.docker_config = file;
    }
    auto s = Session::Start(*conn_, cfg);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return "";
    sessions_.push_back(std::move(*s));
    return sessions_.back()->id();
  }

  Result<std::optional<session::Credentials>> Ask(const std::vector<std::string>& ids,
                                                  const std::string& host,
                                                  session::CredentialsOptions opts = {}) {
    return session::GetCredentials(Context::Background(), manager_, ids, host, opts);
  }

  std::string dir_;
  std::string old_path_;
  session::Manager manager_;
  std::unique_ptr<testing::SessionOnlyControl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<rpc::Connection> conn_;
  std::vector<std::unique_ptr<Session>> sessions_;
};

constexpr char kRegistryConfig[] =
    R"({"auths":{"127.0.0.1:5000":{"username":"alice","password":"s3cret"},
                 "https://index.docker.io/v1/":{"identitytoken":"hub-refresh"}}})";

TEST_F(AuthSessionTest, DaemonGetsTheClientsCredentials) {
  std::string id = StartSession(kRegistryConfig);
  EXPECT_THAT(sessions_[0]->methods(), Contains(std::string(kAuthCredentials)));

  auto c = Ask({id}, "127.0.0.1:5000");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, (session::Credentials{"alice", "s3cret"}));

  auto hub = Ask({id}, "registry-1.docker.io");
  ASSERT_TRUE(hub.ok()) << hub.status().ToString();
  EXPECT_EQ(*hub, (session::Credentials{"", "hub-refresh"}));

  auto session = manager_.Get(Context::Background(), id);
  ASSERT_TRUE(session.ok());
  EXPECT_TRUE((*session)->Supports(session::kAuthCredentialsMethod));
}

TEST_F(AuthSessionTest, UnknownHostIsAnonymous) {
  std::string id = StartSession(kRegistryConfig);
  auto c = Ask({id}, "other.example:5000");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, std::nullopt);
}

TEST_F(AuthSessionTest, NoSessionIsAnonymous) {
  auto c = Ask({}, "127.0.0.1:5000");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, std::nullopt);
}

TEST_F(AuthSessionTest, MalformedConfigIsTheDaemonsErrorNamingTheFile) {
  std::string id = StartSession(R"({"auths": [)");  // the session starts all the same
  auto c = Ask({id}, "127.0.0.1:5000");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("credentials for 127.0.0.1:5000 from the client: " +
                                              dir_ + "/config-0.json: invalid JSON"));
}

TEST_F(AuthSessionTest, FirstSessionWithCredentialsWins) {
  std::string no_auth = StartSession(std::nullopt);
  std::string empty = StartSession(R"({})");
  std::string broken = StartSession(R"({"credsStore":"missing"})");
  std::string good = StartSession(kRegistryConfig);
  std::string other = StartSession(R"({"auths":{"127.0.0.1:5000":{"username":"bob"}}})");
  session::CredentialsOptions opts;
  opts.attach_wait = std::chrono::milliseconds(200);  // for "never-attached"
  auto c = Ask({"never-attached", no_auth, empty, broken, good, other}, "127.0.0.1:5000", opts);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, (session::Credentials{"alice", "s3cret"}));
}

TEST_F(AuthSessionTest, ErrorWhenNoSessionCouldAnswer) {
  std::string no_auth = StartSession(std::nullopt);
  std::string broken = StartSession(R"({"credsStore":"missing"})");
  auto c = Ask({no_auth, broken}, "127.0.0.1:5000");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("docker-credential-missing: executable file not "
                                              "found in $PATH"));

  // An empty answer from another session is an answer: anonymous, as BuildKit's session.Any.
  std::string empty = StartSession(R"({})");
  auto anon = Ask({broken, empty}, "127.0.0.1:5000");
  ASSERT_TRUE(anon.ok()) << anon.status().ToString();
  EXPECT_EQ(*anon, std::nullopt);
}

TEST_F(AuthSessionTest, HangingHelperHitsTheCallDeadline) {
  std::string helper = dir_ + "/bin/docker-credential-hang";
  std::ofstream(helper) << "#!/bin/sh\nexec sleep 30\n";
  ASSERT_EQ(chmod(helper.c_str(), 0755), 0);
  std::string id = StartSession(R"({"credsStore":"hang"})");
  session::CredentialsOptions opts;
  opts.call_timeout = std::chrono::milliseconds(300);
  auto c = Ask({id}, "127.0.0.1:5000", opts);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kDeadlineExceeded);
  EXPECT_EQ(c.status().message(),
            "credentials for 127.0.0.1:5000 from the client: no answer within 300 ms");
}

TEST_F(AuthSessionTest, RegistryCredentialsFnForAJob) {
  std::string broken = StartSession(R"({"credsStore":"missing"})");
  std::string good = StartSession(kRegistryConfig);
  std::vector<std::string> errors;
  auto on_error = [&errors](const std::string& host, const Status& st) {
    errors.push_back(host + ": " + st.message());
  };
  Context ctx = Context::Background().Child();
  registry::CredentialsFn fn = source::SessionCredentials(&manager_, {good}, ctx, on_error);
  EXPECT_EQ(fn("127.0.0.1:5000"), (registry::Credentials{"alice", "s3cret"}));
  EXPECT_EQ(fn("nowhere.example"), std::nullopt);
  EXPECT_TRUE(errors.empty());

  registry::CredentialsFn failing = source::SessionCredentials(&manager_, {broken}, ctx, on_error);
  EXPECT_EQ(failing("127.0.0.1:5000"), std::nullopt);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0],
            "127.0.0.1:5000: credentials for 127.0.0.1:5000 from the client: "
            "credsStore in " +
                dir_ +
                "/config-0.json: docker-credential-missing: "
                "executable file not found in $PATH");

  ctx.Cancel(Cancelled("job cancelled"));
  EXPECT_EQ(fn("127.0.0.1:5000"), std::nullopt);  // no call, no error report
  EXPECT_EQ(errors.size(), 1u);
}

}  // namespace
}  // namespace kiln::client
