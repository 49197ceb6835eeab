#include "client/progress_display.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "client/progress_plain.h"
#include "client/progress_rawjson.h"
#include "client/progress_tty.h"

namespace kiln::client {

namespace {

void WriteAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = write(fd, s.data(), s.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // progress output is best effort
    }
    s.remove_prefix(static_cast<size_t>(n));
  }
}

// Wraps a renderer with a lock and a ticker thread calling its Refresh.
template <typename Printer>
class TickingDisplay : public ProgressDisplay {
 public:
  explicit TickingDisplay(std::unique_ptr<Printer> printer) : printer_(std::move(printer)) {
    ticker_ = std::thread([this] { Tick(); });
  }
  ~TickingDisplay() override { Done(); }

  void Update(const moby::buildkit::v1::StatusResponse& resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!done_) printer_->Update(resp);
  }

  void Done() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_) return;
      done_ = true;
      cv_.notify_all();
    }
    ticker_.join();
    std::lock_guard<std::mutex> lock(mu_);
    printer_->Done();
  }

 private:
  void Tick() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!done_) {
      cv_.wait_for(lock, std::chrono::milliseconds(150));
      if (!done_) printer_->Refresh();
    }
  }

  std::unique_ptr<Printer> printer_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;  // guarded by mu_
  std::thread ticker_;
};

class RawJsonDisplay : public ProgressDisplay {
 public:
  explicit RawJsonDisplay(int fd) : fd_(fd) {}
  void Update(const moby::buildkit::v1::StatusResponse& resp) override {
    std::string line = progress::RawJsonLine(resp) + "\n";
    std::lock_guard<std::mutex> lock(mu_);
    WriteAll(fd_, line);
  }
  void Done() override {}

 private:
  int fd_;
  std::mutex mu_;
};

class QuietDisplay : public ProgressDisplay {
 public:
  void Update(const moby::buildkit::v1::StatusResponse&) override {}
  void Done() override {}
};

std::pair<int, int> TerminalSize(int fd) {
  winsize ws{};
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
    return {ws.ws_col, ws.ws_row};
  }
  return {80, 10};
}

}  // namespace

Result<ProgressMode> ParseProgressMode(std::string_view s) {
  if (s == "auto" || s.empty()) return ProgressMode::kAuto;
  if (s == "plain") return ProgressMode::kPlain;
  if (s == "tty") return ProgressMode::kTty;
  if (s == "rawjson") return ProgressMode::kRawJson;
  if (s == "quiet") return ProgressMode::kQuiet;
  return InvalidArgument(fmt::format("invalid progress mode {}", s));
}

Result<std::unique_ptr<ProgressDisplay>> NewProgressDisplay(ProgressMode mode, int fd) {
  auto sink = [fd](std::string_view s) { WriteAll(fd, s); };
  bool tty = isatty(fd) == 1;
  if (mode == ProgressMode::kTty && !tty) {
    return InvalidArgument("failed to get console: output is not a terminal");
  }
  switch (mode) {
    case ProgressMode::kAuto:
    case ProgressMode::kTty:
      if (tty) {
        auto printer =
            std::make_unique<progress::TtyPrinter>(sink, [fd] { return TerminalSize(fd); });
        return std::unique_ptr<ProgressDisplay>(
            std::make_unique<TickingDisplay<progress::TtyPrinter>>(std::move(printer)));
      }
      [[fallthrough]];
    case ProgressMode::kPlain: {
      const char* no_trunc = getenv("PROGRESS_NO_TRUNC");
      bool truncate = no_trunc != nullptr && std::string_view(no_trunc) == "0";
      auto printer = std::make_unique<progress::PlainPrinter>(sink, progress::SystemNow, truncate);
      return std::unique_ptr<ProgressDisplay>(
          std::make_unique<TickingDisplay<progress::PlainPrinter>>(std::move(printer)));
    }
    case ProgressMode::kRawJson:
      return std::unique_ptr<ProgressDisplay>(std::make_unique<RawJsonDisplay>(fd));
    case ProgressMode::kQuiet:
      return std::unique_ptr<ProgressDisplay>(std::make_unique<QuietDisplay>());
  }
  return InvalidArgument("invalid progress mode");
}

}  // namespace kiln::client
