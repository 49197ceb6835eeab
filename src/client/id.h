#pragma once
// Random identifiers for build refs and session ids, shaped like BuildKit's identity.NewID():
// 25 lowercase base-36 characters from 128 random bits. Thread-safe.

#include <string>

namespace kiln::client {

std::string NewId();

}  // namespace kiln::client
