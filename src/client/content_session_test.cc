// Blobs across a real session: the daemon's copier (session::CopyBlobsToClientStore) writing
// from a content store into kilnctl's session (client::Session serving a directory as the
// content store "export"), through the daemon's session::Manager behind an in-process
// Control/Session, as the oci exporter with tar=false will.

#include <dirent.h>
#include <gmock/gmock.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <mutex>
#include <random>
#include <sstream>

#include "client/connection.h"
#include "client/content_service.h"
#include "client/session.h"
#include "client/testing/fake_daemon.h"
#include "client/testing/session_only_control.h"
#include "client/tree_merge.h"
#include "content/testing/temp_store.h"
#include "session/content_copy.h"
#include "session/content_read.h"

namespace kiln::client {
namespace {

namespace bk = moby::buildkit::v1;
using ::testing::Contains;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::stringstream ss;
  ss << std::ifstream(path).rdbuf();
  return ss.str();
}

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen());
  return s;
}

class ContentSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::HoldGrpc();
    char tmpl[] = "/tmp/kiln-contentsession-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    layout_ = dir_ + "/layout";
    service_ = std::make_unique<testing::SessionOnlyControl>(&manager_);
    grpc::ServerBuilder b;
    b.AddListeningPort("unix://" + dir_ + "/d.sock", grpc::InsecureServerCredentials());
    b.SetMaxReceiveMessageSize(rpc::kMaxMessageSize);
    b.RegisterService(service_.get());
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    auto ch = Dial("unix://" + dir_ + "/d.sock");
    ASSERT_TRUE(ch.ok()) << ch.status().ToString();
    conn_ = std::move(*ch);
  }

  void TearDown() override {
    if (client_ != nullptr) client_->Close().IgnoreError();
    client_.reset();
    server_->Shutdown();
    RemoveTree(dir_).IgnoreError();
  }

  // kilnctl's session, serving `stores`; the daemon's end of it.
  std::shared_ptr<session::Session> Attach(std::map<std::string, std::string> stores) {
    SessionConfig cfg;
    cfg.serve_auth = false;
    cfg.content_stores = std::move(stores);
    auto s = Session::Start(*conn_, cfg);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return nullptr;
    client_ = std::move(*s);
    auto d = manager_.Get(Context::Background(), client_->id());
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : nullptr;
  }

  // An image in the daemon's store: two layers (one of several MiB), a config, a manifest and
  // an index, children first.
  std::vector<session::BlobDescriptor> Image() {
    auto add = [&](const std::string& mt, const std::string& data) {
      auto info = store_->WriteBlob(Context::Background(), data);
      EXPECT_TRUE(info.ok()) << info.status().ToString();
      data_[info->digest.str()] = data;
      return session::BlobDescriptor{mt, info->digest, info->size};
    };
    return {
        add("application/vnd.oci.image.layer.v1.tar+gzip", RandomBytes((5 << 20) + 123, 1)),
        add("application/vnd.oci.image.layer.v1.tar+gzip", RandomBytes(1000, 2)),
        add("application/vnd.oci.image.config.v1+json", R"({"architecture":"amd64"})"),
        add("application/vnd.oci.image.manifest.v1+json", R"({"schemaVersion":2})"),
        add("application/vnd.oci.image.index.v1+json", R"({"schemaVersion":2,"manifests":[]})"),
    };
  }

  std::string BlobPath(const Digest& d) {
    return layout_ + "/blobs/sha256/" + std::string(d.hex());
  }

  std::string dir_;
  std::string layout_;
  content::testing::TempStore store_;
  std::map<std::string, std::string> data_;  // digest -> bytes
  session::Manager manager_;
  std::unique_ptr<testing::SessionOnlyControl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<rpc::Connection> conn_;
  std::unique_ptr<Session> client_;
};

TEST_F(ContentSessionTest, ImageBlobsArriveInTheClientsDirectoryChildrenFirst) {
  auto s = Attach({{"export", layout_}});
  ASSERT_NE(s, nullptr);
  EXPECT_THAT(client_->methods(),
              Contains(std::string("/containerd.services.content.v1.Content/Write")));
  std::vector<session::BlobDescriptor> blobs = Image();

  std::mutex mu;
  std::vector<std::string> done;  // digests in the order they completed
  std::map<std::string, int64_t> last;
  int concurrent = 0, max_concurrent = 0;
  session::BlobCopyOptions opts;
  opts.progress = [&](const session::BlobProgress& p) {
    std::unique_lock<std::mutex> l(mu, std::try_to_lock);
    ++concurrent;
    max_concurrent = std::max(max_concurrent, concurrent);
    EXPECT_TRUE(l.owns_lock());  // calls are serialized
    EXPECT_GE(p.written, last[p.blob->digest.str()]);
    last[p.blob->digest.str()] = p.written;
    if (p.done) done.push_back(p.blob->digest.str());
    --concurrent;
  };
  auto stats =
      session::CopyBlobsToClientStore(Context::Background(), *s, "export", *store_, blobs, opts);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->blobs_copied, 5);
  EXPECT_EQ(stats->blobs_skipped, 0);
  int64_t total = 0;
  for (const auto& b : blobs) {
    total += b.size;
    EXPECT_EQ(ReadFile(BlobPath(b.digest)), data_[b.digest.str()]) << b.media_type;
    EXPECT_EQ(last[b.digest.str()], b.size);
  }
  EXPECT_EQ(stats->bytes_sent, total);
  ASSERT_EQ(done.size(), 5u);
  EXPECT_EQ(done[3], blobs[3].digest.str());  // the manifest after its layers and config
  EXPECT_EQ(done[4], blobs[4].digest.str());  // then the index
  EXPECT_EQ(max_concurrent, 1);
}

TEST_F(ContentSessionTest, BlobsTheClientHasAreSkipped) {
  auto s = Attach({{"export", layout_}});
  ASSERT_NE(s, nullptr);
  std::vector<session::BlobDescriptor> blobs = Image();
  std::vector<session::BlobDescriptor> first(blobs.begin() + 1, blobs.begin() + 3);
  ASSERT_TRUE(
      session::CopyBlobsToClientStore(Context::Background(), *s, "export", *store_, first).ok());
  blobs.push_back(blobs[2]);  // listed twice: copied once
  int skipped_reports = 0;
  session::BlobCopyOptions opts;
  opts.progress = [&](const session::BlobProgress& p) { skipped_reports += p.skipped ? 1 : 0; };
  auto stats =
      session::CopyBlobsToClientStore(Context::Background(), *s, "export", *store_, blobs, opts);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->blobs_copied, 3);
  EXPECT_EQ(stats->blobs_skipped, 2);
  EXPECT_EQ(skipped_reports, 2);
  EXPECT_EQ(stats->bytes_sent, blobs[0].size + blobs[3].size + blobs[4].size);
}

TEST_F(ContentSessionTest, UnknownStoreIsTheClientsNotFound) {
  auto s = Attach({{"export", layout_}});
  ASSERT_NE(s, nullptr);
  auto stats =
      session::CopyBlobsToClientStore(Context::Background(), *s, "oci:other", *store_, Image());
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), Code::kNotFound);
  EXPECT_THAT(stats.status().message(), HasSubstr("unknown store oci:other"));
  EXPECT_THAT(stats.status().message(), HasSubstr("to the client's content store \"oci:other\""));
}

TEST_F(ContentSessionTest, SessionWithoutAContentStoreIsFailedPrecondition) {
  auto s = Attach({});
  ASSERT_NE(s, nullptr);
  auto stats =
      session::CopyBlobsToClientStore(Context::Background(), *s, "export", *store_, Image());
  EXPECT_EQ(stats.status().code(), Code::kFailedPrecondition);
}

TEST_F(ContentSessionTest, BlobsMissingOrOfTheWrongSizeFailWithoutLeftovers) {
  auto s = Attach({{"export", layout_}});
  ASSERT_NE(s, nullptr);
  std::vector<session::BlobDescriptor> blobs = Image();
  session::BlobDescriptor wrong = blobs[1];
  wrong.size += 1;
  auto stats =
      session::CopyBlobsToClientStore(Context::Background(), *s, "export", *store_, {wrong});
  EXPECT_EQ(stats.status().code(), Code::kDataLoss);
  session::BlobDescriptor missing{"application/vnd.oci.image.layer.v1.tar",
                                  Digest::FromBytes("not in the store"), 16};
  stats = session::CopyBlobsToClientStore(Context::Background(), *s, "export", *store_, {missing});
  EXPECT_EQ(stats.status().code(), Code::kNotFound);
  DIR* d = opendir((layout_ + "/ingest").c_str());
  if (d != nullptr) {
    int entries = 0;
    while (dirent* e = readdir(d)) entries += e->d_name[0] == '.' ? 0 : 1;
    closedir(d);
    EXPECT_EQ(entries, 0);
  }
}

TEST_F(ContentSessionTest, CancellingStopsTheCopy) {
  auto s = Attach({{"export", layout_}});
  ASSERT_NE(s, nullptr);
  Context ctx = Context::Background().Child();
  session::BlobCopyOptions opts;
  opts.chunk_size = 64 << 10;
  opts.progress = [&](const session::BlobProgress& p) {
    if (p.written > (1 << 20)) ctx.Cancel(Cancelled("build cancelled"));
  };
  std::vector<session::BlobDescriptor> blobs = Image();
  auto stats = session::CopyBlobsToClientStore(ctx, *s, "export", *store_, {blobs[0]}, opts);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), Code::kCancelled);
  EXPECT_THAT(stats.status().message(), HasSubstr("build cancelled"));
  EXPECT_NE(access(BlobPath(blobs[0].digest).c_str(), F_OK), 0);
}

}  // namespace
}  // namespace kiln::client

namespace kiln::client {
namespace {

// The other direction: the daemon reads a client's OCI layout (--oci-layout ID=DIR, store
// "oci:ID") with Info and Read, as the oci-layout source does.
TEST_F(ContentSessionTest, DaemonReadsBlobsOfTheClientsLayout) {
  std::vector<session::BlobDescriptor> blobs = Image();
  ASSERT_TRUE(session::CopyBlobsToClientStore(Context::Background(), *Attach({{"export", layout_}}),
                                              "export", *store_, blobs)
                  .ok());
  client_->Close().IgnoreError();
  client_.reset();

  auto s = Attach({{session::OCILayoutStoreId("mine"), layout_}});
  ASSERT_NE(s, nullptr);
  for (const auto& b : blobs) {
    auto size = session::ClientBlobSize(Context::Background(), *s, "oci:mine", b.digest);
    ASSERT_TRUE(size.ok()) << size.status().ToString();
    EXPECT_EQ(*size, b.size);
    std::string got;
    Status st = session::ReadClientBlob(Context::Background(), *s, "oci:mine", b.digest,
                                        [&](std::string_view chunk) {
                                          got.append(chunk);
                                          return Status::Ok();
                                        });
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(got, data_[b.digest.str()]);
  }
}

TEST_F(ContentSessionTest, MissingBlobsAndStoresAreNotFoundNamingThem) {
  auto s = Attach({{"oci:mine", layout_}});
  ASSERT_NE(s, nullptr);
  Digest missing = Digest::FromBytes("nothing");
  auto size = session::ClientBlobSize(Context::Background(), *s, "oci:mine", missing);
  ASSERT_FALSE(size.ok());
  EXPECT_EQ(size.status().code(), Code::kNotFound);
  EXPECT_THAT(size.status().message(), HasSubstr(missing.str()));
  EXPECT_THAT(size.status().message(), HasSubstr("\"oci:mine\""));

  Status st = session::ReadClientBlob(Context::Background(), *s, "oci:other", missing,
                                      [](std::string_view) { return Status::Ok(); });
  EXPECT_EQ(st.code(), Code::kNotFound);
  EXPECT_THAT(st.message(), HasSubstr("unknown store oci:other"));
}

TEST_F(ContentSessionTest, ASinkErrorStopsTheRead) {
  std::vector<session::BlobDescriptor> blobs = Image();
  ASSERT_TRUE(session::CopyBlobsToClientStore(Context::Background(), *Attach({{"oci:x", layout_}}),
                                              "oci:x", *store_, blobs)
                  .ok());
  auto s = manager_.Get(Context::Background(), client_->id());
  ASSERT_TRUE(s.ok());
  int calls = 0;
  Status st = session::ReadClientBlob(Context::Background(), **s, "oci:x", blobs[0].digest,
                                      [&](std::string_view) {
                                        calls++;
                                        return DataLoss("disk full");
                                      });
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace kiln::client
