#include "snapshot/overlay_meta.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace kiln::snapshot {

namespace {
constexpr const char* kInfo = "/info.json";
}  // namespace

Status CheckOverlayKey(const std::string& key) {
  bool ok = !key.empty() && key.size() <= 255 && key[0] != '.';
  for (char c : key) ok = ok && c > 0x20 && c < 0x7f && c != '/';
  if (!ok) return InvalidArgument("invalid snapshot key \"" + key + "\"");
  return Status::Ok();
}

Status SaveRecord(const std::string& dir, const OverlayRecord& rec) {
  // Keys and parents passed CheckOverlayKey, so dump() cannot meet invalid UTF-8.
  nlohmann::json j = {{"id", rec.id},
                      {"key", rec.key},
                      {"parent", rec.parent},
                      {"kind", rec.committed ? "committed" : "active"}};
  std::string data = j.dump() + "\n";
  std::string tmp = dir + kInfo + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "create " + tmp);
  ssize_t n = write(fd, data.data(), data.size());
  int err = errno;
  bool synced = fsync(fd) == 0;
  close(fd);
  if (n != static_cast<ssize_t>(data.size())) return ErrnoStatus(err, "write " + tmp);
  if (!synced) return ErrnoStatus(errno, "fsync " + tmp);
  std::string path = dir + kInfo;
  if (rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus(errno, "rename " + tmp);
  return Status::Ok();
}

Result<OverlayRecord> LoadRecord(const std::string& dir) {
  std::string path = dir + kInfo;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return DataLoss("snapshot metadata " + path + " is missing");
  std::string data;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0 && data.size() < (1 << 20)) {
    data.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  auto j = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
  auto bad = [&] { return DataLoss("snapshot metadata " + path + " is malformed"); };
  if (!j.is_object()) return bad();
  auto id = j.find("id");
  auto key = j.find("key");
  auto parent = j.find("parent");
  auto kind = j.find("kind");
  if (id == j.end() || !id->is_number_integer() || key == j.end() || !key->is_string() ||
      parent == j.end() || !parent->is_string() || kind == j.end() || !kind->is_string()) {
    return bad();
  }
  OverlayRecord rec;
  rec.id = id->get<int64_t>();
  rec.key = key->get<std::string>();
  rec.parent = parent->get<std::string>();
  std::string k = kind->get<std::string>();
  if (k != "active" && k != "committed") return bad();
  rec.committed = k == "committed";
  if (!CheckOverlayKey(rec.key).ok() ||
      (!rec.parent.empty() && !CheckOverlayKey(rec.parent).ok())) {
    return bad();
  }
  return rec;
}

}  // namespace kiln::snapshot
