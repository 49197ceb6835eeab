#include "snapshot/testing/layer_builder.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <memory>

#include "util/check.h"

namespace kiln::snapshot::testing {

LayerBuilder& LayerBuilder::Add(TestEntry e) {
  entries_.push_back(std::move(e));
  return *this;
}

namespace {
TestEntry Make(TestEntry::Kind kind, std::string name, std::string data, uint32_t perm,
               uint32_t major = 0, uint32_t minor = 0) {
  TestEntry e;
  e.kind = kind;
  e.name = std::move(name);
  e.data = std::move(data);
  e.perm = perm;
  e.major = major;
  e.minor = minor;
  e.uid = geteuid();  // applicable unprivileged too
  e.gid = getegid();
  return e;
}
}  // namespace

LayerBuilder& LayerBuilder::File(std::string name, std::string data, uint32_t perm) {
  return Add(Make(TestEntry::Kind::kFile, std::move(name), std::move(data), perm));
}

LayerBuilder& LayerBuilder::Dir(std::string name, uint32_t perm) {
  return Add(Make(TestEntry::Kind::kDir, std::move(name), "", perm));
}

LayerBuilder& LayerBuilder::Symlink(std::string name, std::string target) {
  return Add(Make(TestEntry::Kind::kSymlink, std::move(name), std::move(target), 0777));
}

LayerBuilder& LayerBuilder::Hardlink(std::string name, std::string target) {
  return Add(Make(TestEntry::Kind::kHardlink, std::move(name), std::move(target), 0644));
}

LayerBuilder& LayerBuilder::Char(std::string name, uint32_t major, uint32_t minor) {
  return Add(Make(TestEntry::Kind::kChar, std::move(name), "", 0666, major, minor));
}

LayerBuilder& LayerBuilder::Block(std::string name, uint32_t major, uint32_t minor) {
  return Add(Make(TestEntry::Kind::kBlock, std::move(name), "", 0660, major, minor));
}

LayerBuilder& LayerBuilder::Fifo(std::string name) {
  return Add(Make(TestEntry::Kind::kFifo, std::move(name), "", 0600));
}

LayerBuilder& LayerBuilder::Whiteout(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string name = slash == std::string::npos
                         ? ".wh." + path
                         : path.substr(0, slash + 1) + ".wh." + path.substr(slash + 1);
  return File(std::move(name), "");
}

LayerBuilder& LayerBuilder::Opaque(const std::string& dir) {
  return File(dir.empty() ? ".wh..wh..opq" : dir + "/.wh..wh..opq", "");
}

LayerBuilder& LayerBuilder::Owner(uint32_t uid, uint32_t gid) {
  entries_.back().uid = uid;
  entries_.back().gid = gid;
  return *this;
}

LayerBuilder& LayerBuilder::Mtime(int64_t sec, int64_t nsec) {
  entries_.back().mtime_sec = sec;
  entries_.back().mtime_nsec = nsec;
  return *this;
}

LayerBuilder& LayerBuilder::Atime(int64_t sec, int64_t nsec) {
  entries_.back().has_atime = true;
  entries_.back().atime_sec = sec;
  entries_.back().atime_nsec = nsec;
  return *this;
}

LayerBuilder& LayerBuilder::Xattr(std::string name, std::string value) {
  entries_.back().xattrs.emplace_back(std::move(name), std::move(value));
  return *this;
}

namespace {
la_ssize_t Append(struct archive*, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}
}  // namespace

std::string LayerBuilder::Build(Compression c) const {
  std::string out;
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_write_new(),
                                                              archive_write_free);
  KILN_CHECK(archive_write_set_format_pax(a.get()) == ARCHIVE_OK);
  if (c == Compression::kGzip) KILN_CHECK(archive_write_add_filter_gzip(a.get()) == ARCHIVE_OK);
  if (c == Compression::kZstd) KILN_CHECK(archive_write_add_filter_zstd(a.get()) == ARCHIVE_OK);
  archive_write_set_bytes_in_last_block(a.get(), 1);
  KILN_CHECK(archive_write_open(a.get(), &out, nullptr, Append, nullptr) == ARCHIVE_OK);
  for (const TestEntry& t : entries_) {
    std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)> e(archive_entry_new(),
                                                                             archive_entry_free);
    archive_entry_copy_pathname(e.get(), t.name.c_str());
    archive_entry_set_perm(e.get(), t.perm);
    archive_entry_set_uid(e.get(), t.uid);
    archive_entry_set_gid(e.get(), t.gid);
    archive_entry_set_mtime(e.get(), t.mtime_sec, t.mtime_nsec);
    if (t.has_atime) archive_entry_set_atime(e.get(), t.atime_sec, t.atime_nsec);
    for (const auto& [k, v] : t.xattrs) {
      archive_entry_xattr_add_entry(e.get(), k.c_str(), v.data(), v.size());
    }
    switch (t.kind) {
      case TestEntry::Kind::kFile:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(t.data.size()));
        break;
      case TestEntry::Kind::kDir:
        archive_entry_set_filetype(e.get(), AE_IFDIR);
        break;
      case TestEntry::Kind::kSymlink:
        archive_entry_set_filetype(e.get(), AE_IFLNK);
        archive_entry_copy_symlink(e.get(), t.data.c_str());
        break;
      case TestEntry::Kind::kHardlink:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_copy_hardlink(e.get(), t.data.c_str());
        break;
      case TestEntry::Kind::kChar:
      case TestEntry::Kind::kBlock:
        archive_entry_set_filetype(e.get(), t.kind == TestEntry::Kind::kChar ? AE_IFCHR : AE_IFBLK);
        archive_entry_set_rdev(e.get(), makedev(t.major, t.minor));
        break;
      case TestEntry::Kind::kFifo:
        archive_entry_set_filetype(e.get(), AE_IFIFO);
        break;
    }
    KILN_CHECK(archive_write_header(a.get(), e.get()) >= ARCHIVE_WARN);
    if (t.kind == TestEntry::Kind::kFile && !t.data.empty()) {
      KILN_CHECK(archive_write_data(a.get(), t.data.data(), t.data.size()) ==
                 static_cast<la_ssize_t>(t.data.size()));
    }
  }
  KILN_CHECK(archive_write_close(a.get()) == ARCHIVE_OK);
  return out;
}

std::string Compress(const std::string& data, Compression c) {
  if (c == Compression::kNone) return data;
  std::string out;
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_write_new(),
                                                              archive_write_free);
  KILN_CHECK(archive_write_set_format_raw(a.get()) == ARCHIVE_OK);
  if (c == Compression::kGzip) KILN_CHECK(archive_write_add_filter_gzip(a.get()) == ARCHIVE_OK);
  if (c == Compression::kZstd) KILN_CHECK(archive_write_add_filter_zstd(a.get()) == ARCHIVE_OK);
  archive_write_set_bytes_in_last_block(a.get(), 1);
  KILN_CHECK(archive_write_open(a.get(), &out, nullptr, Append, nullptr) == ARCHIVE_OK);
  std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)> e(archive_entry_new(),
                                                                           archive_entry_free);
  archive_entry_set_filetype(e.get(), AE_IFREG);
  KILN_CHECK(archive_write_header(a.get(), e.get()) == ARCHIVE_OK);
  if (!data.empty()) {
    KILN_CHECK(archive_write_data(a.get(), data.data(), data.size()) ==
               static_cast<la_ssize_t>(data.size()));
  }
  KILN_CHECK(archive_write_close(a.get()) == ARCHIVE_OK);
  return out;
}

ByteSource StringSource(std::string data, size_t chunk) {
  auto owned = std::make_shared<std::string>(std::move(data));
  auto pos = std::make_shared<size_t>(0);
  return [owned, pos, chunk](char* buf, size_t len) -> Result<size_t> {
    size_t n = std::min({len, chunk, owned->size() - *pos});
    owned->copy(buf, n, *pos);
    *pos += n;
    return n;
  };
}

}  // namespace kiln::snapshot::testing
