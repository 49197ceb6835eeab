#include "client/build_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "util/csv.h"

namespace kiln::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CsvTest, SplitsFieldsLikeGo) {
  EXPECT_THAT(*SplitCsvRecord("type=local,dest=out"), ElementsAre("type=local", "dest=out"));
  EXPECT_THAT(*SplitCsvRecord("a,\"b,c\",d"), ElementsAre("a", "b,c", "d"));
  EXPECT_THAT(*SplitCsvRecord("\"x=\"\"q\"\"\""), ElementsAre("x=\"q\""));
  EXPECT_THAT(*SplitCsvRecord("a,"), ElementsAre("a", ""));
  EXPECT_THAT(*SplitCsvRecord(" a , b"), ElementsAre(" a ", " b"));
}

TEST(CsvTest, RejectsBareAndUnterminatedQuotes) {
  EXPECT_THAT(SplitCsvRecord("a\"b").status().message(), HasSubstr("bare \" in non-quoted-field"));
  EXPECT_FALSE(SplitCsvRecord("\"abc").ok());
  EXPECT_FALSE(SplitCsvRecord("\"a\"b").ok());
}

TEST(ParseOutputTest, LocalKeepsDestOnTheClient) {
  auto ex = ParseOutput("type=local,dest=out", false);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  EXPECT_EQ(ex->type, "local");
  EXPECT_EQ(ex->output_dir, "out");
  EXPECT_TRUE(ex->output_file.empty());
  EXPECT_TRUE(ex->attrs.empty());  // dest is not sent to the daemon
}

TEST(ParseOutputTest, KeysAreLowercasedAndOtherAttrsKept) {
  auto ex = ParseOutput("type=local,Dest=out,platform-split=false", false);
  ASSERT_TRUE(ex.ok());
  EXPECT_EQ(ex->output_dir, "out");
  EXPECT_EQ(ex->attrs.size(), 1u);
  EXPECT_EQ(ex->attrs.at("platform-split"), "false");
}

TEST(ParseOutputTest, TarGoesToFileOrStdout) {
  auto f = ParseOutput("type=tar,dest=out.tar", false);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->output_file, "out.tar");
  EXPECT_TRUE(f->attrs.empty());
  auto s = ParseOutput("type=tar,dest=-", false);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->output_file, "-");
  auto none = ParseOutput("type=tar", false);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->output_file, "-");
}

TEST(ParseOutputTest, RefusesTarballOnATerminal) {
  EXPECT_THAT(ParseOutput("type=tar", true).status().message(),
              HasSubstr("refusing to write to console"));
}

TEST(ParseOutputTest, TarIntoADirectoryIsAnError) {
  EXPECT_THAT(ParseOutput("type=tar,dest=/tmp", false).status().message(),
              HasSubstr("destination file is a directory"));
}

TEST(ParseOutputTest, OciWithTarFalseIsADirectory) {
  auto ex = ParseOutput("type=oci,dest=layout,tar=false", false);
  ASSERT_TRUE(ex.ok());
  EXPECT_EQ(ex->output_dir, "layout");
  EXPECT_EQ(ex->attrs.at("tar"), "false");
}

TEST(ParseOutputTest, ImageKeepsItsAttrsAndRejectsDest) {
  auto ex = ParseOutput("type=image,name=reg/x:1,push=true", false);
  ASSERT_TRUE(ex.ok());
  EXPECT_EQ(ex->attrs.at("name"), "reg/x:1");
  EXPECT_EQ(ex->attrs.at("push"), "true");
  EXPECT_THAT(ParseOutput("type=image,dest=x", false).status().message(),
              HasSubstr("output x is not supported by image exporter"));
}

TEST(ParseOutputTest, Errors) {
  EXPECT_EQ(ParseOutput("dest=out", false).status().message(), "--output requires type=<type>");
  EXPECT_EQ(ParseOutput("type=local,bogus", false).status().message(), "invalid value bogus");
  EXPECT_THAT(ParseOutput("type=local", false).status().message(),
              HasSubstr("output directory is required for local exporter"));
  EXPECT_THAT(ParseOutput("type=local,output=x", false).status().message(),
              HasSubstr("you meant dest=x?"));
}

TEST(ParseLocalsTest, RequiresExistingDirectories) {
  char tmpl[] = "/tmp/kiln-locals-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  auto m = ParseLocals({"context=" + dir, "dockerfile=" + dir});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->at("context"), dir);
  EXPECT_THAT(ParseLocals({"context"}).status().message(), HasSubstr("invalid value context"));
  EXPECT_THAT(ParseLocals({"context=" + dir + "/missing"}).status().message(),
              HasSubstr("invalid local"));
  std::ofstream(dir + "/file") << "x";
  EXPECT_THAT(ParseLocals({"c=" + dir + "/file"}).status().message(), HasSubstr("not a directory"));
  unlink((dir + "/file").c_str());
  rmdir(dir.c_str());
}

TEST(ParseOCILayoutsTest, IdEqualsExistingDirectoryLastWins) {
  char tmpl[] = "/tmp/kiln-layouts-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  auto m = ParseOCILayouts({"one=/nowhere-but-replaced", "one=" + dir, "two=" + dir});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->at("one"), dir);
  EXPECT_EQ(m->size(), 2u);
  EXPECT_EQ(ParseOCILayouts({"one"}).status().message(),
            "invalid oci-layout: oci-layout option must be 'id=path/to/layout', instead had "
            "invalid one");
  EXPECT_THAT(ParseOCILayouts({"x=" + dir + "/missing"}).status().message(),
              HasSubstr("invalid oci-layout: resolve " + dir + "/missing"));
  rmdir(dir.c_str());
}

TEST(ParseOptsTest, BuildArgsFromTheEnvironment) {
  std::map<std::string, std::string> env = {{"FOO", "from-env"}, {"SOURCE_DATE_EPOCH", "42"}};
  auto getenv = [&env](const char* k) -> const char* {
    auto it = env.find(k);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto m = ParseOpts({"build-arg:FOO", "build-arg:UNSET", "target=x", "build-arg:BAR=1"}, getenv);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->at("build-arg:FOO"), "from-env");
  EXPECT_FALSE(m->contains("build-arg:UNSET"));
  EXPECT_EQ(m->at("target"), "x");
  EXPECT_EQ(m->at("build-arg:BAR"), "1");
  EXPECT_EQ(m->at("build-arg:SOURCE_DATE_EPOCH"), "42");
  EXPECT_EQ(ParseOpts({"novalue"}, getenv).status().message(),
            "invalid opt: invalid value novalue");
}

TEST(ValidateAllowTest, KnownEntitlementsOnly) {
  EXPECT_TRUE(
      ValidateAllow({"network.host", "security.insecure", "device", "device=nv,alias=g"}).ok());
  EXPECT_EQ(ValidateAllow({"net.host"}).message(), "unknown entitlement net.host");
  EXPECT_FALSE(ValidateAllow({"device=nv,bogus=1"}).ok());
}

TEST(ParseSecretTest, FieldsAsBuildctl) {
  EXPECT_EQ(*ParseSecret("id=mysecret,src=/local/secret"),
            (SecretSource{"mysecret", "/local/secret", ""}));
  EXPECT_EQ(*ParseSecret("ID=a,Source=f"), (SecretSource{"a", "f", ""}));
  EXPECT_EQ(*ParseSecret("id=a,env=FOO"), (SecretSource{"a", "", "FOO"}));
  // type=env takes the variable's name from src when env= is not given.
  EXPECT_EQ(*ParseSecret("type=env,id=a,src=BAR"), (SecretSource{"a", "", "BAR"}));
  EXPECT_EQ(*ParseSecret("type=file,id=a"), (SecretSource{"a", "", ""}));
  // No default id: the store refuses it ("secret missing ID").
  EXPECT_EQ(*ParseSecret("src=/x/y"), (SecretSource{"", "/x/y", ""}));
}

TEST(ParseSecretTest, ErrorsAsBuildctl) {
  EXPECT_EQ(ParseSecret("id").status().message(), "invalid field 'id' must be a key=value pair");
  EXPECT_EQ(ParseSecret("type=ssh,id=a").status().message(), "unsupported secret type \"ssh\"");
  EXPECT_EQ(ParseSecret("id=a,foo=b").status().message(), "unexpected key 'foo' in 'foo=b'");
  EXPECT_THAT(ParseSecret("id=\"a").status().message(), HasSubstr("failed to parse csv secret"));
  EXPECT_FALSE(ParseSecrets({"id=a", "bad"}).ok());
}

TEST(ParseSSHTest, IdAndPathsAsBuildctl) {
  auto c = ParseSSH({"default", "gh=/run/a.sock", "k=/k1,/k2", "e="});
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0], (SSHAgentConfig{"default", {}}));
  EXPECT_EQ(c[1], (SSHAgentConfig{"gh", {"/run/a.sock"}}));
  EXPECT_EQ(c[2], (SSHAgentConfig{"k", {"/k1", "/k2"}}));
  EXPECT_EQ(c[3], (SSHAgentConfig{"e", {""}}));
}

}  // namespace
}  // namespace kiln::client
