#include "registry/testing/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "util/check.h"

namespace kiln::registry::testing {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 307:
      return "Temporary Redirect";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

// Buffered reads from a socket.
class Conn {
 public:
  explicit Conn(int fd) : fd_(fd) {}
  bool ReadLine(std::string* line) {
    for (;;) {
      if (size_t nl = buf_.find("\r\n"); nl != std::string::npos) {
        *line = buf_.substr(0, nl);
        buf_.erase(0, nl + 2);
        return true;
      }
      if (!Fill()) return false;
    }
  }
  bool ReadN(size_t n, std::string* out) {
    while (buf_.size() < n) {
      if (!Fill()) return false;
    }
    *out += buf_.substr(0, n);
    buf_.erase(0, n);
    return true;
  }
  bool Write(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

 private:
  bool Fill() {
    char tmp[16384];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  int fd_;
  std::string buf_;
};

bool ReadRequest(Conn& c, TestRequest* req) {
  std::string line;
  if (!c.ReadLine(&line)) return false;
  size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) return false;
  req->method = line.substr(0, sp1);
  req->target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t q = req->target.find('?');
  req->path = req->target.substr(0, q);
  if (q != std::string::npos) {
    std::string qs = req->target.substr(q + 1);
    size_t start = 0;
    while (start <= qs.size()) {
      size_t amp = qs.find('&', start);
      std::string kv = qs.substr(start, amp - start);
      size_t eq = kv.find('=');
      std::string v = eq == std::string::npos ? "" : kv.substr(eq + 1);
      std::string dec;  // percent-decoding
      for (size_t i = 0; i < v.size(); i++) {
        if (v[i] == '%' && i + 2 < v.size()) {
          dec.push_back(static_cast<char>(std::strtol(v.substr(i + 1, 2).c_str(), nullptr, 16)));
          i += 2;
        } else {
          dec.push_back(v[i] == '+' ? ' ' : v[i]);
        }
      }
      req->query[kv.substr(0, eq)] = dec;
      if (amp == std::string::npos) break;
      start = amp + 1;
    }
  }
  for (;;) {
    if (!c.ReadLine(&line)) return false;
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string v = line.substr(colon + 1);
    v.erase(0, v.find_first_not_of(' '));
    req->headers[Lower(line.substr(0, colon))] = v;
  }
  if (auto it = req->headers.find("content-length"); it != req->headers.end()) {
    return c.ReadN(std::strtoul(it->second.c_str(), nullptr, 10), &req->body);
  }
  if (Lower(req->Header("transfer-encoding")) == "chunked") {
    for (;;) {
      if (!c.ReadLine(&line)) return false;
      size_t n = std::strtoul(line.c_str(), nullptr, 16);
      if (n == 0) {
        c.ReadLine(&line);
        return true;
      }
      if (!c.ReadN(n, &req->body) || !c.ReadLine(&line)) return false;
    }
  }
  return true;
}

}  // namespace

std::string TestRequest::Header(const std::string& name) const {
  auto it = headers.find(Lower(name));
  return it == headers.end() ? "" : it->second;
}

TestHttpServer::TestHttpServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  KILN_CHECK(listen_fd_ >= 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  KILN_CHECK(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  KILN_CHECK(::listen(listen_fd_, 64) == 0);
  socklen_t len = sizeof addr;
  KILN_CHECK(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TestHttpServer::~TestHttpServer() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> conns;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);  // wakes recv()
    conns.swap(conns_);
  }
  for (auto& t : conns) t.join();
  std::lock_guard<std::mutex> l(mu_);
  for (int fd : conn_fds_) ::close(fd);
}

void TestHttpServer::AcceptLoop() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    conn_fds_.push_back(fd);
    conns_.emplace_back([this, fd] { Serve(fd); });
  }
}

void TestHttpServer::Serve(int fd) {
  Conn c(fd);
  for (;;) {
    TestRequest req;
    if (!ReadRequest(c, &req)) break;
    {
      std::lock_guard<std::mutex> l(mu_);
      log_.push_back(req);
    }
    TestResponse resp = handler_(req);
    std::string out =
        "HTTP/1.1 " + std::to_string(resp.status) + " " + Reason(resp.status) + "\r\n";
    bool has_length = false;
    for (const auto& [k, v] : resp.headers) {
      out += k + ": " + v + "\r\n";
      if (Lower(k) == "content-length") has_length = true;
    }
    if (!has_length) out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n";
    if (resp.close) out += "Connection: close\r\n";
    out += "\r\n";
    if (req.method != "HEAD") out += resp.body;
    if (!c.Write(out) || resp.close) break;
  }
  // The fd stays open (and in conn_fds_) until the destructor, so it is never reused while
  // the destructor may still shut it down.
  ::shutdown(fd, SHUT_RDWR);
}

std::vector<TestRequest> TestHttpServer::requests() const {
  std::lock_guard<std::mutex> l(mu_);
  return log_;
}

int TestHttpServer::Count(const std::string& method, const std::string& path) const {
  std::lock_guard<std::mutex> l(mu_);
  int n = 0;
  for (const auto& r : log_) n += r.method == method && r.path == path;
  return n;
}

int UnusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  KILN_CHECK(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  KILN_CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  KILN_CHECK(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace kiln::registry::testing
