#include "exporter/image_archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "exporter/image_layout.h"
#include "util/digest.h"

namespace kiln::exporter {

namespace {

using internal::ImageLayout;
using internal::LayoutBlob;
using internal::LayoutFile;

constexpr size_t kChunk = 1 << 20;

// Streams a blob from the store into sink in chunks, hashing it on the way: DataLoss when the
// bytes are not the descriptor's (size or digest), as containerd's exporter checks.
Status CopyBlob(const Context& ctx, const content::Store& store, const LayoutBlob& blob,
                const ByteSink& sink) {
  const Digest& want = blob.desc.digest;
  std::string what = "blob " + want.str() + " (" + blob.referrer + ")";
  KILN_ASSIGN_OR_RETURN(content::Reader r, store.OpenBlob(want));
  Sha256 hash;
  std::vector<char> buf(kChunk);
  int64_t total = 0;
  while (true) {
    KILN_RETURN_IF_ERROR(ctx.Err());
    KILN_ASSIGN_OR_RETURN(size_t n, r.Read(buf.data(), buf.size()));
    if (n == 0) {
      break;
    }
    total += static_cast<int64_t>(n);
    if (total > blob.desc.size) {
      return DataLoss(what + ": the content store has more than " + std::to_string(blob.desc.size) +
                      " bytes");
    }
    hash.Update(buf.data(), n);
    KILN_RETURN_IF_ERROR(sink(std::string_view(buf.data(), n)));
  }
  if (total != blob.desc.size) {
    return DataLoss(what + ": the content store has " + std::to_string(total) + " bytes, not " +
                    std::to_string(blob.desc.size));
  }
  if (Digest got = hash.Final(); got != want) {
    return DataLoss(what + ": the content store's bytes hash to " + got.str());
  }
  return Status::Ok();
}

// One archive entry: a directory, a blob or a generated file.
struct Entry {
  std::string name;
  const LayoutBlob* blob = nullptr;
  const LayoutFile* file = nullptr;
};

// All entries in name order (containerd sorts its records by name).
std::vector<Entry> Entries(const ImageLayout& layout) {
  std::vector<Entry> entries = {{"blobs/"}, {"blobs/sha256/"}};
  for (const auto& b : layout.blobs) {
    entries.push_back({internal::BlobPath(b.desc.digest), &b, nullptr});
  }
  for (const auto& f : layout.files) {
    entries.push_back({f.name, nullptr, &f});
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return entries;
}

Status WriteAllFd(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoStatus(errno, "write " + path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Replaces the file at path with what fill writes, then sets mode exactly. A failed file is
// removed.
Status WriteDirFile(const std::string& path, uint32_t mode,
                    const std::function<Status(const ByteSink&)>& fill) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "remove " + path);
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return ErrnoStatus(errno, "create " + path);
  }
  Status s = fill([&](std::string_view data) { return WriteAllFd(fd, data, path); });
  if (s.ok() && ::fchmod(fd, mode) != 0) {
    s = ErrnoStatus(errno, "chmod " + path);
  }
  if (::close(fd) != 0 && s.ok()) {
    s = ErrnoStatus(errno, "close " + path);
  }
  if (!s.ok()) {
    ::unlink(path.c_str());
  }
  return s;
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), internal::kDirMode) == 0) {
    return ::chmod(path.c_str(), internal::kDirMode) == 0 ? Status::Ok()
                                                          : ErrnoStatus(errno, "chmod " + path);
  }
  struct stat st {};
  if (errno == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::Ok();
  }
  return ErrnoStatus(errno, "create directory " + path);
}

}  // namespace

Status WriteImageArchive(const Context& ctx, const content::Store& store,
                         const registry::Descriptor& root, const ArchiveOptions& opts,
                         const ByteSink& sink) {
  KILN_ASSIGN_OR_RETURN(ImageLayout layout, internal::PlanImageLayout(ctx, store, root, opts));
  TarWriter tw(sink);
  for (const Entry& e : Entries(layout)) {
    TarHeader h;
    h.name = e.name;
    if (e.blob != nullptr) {
      h.mode = internal::kBlobMode;
      h.size = e.blob->desc.size;
    } else if (e.file != nullptr) {
      h.mode = e.file->mode;
      h.size = static_cast<int64_t>(e.file->data.size());
    } else {
      h.type = TarType::kDir;
      h.mode = internal::kDirMode;
    }
    KILN_RETURN_IF_ERROR(tw.WriteHeader(h));
    if (e.blob != nullptr) {
      KILN_RETURN_IF_ERROR(
          CopyBlob(ctx, store, *e.blob, [&](std::string_view data) { return tw.WriteData(data); }));
    } else if (e.file != nullptr) {
      KILN_RETURN_IF_ERROR(tw.WriteData(e.file->data));
    }
  }
  return tw.Close();
}

Status WriteOCILayoutDir(const Context& ctx, const content::Store& store,
                         const registry::Descriptor& root, const ArchiveOptions& opts,
                         const std::string& dir) {
  KILN_ASSIGN_OR_RETURN(ImageLayout layout, internal::PlanImageLayout(ctx, store, root, opts));
  KILN_RETURN_IF_ERROR(MakeDir(dir));
  for (const Entry& e : Entries(layout)) {
    std::string path = dir + "/" + e.name;
    if (e.blob != nullptr) {
      KILN_RETURN_IF_ERROR(WriteDirFile(path, internal::kBlobMode, [&](const ByteSink& sink) {
        return CopyBlob(ctx, store, *e.blob, sink);
      }));
    } else if (e.file != nullptr) {
      KILN_RETURN_IF_ERROR(WriteDirFile(path, e.file->mode,
                                        [&](const ByteSink& sink) { return sink(e.file->data); }));
    } else {
      path.pop_back();  // the trailing "/"
      KILN_RETURN_IF_ERROR(MakeDir(path));
    }
  }
  return Status::Ok();
}

}  // namespace kiln::exporter
