#include "client/progress_tty.h"

#include <fmt/format.h>

#include <algorithm>

#include "client/go_format.h"

namespace kiln::client::progress {

namespace {

constexpr Nanos kMinRedraw = 100000000;  // 100 ms between redraws caused by updates
constexpr const char* kBlue = "\x1b[34m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kRed = "\x1b[31m";
constexpr const char* kReset = "\x1b[0m";

// `left` padded with spaces so that `right` ends at column `width`.
std::string Align(const std::string& left, const std::string& right, int width) {
  int pad = width - static_cast<int>(left.size()) - static_cast<int>(right.size());
  return left + std::string(static_cast<size_t>(std::max(pad, 1)), ' ') + right;
}

}  // namespace

void TtyPrinter::Update(const moby::buildkit::v1::StatusResponse& resp) {
  trace_.Update(resp);
  if (trace_.Now() - last_draw_ >= kMinRedraw) Draw(false);
}

void TtyPrinter::Refresh() { Draw(false); }

void TtyPrinter::Done() {
  Draw(true);
  std::string logs = trace_.ErrorLogs(/*all_logs=*/true);
  if (!logs.empty()) sink_(logs);
}

std::vector<TtyPrinter::Job> TtyPrinter::Jobs(Nanos now) const {
  std::vector<Job> jobs;
  for (const VertexState* v : trace_.started()) {
    Job j;
    j.name = v->name;
    std::replace(j.name.begin(), j.name.end(), '\t', ' ');
    j.completed = v->IsCompleted();
    j.duration = v->Duration(now);
    if (!v->error.empty()) {
      if (v->IsCanceled()) {
        j.canceled = true;
        j.name = "CANCELED " + j.name;
      } else {
        j.error = true;
        j.name = "ERROR " + j.name;
      }
    }
    if (v->cached) j.name = "CACHED " + j.name;
    jobs.push_back(j);
    for (const StatusLine* s : v->statuses) {
      Job sj;
      sj.name = "=> " + s->id;
      sj.completed = s->completed.has_value();
      if (s->started) sj.duration = s->completed.value_or(now) - *s->started;
      if (s->total != 0) {
        sj.status = FormatBytes(s->current) + " / " + FormatBytes(s->total);
      } else if (s->current != 0) {
        sj.status = FormatBytes(s->current);
      }
      jobs.push_back(sj);
    }
    for (const auto& w : v->warnings) {
      Job wj;
      wj.name = "WARN: " + w.short_msg;
      wj.completed = true;
      wj.canceled = true;
      jobs.push_back(wj);
    }
  }
  return jobs;
}

void TtyPrinter::Draw(bool final) {
  auto [width, height] = size_();
  if (width <= 0) width = 80;
  if (height <= 0) height = 10;
  Nanos now = trace_.Now();
  last_draw_ = now;

  std::vector<Job> jobs = Jobs(now);
  int total = static_cast<int>(trace_.all().size());
  int done = 0;
  for (const VertexState* v : trace_.all()) done += v->IsCompleted() ? 1 : 0;
  if (!final && static_cast<int>(jobs.size()) > height - 2) {
    jobs.erase(jobs.begin(), jobs.end() - std::max(height - 2, 0));
  }

  std::string out = "\x1b[?25l";                                // hide the cursor while drawing
  if (drawn_) out += fmt::format("\x1b[{}F", line_count_ + 1);  // back to the header line
  drawn_ = true;
  double elapsed = trace_.start_time() ? static_cast<double>(now - *trace_.start_time()) / 1e9 : 0;
  std::string header = fmt::format("[+] Building {:.1f}s ({}/{}){}", elapsed, done, total,
                                   final && total > 0 && done == total ? " FINISHED" : "");
  out += header.substr(0, static_cast<size_t>(width)) + "\x1b[K\n";

  int lines = 0;
  for (const Job& j : jobs) {
    double secs = static_cast<double>(j.duration) / 1e9;
    if (secs < 0.05) secs = 0;
    std::string timer = fmt::format(" {:.1f}s", secs);
    int left = width - 4 - static_cast<int>(timer.size()) - 1;
    bool show_status = !j.status.empty() && left + static_cast<int>(j.status.size()) > 20;
    if (show_status) left -= static_cast<int>(j.status.size()) + 1;
    if (left < 12) continue;  // too narrow
    std::string line = " => " + j.name.substr(0, static_cast<size_t>(left));
    if (show_status) line += " " + j.status;
    line = Align(line, timer, width - 1);
    if (j.completed) {
      const char* color = j.canceled ? kYellow : (j.error ? kRed : kBlue);
      line = color + line + kReset;
    }
    out += line + "\x1b[K\n";
    ++lines;
  }
  for (int i = lines; i < line_count_; ++i) out += "\x1b[K\n";  // clear what is left below
  if (line_count_ > lines) out += fmt::format("\x1b[{}F", line_count_ - lines);
  line_count_ = lines;
  out += "\x1b[?25h";
  sink_(out);
}

}  // namespace kiln::client::progress
