// kilnctl's content store service (content_service.h over dir_content_store.h) driven the way a
// daemon drives it, by gRPC's own C++ client over a socketpair that kiln's transport serves
// (rpc::Server): STAT → WRITE… → COMMIT, Info, Read, Status, Abort, store selection by
// buildkit-attachable-store-id.

#include "client/content_service.h"

#include <dirent.h>
#include <gmock/gmock.h>
#include <grpcpp/create_channel_posix.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "client/testing/fake_daemon.h"
#include "client/tree_merge.h"
#include "content/content.grpc.pb.h"

namespace kiln::client {
namespace {

namespace cpb = containerd::services::content::v1;
using ::testing::HasSubstr;
using WriteStream = grpc::ClientReaderWriter<cpb::WriteContentRequest, cpb::WriteContentResponse>;

std::string ReadFile(const std::string& path) {
  std::stringstream ss;
  ss << std::ifstream(path).rdbuf();
  return ss.str();
}

// Entries of a directory ("" when it does not exist).
std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  return out;
}

cpb::WriteContentRequest Req(cpb::WriteAction action, int64_t offset = 0, std::string data = "") {
  cpb::WriteContentRequest r;
  r.set_action(action);
  r.set_offset(offset);
  r.set_data(std::move(data));
  return r;
}

class ContentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::HoldGrpc();
    char tmpl[] = "/tmp/kiln-content-svc-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/layout/out";  // parents are created
    auto store = DirContentStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = store->get();
    ContentStoreService::Stores stores;
    stores["export"] = std::move(*store);
    service_ = std::make_unique<ContentStoreService>(std::move(stores));
    rpc::Handlers handlers;
    service_->Register(handlers);
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    auto server = rpc::Server::ServeFd(fds[0], std::move(handlers));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    stub_ = cpb::Content::NewStub(grpc::CreateInsecureChannelFromFd("kiln", fds[1]));
  }

  void TearDown() override {
    stub_.reset();
    server_.reset();
    RemoveTree(root_).IgnoreError();
  }

  std::unique_ptr<grpc::ClientContext> Call(const std::string& store_id = "export") {
    auto c = std::make_unique<grpc::ClientContext>();
    if (!store_id.empty()) c->AddMetadata("buildkit-attachable-store-id", store_id);
    return c;
  }

  // A whole write in `chunk`-byte WRITEs; the answers go to `resps`.
  grpc::Status WriteBlob(const std::string& ref, const std::string& data,
                         const std::string& expected, int64_t total, size_t chunk = 4,
                         std::vector<cpb::WriteContentResponse>* resps = nullptr) {
    auto cc = Call();
    auto rw = stub_->Write(cc.get());
    std::vector<cpb::WriteContentResponse> got;
    auto step = [&](cpb::WriteContentRequest r) {
      cpb::WriteContentResponse resp;
      if (!rw->Write(r) || !rw->Read(&resp)) return false;
      got.push_back(resp);
      return true;
    };
    cpb::WriteContentRequest stat = Req(cpb::STAT);
    stat.set_ref(ref);
    stat.set_total(total);
    stat.set_expected(expected);
    bool ok = step(stat);
    for (size_t off = 0; ok && off < data.size(); off += chunk) {
      ok = step(Req(cpb::WRITE, static_cast<int64_t>(off), data.substr(off, chunk)));
    }
    if (ok) {
      cpb::WriteContentRequest commit = Req(cpb::COMMIT, static_cast<int64_t>(data.size()));
      commit.set_total(total);
      commit.set_expected(expected);
      step(commit);
    }
    rw->WritesDone();
    for (cpb::WriteContentResponse rest; rw->Read(&rest);) {
    }
    if (resps != nullptr) *resps = got;
    return rw->Finish();
  }

  std::string BlobPath(const std::string& data) {
    return dir_ + "/blobs/sha256/" + std::string(Digest::FromBytes(data).hex());
  }

  std::string root_;
  std::string dir_;
  DirContentStore* store_ = nullptr;
  std::unique_ptr<ContentStoreService> service_;
  std::unique_ptr<rpc::Server> server_;
  std::unique_ptr<cpb::Content::Stub> stub_;
};

TEST_F(ContentServiceTest, WriteStoresTheBlobUnderItsDigestReadOnly) {
  const std::string data = "an image layer, in pieces";
  const std::string digest = Digest::FromBytes(data).str();
  std::vector<cpb::WriteContentResponse> resps;
  grpc::Status st =
      WriteBlob("layer-" + digest, data, digest, static_cast<int64_t>(data.size()), 4, &resps);
  ASSERT_TRUE(st.ok()) << st.error_message();

  EXPECT_EQ(ReadFile(BlobPath(data)), data);
  struct stat sb {};
  ASSERT_EQ(stat(BlobPath(data).c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0444u);
  EXPECT_THAT(List(dir_), ::testing::UnorderedElementsAre("blobs", "ingest"));
  EXPECT_TRUE(List(dir_ + "/ingest").empty());  // nothing left in progress

  // STAT answers the offset and total; each WRITE the new offset; COMMIT the digest.
  ASSERT_EQ(resps.size(), 1 + (data.size() + 3) / 4 + 1);
  EXPECT_EQ(resps.front().action(), cpb::STAT);
  EXPECT_EQ(resps.front().offset(), 0);
  EXPECT_EQ(resps.front().total(), static_cast<int64_t>(data.size()));
  EXPECT_EQ(resps[1].offset(), 4);
  EXPECT_EQ(resps.back().action(), cpb::COMMIT);
  EXPECT_EQ(resps.back().offset(), static_cast<int64_t>(data.size()));
  EXPECT_EQ(resps.back().digest(), digest);
}

TEST_F(ContentServiceTest, IngestDirectoryIsRemovedWithTheStoreWhenEmpty) {
  const std::string data = "x";
  ASSERT_TRUE(WriteBlob("r", data, "", 0).ok());
  stub_.reset();
  server_.reset();
  service_.reset();  // the session ends
  EXPECT_THAT(List(dir_), ::testing::ElementsAre("blobs"));
}

TEST_F(ContentServiceTest, CommitWithAWrongDigestFailsAndLeavesNothing) {
  const std::string data = "the real bytes";
  const std::string wrong = Digest::FromBytes("other bytes").str();
  grpc::Status st = WriteBlob("layer-x", data, wrong, static_cast<int64_t>(data.size()));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("unexpected commit digest " +
                                            Digest::FromBytes(data).str() + ", expected " + wrong));
  EXPECT_TRUE(List(dir_ + "/blobs/sha256").empty());
  EXPECT_TRUE(List(dir_ + "/ingest").empty());
}

TEST_F(ContentServiceTest, CommitWithAWrongSizeFails) {
  const std::string data = "twelve bytes";
  grpc::Status st = WriteBlob("layer-x", data, "", 99);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("unexpected commit size 12, expected 99"));
  EXPECT_TRUE(List(dir_ + "/blobs/sha256").empty());
}

TEST_F(ContentServiceTest, PresentBlobIsAlreadyExistsAtTheFirstMessage) {
  const std::string data = "config";
  const std::string digest = Digest::FromBytes(data).str();
  ASSERT_TRUE(WriteBlob("config-a", data, digest, 6).ok());
  std::vector<cpb::WriteContentResponse> resps;
  grpc::Status st = WriteBlob("config-b", data, digest, 6, 4, &resps);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_TRUE(resps.empty());
  EXPECT_EQ(ReadFile(BlobPath(data)), data);
}

TEST_F(ContentServiceTest, InfoAndReadServeCommittedBlobs) {
  const std::string data = "0123456789abcdef";
  const std::string digest = Digest::FromBytes(data).str();
  ASSERT_TRUE(WriteBlob("r", data, digest, 16).ok());

  cpb::InfoRequest ireq;
  ireq.set_digest(digest);
  cpb::InfoResponse iresp;
  ASSERT_TRUE(stub_->Info(Call().get(), ireq, &iresp).ok());
  EXPECT_EQ(iresp.info().digest(), digest);
  EXPECT_EQ(iresp.info().size(), 16);
  EXPECT_GT(iresp.info().updated_at().seconds(), 0);

  auto read = [&](int64_t offset, int64_t size, std::string* out) {
    cpb::ReadContentRequest r;
    r.set_digest(digest);
    r.set_offset(offset);
    r.set_size(size);
    auto cc = Call();
    auto reader = stub_->Read(cc.get(), r);
    cpb::ReadContentResponse m;
    out->clear();
    while (reader->Read(&m)) {
      EXPECT_EQ(m.offset(), offset + static_cast<int64_t>(out->size()));
      out->append(m.data());
    }
    return reader->Finish();
  };
  std::string got;
  ASSERT_TRUE(read(0, 0, &got).ok());
  EXPECT_EQ(got, data);
  ASSERT_TRUE(read(4, 3, &got).ok());
  EXPECT_EQ(got, "456");
  ASSERT_TRUE(read(10, 100, &got).ok());  // clipped to the blob
  EXPECT_EQ(got, "abcdef");
  EXPECT_EQ(read(17, 0, &got).error_code(), grpc::StatusCode::OUT_OF_RANGE);

  ireq.set_digest(Digest::FromBytes("missing").str());
  grpc::Status missing = stub_->Info(Call().get(), ireq, &iresp);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(missing.error_message(), HasSubstr("content " + ireq.digest() + ": not found"));
  ireq.set_digest("sha256:nothex");
  EXPECT_EQ(stub_->Info(Call().get(), ireq, &iresp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ContentServiceTest, StoreIsChosenByTheStoreIdHeader) {
  cpb::InfoRequest ireq;
  ireq.set_digest(Digest::FromBytes("x").str());
  cpb::InfoResponse iresp;
  grpc::Status unknown = stub_->Info(Call("local:/cache").get(), ireq, &iresp);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), HasSubstr("unknown store local:/cache"));
  grpc::Status none = stub_->Info(Call("").get(), ireq, &iresp);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(none.error_message(),
              HasSubstr("request lacks metadata \"buildkit-attachable-store-id\""));
}

TEST_F(ContentServiceTest, WritesOfDifferentRefsRunAtOnceAndOneRefIsLocked) {
  std::vector<std::thread> threads;
  std::vector<grpc::Status> results(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      std::string data(100000 + i, static_cast<char>('a' + i));
      results[i] = WriteBlob("layer-" + std::to_string(i), data, Digest::FromBytes(data).str(),
                             static_cast<int64_t>(data.size()), 7000);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(results[i].ok()) << results[i].error_message();
    std::string data(100000 + i, static_cast<char>('a' + i));
    EXPECT_EQ(ReadFile(BlobPath(data)), data);
  }

  // A second writer of a ref that is being written is turned away.
  auto cc = Call();
  auto held = stub_->Write(cc.get());
  cpb::WriteContentRequest stat = Req(cpb::STAT);
  stat.set_ref("layer-busy");
  cpb::WriteContentResponse resp;
  ASSERT_TRUE(held->Write(stat) && held->Read(&resp));
  std::string data = "late";
  grpc::Status locked = WriteBlob("layer-busy", data, "", 4);
  EXPECT_EQ(locked.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(locked.error_message(), HasSubstr("ref layer-busy locked"));
  held->WritesDone();
  EXPECT_TRUE(held->Read(&resp));  // the last response once more, as containerd's server
  EXPECT_FALSE(held->Read(&resp));
  EXPECT_TRUE(held->Finish().ok());  // ended without COMMIT: dropped
  EXPECT_TRUE(List(dir_ + "/ingest").empty());
}

TEST_F(ContentServiceTest, WriteAwayFromTheOffsetIsOutOfRangeAndWriteAtZeroRestarts) {
  auto cc = Call();
  auto rw = stub_->Write(cc.get());
  cpb::WriteContentRequest stat = Req(cpb::STAT);
  stat.set_ref("r");
  cpb::WriteContentResponse resp;
  ASSERT_TRUE(rw->Write(stat) && rw->Read(&resp));
  ASSERT_TRUE(rw->Write(Req(cpb::WRITE, 0, "garbage")) && rw->Read(&resp));
  EXPECT_EQ(resp.offset(), 7);
  ASSERT_TRUE(rw->Write(Req(cpb::WRITE, 0, "good")) && rw->Read(&resp));  // truncates
  EXPECT_EQ(resp.offset(), 4);
  cpb::WriteContentRequest commit = Req(cpb::COMMIT, 4);
  commit.set_expected(Digest::FromBytes("good").str());
  ASSERT_TRUE(rw->Write(commit) && rw->Read(&resp));
  EXPECT_EQ(resp.digest(), Digest::FromBytes("good").str());
  // As containerd's server: the call goes on until the writer closes its side, then the last
  // response comes once more (clients read until the end before Finish).
  rw->WritesDone();
  cpb::WriteContentResponse again;
  ASSERT_TRUE(rw->Read(&again));
  EXPECT_EQ(again.digest(), resp.digest());
  EXPECT_FALSE(rw->Read(&again));
  EXPECT_TRUE(rw->Finish().ok());
  EXPECT_EQ(ReadFile(BlobPath("good")), "good");

  auto cc2 = Call();
  auto rw2 = stub_->Write(cc2.get());
  stat.set_ref("r2");
  ASSERT_TRUE(rw2->Write(stat) && rw2->Read(&resp));
  rw2->Write(Req(cpb::WRITE, 5, "skipped ahead"));
  EXPECT_FALSE(rw2->Read(&resp));
  grpc::Status st = rw2->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(st.error_message(), HasSubstr("write @5 must occur at current offset 0"));
}

TEST_F(ContentServiceTest, StatusShowsARunningIngestAndAbortStopsIt) {
  auto cc = Call();
  auto rw = stub_->Write(cc.get());
  cpb::WriteContentRequest stat = Req(cpb::STAT);
  stat.set_ref("layer-slow");
  stat.set_total(100);
  cpb::WriteContentResponse resp;
  ASSERT_TRUE(rw->Write(stat) && rw->Read(&resp));
  ASSERT_TRUE(rw->Write(Req(cpb::WRITE, 0, "first part")) && rw->Read(&resp));

  cpb::StatusRequest sreq;
  sreq.set_ref("layer-slow");
  cpb::StatusResponse sresp;
  ASSERT_TRUE(stub_->Status(Call().get(), sreq, &sresp).ok());
  EXPECT_EQ(sresp.status().ref(), "layer-slow");
  EXPECT_EQ(sresp.status().offset(), 10);
  EXPECT_EQ(sresp.status().total(), 100);

  cpb::AbortRequest areq;
  areq.set_ref("layer-slow");
  google::protobuf::Empty empty;
  ASSERT_TRUE(stub_->Abort(Call().get(), areq, &empty).ok());
  rw->Write(Req(cpb::WRITE, 10, "more"));
  EXPECT_FALSE(rw->Read(&resp));
  EXPECT_EQ(rw->Finish().error_code(), grpc::StatusCode::ABORTED);
  EXPECT_TRUE(List(dir_ + "/ingest").empty());

  EXPECT_EQ(stub_->Status(Call().get(), sreq, &sresp).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(stub_->Abort(Call().get(), areq, &empty).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ContentServiceTest, FirstMessageNeedsARef) {
  auto cc = Call();
  auto rw = stub_->Write(cc.get());
  rw->Write(Req(cpb::STAT));
  rw->WritesDone();
  grpc::Status st = rw->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("first message must have a reference"));
}

}  // namespace
}  // namespace kiln::client
