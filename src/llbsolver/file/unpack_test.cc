// ADD's archive extraction through Copy (attemptUnpackDockerCompatibility), and tar-slip.

#include "llbsolver/file/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llbsolver/file/backend.h"
#include "llbsolver/file/testing/temp_root.h"

namespace kiln::llbsolver::file {
namespace {

using testing::Lstat;
using testing::Perm;
using testing::TempRoot;
using testing::Tree;
using testing::WriteFile;
using Entries = std::vector<std::string>;

// One entry of a hand-made tar: a file (content), directory, symlink or hardlink.
struct TarEntry {
  enum class Kind { kFile, kDir, kSymlink, kHardlink };
  Kind kind;
  std::string name;
  std::string data;  // content, or link target
  mode_t perm = 0644;
};

// Writes a plain tar with libarchive (the `tar` command refuses to write the names tar-slip
// tests need).
void WriteTar(const std::string& path, const std::vector<TarEntry>& entries) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  for (const TarEntry& t : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, t.name.c_str());
    archive_entry_set_perm(e, t.perm);
    archive_entry_set_mtime(e, 1500000000, 0);
    archive_entry_set_uid(e, geteuid());  // extractable unprivileged too
    archive_entry_set_gid(e, getegid());
    switch (t.kind) {
      case TarEntry::Kind::kFile:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
        break;
      case TarEntry::Kind::kDir:
        archive_entry_set_filetype(e, AE_IFDIR);
        break;
      case TarEntry::Kind::kSymlink:
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, t.data.c_str());
        break;
      case TarEntry::Kind::kHardlink:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, t.data.c_str());
        break;
    }
    ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (t.kind == TarEntry::Kind::kFile && !t.data.empty()) {
      archive_write_data(a, t.data.data(), t.data.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

class UnpackTest : public ::testing::Test {
 protected:
  UnpackTest() {
    // The archive's content, made with the tar command in each format.
    WriteFile(src_ / "tree/app/run.sh", "#!/bin/sh\n", 0755);
    WriteFile(src_ / "tree/app/conf/a.conf", "a=1", 0600);
    EXPECT_EQ(symlink("run.sh", (src_ / "tree/app/start").c_str()), 0);
    struct timespec ts[2] = {{1400000000, 0}, {1400000000, 0}};
    utimensat(AT_FDCWD, (src_ / "tree/app/conf/a.conf").c_str(), ts, 0);
  }

  pb::FileActionCopy Add(const std::string& src, const std::string& dest) {
    pb::FileActionCopy a;
    a.set_src(src);
    a.set_dest(dest);
    a.set_mode(-1);
    a.set_timestamp(-1);
    a.set_createdestpath(true);
    a.set_allowwildcard(true);
    a.set_followsymlink(true);
    a.set_attemptunpackdockercompatibility(true);
    return a;
  }

  Status Run(const pb::FileActionCopy& a) {
    return Copy(Context::Background(), src_.path(), dest_.path(), a, UserResolver());
  }

  TempRoot src_;
  TempRoot dest_;
};

const Entries kExtracted = {"app/", "app/conf/", "app/conf/a.conf=a=1", "app/run.sh=#!/bin/sh\n",
                            "app/start->run.sh"};

TEST_F(UnpackTest, ExtractsEveryCompressionBuildKitKnows) {
  struct Case {
    const char* file;
    const char* flag;
  };
  const Case cases[] = {
      {"plain.tar", ""},         {"gz.tar.gz", "-z"},   {"bz.tbz", "-j"}, {"xz.txz", "-J"},
      {"zst.tar.zst", "--zstd"}, {"no-extension", "-z"}};  // detected by content, not by name
  for (const Case& c : cases) {
    testing::Sh("tar -C " + (src_ / "tree") + " " + c.flag + " -cf " + (src_ / c.file) + " app");
    TempRoot dest;
    KILN_ASSERT_OK(Copy(Context::Background(), src_.path(), dest.path(),
                        Add(std::string("/") + c.file, "/x/"), UserResolver()));
    EXPECT_EQ(Tree(dest / "x"), kExtracted) << c.file;
    EXPECT_EQ(Perm(dest / "x/app/run.sh"), 0755u) << c.file;
    EXPECT_EQ(Perm(dest / "x/app/conf/a.conf"), 0600u) << c.file;
    EXPECT_EQ(Lstat(dest / "x/app/conf/a.conf").st_mtim.tv_sec, 1400000000) << c.file;
  }
}

TEST_F(UnpackTest, DestinationWithoutSlashIsTheExtractionDirectory) {
  testing::Sh("tar -C " + (src_ / "tree") + " -czf " + (src_ / "a.tgz") + " app");
  KILN_ASSERT_OK(Run(Add("/a.tgz", "/opt")));
  EXPECT_EQ(Tree(dest_ / "opt"), kExtracted);
}

TEST_F(UnpackTest, ExtractsIntoAnExistingTreeMergingDirectories) {
  testing::Sh("tar -C " + (src_ / "tree") + " -czf " + (src_ / "a.tgz") + " app");
  WriteFile(dest_ / "x/app/old", "kept");
  WriteFile(dest_ / "x/app/run.sh", "replaced");
  KILN_ASSERT_OK(Run(Add("/a.tgz", "/x")));
  EXPECT_EQ(Tree(dest_ / "x"), (Entries{"app/", "app/conf/", "app/conf/a.conf=a=1", "app/old=kept",
                                        "app/run.sh=#!/bin/sh\n", "app/start->run.sh"}));
}

TEST_F(UnpackTest, OwnerAppliesToEveryExtractedEntry) {
  if (!testing::IsRoot()) GTEST_SKIP() << "chown needs root";
  testing::Sh("tar -C " + (src_ / "tree") + " --owner=5 --group=6 -czf " + (src_ / "a.tgz") +
              " app");
  KILN_ASSERT_OK(Run(Add("/a.tgz", "/plain/")));
  EXPECT_EQ(Lstat(dest_ / "plain/app/run.sh").st_uid, 5u) << "archive owners are kept";
  pb::FileActionCopy a = Add("/a.tgz", "/owned/");
  a.mutable_owner()->mutable_user()->set_byid(1000);
  KILN_ASSERT_OK(Run(a));
  for (const char* p : {"owned", "owned/app", "owned/app/run.sh", "owned/app/start"}) {
    EXPECT_EQ(Lstat(dest_ / p).st_uid, 1000u) << p;
    EXPECT_EQ(Lstat(dest_ / p).st_gid, 1000u) << p;
  }
}

TEST_F(UnpackTest, NonArchivesAreCopied) {
  WriteFile(src_ / "notes.txt", "just text");
  WriteFile(src_ / "empty", "");
  testing::Sh("gzip -c " + (src_ / "notes.txt") + " > " + (src_ / "notes.gz"));
  KILN_ASSERT_OK(Run(Add("/notes.txt", "/d/")));
  KILN_ASSERT_OK(Run(Add("/empty", "/d/")));
  KILN_ASSERT_OK(Run(Add("/notes.gz", "/d/")));
  EXPECT_EQ(Tree(dest_ / "d").size(), 3u);
  EXPECT_EQ(testing::ReadFile(dest_ / "d/notes.txt"), "just text");
}

TEST_F(UnpackTest, ArchivesAreCopiedWhenUnpackIsOff) {
  testing::Sh("tar -C " + (src_ / "tree") + " -czf " + (src_ / "a.tgz") + " app");
  pb::FileActionCopy a = Add("/a.tgz", "/d/");
  a.set_attemptunpackdockercompatibility(false);
  KILN_ASSERT_OK(Run(a));
  EXPECT_TRUE(S_ISREG(Lstat(dest_ / "d/a.tgz").st_mode));
}

TEST_F(UnpackTest, HardlinksInTheArchiveAreRecreated) {
  WriteTar(src_ / "h.tar",
           {{TarEntry::Kind::kFile, "one", "data"}, {TarEntry::Kind::kHardlink, "two", "one"}});
  KILN_ASSERT_OK(Run(Add("/h.tar", "/h/")));
  EXPECT_EQ(Lstat(dest_ / "h/one").st_ino, Lstat(dest_ / "h/two").st_ino);
}

TEST_F(UnpackTest, EntriesClimbingOutAreRefused) {
  testing::MakeDirs(dest_ / "d");
  WriteTar(src_ / "slip.tar", {{TarEntry::Kind::kFile, "ok.txt", "fine"},
                               {TarEntry::Kind::kFile, "../evil.txt", "evil"}});
  Status s = Run(Add("/slip.tar", "/d/"));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "failed to copy files: failed to unpack /slip.tar: archive entry \"../evil.txt\" is "
            "outside of the destination");
  EXPECT_FALSE(testing::Exists(dest_ / "evil.txt"));
}

TEST_F(UnpackTest, SymlinksInTheArchiveCannotLeadOut) {
  TempRoot host;  // stands for the rest of the machine
  WriteFile(host / "secret", "host data");
  WriteTar(src_ / "links.tar", {{TarEntry::Kind::kSymlink, "abs", host.path()},
                                {TarEntry::Kind::kSymlink, "slash", "/"},
                                {TarEntry::Kind::kSymlink, "up", "../../../../../../.."},
                                {TarEntry::Kind::kFile, "abs/secret", "overwritten?"},
                                {TarEntry::Kind::kFile, "slash/via-slash", "1"},
                                {TarEntry::Kind::kFile, "up/via-up", "2"},
                                {TarEntry::Kind::kFile, "/absolute-name", "3"}});
  KILN_ASSERT_OK(Run(Add("/links.tar", "/d/")));
  EXPECT_EQ(testing::ReadFile(dest_ / ("d" + host.path() + "/secret")), "overwritten?");
  EXPECT_EQ(testing::ReadFile(dest_ / "d/via-slash"), "1");
  EXPECT_EQ(testing::ReadFile(dest_ / "d/via-up"), "2");
  EXPECT_EQ(testing::ReadFile(dest_ / "d/absolute-name"), "3");
  EXPECT_EQ(Tree(host.path()), (Entries{"secret=host data"}));
}

TEST_F(UnpackTest, HardlinksCannotReachOutside) {
  TempRoot host;
  WriteFile(host / "secret", "host data");
  WriteTar(src_ / "hl.tar", {{TarEntry::Kind::kSymlink, "abs", host.path()},
                             {TarEntry::Kind::kHardlink, "stolen", "abs/secret"}});
  Status s = Run(Add("/hl.tar", "/d/"));
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  EXPECT_FALSE(testing::Exists(dest_ / "d/stolen"));
  EXPECT_EQ(Lstat(host / "secret").st_nlink, 1u);

  WriteTar(src_ / "hl2.tar", {{TarEntry::Kind::kHardlink, "stolen", "../../secret"}});
  EXPECT_EQ(Run(Add("/hl2.tar", "/d2/")).code(), Code::kInvalidArgument);
}

TEST(IsTarArchiveTest, TellsArchivesFromOtherFiles) {
  TempRoot dir;
  WriteFile(dir / "text", "hello");
  WriteTar(dir / "one.tar", {{TarEntry::Kind::kFile, "f", "x"}});
  WriteTar(dir / "empty.tar", {});
  testing::MakeDirs(dir / "d");
  ASSERT_EQ(symlink("one.tar", (dir / "link").c_str()), 0);
  EXPECT_TRUE(IsTarArchive(dir / "one.tar"));
  EXPECT_FALSE(IsTarArchive(dir / "text"));
  EXPECT_FALSE(IsTarArchive(dir / "empty.tar")) << "no entry: copied as a file, as BuildKit";
  EXPECT_FALSE(IsTarArchive(dir / "d"));
  EXPECT_FALSE(IsTarArchive(dir / "link"));
  EXPECT_FALSE(IsTarArchive(dir / "missing"));
}

}  // namespace
}  // namespace kiln::llbsolver::file
