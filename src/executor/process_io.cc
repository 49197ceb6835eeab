#include "executor/process_io.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <ctime>

#include "executor/subprocess.h"

namespace kiln::executor {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;  // one owner closes it
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  int get() const { return fd_; }
  void Close() { Reset(-1); }
  void Reset(int fd) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

Status MakePipe(Fd& r, Fd& w) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  r.Reset(p[0]);
  w.Reset(p[1]);
  return Status::Ok();
}

int MillisUntil(Clock::time_point t) {
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return d < 0 ? 0 : static_cast<int>(d) + 1;
}

}  // namespace

Result<int> RunProcessIO(const Context& ctx, const std::vector<std::string>& argv,
                         const Stdio& stdio, const ProcessIOOptions& opts) {
  Fd out_r, out_w, err_r, err_w, in_r, in_w;
  KILN_RETURN_IF_ERROR(MakePipe(out_r, out_w));
  KILN_RETURN_IF_ERROR(MakePipe(err_r, err_w));
  if (!stdio.stdin_data.empty()) {
    KILN_RETURN_IF_ERROR(MakePipe(in_r, in_w));
    if (fcntl(in_w.get(), F_SETFL, O_NONBLOCK) != 0) return ErrnoStatus(errno, "fcntl");
  }
  Fd cancel_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (cancel_fd.get() < 0) return ErrnoStatus(errno, "eventfd");

  KILN_ASSIGN_OR_RETURN(Child child, Spawn(argv, {in_r.get(), out_w.get(), err_w.get()}));
  in_r.Close();
  out_w.Close();
  err_w.Close();

  int efd = cancel_fd.get();
  // Registered after the spawn: an already-cancelled ctx fires at once and is handled below.
  Context::CallbackHandle on_cancel = ctx.OnCancel([efd](const Status&) {
    uint64_t one = 1;
    (void)!write(efd, &one, sizeof one);
  });

  size_t in_off = 0;
  bool exited = false;
  int exit_code = 0;
  bool cancel_seen = false, killed = false;
  Clock::time_point next_kill{}, kill_deadline{}, drain_deadline{};
  bool stuck_reported = false;
  char buf[65536];

  while (true) {
    bool out_open = out_r.get() >= 0 || err_r.get() >= 0;
    if (exited && !out_open) break;
    struct pollfd pfd[5];
    int n = 0;
    int i_out = -1, i_err = -1, i_in = -1, i_pid = -1, i_cancel = -1;
    if (out_r.get() >= 0) pfd[i_out = n++] = {out_r.get(), POLLIN, 0};
    if (err_r.get() >= 0) pfd[i_err = n++] = {err_r.get(), POLLIN, 0};
    if (in_w.get() >= 0) pfd[i_in = n++] = {in_w.get(), POLLOUT, 0};
    if (!exited) pfd[i_pid = n++] = {child.pidfd(), POLLIN, 0};
    if (!cancel_seen) pfd[i_cancel = n++] = {cancel_fd.get(), POLLIN, 0};

    int timeout = -1;
    if (cancel_seen && !killed && !exited) timeout = MillisUntil(next_kill);
    if (exited) timeout = MillisUntil(drain_deadline);
    int r = poll(pfd, static_cast<nfds_t>(n), timeout);
    if (r < 0 && errno != EINTR) return ErrnoStatus(errno, "poll");

    if (i_cancel >= 0 && r > 0 && (pfd[i_cancel].revents & POLLIN)) {
      cancel_seen = true;
      next_kill = Clock::now();
      kill_deadline = next_kill + opts.kill_timeout;
      in_w.Close();
    }
    if (cancel_seen && !killed && !exited && Clock::now() >= next_kill) {
      if (opts.kill && opts.kill()) {
        killed = true;
      } else if (Clock::now() >= kill_deadline) {
        kill(child.pid(), SIGKILL);
        killed = true;
      } else {
        next_kill = Clock::now() + opts.retry_interval;
      }
    }
    if (exited && Clock::now() >= drain_deadline) {
      if (stuck_reported) break;  // give up on output nobody will ever close
      stuck_reported = true;
      if (opts.on_stuck_output) opts.on_stuck_output();
      drain_deadline = Clock::now() + opts.drain_grace;
    }
    if (r <= 0) continue;
    auto pump = [&](int idx, Fd& fd, const std::function<void(std::string_view)>& sink) {
      if (idx < 0 || pfd[idx].revents == 0) return;
      ssize_t got = read(fd.get(), buf, sizeof buf);
      if (got > 0) {
        if (sink) sink(std::string_view(buf, static_cast<size_t>(got)));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        fd.Close();
      }
    };
    pump(i_out, out_r, stdio.out);
    pump(i_err, err_r, stdio.err);
    if (i_in >= 0 && pfd[i_in].revents != 0) {
      const std::string& data = stdio.stdin_data;
      ssize_t w = WriteNoSigpipe(in_w.get(), data.data() + in_off, data.size() - in_off);
      if (w > 0) in_off += static_cast<size_t>(w);
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off == data.size()) in_w.Close();
    }
    if (i_pid >= 0 && (pfd[i_pid].revents & POLLIN)) {
      KILN_ASSIGN_OR_RETURN(exit_code, child.Wait());
      exited = true;
      in_w.Close();
      drain_deadline = Clock::now() + opts.drain_grace;
    }
  }
  return exit_code;
}

}  // namespace kiln::executor
