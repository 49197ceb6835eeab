#include "daemon/status_convert.h"

namespace kiln::daemon {

namespace {

google::protobuf::Timestamp Ts(const solver::TimePoint& t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  google::protobuf::Timestamp out;
  out.set_seconds(ns / 1000000000);
  out.set_nanos(static_cast<int32_t>(ns % 1000000000));
  return out;
}

}  // namespace

void AppendEvent(const solver::ProgressEvent& ev, moby::buildkit::v1::StatusResponse* resp) {
  if (auto* v = std::get_if<solver::VertexEvent>(&ev)) {
    auto* out = resp->add_vertexes();
    out->set_digest(v->digest);
    for (const auto& i : v->inputs) out->add_inputs(i);
    out->set_name(v->name);
    out->set_cached(v->cached);
    if (v->started) *out->mutable_started() = Ts(*v->started);
    if (v->completed) *out->mutable_completed() = Ts(*v->completed);
    out->set_error(v->error);
  } else if (auto* s = std::get_if<solver::StatusEvent>(&ev)) {
    auto* out = resp->add_statuses();
    out->set_id(s->id);
    out->set_vertex(s->vertex);
    out->set_name(s->name);
    out->set_current(s->current);
    out->set_total(s->total);
    *out->mutable_timestamp() = Ts(s->timestamp);
    if (s->started) *out->mutable_started() = Ts(*s->started);
    if (s->completed) *out->mutable_completed() = Ts(*s->completed);
  } else if (auto* l = std::get_if<solver::LogEvent>(&ev)) {
    auto* out = resp->add_logs();
    out->set_vertex(l->vertex);
    *out->mutable_timestamp() = Ts(l->timestamp);
    out->set_stream(l->stream);
    out->set_msg(l->data);
  } else if (auto* w = std::get_if<solver::WarningEvent>(&ev)) {
    auto* out = resp->add_warnings();
    out->set_vertex(w->vertex);
    out->set_level(w->level);
    out->set_short_(w->short_msg);
    for (const auto& d : w->detail) out->add_detail(d);
    out->set_url(w->url);
    if (w->source) {
      out->mutable_info()->set_filename(w->source->filename);
      out->mutable_info()->set_data(w->source->data);
      out->mutable_info()->set_language(w->source->language);
    }
    for (const auto& r : w->ranges) {
      auto* pr = out->add_ranges();
      pr->mutable_start()->set_line(r.start.line);
      pr->mutable_start()->set_character(r.start.character);
      pr->mutable_end()->set_line(r.end.line);
      pr->mutable_end()->set_character(r.end.character);
    }
  }
}

}  // namespace kiln::daemon
