#pragma once
// A tiny HTTP/1.1 server for tests: listens on 127.0.0.1 on a free port, one thread per
// connection (keep-alive), and answers each request with a scripted handler. Request bodies
// with Content-Length or chunked encoding are read. No TLS. Thread-safe.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace kiln::registry::testing {

struct TestRequest {
  std::string method;
  std::string target;                          // path and query, as sent
  std::string path;                            // without the query
  std::map<std::string, std::string> query;    // last value wins
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string Header(const std::string& name) const;
};

struct TestResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  // Sent unless the request is HEAD; Content-Length is its size unless a header sets it.
  std::string body;
  bool close = false;  // close the connection after this response
};

class TestHttpServer {
 public:
  using Handler = std::function<TestResponse(const TestRequest&)>;

  explicit TestHttpServer(Handler handler);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  int port() const { return port_; }
  // "127.0.0.1:<port>"
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + host(); }
  // Every request served so far, in order.
  std::vector<TestRequest> requests() const;
  // How many requests had this method and path.
  int Count(const std::string& method, const std::string& path) const;

 private:
  void AcceptLoop();
  void Serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_ = false;
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> conns_;  // guarded by mu_
  std::vector<int> conn_fds_;       // guarded by mu_
  std::vector<TestRequest> log_;    // guarded by mu_
};

// A port on 127.0.0.1 where nothing listens (bound, then closed).
int UnusedPort();

}  // namespace kiln::registry::testing
