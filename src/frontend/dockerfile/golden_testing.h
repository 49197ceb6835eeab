#pragma once
// Golden-file tests for the Dockerfile goldens (parser dumps, Dockerfile → LLB): the cases in a
// directory, and the comparison that KILN_UPDATE_GOLDEN=1 turns into a rewrite. Test-only,
// header-only (gtest).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace kiln::dockerfile::golden {

inline std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The stems of dir/*.Dockerfile, sorted.
inline std::vector<std::string> Cases(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".Dockerfile") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Renders dir/NAME.Dockerfile and compares it with dir/NAME.golden (rewritten first when
// KILN_UPDATE_GOLDEN=1).
template <typename Render>
void ExpectMatchesGolden(const std::filesystem::path& dir, const std::string& name, Render render) {
  std::string got = render(ReadAll(dir / (name + ".Dockerfile")));
  std::filesystem::path golden = dir / (name + ".golden");
  const char* update = std::getenv("KILN_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(golden, std::ios::binary) << got;
  }
  ASSERT_TRUE(std::filesystem::exists(golden))
      << golden << " is missing (KILN_UPDATE_GOLDEN=1 writes it)";
  EXPECT_EQ(got, ReadAll(golden));
}

// Calls fn(key, value) for each `# opt: key=value` line of a golden case.
template <typename Fn>
void ForEachOption(const std::string& dockerfile, Fn fn) {
  std::istringstream in(dockerfile);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# opt: ", 0) != 0) continue;
    std::string kv = line.substr(7);
    size_t eq = kv.find('=');
    fn(kv.substr(0, eq), eq == std::string::npos ? std::string() : kv.substr(eq + 1));
  }
}

// gtest parameter names: the case name with '-' as '_'.
inline std::string ParamName(const testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

}  // namespace kiln::dockerfile::golden
