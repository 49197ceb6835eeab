#pragma once
// Shared by the exporters (internal to the module): the progress vertex of an export step
// (BuildKit's exporters show one vertex each, named like "exporting to image", with status
// lines under it), and the stream of a tarball to the client's file. Thread-safe as
// solver::VertexProgress is.

#include <functional>
#include <map>
#include <string>

#include "exporter/exporter.h"
#include "util/digest.h"
#include "util/tar_writer.h"

namespace kiln::exporter {

// A vertex of our own for the export step; Started when made.
class ExportProgress {
 public:
  ExportProgress(const ExportRequest& req, const std::string& name)
      : vp_(req.progress ? req.progress : &null_,
            solver::VertexEvent{
                Digest::FromBytes(name + "\n" + req.job_id + "\n" + std::to_string(req.index))
                    .str(),
                name,
                {},
                false,
                {},
                {},
                {}}) {
    vp_.Started();
  }
  solver::VertexProgress& vp() { return vp_; }

 private:
  class Null : public solver::ProgressSink {
   public:
    void Write(solver::ProgressEvent) override {}
  } null_;
  solver::VertexProgress vp_;
};

// Streams what `produce` writes to the client's file exporter `req.index` in 1 MiB messages,
// with a "sending tarball" status; `md` goes along as exporter-md-<key> metadata.
Status SendTarball(const Context& ctx, const ExportRequest& req,
                   const std::map<std::string, std::string>& md, solver::VertexProgress& vp,
                   const std::function<Status(const ByteSink& sink)>& produce);

}  // namespace kiln::exporter
