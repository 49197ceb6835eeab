// Where Copy puts things: source and destination path rules, wildcards, symlinked sources.
// Options that change what is written (owner, modes, patterns...) are in copy_options_test.cc.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>

#include "llbsolver/file/backend.h"
#include "llbsolver/file/testing/temp_root.h"

namespace kiln::llbsolver::file {
namespace {

using testing::TempRoot;
using testing::Tree;
using testing::WriteFile;
using Entries = std::vector<std::string>;

// The source tree of every case.
void MakeSource(const TempRoot& src) {
  WriteFile(src / "file.txt", "hello");
  WriteFile(src / "dir/a.txt", "a");
  WriteFile(src / "dir/sub/b.txt", "b");
  WriteFile(src / "x1.go", "1");
  WriteFile(src / "x2.go", "2");
  WriteFile(src / "y.go", "y");
  ASSERT_EQ(symlink("dir", (src / "link-to-dir").c_str()), 0);
  ASSERT_EQ(symlink("/file.txt", (src / "link-to-file").c_str()), 0);
}

struct Flags {
  bool follow = false;
  bool contents = false;
  bool create = true;
  bool wildcard = false;
  bool allow_empty = false;
};

struct CopyCase {
  const char* name;
  const char* src;
  const char* dest;
  Flags flags;
  Entries dest_before;  // directories ("d/") and files ("f=x") made in dest first
  Entries dest_after;   // the whole destination tree afterwards
  const char* error;    // nullptr for success
  Code code;
};

CopyCase Ok(const char* name, const char* src, const char* dest, Flags flags, Entries dest_before,
            Entries dest_after) {
  return {name,    src,      dest, flags, std::move(dest_before), std::move(dest_after),
          nullptr, Code::kOk};
}

CopyCase Err(const char* name, const char* src, const char* dest, Flags flags, Entries dest_before,
             Entries dest_after, const char* error, Code code) {
  return {name, src, dest, flags, std::move(dest_before), std::move(dest_after), error, code};
}

class CopyPathTest : public ::testing::TestWithParam<CopyCase> {};

TEST_P(CopyPathTest, PutsFilesWhereBuildKitDoes) {
  const CopyCase& c = GetParam();
  TempRoot src;
  TempRoot dest;
  MakeSource(src);
  for (const std::string& e : c.dest_before) {
    if (e.back() == '/') {
      testing::MakeDirs(dest / e.substr(0, e.size() - 1));
    } else {
      size_t eq = e.find('=');
      WriteFile(dest / e.substr(0, eq), e.substr(eq + 1));
    }
  }
  pb::FileActionCopy a;
  a.set_src(c.src);
  a.set_dest(c.dest);
  a.set_mode(-1);
  a.set_timestamp(-1);
  a.set_followsymlink(c.flags.follow);
  a.set_dircopycontents(c.flags.contents);
  a.set_createdestpath(c.flags.create);
  a.set_allowwildcard(c.flags.wildcard);
  a.set_allowemptywildcard(c.flags.allow_empty);
  Status s = Copy(Context::Background(), src.path(), dest.path(), a, UserResolver());
  if (c.error != nullptr) {
    EXPECT_EQ(s.message(), c.error);
    EXPECT_EQ(s.code(), c.code) << s.ToString();
  } else {
    KILN_ASSERT_OK(s);
  }
  EXPECT_EQ(Tree(dest.path()), c.dest_after);
}

const Entries kDirCopy = {"a.txt=a", "sub/", "sub/b.txt=b"};

Entries Under(const std::string& prefix, const Entries& entries) {
  Entries out{prefix + "/"};
  for (const std::string& e : entries) out.push_back(prefix + "/" + e);
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Paths, CopyPathTest,
    ::testing::Values(
        Ok("file to a new name", "/file.txt", "/out.txt", {}, {}, {"out.txt=hello"}),
        Ok("file into an existing dir", "/file.txt", "/existing", {}, {"existing/"},
           {"existing/", "existing/file.txt=hello"}),
        Ok("file into a new dir by trailing slash", "/file.txt", "/newdir/", {}, {},
           {"newdir/", "newdir/file.txt=hello"}),
        Ok("file over an existing file", "/file.txt", "/out.txt", {}, {"out.txt=old"},
           {"out.txt=hello"}),
        Ok("file into created parents", "/file.txt", "/deep/er/x.txt", {}, {},
           {"deep/", "deep/er/", "deep/er/x.txt=hello"}),
        Ok("dir to a new name", "/dir", "/out", {}, {}, Under("out", kDirCopy)),
        Ok("dir into an existing dir", "/dir", "/existing", {}, {"existing/"},
           {"existing/", "existing/dir/", "existing/dir/a.txt=a", "existing/dir/sub/",
            "existing/dir/sub/b.txt=b"}),
        Ok("dir into a new dir by trailing slash", "/dir", "/out/", {}, {},
           {"out/", "out/dir/", "out/dir/a.txt=a", "out/dir/sub/", "out/dir/sub/b.txt=b"}),
        Ok("dir contents into an existing dir", "/dir", "/existing", {.contents = true},
           {"existing/", "existing/old=o"},
           {"existing/", "existing/a.txt=a", "existing/old=o", "existing/sub/",
            "existing/sub/b.txt=b"}),
        Ok("dir contents to a new dir", "/dir", "/out", {.contents = true}, {},
           Under("out", kDirCopy)),
        Ok("dir contents to the root", "/dir", "/", {.contents = true}, {"keep/"},
           {"a.txt=a", "keep/", "sub/", "sub/b.txt=b"}),
        Ok("dir/. copies the contents", "/dir/.", "/existing", {}, {"existing/"},
           {"existing/", "existing/a.txt=a", "existing/sub/", "existing/sub/b.txt=b"}),
        Ok("symlink source copied as a link", "/link-to-dir", "/l", {}, {}, {"l->dir"}),
        Ok("symlink source followed", "/link-to-dir", "/l", {.follow = true}, {},
           Under("l", kDirCopy)),
        Ok("absolute symlink followed inside the source root", "/link-to-file", "/f",
           {.follow = true}, {}, {"f=hello"}),
        Ok("symlink in the middle is always followed", "/link-to-dir/sub/b.txt", "/b", {}, {},
           {"b=b"}),
        Ok("wildcard files into a dir", "/x*.go", "/go/", {.wildcard = true}, {},
           {"go/", "go/x1.go=1", "go/x2.go=2"}),
        Ok("wildcard matching a dir", "/di?", "/out/", {.wildcard = true}, {},
           {"out/", "out/dir/", "out/dir/a.txt=a", "out/dir/sub/", "out/dir/sub/b.txt=b"}),
        Ok("wildcard in a middle component", "/d*/sub", "/out/", {.wildcard = true}, {},
           {"out/", "out/sub/", "out/sub/b.txt=b"}),
        Ok("wildcard through a followed symlink", "/link-to-dir/*.txt", "/out/",
           {.follow = true, .wildcard = true}, {}, {"out/", "out/a.txt=a"}),
        Err("wildcard chars taken literally without allowWildcard", "/x*.go", "/go/", {}, {},
            {"go/"}, "failed to copy files: stat /x*.go: no such file or directory",
            Code::kNotFound),
        Err("wildcard without match", "/nomatch*", "/out/", {.wildcard = true}, {}, {},
            "failed to copy files: /nomatch* not found", Code::kNotFound),
        Ok("wildcard without match allowed", "/nomatch*", "/out/",
           {.wildcard = true, .allow_empty = true}, {}, {}),
        Err("missing source", "/missing", "/out", {}, {}, {},
            "failed to copy files: stat /missing: no such file or directory", Code::kNotFound),
        Err("missing dest parent without createDestPath", "/file.txt", "/no/such/x",
            {.create = false}, {}, {},
            "failed to copy files: failed to stat /no/such/x: lstat /no/such: no such "
            "file or directory",
            Code::kNotFound),
        Ok("existing dest parent without createDestPath", "/file.txt", "/d/x", {.create = false},
           {"d/"}, {"d/", "d/x=hello"}),
        Ok("trailing slash dest without createDestPath", "/file.txt", "/d/new/", {.create = false},
           {"d/"}, {"d/", "d/new/", "d/new/file.txt=hello"}),
        Ok("whole source root", "/", "/all/", {.contents = true}, {},
           {"all/", "all/dir/", "all/dir/a.txt=a", "all/dir/sub/", "all/dir/sub/b.txt=b",
            "all/file.txt=hello", "all/link-to-dir->dir", "all/link-to-file->/file.txt",
            "all/x1.go=1", "all/x2.go=2", "all/y.go=y"})),
    [](const ::testing::TestParamInfo<CopyCase>& info) {
      std::string n;
      for (const char* p = info.param.name; *p; ++p) n += std::isalnum(*p) ? *p : '_';
      return n;
    });

TEST(CopyTest, HardlinksInTheSourceStayHardlinks) {
  TempRoot src;
  TempRoot dest;
  WriteFile(src / "d/one", "same");
  ASSERT_EQ(link((src / "d/one").c_str(), (src / "d/two").c_str()), 0);
  pb::FileActionCopy a;
  a.set_src("/d");
  a.set_dest("/out");
  a.set_mode(-1);
  a.set_timestamp(-1);
  a.set_createdestpath(true);
  KILN_ASSERT_OK(Copy(Context::Background(), src.path(), dest.path(), a, UserResolver()));
  EXPECT_EQ(testing::Lstat(dest / "out/one").st_ino, testing::Lstat(dest / "out/two").st_ino);
}

TEST(CopyTest, CancelledContextStopsTheCopy) {
  TempRoot src;
  TempRoot dest;
  WriteFile(src / "f", "x");
  Context ctx = Context::Background().Child();
  ctx.Cancel(Cancelled("client went away"));
  pb::FileActionCopy a;
  a.set_src("/f");
  a.set_dest("/f");
  a.set_mode(-1);
  Status s = Copy(ctx, src.path(), dest.path(), a, UserResolver());
  EXPECT_EQ(s.code(), Code::kCancelled);
  EXPECT_EQ(s.message(), "client went away");
  EXPECT_TRUE(Tree(dest.path()).empty());
}

}  // namespace
}  // namespace kiln::llbsolver::file
