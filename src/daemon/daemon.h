#pragma once
// kilnd: builds the worker, solver and services from a Config and serves them on unix sockets.

#include <memory>

#include "daemon/config.h"

namespace kiln::daemon {

class Daemon {
 public:
  static Result<std::unique_ptr<Daemon>> Start(const Config& cfg);
  ~Daemon();
  // Blocks until Shutdown() (e.g. from a signal handler thread).
  void Wait();
  void Shutdown();

 private:
  Daemon();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::daemon
