// Secrets and ssh-agent forwarding across a real session: kilnctl's session (client::Session
// serving Secrets and SSH) attached to the daemon's session::Manager, asked the way ExecOp asks
// (session::GetSecret, session::FindSSHAgent, session::SSHForwarder).

#include <gmock/gmock.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "client/connection.h"
#include "client/secrets_service.h"
#include "client/session.h"
#include "client/ssh_service.h"
#include "client/testing/fake_daemon.h"
#include "client/testing/session_only_control.h"
#include "session/secrets.h"
#include "session/ssh_forward.h"

namespace kiln::client {
namespace {

namespace bk = moby::buildkit::v1;
using ::testing::HasSubstr;

int Count(const std::string& dir) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    n++;
  }
  return n;
}
// Threads of this process, leaving out gRPC's own on-demand pools (bounded, kept once started:
// not something the forwarder could leak).
int Threads() {
  static const char* const kGrpcPools[] = {"default-executo", "resolver-execut", "grpc_global_tim",
                                           "event_engine", "timer_manager"};
  int n = 0;
  for (const auto& t : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(t.path().string() + "/comm");
    std::string comm;
    std::getline(in, comm);
    bool pool = false;
    for (const char* p : kGrpcPools) pool = pool || comm == p;
    if (!pool) n++;
  }
  return n;
}
int Fds() { return Count("/proc/self/fd"); }

int DialUnix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends one agent request of `type` with no body; returns the answer (length + body), or "".
std::string AgentRequest(int fd, unsigned char type) {
  const char req[5] = {0, 0, 0, 1, static_cast<char>(type)};
  if (write(fd, req, 5) != 5) return "";
  std::string out(4, '\0');
  if (recv(fd, out.data(), 4, MSG_WAITALL) != 4) return "";
  uint32_t len = (static_cast<uint32_t>(static_cast<unsigned char>(out[0])) << 24) |
                 (static_cast<uint32_t>(static_cast<unsigned char>(out[1])) << 16) |
                 (static_cast<uint32_t>(static_cast<unsigned char>(out[2])) << 8) |
                 static_cast<uint32_t>(static_cast<unsigned char>(out[3]));
  out.resize(4 + len);
  if (len > 0 && recv(fd, out.data() + 4, len, MSG_WAITALL) != static_cast<ssize_t>(len)) return "";
  return out;
}

uint32_t IdentityCount(const std::string& answer) {
  if (answer.size() < 9 || answer[4] != 12) return UINT32_MAX;
  auto b = [&](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(answer[i])); };
  return b(5) << 24 | b(6) << 16 | b(7) << 8 | b(8);
}

class SecretsSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::HoldGrpc();
    char tmpl[] = "/tmp/kiln-secretsession-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
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
    if (agent_pid_ > 0) {
      kill(agent_pid_, SIGTERM);
      waitpid(agent_pid_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }

  std::string StartSession(SessionConfig cfg) {
    cfg.serve_auth = false;
    auto s = Session::Start(*conn_, std::move(cfg));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return "";
    sessions_.push_back(std::move(*s));
    return sessions_.back()->id();
  }

  // A real ssh-agent with one ed25519 key; "" when openssh-client is not installed.
  std::string StartRealAgent() {
    if (system("command -v ssh-agent >/dev/null && command -v ssh-keygen >/dev/null") != 0) {
      return "";
    }
    std::string sock = dir_ + "/agent.sock";
    agent_pid_ = fork();
    if (agent_pid_ == 0) {
      freopen("/dev/null", "w", stdout);
      execlp("ssh-agent", "ssh-agent", "-D", "-a", sock.c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 100 && access(sock.c_str(), F_OK) != 0; i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::string key = dir_ + "/id_ed25519";
    std::string cmd = "ssh-keygen -q -t ed25519 -N '' -f " + key + " && SSH_AUTH_SOCK=" + sock +
                      " ssh-add -q " + key + " 2>/dev/null";
    EXPECT_EQ(system(cmd.c_str()), 0);
    return sock;
  }

  std::string dir_;
  session::Manager manager_;
  std::unique_ptr<testing::SessionOnlyControl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<rpc::Connection> conn_;
  std::vector<std::unique_ptr<Session>> sessions_;
  pid_t agent_pid_ = -1;
};

GetEnvFn Env(std::map<std::string, std::string> vars) {
  auto m = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [m](const char* k) -> const char* {
    auto it = m->find(k);
    return it == m->end() ? nullptr : it->second.c_str();
  };
}

TEST(SecretStoreTest, ChecksSourcesAsBuildctl) {
  EXPECT_EQ(SecretStore::New({{"", "f", ""}}, Env({})).status().message(), "secret missing ID");
  auto missing = SecretStore::New({{"a", "/no/such/file", ""}}, Env({}));
  EXPECT_EQ(missing.status().message(),
            "failed to stat /no/such/file: stat /no/such/file: No such file or directory");
  // Neither src nor env: the variable named by the id when set, else the file.
  auto store = SecretStore::New({{"TOKEN", "", ""}}, Env({{"TOKEN", "from-env"}}));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(*store->Get("TOKEN"), "from-env");
  EXPECT_EQ(store->Get("other").status().code(), Code::kNotFound);
  EXPECT_EQ(SecretStore::New({{"TOKEN", "", ""}}, Env({})).status().message(),
            "failed to stat TOKEN: stat TOKEN: No such file or directory");
}

TEST_F(SecretsSessionTest, DaemonGetsSecretsFromFileAndEnvAndNotFoundForOthers) {
  std::ofstream(dir_ + "/s.txt") << "file-value\n";
  auto store = SecretStore::New({{"f", dir_ + "/s.txt", ""}, {"e", "", "MYVAR"}},
                                Env({{"MYVAR", "env-value"}}));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  SessionConfig cfg;
  cfg.secrets = *store;
  std::string id = StartSession(std::move(cfg));
  EXPECT_THAT(sessions_[0]->methods(), ::testing::Contains(std::string(kSecretsGetSecret)));

  auto f = session::GetSecret(Context::Background(), manager_, {id}, "f");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(*f, "file-value\n");
  auto e = session::GetSecret(Context::Background(), manager_, {id}, "e");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(*e, "env-value");
  auto none = session::GetSecret(Context::Background(), manager_, {id}, "nope");
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  EXPECT_EQ(none.status().message(), "secret nope: not found");

  // A session without Secrets has none; the next session of the job is asked.
  std::string bare = StartSession(SessionConfig{});
  auto both = session::GetSecret(Context::Background(), manager_, {bare, id}, "f");
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_EQ(*both, "file-value\n");
  EXPECT_EQ(session::GetSecret(Context::Background(), manager_, {bare}, "f").status().message(),
            "secret f: not found");
}

// A fake agent answering REQUEST_IDENTITIES with 3 identities (no bodies needed for the count).
class FakeAgent {
 public:
  explicit FakeAgent(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 8), 0);
    thread_ = std::thread([this] {
      while (true) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        char req[5];
        while (recv(c, req, 5, MSG_WAITALL) == 5) {
          requests_++;
          const char ans[9] = {0, 0, 0, 5, 12, 0, 0, 0, 3};
          if (write(c, ans, 9) != 9) break;
        }
        close(c);
      }
    });
  }
  ~FakeAgent() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }
  int requests() const { return requests_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::thread thread_;
  std::atomic<int> requests_{0};
};

TEST_F(SecretsSessionTest, SSHForwarderCarriesAgentRequestsAndRefusesChanges) {
  FakeAgent agent(dir_ + "/fake.sock");
  SessionConfig cfg;
  cfg.ssh_agents = {{"default", dir_ + "/fake.sock"}};
  std::string id = StartSession(std::move(cfg));

  auto none = session::FindSSHAgent(Context::Background(), manager_, {id}, "other");
  EXPECT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(), HasSubstr("unset ssh forward key other"));
  auto found = session::FindSSHAgent(Context::Background(), manager_, {id}, "");
  ASSERT_TRUE(found.ok()) << found.status().ToString();

  const int threads0 = Threads(), fds0 = Fds();
  {
    session::SSHSocketOptions o;
    o.temp_dir = dir_;
    o.mode = 0640;
    auto fwd = session::SSHForwarder::Start(*found, o);
    ASSERT_TRUE(fwd.ok()) << fwd.status().ToString();
    struct stat st {};
    ASSERT_EQ(stat((*fwd)->socket_path().c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    for (int i = 0; i < 3; i++) {  // connections one after another, two requests each
      int c = DialUnix((*fwd)->socket_path());
      ASSERT_GE(c, 0);
      EXPECT_EQ(IdentityCount(AgentRequest(c, 11)), 3u);
      // REMOVE_ALL_IDENTITIES (19) never reaches the agent: SSH_AGENT_FAILURE.
      EXPECT_EQ(AgentRequest(c, 19), std::string("\0\0\0\1\5", 5));
      EXPECT_EQ(IdentityCount(AgentRequest(c, 11)), 3u);
      close(c);
    }
    EXPECT_EQ(agent.requests(), 6);
    // A connection still open when the forwarder goes away is closed by it.
    int open_conn = DialUnix((*fwd)->socket_path());
    ASSERT_GE(open_conn, 0);
    EXPECT_EQ(IdentityCount(AgentRequest(open_conn, 11)), 3u);
    std::string dir = std::filesystem::path((*fwd)->socket_path()).parent_path();
    fwd->reset();
    EXPECT_FALSE(std::filesystem::exists(dir));
    char b;
    EXPECT_EQ(read(open_conn, &b, 1), 0);
    close(open_conn);
  }
  // Threads and fds back to where they were (the session's own gRPC threads may take a moment).
  int threads = 0, fds = 0;
  for (int t = 0; t < 50; t++) {
    threads = Threads();
    fds = Fds();
    if (threads <= threads0 && fds <= fds0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_LE(threads, threads0);
  EXPECT_LE(fds, fds0);
}

TEST_F(SecretsSessionTest, SSHForwardingAnswersFromARealAgent) {
  std::string sock = StartRealAgent();
  if (sock.empty()) GTEST_SKIP() << "ssh-agent/ssh-keygen not installed (openssh-client)";
  auto agents = ResolveSSHAgents(ParseSSH({"default"}), Env({{"SSH_AUTH_SOCK", sock}}));
  ASSERT_TRUE(agents.ok()) << agents.status().ToString();
  SessionConfig cfg;
  cfg.ssh_agents = *agents;
  std::string id = StartSession(std::move(cfg));
  auto found = session::FindSSHAgent(Context::Background(), manager_, {id}, "default");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  session::SSHSocketOptions o;
  o.temp_dir = dir_;
  auto fwd = session::SSHForwarder::Start(*found, o);
  ASSERT_TRUE(fwd.ok()) << fwd.status().ToString();
  int c = DialUnix((*fwd)->socket_path());
  ASSERT_GE(c, 0);
  EXPECT_EQ(IdentityCount(AgentRequest(c, 11)), 1u);  // the key ssh-add gave it
  close(c);
}

TEST(SSHAgentsTest, ResolvedAsBuildctl) {
  EXPECT_EQ(ResolveSSHAgents(ParseSSH({"default"}), Env({})).status().message(),
            "invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set");
  EXPECT_THAT(ResolveSSHAgents(ParseSSH({"x=/no/such.sock"}), Env({})).status().message(),
              HasSubstr("stat /no/such.sock: No such file or directory"));
  EXPECT_EQ(ResolveSSHAgents(ParseSSH({"x=/a,/b"}), Env({})).status().message(),
            "only single socket allowed");
}

}  // namespace
}  // namespace kiln::client
