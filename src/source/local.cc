#include "source/local.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "cache/contenthash.h"
#include "session/filesync.h"
#include "util/background.h"
#include "util/fs_copy.h"
#include "util/log.h"

namespace kiln::source {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr auto kProgressInterval = std::chrono::milliseconds(100);
// Content digests kept from one sync's receive (about 100 bytes each).
constexpr size_t kMaxKnownDigests = 1 << 18;

Result<std::vector<std::string>> JsonList(const pb::SourceOp& op, const std::string& key) {
  auto it = op.attrs().find(key);
  if (it == op.attrs().end() || it->second.empty()) return std::vector<std::string>{};
  auto j = nlohmann::json::parse(it->second, nullptr, false);
  if (!j.is_array())
    return InvalidArgument("local source attr " + key + " is not a JSON array of strings");
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string())
      return InvalidArgument("local source attr " + key + " is not a JSON array of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::string Attr(const pb::SourceOp& op, const std::string& key) {
  auto it = op.attrs().find(key);
  return it == op.attrs().end() ? "" : it->second;
}

// Small JSON sidecar remembering the last sync's content digest, ref and xattr paths across
// restarts. It is reset before a sync changes the directory, so what it holds describes a
// completed one.
using Meta = LocalSource::SyncMeta;

Status SaveMeta(const std::string& path, const Meta& meta) {
  nlohmann::json j{{"digest", meta.digest}, {"ref", meta.ref}};
  if (meta.xattr_paths.has_value()) j["xattr_paths"] = *meta.xattr_paths;
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << j.dump();
    out.close();
    if (!out) return Internal("write " + tmp + " failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus(errno, "rename " + tmp);
  return Status::Ok();
}

Meta LoadMeta(const std::string& path) {
  Meta m;
  std::ifstream in(path);
  if (!in) return m;
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto j = nlohmann::json::parse(s, nullptr, false);
  if (!j.is_object()) return m;
  m.digest = j.value("digest", "");
  m.ref = j.value("ref", "");
  if (auto it = j.find("xattr_paths"); it != j.end() && it->is_array()) {
    std::vector<std::string> paths;
    for (const auto& e : *it) {
      if (!e.is_string()) return m;  // malformed: unknown
      paths.push_back(e.get<std::string>());
    }
    m.xattr_paths = std::move(paths);
  }
  return m;
}

}  // namespace

// A new ref holding the tree at dir. The receiver replaces changed files rather than writing
// into them, so the ref shares the sync dir's file inodes instead of copying their content.
Result<cache::ImmutableRef> LocalSource::RefOfTree(const Context& ctx, const std::string& dir,
                                                   const std::string& name) {
  KILN_ASSIGN_OR_RETURN(auto m, cache_->New(ctx, nullptr, "local source for " + name));
  m.SetRecordType("source.local");
  {
    KILN_ASSIGN_OR_RETURN(auto mnt, m.Mount());
    KILN_RETURN_IF_ERROR(LinkTree(ctx, dir, mnt->path()));
  }
  return m.Commit();
}

Result<LocalIdentifier> ParseLocal(const pb::SourceOp& op) {
  const std::string& ident = op.identifier();
  constexpr std::string_view kPrefix = "local://";
  if (ident.rfind(kPrefix, 0) != 0) return InvalidArgument("not a local source: " + ident);
  LocalIdentifier id;
  id.name = ident.substr(kPrefix.size());
  if (id.name.empty()) return InvalidArgument("local source has no name: " + ident);
  id.session_id = Attr(op, "local.session");
  id.shared_key_hint = Attr(op, "local.sharedkeyhint");
  KILN_ASSIGN_OR_RETURN(id.include_patterns, JsonList(op, "local.includepattern"));
  KILN_ASSIGN_OR_RETURN(id.exclude_patterns, JsonList(op, "local.excludepatterns"));
  KILN_ASSIGN_OR_RETURN(id.follow_paths, JsonList(op, "local.followpaths"));
  return id;
}

std::shared_ptr<LocalSource::SyncDir> LocalSource::DirFor(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  auto& d = dirs_[key];
  if (!d) d = std::make_shared<SyncDir>();
  return d;
}

Result<LocalResult> LocalSource::Sync(const Context& ctx, const LocalIdentifier& id,
                                      const std::vector<std::string>& job_sessions,
                                      solver::VertexProgress* progress) {
  // Find the session: the one named by the op, else the first of the job's that attached.
  std::shared_ptr<session::Session> sess;
  std::vector<std::string> candidates =
      id.session_id.empty() ? job_sessions : std::vector<std::string>{id.session_id};
  Status last = NotFound("no session to read local \"" + id.name + "\" from");
  for (const auto& sid : candidates) {
    auto s = sessions_->Get(ctx, sid);
    if (s.ok()) {
      sess = *s;
      break;
    }
    last = s.status();
  }
  if (!sess) return last;

  // One sync directory per name + shared key, reused across builds. The filter settings are
  // part of the key too: a different selection must not delete another build's files.
  nlohmann::json keyj = {id.name,
                         id.shared_key_hint,
                         sess->shared_key(),
                         id.include_patterns,
                         id.exclude_patterns,
                         id.follow_paths};
  std::string key = Digest::FromBytes(keyj.dump()).str().substr(7, 32);
  auto sd = DirFor(key);
  std::lock_guard<std::mutex> l(sd->mu);
  std::string dir = root_ + "/" + key;
  std::string fs = dir + "/fs";
  std::error_code ec;
  std::filesystem::create_directories(fs, ec);
  if (ec) return Internal("create local sync dir " + fs + ": " + ec.message());
  if (!sd->loaded) {
    Meta m = LoadMeta(dir + "/meta.json");
    sd->last_digest = m.digest;
    sd->last_ref = m.ref;
    sd->xattr_paths = m.xattr_paths;
    sd->saved = std::move(m);
    sd->loaded = true;
  }

  session::LocalSyncRequest req{id.name, id.include_patterns, id.exclude_patterns, id.follow_paths};
  std::string status_id = "transferring " + id.name + ":";
  int64_t bytes = 0;  // bytes on the wire, as BuildKit reports them
  fsutil::ReceiveOptions ro;
  // The receiver reports every packet: tens of thousands of updates for a large context, each
  // one a status line streamed to the client. Pass on one per interval (BuildKit's progress
  // readers likewise keep only the latest value per id); the final count follows the sync.
  SteadyClock::time_point last_report;
  ro.progress = [&](int64_t total) {
    bytes = total;
    SteadyClock::time_point now = SteadyClock::now();
    if (progress == nullptr || now - last_report < kProgressInterval) return;
    last_report = now;
    progress->Status(status_id, bytes, 0, false);
  };
  if (sd->xattr_paths.has_value()) {
    ro.dest_xattr_paths.emplace(sd->xattr_paths->begin(), sd->xattr_paths->end());
  }
  // Content digests of the files this sync writes (the receiver's thread adds them), so the
  // checksum below need not read them again; past kMaxKnownDigests the rest are read.
  std::unordered_map<std::string, Digest> written;
  ro.on_file_content = [&written](const std::string& path, const Digest& d) {
    if (written.size() < kMaxKnownDigests) written.emplace(path, d);
  };
  fsutil::ReceiveStats stats;
  // A failed or cancelled sync leaves the dir half-updated: forget its digest so the next one
  // recomputes it, and what it knew about xattrs so the next one reads them all. On disk that
  // happens before the first change only: a sync that changes nothing (a cached rebuild's)
  // writes no metadata at all.
  std::string prev_digest = sd->last_digest;
  sd->last_digest.clear();
  sd->xattr_paths.reset();
  ro.before_first_change = [&]() -> Status {
    sd->saved = Meta{};
    return SaveMeta(dir + "/meta.json", sd->saved);
  };
  Status st = session::SyncLocalDir(ctx, *sess, req, fs, ro, &stats);
  if (!st.ok()) return st;
  sd->xattr_paths = std::move(stats.xattr_paths);
  if (progress) progress->Status(status_id, bytes, 0, true);

  LocalResult res;
  res.files_transferred = stats.files_requested;
  res.bytes_transferred = stats.bytes_received;
  // Nothing written or removed means the tree is what it was: skip re-hashing it.
  bool unchanged = stats.entries_written == 0 && stats.entries_removed == 0 && !prev_digest.empty();
  // Files written by this sync were hashed as they arrived; only the others are read.
  auto checksum = [&](const Context& c) -> Result<Digest> {
    if (unchanged) return Digest::Parse(prev_digest);
    cache::ChecksumOptions co;
    co.known_content = [&written](const std::string& rel) -> std::optional<Digest> {
      auto it = written.find(rel);
      if (it == written.end()) return std::nullopt;
      return it->second;
    };
    return cache::Checksum(c, fs, "/", co);
  };
  // The ref of the last sync serves again if the content is the same; otherwise the tree is
  // copied into a new one. Without such a ref (a first sync), the copy does not wait for the
  // checksum: both walk the whole tree, so they run side by side.
  std::optional<cache::ImmutableRef> prev_ref;
  if (!sd->last_ref.empty() && !prev_digest.empty()) {
    auto r = cache_->Get(sd->last_ref);
    if (r.ok()) prev_ref = std::move(*r);
  }
  if (prev_ref.has_value()) {
    KILN_ASSIGN_OR_RETURN(res.content, checksum(ctx));
    if (res.content.str() == prev_digest) res.ref = std::move(*prev_ref);
    if (!res.ref.valid()) {
      KILN_ASSIGN_OR_RETURN(res.ref, RefOfTree(ctx, fs, id.name));
    }
  } else {
    Background<Digest> sum(ctx, checksum);
    Result<cache::ImmutableRef> ref = RefOfTree(ctx, fs, id.name);
    const Result<Digest>& digest = sum.Wait();
    if (!digest.ok()) return digest.status();
    if (!ref.ok()) return ref.status();
    res.content = *digest;
    res.ref = std::move(*ref);
  }
  sd->last_digest = res.content.str();
  sd->last_ref = res.ref.id();
  Meta now{sd->last_digest, sd->last_ref, sd->xattr_paths};
  if (!(now == sd->saved)) {
    KILN_RETURN_IF_ERROR(SaveMeta(dir + "/meta.json", now));
    sd->saved = std::move(now);
  }
  return res;
}

}  // namespace kiln::source
