#include "solver/solver.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include "solver/testing/fake_ops.h"

namespace kiln::solver {
namespace {

using testing::ConcatOp;
using testing::FakeResultStore;
using testing::StringResult;

std::string Value(const Result<OpResultPtr>& r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return "";
  return static_cast<const StringResult&>(**r).value();
}

class SolverTest : public ::testing::Test {
 protected:
  std::shared_ptr<Vertex> MakeVertex(const std::string& name, std::vector<Edge> inputs,
                                     std::shared_ptr<ConcatOp>* op_out = nullptr) {
    auto v = std::make_shared<Vertex>();
    v->digest = Digest::FromBytes(name).str();
    v->name = name;
    v->inputs = std::move(inputs);
    auto op = std::make_shared<ConcatOp>(&store_, name, v->inputs.size());
    v->op = op;
    if (op_out) *op_out = op;
    return v;
  }

  FakeResultStore store_;
  std::unique_ptr<CacheKeyStore> keys_ = NewMemoryKeyStore();
};

TEST_F(SolverTest, BuildsGraphInDependencyOrder) {
  Solver s({}, keys_.get(), &store_);
  auto a = MakeVertex("a", {});
  auto b = MakeVertex("b", {});
  auto c = MakeVertex("c", {{a, 0}, {b, 0}});
  auto job = s.NewJob("j1", {});
  EXPECT_EQ(Value(s.Build(Context::Background(), job, {c, 0})), "c+a+b");
}

TEST_F(SolverTest, SecondBuildIsCachedAndReportsCached) {
  Solver s({}, keys_.get(), &store_);
  std::shared_ptr<ConcatOp> op_a, op_c;
  auto a = MakeVertex("a", {}, &op_a);
  auto c = MakeVertex("c", {{a, 0}}, &op_c);
  {
    auto job = s.NewJob("j1", {});
    EXPECT_EQ(Value(s.Build(Context::Background(), job, {c, 0})), "c+a");
  }
  // A fresh definition of the same graph (as a new client request would load it).
  std::shared_ptr<ConcatOp> op_a2, op_c2;
  auto a2 = MakeVertex("a", {}, &op_a2);
  auto c2 = MakeVertex("c", {{a2, 0}}, &op_c2);
  auto job = s.NewJob("j2", {});
  EXPECT_EQ(Value(s.Build(Context::Background(), job, {c2, 0})), "c+a");
  EXPECT_EQ(op_a2->execs + op_c2->execs, 0);
  size_t next = 0;
  std::vector<ProgressEvent> evs;
  job->progress().Close();
  while (job->progress().Read(Context::Background(), &next, &evs)) {
  }
  std::set<std::string> cached;
  for (auto& e : evs) {
    if (auto* v = std::get_if<VertexEvent>(&e); v && v->cached && v->completed) cached.insert(v->name);
  }
  // c came from the cache; a's result was not even needed, and is reported cached as well.
  EXPECT_EQ(cached, (std::set<std::string>{"a", "c"}));
}

TEST_F(SolverTest, ConcurrentJobsRunSharedVertexOnce) {
  Solver s({}, keys_.get(), &store_);
  std::shared_ptr<ConcatOp> op_a;
  auto a = MakeVertex("a", {}, &op_a);
  op_a->block_ms = 100;
  auto c = MakeVertex("c", {{a, 0}});
  std::vector<std::thread> ts;
  std::vector<std::string> out(4);
  for (int i = 0; i < 4; i++) {
    ts.emplace_back([&, i] {
      auto job = s.NewJob("j" + std::to_string(i), {});
      out[static_cast<size_t>(i)] = Value(s.Build(Context::Background(), job, {c, 0}));
    });
  }
  for (auto& t : ts) t.join();
  for (auto& v : out) EXPECT_EQ(v, "c+a");
  EXPECT_EQ(op_a->execs, 1);
  EXPECT_EQ(s.ExecCount(a->digest), 1);
  EXPECT_EQ(s.ExecCount(c->digest), 1);
}

TEST_F(SolverTest, ContentBasedKeyIgnoresInputDefinitionChanges) {
  Solver s({}, keys_.get(), &store_);
  // Two different source vertices that produce the same value "x".
  auto src1 = MakeVertex("x", {});
  auto v1 = MakeVertex("copy", {{src1, 0}});
  static_cast<ConcatOp&>(*v1->op).content_based_ = true;
  auto job = s.NewJob("j1", {});
  EXPECT_EQ(Value(s.Build(Context::Background(), job, {v1, 0})), "copy+x");

  auto src2 = MakeVertex("x", {});
  src2->digest = Digest::FromBytes("another definition of x").str();
  std::shared_ptr<ConcatOp> op2;
  auto v2 = MakeVertex("copy", {{src2, 0}}, &op2);
  op2->content_based_ = true;
  auto job2 = s.NewJob("j2", {});
  EXPECT_EQ(Value(s.Build(Context::Background(), job2, {v2, 0})), "copy+x");
  EXPECT_EQ(op2->execs, 0);
}

TEST_F(SolverTest, ErrorNamesVertexAndIsNotCached) {
  Solver s({}, keys_.get(), &store_);
  std::shared_ptr<ConcatOp> op;
  auto a = MakeVertex("a", {}, &op);
  op->fail = true;
  auto job = s.NewJob("j1", {});
  auto r = s.Build(Context::Background(), job, {a, 0});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().details().vertex, a->digest);
  EXPECT_EQ(r.status().message(), "op a failed");
}

TEST_F(SolverTest, CancellingTheOnlyJobStopsTheWork) {
  Solver s({}, keys_.get(), &store_);
  std::shared_ptr<ConcatOp> op;
  auto a = MakeVertex("a", {}, &op);
  op->block_ms = 30000;
  auto job = s.NewJob("j1", {});
  Context ctx = Context::Background().Child();
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ctx.Cancel(Cancelled("client went away"));
  });
  auto r = s.Build(ctx, job, {a, 0});
  t.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCancelled);
  for (int i = 0; i < 200 && op->cancelled == 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(op->cancelled, 1);
}

TEST_F(SolverTest, CancellingOneJobKeepsSharedWorkForTheOther) {
  Solver s({}, keys_.get(), &store_);
  std::shared_ptr<ConcatOp> op;
  auto a = MakeVertex("a", {}, &op);
  op->block_ms = 200;
  auto j1 = s.NewJob("j1", {});
  auto j2 = s.NewJob("j2", {});
  Context c1 = Context::Background().Child();
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    c1.Cancel(Cancelled("first client left"));
  });
  std::string v2;
  std::thread b2([&] { v2 = Value(s.Build(Context::Background(), j2, {a, 0})); });
  auto r1 = s.Build(c1, j1, {a, 0});
  t.join();
  b2.join();
  EXPECT_FALSE(r1.ok());
  EXPECT_EQ(v2, "a");
  EXPECT_EQ(op->execs, 1);
  EXPECT_EQ(op->cancelled, 0);
}

TEST_F(SolverTest, KeyStoreSurvivesRestart) {
  char tmpl[] = "/tmp/kiln-keys-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  {
    auto keys = OpenSqliteKeyStore(dir + "/keys.db");
    ASSERT_TRUE(keys.ok()) << keys.status().ToString();
    Solver s({}, keys->get(), &store_);
    auto c = MakeVertex("c", {{MakeVertex("a", {}), 0}});
    EXPECT_EQ(Value(s.Build(Context::Background(), s.NewJob("j", {}), {c, 0})), "c+a");
  }
  auto keys = OpenSqliteKeyStore(dir + "/keys.db");
  ASSERT_TRUE(keys.ok());
  Solver s({}, keys->get(), &store_);
  std::shared_ptr<ConcatOp> op_c;
  auto c = MakeVertex("c", {{MakeVertex("a", {}), 0}}, &op_c);
  EXPECT_EQ(Value(s.Build(Context::Background(), s.NewJob("j", {}), {c, 0})), "c+a");
  EXPECT_EQ(op_c->execs, 0);
  std::filesystem::remove_all(dir);
}

TEST_F(SolverTest, PrunedResultIsRebuilt) {
  Solver s({}, keys_.get(), &store_);
  auto a = MakeVertex("a", {});
  auto r = s.Build(Context::Background(), s.NewJob("j", {}), {a, 0});
  ASSERT_TRUE(r.ok());
  store_.Forget((*r)->ID());
  std::shared_ptr<ConcatOp> op;
  auto a2 = MakeVertex("a", {}, &op);
  EXPECT_EQ(Value(s.Build(Context::Background(), s.NewJob("j2", {}), {a2, 0})), "a");
  EXPECT_EQ(op->execs, 1);
}

}  // namespace
}  // namespace kiln::solver
