// Leases, the persistent root set and garbage collection of the content store.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "content/store.h"
#include "util/fs_copy.h"

namespace kiln::content {

namespace {

bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status WriteFileAtomic(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "create " + tmp);
  std::string_view rest = data;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = ErrnoStatus(errno, "write " + tmp);
      ::close(fd);
      return s;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd) != 0) {
    Status s = ErrnoStatus(errno, "sync " + tmp);
    ::close(fd);
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus(errno, "rename " + tmp);
  return Status::Ok();
}

}  // namespace

Lease Store::NewLease(const std::string& id_hint) {
  std::lock_guard<std::mutex> l(mu_);
  std::string id = id_hint + "-" + std::to_string(++next_lease_);
  leases_[id];
  return Lease(this, std::move(id));
}

void Store::AddToLease(const std::string& id, const Digest& digest) {
  std::lock_guard<std::mutex> l(mu_);
  leases_[id].insert(digest);
}

void Store::ReleaseLease(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  leases_.erase(id);
}

Status Store::LoadRoots() {
  std::string path = root_ + "/roots.json";
  std::ifstream in(path);
  if (!in) return Status::Ok();  // no roots yet
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("roots") || !j["roots"].is_object()) {
    return DataLoss(path + ": not a valid root set");
  }
  std::map<std::string, std::vector<Digest>> roots;
  for (auto& [name, list] : j["roots"].items()) {
    if (!list.is_array()) return DataLoss(path + ": root " + name + " is not a list");
    for (auto& d : list) {
      if (!d.is_string()) return DataLoss(path + ": root " + name + " has a non-string digest");
      auto dg = Digest::Parse(d.get<std::string>());
      if (!dg.ok()) return DataLoss(path + ": root " + name + ": " + dg.status().message());
      roots[name].push_back(*dg);
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  roots_ = std::move(roots);
  return Status::Ok();
}

Status Store::SaveRootsLocked() {
  nlohmann::json roots = nlohmann::json::object();
  for (const auto& [name, digests] : roots_) {
    auto& list = roots[name] = nlohmann::json::array();
    for (const auto& d : digests) list.push_back(d.str());
  }
  nlohmann::json j = {{"roots", roots}};
  return WriteFileAtomic(root_ + "/roots.json", j.dump(1));
}

Status Store::AddRoot(const std::string& name, const std::vector<Digest>& digests) {
  std::lock_guard<std::mutex> l(mu_);
  auto old = roots_;
  roots_[name] = digests;
  Status s = SaveRootsLocked();
  if (!s.ok()) roots_ = std::move(old);
  return s;
}

Status Store::RemoveRoot(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = roots_.find(name);
  if (it == roots_.end()) return Status::Ok();
  auto old = roots_;
  roots_.erase(it);
  Status s = SaveRootsLocked();
  if (!s.ok()) roots_ = std::move(old);
  return s;
}

std::map<std::string, std::vector<Digest>> Store::Roots() const {
  std::lock_guard<std::mutex> l(mu_);
  return roots_;
}

Result<GCStats> Store::GC(const Context& ctx) {
  std::string dir = root_ + "/blobs/sha256";
  // Holding mu_ throughout: a commit or lease added meanwhile cannot race with the sweep.
  std::lock_guard<std::mutex> l(mu_);
  std::set<Digest> keep = ingesting_;
  for (const auto& [id, digests] : leases_) keep.insert(digests.begin(), digests.end());
  for (const auto& [name, digests] : roots_) keep.insert(digests.begin(), digests.end());
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(dir));
  GCStats stats;
  for (const auto& name : names) {
    KILN_RETURN_IF_ERROR(ctx.Err());
    if (!IsHex64(name)) continue;  // not ours
    auto d = Digest::Parse("sha256:" + name);
    if (!d.ok() || keep.contains(*d)) continue;
    std::string path = dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (::unlink(path.c_str()) != 0) return ErrnoStatus(errno, "remove " + path);
    stats.blobs_removed++;
    stats.bytes_removed += st.st_size;
  }
  return stats;
}

}  // namespace kiln::content
