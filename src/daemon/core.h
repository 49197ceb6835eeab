#pragma once
// The daemon's parts, shared by its gRPC services. Built once at start (daemon.cc).

#include <memory>

#include "daemon/config.h"
#include "daemon/jobs.h"
#include "exporter/exporter.h"
#include "frontend/frontend.h"
#include "llbsolver/llbsolver.h"
#include "session/session.h"
#include "solver/keystore.h"
#include "solver/solver.h"
#include "source/git.h"
#include "source/http.h"
#include "source/image.h"
#include "source/local.h"
#include "worker/worker.h"

namespace kiln::daemon {

struct Core {
  Config config;
  std::unique_ptr<worker::Worker> worker;
  std::unique_ptr<solver::CacheKeyStore> keys;
  std::unique_ptr<solver::Solver> solver;
  std::unique_ptr<session::Manager> sessions;
  std::unique_ptr<source::LocalSource> local;
  std::unique_ptr<source::ImageSource> images;
  std::unique_ptr<source::HttpSource> http;
  std::unique_ptr<source::GitSource> git;
  std::unique_ptr<llbsolver::LLBSolver> llb;
  frontend::Registry frontends;
  exporter::Deps exporters;
  JobRegistry jobs;
  Context ctx = Context::Background();  // cancelled at shutdown
};

}  // namespace kiln::daemon
