#pragma once
// Temporary directories and file helpers for executor tests: the snapshot tests' own.

#include <string>

#include "snapshot/testing/temp_dir.h"

namespace kiln::executor::testing {

using snapshot::testing::TempDir;

inline void WriteTestFile(const std::string& path, const std::string& data) {
  snapshot::testing::MakeDirs(path.substr(0, path.rfind('/')));
  snapshot::testing::WriteFile(path, data);
}

inline std::string ReadTestFile(const std::string& path) { return snapshot::testing::ReadFile(path); }

}  // namespace kiln::executor::testing
