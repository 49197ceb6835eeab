#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/definition.h"
#include "client/filesync_service.h"
#include "client/go_format.h"
#include "client/tabwriter.h"
#include "client/usage_format.h"
#include "client/workers_format.h"

namespace kiln::client {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(GoFormatTest, Bytes) {
  EXPECT_EQ(FormatBytes(0), "0B");
  EXPECT_EQ(FormatBytes(999), "999B");
  EXPECT_EQ(FormatBytes(1000), "1.00kB");
  EXPECT_EQ(FormatBytes(1234567), "1.23MB");
  EXPECT_EQ(FormatBytesShort(1200), "1.2kB");
  EXPECT_EQ(FormatBytesShort(2000000000), "2GB");
}

TEST(GoFormatTest, HumanDuration) {
  constexpr int64_t s = 1000000000;
  EXPECT_EQ(HumanDuration(0), "Less than a second");
  EXPECT_EQ(HumanDuration(1 * s), "1 second");
  EXPECT_EQ(HumanDuration(30 * s), "30 seconds");
  EXPECT_EQ(HumanDuration(90 * s), "About a minute");
  EXPECT_EQ(HumanDuration(300 * s), "5 minutes");
  EXPECT_EQ(HumanDuration(3600 * s), "About an hour");
  EXPECT_EQ(HumanDuration(3 * 3600 * s), "3 hours");
  EXPECT_EQ(HumanDuration(72 * 3600 * s), "3 days");
}

TEST(GoFormatTest, Durations) {
  constexpr int64_t s = 1000000000;
  EXPECT_EQ(GoDurationString(0), "0s");
  EXPECT_EQ(GoDurationString(s * 3 / 2), "1.5s");
  EXPECT_EQ(GoDurationString(5400 * s), "1h30m0s");
  EXPECT_EQ(GoDurationString(300000000), "300ms");
  EXPECT_EQ(*ParseGoDuration("24h"), 86400 * s);
  EXPECT_EQ(*ParseGoDuration("1h30m"), 5400 * s);
  EXPECT_EQ(*ParseGoDuration("1.5s"), s * 3 / 2);
  EXPECT_EQ(*ParseGoDuration("300ms"), 300000000);
  EXPECT_FALSE(ParseGoDuration("10").has_value());
  EXPECT_FALSE(ParseGoDuration("bogus").has_value());
}

TEST(GoFormatTest, QuoteAndTimes) {
  EXPECT_EQ(GoQuote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(FormatRFC3339Nano(1700000000LL * 1000000000 + 500000000), "2023-11-14T22:13:20.5Z");
  EXPECT_EQ(GoTimeString(1700000000LL * 1000000000), "2023-11-14 22:13:20 +0000 UTC");
}

TEST(TabWriterTest, AlignsColumnsWithTabsLikeGo) {
  TabWriter tw;
  tw.Write("ID\tPLATFORMS\n");
  tw.Write("fakeworker\tlinux/amd64\n");
  EXPECT_EQ(tw.Flush(), "ID\t\tPLATFORMS\nfakeworker\tlinux/amd64\n");
}

TEST(TabWriterTest, LinesWithoutTabsEndAColumnBlock) {
  TabWriter tw;
  tw.Write("ID:\tw0\nPlatforms:\tlinux/amd64\nLabels:\n\tk:\tv\n\n");
  EXPECT_EQ(tw.Flush(), "ID:\t\tw0\nPlatforms:\tlinux/amd64\nLabels:\n\tk:\tv\n\n");
}

TEST(WorkersFormatTest, TableAndVerbose) {
  moby::buildkit::v1::ListWorkersResponse resp;
  auto* w = resp.add_record();
  w->set_id("w0");
  w->add_platforms()->set_os("linux");
  w->mutable_platforms(0)->set_architecture("arm");
  (*w->mutable_labels())["org.mobyproject.buildkit.worker.executor"] = "oci";
  w->mutable_buildkitversion()->set_package("kiln");
  w->mutable_buildkitversion()->set_version("v0.1");
  w->mutable_buildkitversion()->set_revision("abc");
  EXPECT_EQ(FormatWorkers(resp, false), "ID\tPLATFORMS\nw0\tlinux/arm/v7\n");
  EXPECT_EQ(FormatWorkers(resp, true),
            "ID:\t\tw0\n"
            "Platforms:\tlinux/arm/v7\n"
            "BuildKit:\tkiln v0.1 abc\n"
            "Labels:\n"
            "\torg.mobyproject.buildkit.worker.executor:\toci\n"
            "\n");
}

TEST(UsageFormatTest, TableAndSummary) {
  constexpr int64_t now = 1700000000LL * 1000000000;
  std::vector<moby::buildkit::v1::UsageRecord> records(2);
  records[0].set_id("big");
  records[0].set_size(2000000);
  records[0].set_inuse(true);
  records[1].set_id("small");
  records[1].set_size(1234);
  records[1].set_mutable_(true);
  records[1].mutable_lastusedat()->set_seconds(1700000000 - 300);
  SortUsage(&records);
  EXPECT_EQ(records[0].id(), "small");
  std::string out = FormatDiskUsage(records, false, true, now);
  std::string id_pad(71 - 6, ' ');
  EXPECT_EQ(out, "ID" + std::string(9, '\t') + "RECLAIMABLE\tSIZE\tLAST ACCESSED\n" + "small*" +
                     id_pad + "\ttrue       \t1.23kB\t5 minutes ago\n" + "big" +
                     std::string(68, ' ') + "\tfalse      \t2.00MB\t\n" +
                     "Reclaimable:\t1.23kB\nTotal:\t\t2.00MB\n");
  EXPECT_EQ(PruneTotal(1234), "Total:\t1.23kB\n");
}

// A two-op definition: a local source and the terminal return op.
pb::Definition TwoOps() {
  pb::Op src;
  src.mutable_source()->set_identifier("local://context");
  std::string src_bytes = src.SerializeAsString();
  pb::Op ret;
  ret.add_inputs()->set_digest(OpDigest(src_bytes));
  pb::Definition def;
  def.add_def(src_bytes);
  def.add_def(ret.SerializeAsString());
  (*(*def.mutable_metadata())[OpDigest(src_bytes)].mutable_description())["llb.customname"] =
      "load";
  return def;
}

TEST(DefinitionTest, DumpLlbJsonPrintsOpsWithDigests) {
  pb::Definition def = TwoOps();
  auto out = DumpLlbJson(def);
  ASSERT_TRUE(out.ok());
  std::string d0 = OpDigest(def.def(0));
  EXPECT_EQ(*out, "{\"Op\":{\"source\":{\"identifier\":\"local://context\"}},\"Digest\":\"" + d0 +
                      "\",\"OpMetadata\":{\"description\":{\"llb.customname\":\"load\"}}}\n"
                      "{\"Op\":{\"inputs\":[{\"digest\":\"" +
                      d0 + "\"}]},\"Digest\":\"" + OpDigest(def.def(1)) +
                      "\",\"OpMetadata\":null}\n");
  EXPECT_THAT(d0, StartsWith("sha256:"));
}

TEST(DefinitionTest, DotLocalNamesAndNoCache) {
  pb::Definition def = TwoOps();
  auto dot = DumpLlbDot(def);
  ASSERT_TRUE(dot.ok());
  EXPECT_THAT(*dot, HasSubstr("[label=\"local://context\" shape=\"ellipse\"];"));
  EXPECT_THAT(*dot, HasSubstr(" -> "));
  EXPECT_EQ(*LocalNames(def), std::set<std::string>{"context"});
  SetIgnoreCache(&def);
  EXPECT_TRUE(def.metadata().at(OpDigest(def.def(0))).ignore_cache());
  EXPECT_TRUE(def.metadata().at(OpDigest(def.def(1))).ignore_cache());
  EXPECT_FALSE(ParseDefinition("\xff\xff garbage").ok());
}

TEST(FileSyncHeadersTest, DecodesEncodedValuesAndKeepsOrder) {
  rpc::Metadata raw = {
      {"dir-name", "context"},         {"include-patterns", "caf%C3%A9"},
      {"include-patterns", "a+b%2Fc"}, {"include-patterns-encoded", "1"},
      {"exclude-patterns", "a+b"},
  };
  HeaderMap h = DecodeHeaders(raw);
  EXPECT_EQ(h.at("dir-name"), std::vector<std::string>{"context"});
  EXPECT_EQ(h.at("include-patterns"), (std::vector<std::string>{"caf\xc3\xa9", "a b/c"}));
  EXPECT_EQ(h.at("exclude-patterns"), std::vector<std::string>{"a+b"});  // not encoded
}

}  // namespace
}  // namespace kiln::client
