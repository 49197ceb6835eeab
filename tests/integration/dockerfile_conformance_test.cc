// The Dockerfile conformance corpus (tests/conformance/dockerfile/, format in
// docs/dev/testing.md): one test per case directory, each built by the real kilnd with the real
// kilnctl (`--frontend dockerfile.v0`) FROM the registry fixture's busybox, checked on the files
// of a tar export, on the image config and history of an OCI layout export, or on the error
// kilnctl prints. One registry and one daemon serve the whole suite; cases that need per-build
// state (cache mounts, pushed images) use names of their own.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "registry_fixture.h"

namespace kiln::itest {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Placeholders replaced in case.json strings and the case's top-level files before the build:
// @REGISTRY@ (the fixture registry, 127.0.0.1:PORT) and @BUSYBOX_DIGEST@ (the busybox manifest's
// digest there).
using Placeholders = std::map<std::string, std::string>;

const std::set<std::string>& KnownKeys() {
  static const std::set<std::string> keys = {
      "about",      "skip",  "opts",       "args",     "secrets",         "ssh",
      "prebuild",   "files", "absent",     "config",   "image",           "history",
      "layers",     "error", "error_line", "progress", "not_in_progress", "platforms",
      "local_files"};
  return keys;
}

std::string CorpusDir() {
  const char* d = getenv("KILN_CONFORMANCE_DIR");
  return d ? d : KILN_CONFORMANCE_DIR_DEFAULT;
}

struct Case {
  std::string name;  // the directory's name, e.g. "001-from-scratch"
  std::string path;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// Every directory of the corpus that holds a case.json, in name order.
std::vector<Case> ListCases() {
  std::vector<Case> cases;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(CorpusDir(), ec)) {
    if (e.is_directory(ec) && fs::exists(e.path() / "case.json", ec)) {
      cases.push_back({e.path().filename().string(), e.path().string()});
    }
  }
  std::sort(cases.begin(), cases.end(),
            [](const Case& a, const Case& b) { return a.name < b.name; });
  return cases;
}

std::string TestName(const ::testing::TestParamInfo<Case>& info) {
  std::string n = info.param.name;
  for (char& ch : n) {
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
}

std::string ReplaceAll(std::string s, const Placeholders& with) {
  for (const auto& [from, to] : with) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
      s.replace(at, from.size(), to);
    }
  }
  return s;
}

json Substitute(const json& j, const Placeholders& with) {
  if (j.is_string()) return ReplaceAll(j.get<std::string>(), with);
  if (j.is_array()) {
    json out = json::array();
    for (const auto& v : j) out.push_back(Substitute(v, with));
    return out;
  }
  if (j.is_object()) {
    json out = json::object();
    for (const auto& [k, v] : j.items()) out[ReplaceAll(k, with)] = Substitute(v, with);
    return out;
  }
  return j;
}

// A string or an array of strings, as a list.
std::vector<std::string> Strings(const json& j) {
  if (j.is_string()) return {j.get<std::string>()};
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& v : j) out.push_back(JsonStr(v));
  }
  return out;
}

json ReadJson(const std::string& path) {
  return json::parse(ReadFile(path), nullptr, /*allow_exceptions=*/false);
}

// "--opt k=v" for each entry of an {"k": "v"} object.
void AddOpts(const json& opts, std::vector<std::string>* args) {
  if (!opts.is_object()) return;
  for (const auto& [k, v] : opts.items()) {
    args->push_back("--opt");
    args->push_back(k + "=" + JsonStr(v));
  }
}

class DockerfileConformance : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    registry_ = new RegistryFixture();
    json images = registry_->StartPlainWithImages({"busybox", "multi"});
    if (images.is_discarded()) {
      setup_error_ = registry_->error();
      return;
    }
    placeholders_ = {
        {"@REGISTRY@", registry_->host()},
        {"@BUSYBOX_DIGEST@", JsonStr(JsonAt(images, {"images", "busybox", "digest"}))}};
    daemon_ = new Daemon();
    // The entitlements are granted only to builds that ask with --allow (a case's "args").
    if (!daemon_->Start({"--debug", "--allow-insecure-entitlement", "network.host",
                         "--allow-insecure-entitlement", "security.insecure"})) {
      setup_error_ = "kilnd did not start:\n" + daemon_->Log();
    }
  }
  static void TearDownTestSuite() {
    delete daemon_;
    delete registry_;
    daemon_ = nullptr;
    registry_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    work_ = MakeTempDir("kiln-conf");
    ASSERT_FALSE(work_.empty());
    df_dir_ = work_ + "/dockerfile";
    ctx_dir_ = work_ + "/context";
    log_offset_ = daemon_->Log().size();
  }
  void TearDown() override {
    if (agent_pid_ > 0) StopAgent();
    if (HasFailure() && daemon_ != nullptr) {
      std::string log = daemon_->Log();
      log = log.substr(std::min(log_offset_, log.size()));
      if (log.size() > 30000) log = "...\n" + log.substr(log.size() - 30000);
      std::cerr << "---- kilnd log (this case) ----\n" << log << "\n";
    }
    std::error_code ec;
    fs::remove_all(work_, ec);
  }

  // The case's top-level files (Dockerfile, other Dockerfiles, <Dockerfile>.dockerignore) go to
  // the dockerfile local with the registry placeholder replaced; context/ is the build context
  // as it is.
  void PrepareDirs(const std::string& case_dir) {
    fs::create_directories(df_dir_);
    fs::create_directories(ctx_dir_);
    for (const auto& e : fs::directory_iterator(case_dir)) {
      std::string name = e.path().filename().string();
      if (name == "case.json" || name == "context" || name == "locals") continue;
      ASSERT_TRUE(e.is_regular_file())
          << name << ": only files, context/ and locals/ belong at a case's top";
      WriteFile(df_dir_ + "/" + name, ReplaceAll(ReadFile(e.path().string()), placeholders_));
    }
    std::error_code ec;
    if (fs::exists(case_dir + "/context")) {
      fs::copy(case_dir + "/context", ctx_dir_,
               fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
      ASSERT_FALSE(ec) << "copy context: " << ec.message();
    }
    // locals/NAME/: more local directories, each passed as --local NAME=DIR (named contexts
    // `context:x=local:NAME`).
    if (fs::exists(case_dir + "/locals")) {
      for (const auto& e : fs::directory_iterator(case_dir + "/locals")) {
        std::string name = e.path().filename().string();
        std::string dir = work_ + "/locals/" + name;
        fs::create_directories(dir);
        fs::copy(e.path(), dir, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
        ASSERT_FALSE(ec) << "copy locals/" << name << ": " << ec.message();
        local_flags_.insert(local_flags_.end(), {"--local", name + "=" + dir});
      }
    }
  }

  // --opt, --secret, --ssh and raw arguments every build of the case gets.
  void CommonFlags(const json& spec, std::vector<std::string>* args) {
    args->insert(args->end(), local_flags_.begin(), local_flags_.end());
    AddOpts(JsonAt(spec, {"opts"}), args);
    for (const auto& a : Strings(JsonAt(spec, {"args"}))) args->push_back(a);
    const json& secrets = JsonAt(spec, {"secrets"});
    if (secrets.is_object()) {
      for (const auto& [id, value] : secrets.items()) {
        std::string path = work_ + "/secrets/" + id;
        WriteFile(path, JsonStr(value), 0600);
        args->push_back("--secret");
        args->push_back("id=" + id + ",src=" + path);
      }
    }
    if (JsonAt(spec, {"ssh"}) == true) {
      std::string sock = work_ + "/agent.sock";
      auto r = itest::Run({"ssh-agent", "-s", "-a", sock});
      if (r.exit_code != 0) GTEST_SKIP() << "ssh-agent: " << r.err;
      size_t at = r.out.find("SSH_AGENT_PID=");
      ASSERT_NE(at, std::string::npos) << r.out;
      agent_pid_ = static_cast<pid_t>(strtol(r.out.c_str() + at + 14, nullptr, 10));
      args->push_back("--ssh");
      args->push_back("default=" + sock);
    }
  }

  // ssh-agent unlinks its socket as it exits: wait for that (up to 5 s) so that removing the
  // case's directory does not race with it.
  void StopAgent() {
    kill(agent_pid_, SIGTERM);
    struct stat st;
    std::string sock = work_ + "/agent.sock";
    for (int i = 0; i < 100 && lstat(sock.c_str(), &st) == 0; i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  RunResult Build(const std::vector<std::string>& flags, const std::string& output) {
    std::vector<std::string> args = {"build",      "--progress=plain",
                                     "--frontend", "dockerfile.v0",
                                     "--local",    "context=" + ctx_dir_,
                                     "--local",    "dockerfile=" + df_dir_,
                                     "--output",   output};
    args.insert(args.end(), flags.begin(), flags.end());
    return daemon_->Kilnctl(args);
  }

  // Builds that must succeed first: another Dockerfile of the case, pushed to the registry
  // ({"filename": "base.Dockerfile", "push": "@REGISTRY@/conf/x:1", "opts": {...}}), exported
  // as an OCI layout that later builds get as `--oci-layout ID=DIR` ({"oci_layout": "ID"}, its
  // image's digest replacing @OCI_DIGEST:ID@ in their flags), or exported locally and thrown
  // away (to fill a cache mount, say).
  void Prebuild(const json& spec, std::vector<std::string>* flags) {
    const json& pre = JsonAt(spec, {"prebuild"});
    for (size_t i = 0; i < pre.size(); i++) {
      const json& p = pre[i];
      std::vector<std::string> args = *flags;
      if (!JsonStr(JsonAt(p, {"filename"})).empty()) {
        args.insert(args.end(), {"--opt", "filename=" + JsonStr(JsonAt(p, {"filename"}))});
      }
      AddOpts(JsonAt(p, {"opts"}), &args);
      std::string push = JsonStr(JsonAt(p, {"push"}));
      std::string layout = JsonStr(JsonAt(p, {"oci_layout"}));
      std::string dir = work_ + "/prebuild-" + std::to_string(i);
      std::string output = !push.empty()     ? "type=image,name=" + push + ",push=true"
                           : !layout.empty() ? "type=oci,tar=false,dest=" + dir
                                             : "type=local,dest=" + dir;
      auto r = Build(args, output);
      ASSERT_EQ(r.exit_code, 0) << "prebuild " << i << ":\n" << r.err;
      if (layout.empty()) continue;
      std::string digest =
          JsonStr(JsonAt(ReadJson(dir + "/index.json"), {"manifests", 0, "digest"}));
      ASSERT_FALSE(digest.empty()) << "prebuild " << i << ": no image in " << dir;
      for (std::string& f : *flags) f = ReplaceAll(f, {{"@OCI_DIGEST:" + layout + "@", digest}});
      flags->insert(flags->end(), {"--oci-layout", layout + "=" + dir});
    }
  }

  void CheckFiles(const json& spec, const std::string& out) {
    const json& files = JsonAt(spec, {"files"});
    if (files.is_object()) {
      for (const auto& [path, want] : files.items()) CheckFile(out, path, want);
    }
    for (const auto& path : Strings(JsonAt(spec, {"absent"}))) {
      struct stat st;
      EXPECT_NE(lstat((out + path).c_str(), &st), 0) << path << " should not exist";
    }
  }

  void CheckFile(const std::string& out, const std::string& path, const json& want) {
    SCOPED_TRACE(path);
    std::string p = out + path;
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) {
      ADD_FAILURE() << path << " does not exist";
      return;
    }
    if (want.contains("symlink")) {
      ASSERT_TRUE(S_ISLNK(st.st_mode)) << "not a symlink";
      std::error_code ec;
      EXPECT_EQ(fs::read_symlink(p, ec).string(), JsonStr(want["symlink"]));
    }
    if (JsonAt(want, {"dir"}) == true) {
      EXPECT_TRUE(S_ISDIR(st.st_mode)) << "not a directory";
    }
    if (want.contains("content")) {
      ASSERT_TRUE(S_ISREG(st.st_mode)) << "not a regular file";
      EXPECT_EQ(ReadFile(p), JsonStr(want["content"]));
    }
    for (const auto& s : Strings(JsonAt(want, {"contains"}))) {
      EXPECT_NE(ReadFile(p).find(s), std::string::npos) << "no \"" << s << "\" in:\n"
                                                        << ReadFile(p);
    }
    for (const auto& s : Strings(JsonAt(want, {"excludes"}))) {
      EXPECT_EQ(ReadFile(p).find(s), std::string::npos) << "\"" << s << "\" in:\n" << ReadFile(p);
    }
    if (want.contains("mode")) {
      auto mode = static_cast<unsigned>(strtoul(JsonStr(want["mode"]).c_str(), nullptr, 8));
      EXPECT_EQ(st.st_mode & 07777, mode) << std::oct << "mode 0" << (st.st_mode & 07777);
    }
    // Numbers compare as JSON values (a wrongly typed expectation fails instead of throwing).
    if (want.contains("uid")) {
      EXPECT_EQ(want["uid"], json(st.st_uid)) << "uid";
    }
    if (want.contains("gid")) {
      EXPECT_EQ(want["gid"], json(st.st_gid)) << "gid";
    }
    if (want.contains("mtime")) {
      EXPECT_EQ(want["mtime"], json(st.st_mtim.tv_sec)) << "mtime";
    }
  }

  void CheckProgress(const json& spec, const std::string& err) {
    for (const auto& s : Strings(JsonAt(spec, {"progress"}))) {
      EXPECT_NE(err.find(s), std::string::npos) << "no \"" << s << "\" in the progress output";
    }
    for (const auto& s : Strings(JsonAt(spec, {"not_in_progress"}))) {
      EXPECT_EQ(err.find(s), std::string::npos) << "\"" << s << "\" in the progress output";
    }
  }

  void CheckError(const json& spec, const RunResult& r) {
    EXPECT_NE(r.exit_code, 0) << "the build should fail";
    for (const auto& s : Strings(JsonAt(spec, {"error"}))) {
      EXPECT_NE(r.err.find(s), std::string::npos) << "no \"" << s << "\" in:\n" << r.err;
    }
    const json& line = JsonAt(spec, {"error_line"});
    if (line.is_number_integer()) {
      std::string file = JsonStr(JsonAt(spec, {"opts", "filename"}));
      file = file.empty() ? "Dockerfile" : file.substr(file.rfind('/') + 1);
      // The source lines buildctl prints from the error's typed source detail.
      std::string header = file + ":" + line.dump() + "\n--------------------\n";
      EXPECT_NE(r.err.find(header), std::string::npos) << "no \"" << header << "\" in:\n" << r.err;
    }
  }

  // The same build (cached by now) exported as an OCI layout: config, history, layer count.
  void CheckImage(const json& spec, const std::vector<std::string>& flags) {
    std::string dir = work_ + "/oci";
    auto r = Build(flags, "type=oci,dest=" + dir + ",tar=false");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto blob = [&](const json& desc) {
      std::string digest = JsonStr(JsonAt(desc, {"digest"}));
      return ReadJson(dir + "/blobs/sha256/" + digest.substr(digest.find(':') + 1));
    };
    json manifest = blob(JsonAt(ReadJson(dir + "/index.json"), {"manifests", 0}));
    if (manifest.contains("manifests")) manifest = blob(JsonAt(manifest, {"manifests", 0}));
    json config = blob(JsonAt(manifest, {"config"}));
    ASSERT_TRUE(config.is_object()) << "no image config in " << dir;

    const json& want_config = JsonAt(spec, {"config"});
    if (want_config.is_object()) {
      for (const auto& [k, v] : want_config.items()) {
        EXPECT_EQ(JsonAt(config, {"config", k}), v) << "config." << k;
      }
    }
    const json& want_image = JsonAt(spec, {"image"});
    if (want_image.is_object()) {
      for (const auto& [k, v] : want_image.items()) EXPECT_EQ(JsonAt(config, {k}), v) << k;
    }
    if (JsonAt(spec, {"layers"}).is_number_integer()) {
      EXPECT_EQ(json(JsonAt(manifest, {"layers"}).size()), spec["layers"]) << "layers";
    }
    const json& want_history = JsonAt(spec, {"history"});
    if (want_history.is_array()) CheckHistory(want_history, JsonAt(config, {"history"}));
    const json& want_platforms = JsonAt(spec, {"platforms"});
    if (want_platforms.is_array()) {
      json index = blob(JsonAt(ReadJson(dir + "/index.json"), {"manifests", 0}));
      CheckPlatforms(want_platforms, index, blob);
    }
  }

  // A multi-platform image: the index lists one manifest per expected entry, in order, each
  // with `platform` (a subset of the descriptor's), its config's top-level fields (`image`) and
  // `config` fields.
  template <typename BlobFn>
  void CheckPlatforms(const json& want, const json& index, const BlobFn& blob) {
    const json& manifests = JsonAt(index, {"manifests"});
    ASSERT_TRUE(manifests.is_array()) << "the image is not an index: " << index.dump();
    ASSERT_EQ(manifests.size(), want.size()) << index.dump(2);
    for (size_t i = 0; i < want.size(); i++) {
      SCOPED_TRACE("platform " + std::to_string(i));
      for (const auto& [k, v] : JsonAt(want[i], {"platform"}).items()) {
        EXPECT_EQ(JsonAt(manifests[i], {"platform", k}), v) << "platform." << k;
      }
      json config = blob(JsonAt(blob(manifests[i]), {"config"}));
      for (const auto& [k, v] : JsonAt(want[i], {"image"}).items()) {
        EXPECT_EQ(JsonAt(config, {k}), v) << k;
      }
      for (const auto& [k, v] : JsonAt(want[i], {"config"}).items()) {
        EXPECT_EQ(JsonAt(config, {"config", k}), v) << "config." << k;
      }
    }
  }

  // The same build (cached) exported with type=local: local_files as `files` says.
  void CheckLocal(const json& spec, const std::vector<std::string>& flags) {
    std::string dir = work_ + "/local";
    auto r = Build(flags, "type=local,dest=" + dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const auto& [path, want] : JsonAt(spec, {"local_files"}).items()) {
      CheckFile(dir, path, want);
    }
  }

  // The expected entries are the last ones of the image's history (the base image's come
  // first): a string is the created_by text, an object a subset of the entry's fields.
  void CheckHistory(const json& want, const json& got) {
    std::string all;
    for (const auto& h : got) all += "  " + h.dump() + "\n";
    ASSERT_GE(got.size(), want.size()) << "history:\n" << all;
    size_t off = got.size() - want.size();
    for (size_t i = 0; i < want.size(); i++) {
      const json& g = got[off + i];
      json w = want[i].is_string() ? json{{"created_by", want[i]}} : want[i];
      for (const auto& [k, v] : w.items()) {
        json actual = JsonAt(g, {k});
        if (actual.is_null() && v == false) actual = false;  // empty_layer: false is omitted
        EXPECT_EQ(actual, v) << "history[" << off + i << "]." << k << "; history:\n" << all;
      }
    }
  }

  static RegistryFixture* registry_;
  static Daemon* daemon_;
  static std::string setup_error_;
  static Placeholders placeholders_;
  std::string work_, df_dir_, ctx_dir_;
  std::vector<std::string> local_flags_;  // --local NAME=DIR for the case's locals/NAME/
  size_t log_offset_ = 0;
  pid_t agent_pid_ = -1;
};

RegistryFixture* DockerfileConformance::registry_ = nullptr;
Daemon* DockerfileConformance::daemon_ = nullptr;
std::string DockerfileConformance::setup_error_;
Placeholders DockerfileConformance::placeholders_;

TEST_P(DockerfileConformance, Case) {
  const Case& c = GetParam();
  json raw = ReadJson(c.path + "/case.json");
  ASSERT_TRUE(raw.is_object()) << c.path << "/case.json is not a JSON object";
  for (const auto& [k, v] : raw.items()) {
    EXPECT_TRUE(KnownKeys().contains(k)) << "unknown key \"" << k << "\" in case.json";
  }
  json spec = Substitute(raw, placeholders_);
  // KILN_CONFORMANCE_RUN_SKIPPED=1 runs skipped cases too, to find those kiln now passes.
  if (spec.contains("skip") && getenv("KILN_CONFORMANCE_RUN_SKIPPED") == nullptr) {
    GTEST_SKIP() << JsonStr(spec["skip"]);
  }
  ASSERT_TRUE(fs::exists(c.path + "/Dockerfile") || spec.contains("opts"))
      << "a case needs a Dockerfile (or opts naming another file)";
  ASSERT_NO_FATAL_FAILURE(PrepareDirs(c.path));

  std::vector<std::string> flags;
  ASSERT_NO_FATAL_FAILURE(CommonFlags(spec, &flags));
  if (IsSkipped()) return;
  ASSERT_NO_FATAL_FAILURE(Prebuild(spec, &flags));

  // A tar export, unpacked here as root, keeps owners (a local export gets the client's).
  std::string out = work_ + "/out";
  auto r = Build(flags, "type=tar,dest=" + out + ".tar");
  if (spec.contains("error")) {
    CheckError(spec, r);
    return;
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CheckProgress(spec, r.err);
  fs::create_directories(out);
  auto untar = itest::Run({"tar", "--numeric-owner", "-xpf", out + ".tar", "-C", out});
  ASSERT_EQ(untar.exit_code, 0) << untar.err;
  CheckFiles(spec, out);
  if (spec.contains("config") || spec.contains("image") || spec.contains("history") ||
      spec.contains("layers") || spec.contains("platforms")) {
    CheckImage(spec, flags);
  }
  if (spec.contains("local_files")) CheckLocal(spec, flags);
  if (HasFailure()) std::cerr << "---- kilnctl output ----\n" << r.err << "\n";
}

INSTANTIATE_TEST_SUITE_P(Corpus, DockerfileConformance, ::testing::ValuesIn(ListCases()), TestName);

// Every case directory is a test: none is silently left out for a bad name or a missing file.
TEST(DockerfileConformanceCorpus, EveryDirectoryIsACase) {
  std::error_code ec;
  int dirs = 0;
  for (const auto& e : fs::directory_iterator(CorpusDir(), ec)) {
    if (!e.is_directory(ec)) continue;
    dirs++;
    EXPECT_TRUE(fs::exists(e.path() / "case.json")) << e.path() << " has no case.json";
  }
  ASSERT_FALSE(ec) << CorpusDir() << ": " << ec.message();
  EXPECT_EQ(static_cast<size_t>(dirs), ListCases().size());
  EXPECT_GT(dirs, 0);
}

}  // namespace
}  // namespace kiln::itest
