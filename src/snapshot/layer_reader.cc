#include "snapshot/layer_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "util/check.h"

namespace kiln::snapshot {

namespace {
constexpr size_t kBufferSize = 256 << 10;

std::string Str(const char* raw, const char* utf8) {
  // The raw bytes when libarchive has them (in the C locale it keeps undecodable names as they
  // are, with a warning), else its UTF-8 form.
  if (raw != nullptr) return raw;
  return utf8 != nullptr ? utf8 : "";
}
}  // namespace

// libarchive's C callbacks, with access to the reader.
struct LayerReaderCallbacks {
  // raw_'s input: the blob, from the source.
  static la_ssize_t Read(struct archive* a, void* data, const void** buf) {
    auto* self = static_cast<LayerReader*>(data);
    auto n = self->src_(self->buf_.data(), self->buf_.size());
    if (!n.ok()) {
      self->source_error_ = n.status();
      archive_set_error(a, EIO, "%s", n.status().message().c_str());
      return -1;
    }
    *buf = self->buf_.data();
    return static_cast<la_ssize_t>(*n);
  }
  // a_'s input: raw_'s data blocks (the uncompressed stream), handed on without a copy.
  static la_ssize_t ReadPlain(struct archive* a, void* data, const void** buf) {
    auto* self = static_cast<LayerReader*>(data);
    size_t n = 0;
    Status s = self->NextBlock(buf, &n);
    if (!s.ok()) {
      archive_set_error(a, EIO, "%s", s.message().c_str());
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }
};

ByteSource FdSource(int fd) {
  return [fd](char* buf, size_t len) -> Result<size_t> {
    for (;;) {
      ssize_t n = read(fd, buf, len);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return ErrnoStatus(errno, "read layer");
    }
  };
}

LayerReader::LayerReader(ByteSource src)
    : src_(std::move(src)), raw_(archive_read_new()), a_(archive_read_new()), buf_(kBufferSize) {
  KILN_CHECK(raw_ != nullptr && a_ != nullptr);
  // OCI layer media types: tar, tar+gzip, tar+zstd. Debian's libarchive decodes gzip (zlib) and
  // zstd (libzstd) in-process; "raw" makes the whole uncompressed stream one entry's data.
  // "empty" accepts a zero-byte blob as an empty layer, as Go's archive/tar does (raw refuses
  // an empty stream, so raw_ needs it too).
  archive_read_support_filter_gzip(raw_);
  archive_read_support_filter_zstd(raw_);
  archive_read_support_format_raw(raw_);
  archive_read_support_format_empty(raw_);
  archive_read_support_format_tar(a_);
  archive_read_support_format_empty(a_);
}

LayerReader::~LayerReader() {
  archive_read_free(a_);
  archive_read_free(raw_);
}

std::string LayerReader::Position() const {
  std::string out = "entry " + std::to_string(entries_);
  if (!current_.empty()) out += " (\"" + current_ + "\")";
  if (opened_) out += ", tar offset " + std::to_string(archive_filter_bytes(a_, 0));
  return out;
}

Status LayerReader::Fail(int rc) {
  failed_ = true;
  if (!source_error_.ok()) return source_error_;
  const char* msg = archive_error_string(a_);
  std::string what = entries_ == 0 ? "at the start" : "after " + Position();
  return DataLoss("layer stream is corrupt or truncated " + what + ": " +
                  (msg != nullptr ? msg : "read error " + std::to_string(rc)));
}

Status LayerReader::Open() {
  int rc = archive_read_open(raw_, this, nullptr, &LayerReaderCallbacks::Read, nullptr);
  if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    struct archive_entry* ae = nullptr;
    rc = archive_read_next_header(raw_, &ae);
    if (rc == ARCHIVE_EOF) {  // an empty blob
      raw_eof_ = true;
      rc = ARCHIVE_OK;
    }
  }
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
    failed_ = true;
    if (!source_error_.ok()) return source_error_;
    const char* msg = archive_error_string(raw_);
    return DataLoss(std::string("layer stream is corrupt or truncated at the start: ") +
                    (msg != nullptr ? msg : "read error " + std::to_string(rc)));
  }
  rc = archive_read_open(a_, this, nullptr, &LayerReaderCallbacks::ReadPlain, nullptr);
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return Fail(rc);
  opened_ = true;
  return Status::Ok();
}

Status LayerReader::NextBlock(const void** data, size_t* n) {
  *data = nullptr;
  *n = 0;
  while (!raw_eof_ && *n == 0) {
    la_int64_t off = 0;
    int rc = archive_read_data_block(raw_, data, n, &off);
    if (rc == ARCHIVE_EOF) {
      raw_eof_ = true;
      *n = 0;
    } else if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      *n = 0;
      if (!source_error_.ok()) return source_error_;
      const char* msg = archive_error_string(raw_);
      return DataLoss(msg != nullptr ? msg : "read error " + std::to_string(rc));
    }
  }
  hash_.Update(*data, *n);
  return Status::Ok();
}

Result<Digest> LayerReader::Finish(const Context& ctx) {
  if (failed_ || finished_) return FailedPrecondition("layer reader already failed or finished");
  if (!opened_) KILN_RETURN_IF_ERROR(Open());
  for (;;) {
    KILN_RETURN_IF_ERROR(ctx.Err());
    const void* data = nullptr;
    size_t n = 0;
    Status s = NextBlock(&data, &n);
    if (!s.ok()) {
      failed_ = true;
      if (!source_error_.ok()) return source_error_;
      return DataLoss("layer stream is corrupt or truncated after the end of the tar archive: " +
                      s.message());
    }
    if (n == 0) break;
  }
  finished_ = true;
  return hash_.Final();
}

Result<bool> LayerReader::Next(LayerEntry* e) {
  if (failed_) return FailedPrecondition("layer reader already failed");
  if (!opened_) KILN_RETURN_IF_ERROR(Open());
  struct archive_entry* ae = nullptr;
  int rc = archive_read_next_header(a_, &ae);
  if (rc == ARCHIVE_EOF) return false;
  // ARCHIVE_WARN: e.g. a name not convertible to the locale (kept as raw bytes); anything worse
  // (RETRY skips damaged headers, FAILED, FATAL) stops the apply.
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return Fail(rc);
  entries_++;
  *e = LayerEntry{};
  e->name = Str(archive_entry_pathname(ae), archive_entry_pathname_utf8(ae));
  current_ = e->name;
  if (archive_entry_hardlink(ae) != nullptr || archive_entry_hardlink_utf8(ae) != nullptr) {
    e->hardlink = Str(archive_entry_hardlink(ae), archive_entry_hardlink_utf8(ae));
  }
  e->type = archive_entry_filetype(ae);
  if (e->type == AE_IFLNK)
    e->symlink = Str(archive_entry_symlink(ae), archive_entry_symlink_utf8(ae));
  e->perm = archive_entry_perm(ae) & 07777;
  e->uid = static_cast<uint32_t>(archive_entry_uid(ae));
  e->gid = static_cast<uint32_t>(archive_entry_gid(ae));
  e->size = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : 0;
  e->mtime_sec = archive_entry_mtime(ae);
  e->mtime_nsec = archive_entry_mtime_nsec(ae);
  if (archive_entry_atime_is_set(ae)) {
    e->has_atime = true;
    e->atime_sec = archive_entry_atime(ae);
    e->atime_nsec = archive_entry_atime_nsec(ae);
  }
  e->rdev = archive_entry_rdev(ae);
  // libarchive reports a name once per record kind (SCHILY.xattr.* and LIBARCHIVE.xattr.*);
  // the last record wins.
  std::map<std::string, std::string> xattrs;
  archive_entry_xattr_reset(ae);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
    if (name == nullptr || *name == '\0') continue;
    xattrs[name].assign(static_cast<const char*>(value), size);
  }
  for (auto& [k, v] : xattrs) e->xattrs.push_back(Xattr{k, std::move(v)});
  return true;
}

Status LayerReader::ReadData(const void** data, size_t* n, int64_t* offset) {
  la_int64_t off = 0;
  int rc = archive_read_data_block(a_, data, n, &off);
  if (rc == ARCHIVE_EOF) {
    *n = 0;
    return Status::Ok();
  }
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return Fail(rc);
  *offset = off;
  return Status::Ok();
}

}  // namespace kiln::snapshot
