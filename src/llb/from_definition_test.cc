// State::FromDefinition: a definition made elsewhere (a frontend input) inside a new one.
#include <gtest/gtest.h>

#include <algorithm>

#include "llb/builder.h"
#include "llb/definition.h"
#include "util/digest.h"

namespace kiln::llb {
namespace {

// An input as another client would send it: its own bytes, a custom name on its root.
pb::Definition Input() {
  State base = State::Image("docker.io/library/busybox:latest", "linux/amd64");
  return *FileOpBuilder(base).Mkfile("/out", 0644, "first\n").Result("make out").Marshal();
}

std::vector<std::string> Digests(const pb::Definition& def) {
  std::vector<std::string> out;
  for (int i = 0; i + 1 < def.def_size(); i++) out.push_back(Digest::FromBytes(def.def(i)).str());
  return out;
}

TEST(FromDefinitionTest, KeepsTheInputsOpsAndTheirDigests) {
  pb::Definition in = Input();
  auto st = State::FromDefinition(in);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  State out = FileOpBuilder(State::Scratch()).Copy(*st, "/out", "/copied").Result();
  auto def = out.Marshal();
  ASSERT_TRUE(def.ok());
  auto loaded = LoadDefinition(*def);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::vector<std::string> got = Digests(*def);
  for (const std::string& d : Digests(in)) {
    EXPECT_NE(std::find(got.begin(), got.end(), d), got.end()) << d << " not kept";
  }
  // The copy reads the input's root, and the root keeps its name.
  auto in_loaded = LoadDefinition(in);
  ASSERT_TRUE(in_loaded.ok());
  const LoadedOp& copy = loaded->ops.at(loaded->root);
  ASSERT_EQ(copy.op.inputs_size(), 1);
  EXPECT_EQ(copy.op.inputs(0).digest(), in_loaded->root);
  EXPECT_EQ(VertexName(loaded->ops.at(in_loaded->root)), "make out");
}

TEST(FromDefinitionTest, CustomNameAndIgnoreCacheApplyToTheRoot) {
  auto st = State::FromDefinition(Input());
  ASSERT_TRUE(st.ok());
  auto def = st->WithCustomName("renamed").IgnoreCache().Marshal();
  ASSERT_TRUE(def.ok());
  auto loaded = LoadDefinition(*def);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const LoadedOp& root = loaded->ops.at(loaded->root);
  EXPECT_EQ(VertexName(root), "renamed");
  EXPECT_TRUE(root.meta.ignore_cache());
  EXPECT_EQ(loaded->ops.size(), 2u);  // the image and the mkfile, once each
}

TEST(FromDefinitionTest, EmptyDefinitionIsScratch) {
  pb::Definition empty = *State::Scratch().Marshal();
  auto st = State::FromDefinition(empty);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_TRUE(st->scratch());
}

TEST(FromDefinitionTest, NoOpsAtAllIsAnError) {
  auto st = State::FromDefinition(pb::Definition());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().message(), "invalid nil input definition to definition op");
}

TEST(FromDefinitionTest, GarbageIsAnError) {
  pb::Definition bad;
  bad.add_def("\xff\xff not an op");
  bad.add_def("also not");
  auto st = State::FromDefinition(bad);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::llb
