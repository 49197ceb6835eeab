#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/progress_plain.h"
#include "client/progress_rawjson.h"
#include "client/progress_tty.h"
#include "client/warnings_summary.h"

namespace kiln::client::progress {
namespace {

namespace bk = moby::buildkit::v1;

constexpr int64_t kT0 = 1700000000;  // seconds

google::protobuf::Timestamp Ts(double secs) {
  google::protobuf::Timestamp ts;
  int64_t ns = static_cast<int64_t>(secs * 1e9 + 0.5);
  ts.set_seconds(kT0 + ns / 1000000000);
  ts.set_nanos(static_cast<int>(ns % 1000000000));
  return ts;
}

bk::StatusResponse Vertex(const std::string& digest, const std::string& name,
                          std::optional<double> started, std::optional<double> completed,
                          bool cached = false, const std::string& error = "") {
  bk::StatusResponse r;
  auto* v = r.add_vertexes();
  v->set_digest(digest);
  v->set_name(name);
  if (started) *v->mutable_started() = Ts(*started);
  if (completed) *v->mutable_completed() = Ts(*completed);
  v->set_cached(cached);
  v->set_error(error);
  return r;
}

bk::StatusResponse Log(const std::string& digest, double at, const std::string& text) {
  bk::StatusResponse r;
  auto* l = r.add_logs();
  l->set_vertex(digest);
  *l->mutable_timestamp() = Ts(at);
  l->set_stream(1);
  l->set_msg(text);
  return r;
}

bk::StatusResponse StatusLineMsg(const std::string& digest, const std::string& id, int64_t current,
                                 int64_t total, double started, std::optional<double> completed,
                                 double at) {
  bk::StatusResponse r;
  auto* s = r.add_statuses();
  s->set_id(id);
  s->set_vertex(digest);
  s->set_current(current);
  s->set_total(total);
  *s->mutable_timestamp() = Ts(at);
  *s->mutable_started() = Ts(started);
  if (completed) *s->mutable_completed() = Ts(*completed);
  return r;
}

class PlainPrinterTest : public ::testing::Test {
 protected:
  PlainPrinterTest()
      : printer_([this](std::string_view s) { out_ += s; }, [this] { return now_; }) {}

  std::string out_;
  Nanos now_ = (kT0 + 100) * 1000000000;
  PlainPrinter printer_;
};

TEST_F(PlainPrinterTest, PrintsBuildctlBlocks) {
  const std::string a = "sha256:aaa";
  const std::string b = "sha256:bbb";
  const std::string c = "sha256:ccc";
  printer_.Update(Vertex(a, "[internal] load build definition from Dockerfile", 0.0, {}));
  printer_.Update(StatusLineMsg(a, "transferring dockerfile:", 95, 0, 0.0, 0.005, 0.005));
  printer_.Update(Vertex(a, "[internal] load build definition from Dockerfile", 0.0, 0.02));
  printer_.Update(Vertex(b, "[2/2] RUN echo hi", 1.0, {}));
  printer_.Update(Log(b, 1.213, "hi\n"));
  printer_.Update(Vertex(b, "[2/2] RUN echo hi", 1.0, 1.3));
  printer_.Update(Vertex(c, "[1/2] FROM scratch", 2.0, 2.0, /*cached=*/true));
  printer_.Done();
  EXPECT_EQ(out_,
            "#1 [internal] load build definition from Dockerfile\n"
            "#1 transferring dockerfile: 95B done\n"
            "#1 DONE 0.0s\n"
            "\n"
            "#2 [2/2] RUN echo hi\n"
            "#2 0.213 hi\n"
            "#2 DONE 0.3s\n"
            "\n"
            "#3 [1/2] FROM scratch\n"
            "#3 CACHED\n");
}

TEST_F(PlainPrinterTest, FailedStepPrintsErrorAndItsLogs) {
  const std::string d = "sha256:ddd";
  printer_.Update(Vertex(d, "[3/3] RUN false", 3.0, {}));
  printer_.Update(Log(d, 3.1, "oops\npart"));
  printer_.Update(Log(d, 3.2, "ial\n"));
  printer_.Update(Vertex(d, "[3/3] RUN false", 3.0, 3.5, false, "exit code: 1"));
  printer_.Done();
  EXPECT_EQ(out_,
            "#1 [3/3] RUN false\n"
            "#1 0.100 oops\n"
            "#1 0.100 partial\n"
            "#1 ERROR: exit code: 1\n"
            "------\n"
            " > [3/3] RUN false:\n"
            "0.100 oops\n"
            "0.100 partial\n"
            "------\n");
}

TEST_F(PlainPrinterTest, CanceledStepPrintsCanceled) {
  const std::string d = "sha256:ddd";
  printer_.Update(Vertex(d, "RUN sleep 100", 0.0, 0.5, false, "context canceled"));
  printer_.Done();
  EXPECT_EQ(out_, "#1 RUN sleep 100\n#1 CANCELED\n");
}

TEST_F(PlainPrinterTest, InterruptedBlockEndsWithEllipsis) {
  const std::string a = "sha256:a";
  const std::string b = "sha256:b";
  printer_.Update(Vertex(a, "step a", 0.0, {}));
  printer_.Update(Log(a, 0.5, "from a\n"));
  printer_.Update(Vertex(b, "step b", 1.0, 2.0));  // b completes while a still runs
  printer_.Update(Vertex(a, "step a", 0.0, 3.0));
  printer_.Done();
  EXPECT_EQ(out_,
            "#1 step a\n"
            "#1 0.500 from a\n"
            "#1 ...\n"
            "\n"
            "#2 step b\n"
            "#2 DONE 1.0s\n"
            "\n"
            "#1 step a\n"
            "#1 DONE 3.0s\n");
}

TEST_F(PlainPrinterTest, LogsOfUnknownVertexesAreDropped) {
  printer_.Update(Log("sha256:nope", 1.0, "lost\n"));
  printer_.Done();
  EXPECT_EQ(out_, "");
}

TEST_F(PlainPrinterTest, StatusWithTotalShowsBothSizesAndTime) {
  const std::string a = "sha256:a";
  printer_.Update(Vertex(a, "exporting to client directory", 0.0, {}));
  printer_.Update(StatusLineMsg(a, "copying files", 1234567, 2000000, 0.0, 1.5, 1.5));
  EXPECT_THAT(out_, ::testing::HasSubstr("#1 copying files 1.23MB / 2.00MB 1.5s done\n"));
}

TEST(RawJsonTest, EncodesLikeBuildctl) {
  bk::StatusResponse r;
  auto* v = r.add_vertexes();
  v->set_digest("sha256:abc");
  v->add_inputs("sha256:def");
  v->set_name("RUN echo hi");
  *v->mutable_started() = Ts(0.5);
  auto* s = r.add_statuses();
  s->set_id("copying files");
  s->set_vertex("sha256:abc");
  s->set_current(10);
  *s->mutable_timestamp() = Ts(1);
  auto* l = r.add_logs();
  l->set_vertex("sha256:abc");
  l->set_stream(1);
  l->set_msg("hi\n");
  *l->mutable_timestamp() = Ts(0.25);
  EXPECT_EQ(RawJsonLine(r),
            R"({"vertexes":[{"digest":"sha256:abc","inputs":["sha256:def"],"name":"RUN echo hi",)"
            R"("started":"2023-11-14T22:13:20.5Z"}],)"
            R"("statuses":[{"id":"copying files","vertex":"sha256:abc","current":10,)"
            R"("timestamp":"2023-11-14T22:13:21Z"}],)"
            R"("logs":[{"vertex":"sha256:abc","stream":1,"data":"aGkK",)"
            R"("timestamp":"2023-11-14T22:13:20.25Z"}]})");
}

bk::StatusResponse Warning(const std::string& short_msg, int line) {
  bk::StatusResponse r;
  auto* w = r.add_warnings();
  w->set_vertex("sha256:abc");
  w->set_level(1);
  w->set_short_(short_msg);
  w->add_detail("Rule description");
  w->set_url("https://docs.docker.com/go/dockerfile/rule/x/");
  w->mutable_info()->set_filename("Dockerfile");
  w->mutable_info()->set_data("FROM scratch\nCMD x\n");
  w->mutable_info()->set_language("Dockerfile");
  auto* range = w->add_ranges();
  range->mutable_start()->set_line(line);
  range->mutable_end()->set_line(line);
  return r;
}

TEST(RawJsonTest, WarningsCarryTheirSourceAndRanges) {
  EXPECT_EQ(RawJsonLine(Warning("X: y (line 2)", 2)),
            R"({"warnings":[{"vertex":"sha256:abc","level":1,"short":"WDogeSAobGluZSAyKQ==",)"
            R"("detail":["UnVsZSBkZXNjcmlwdGlvbg=="],)"
            R"("url":"https://docs.docker.com/go/dockerfile/rule/x/",)"
            R"("sourceInfo":{"filename":"Dockerfile","data":"RlJPTSBzY3JhdGNoCkNNRCB4Cg==",)"
            R"("language":"Dockerfile"},"range":[{"start":{"line":2},"end":{"line":2}}]}]})");
}

TEST(WarningsSummaryTest, PrintsEachWarningWithItsDetailsLinkAndLines) {
  WarningsSummary none;
  EXPECT_EQ(none.Format(), "");
  WarningsSummary one;
  one.Add(Warning("X: y (line 2)", 2));
  EXPECT_EQ(one.Format(),
            "\n 1 warning found:\n"
            " - X: y (line 2)\n"
            "Rule description\n"
            "More info: https://docs.docker.com/go/dockerfile/rule/x/\n"
            "Dockerfile:2\n"
            "--------------------\n"
            "   1 |     FROM scratch\n"
            "   2 | >>> CMD x\n"
            "   3 |     \n"
            "--------------------\n"
            "\n");
  one.Add(Warning("Z: w (line 1)", 1));
  EXPECT_THAT(one.Format(), ::testing::StartsWith("\n 2 warnings found:\n - X: y (line 2)\n"));
}

TEST(RawJsonTest, EmptyResponseIsEmptyObject) {
  EXPECT_EQ(RawJsonLine(bk::StatusResponse()), "{}");
}

TEST(TtyPrinterTest, DrawsHeaderAndStepsAndFinishes) {
  std::string out;
  Nanos now = (kT0 + 2) * 1000000000;
  TtyPrinter tty([&](std::string_view s) { out += s; }, [] { return std::make_pair(80, 20); },
                 [&] { return now; });
  tty.Update(Vertex("sha256:a", "[1/2] FROM scratch", 0.0, 0.0, true));
  tty.Update(Vertex("sha256:b", "[2/2] RUN make", 0.5, {}));
  now += 200000000;
  tty.Refresh();
  EXPECT_THAT(out, ::testing::HasSubstr("[+] Building"));
  EXPECT_THAT(out, ::testing::HasSubstr(" => CACHED [1/2] FROM scratch"));
  EXPECT_THAT(out, ::testing::HasSubstr(" => [2/2] RUN make"));
  tty.Update(Vertex("sha256:b", "[2/2] RUN make", 0.5, 1.5));
  out.clear();
  tty.Done();
  EXPECT_THAT(out, ::testing::HasSubstr("(2/2) FINISHED"));
  EXPECT_THAT(out, ::testing::HasSubstr("1.0s"));
}

TEST(MergeIntervalsTest, MergesOverlapsAndOpenEnds) {
  auto m = MergeIntervals({{0, 10}, {5, 15}, {20, 30}, {25, std::nullopt}, {40, 50}});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].start, 0);
  EXPECT_EQ(*m[0].stop, 15);
  EXPECT_EQ(m[1].start, 20);
  EXPECT_FALSE(m[1].stop.has_value());
}

}  // namespace
}  // namespace kiln::client::progress
