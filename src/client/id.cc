#include "client/id.h"

#include <random>

namespace kiln::client {

std::string NewId() {
  // 128 random bits as two 64-bit halves; base-36 of the 128-bit number, zero-padded to 25.
  std::random_device rd;
  unsigned __int128 v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 32) | static_cast<uint32_t>(rd());
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out(25, '0');
  for (int i = 24; i >= 0 && v != 0; --i) {
    out[i] = kDigits[static_cast<int>(v % 36)];
    v /= 36;
  }
  return out;
}

}  // namespace kiln::client
