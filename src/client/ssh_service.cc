#include "client/ssh_service.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/fd_io.h"

namespace kiln::client {

namespace sf = moby::sshforward::v1;

namespace {

constexpr char kDefaultID[] = "default";
constexpr size_t kMaxAgentMessage = 16 << 20;  // Go's agent: maxAgentResponseBytes
constexpr unsigned char kAgentFailure = 5;
constexpr unsigned char kRequestIdentities = 11;
constexpr unsigned char kSignRequest = 13;

bool ReadFull(int fd, char* buf, size_t n) {
  while (n > 0) {
    ssize_t r = ::read(fd, buf, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

uint32_t BigEndian32(const char* p) {
  auto b = [p](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

// One answer frame (length + body) from the agent.
Result<std::string> ReadFrame(int fd) {
  std::string frame(4, '\0');
  if (!ReadFull(fd, frame.data(), 4)) return Unavailable("the ssh agent closed the connection");
  uint32_t len = BigEndian32(frame.data());
  if (len > kMaxAgentMessage) return Internal("ssh agent answer too large");
  frame.resize(4 + len);
  if (!ReadFull(fd, frame.data() + 4, len)) {
    return Unavailable("the ssh agent closed the connection");
  }
  return frame;
}

Result<int> DialUnix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return InvalidArgument(path + ": path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus(errno, "socket");
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    close(fd);
    return Status(Code::kUnavailable, fmt::format("dial unix {}: {}", path, std::strerror(err)));
  }
  return fd;
}

}  // namespace

Result<std::map<std::string, std::string>> ResolveSSHAgents(
    const std::vector<SSHAgentConfig>& configs, const GetEnvFn& getenv) {
  std::map<std::string, std::string> out;
  for (SSHAgentConfig c : configs) {
    if (c.paths.empty() || (c.paths.size() == 1 && c.paths[0].empty())) {
      const char* sock = getenv("SSH_AUTH_SOCK");
      c.paths = {sock != nullptr ? sock : ""};
    }
    if (c.paths[0].empty()) {
      return InvalidArgument("invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set");
    }
    if (c.paths.size() > 1) return InvalidArgument("only single socket allowed");
    struct stat st {};
    if (stat(c.paths[0].c_str(), &st) != 0) {
      return InvalidArgument(fmt::format("stat {}: {}", c.paths[0], std::strerror(errno)));
    }
    if (!S_ISSOCK(st.st_mode)) {
      return Unimplemented(fmt::format(
          "{}: ssh key files are not supported by kilnctl; forward an agent socket", c.paths[0]));
    }
    if (c.id.empty()) c.id = kDefaultID;
    if (out.contains(c.id)) return InvalidArgument("invalid duplicate ID " + c.id);
    out[c.id] = c.paths[0];
  }
  return out;
}

void SSHService::Register(rpc::Handlers& handlers) {
  handlers[kSSHCheckAgent] = UnaryHandler<sf::CheckAgentRequest, sf::CheckAgentResponse>(
      [this](rpc::ServerCall&, const sf::CheckAgentRequest& req, sf::CheckAgentResponse*) {
        const std::string id = req.id().empty() ? kDefaultID : req.id();
        if (!agents_.contains(id)) return Status(Code::kUnknown, "unset ssh forward key " + id);
        return Status::Ok();
      });
  handlers[kSSHForwardAgent] = StreamHandler<sf::BytesMessage, sf::BytesMessage>(
      [this](ServerStream<sf::BytesMessage, sf::BytesMessage>& stream) {
        return ForwardAgent(stream);
      });
}

Status SSHService::ForwardAgent(ServerStream<sf::BytesMessage, sf::BytesMessage>& stream) {
  std::string id = RequestHeader(stream.call(), "buildkit.ssh.id");
  if (id.empty()) id = kDefaultID;
  auto it = agents_.find(id);
  if (it == agents_.end()) return Status(Code::kUnknown, "unset ssh forward key " + id);
  Result<int> agent = DialUnix(it->second);
  if (!agent.ok()) {
    return Unavailable("failed to connect to " + it->second + ": " + agent.status().message());
  }
  // Requests are served one at a time, so a refused one is answered in order.
  std::string pending;
  sf::BytesMessage in;
  Status result;
  while (result.ok() && stream.Read(&in)) {
    pending += in.data();
    while (pending.size() >= 4) {
      uint32_t len = BigEndian32(pending.data());
      if (len > kMaxAgentMessage) {
        result = InvalidArgument("ssh agent request too large");
        break;
      }
      if (pending.size() < 4 + static_cast<size_t>(len)) break;
      std::string frame = pending.substr(0, 4 + len);
      pending.erase(0, 4 + len);
      unsigned char type = len > 0 ? static_cast<unsigned char>(frame[4]) : 0;
      sf::BytesMessage out;
      if (type == kRequestIdentities || type == kSignRequest) {
        Result<std::string> answer = SendAll(*agent, frame)
                                         ? ReadFrame(*agent)
                                         : Unavailable("the ssh agent closed the connection");
        if (!answer.ok()) {
          result = Unavailable(answer.status().message());
          break;
        }
        out.set_data(std::move(*answer));
      } else {
        out.set_data(std::string("\0\0\0\1", 4) + static_cast<char>(kAgentFailure));
      }
      if (!stream.Write(out)) {
        result = Cancelled("the daemon closed the stream");
        break;
      }
    }
  }
  close(*agent);
  return result;
}

}  // namespace kiln::client
