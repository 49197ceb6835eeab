#pragma once
// Deterministic input mutations for the fuzz smoke tests: one to four edits, each a bit flip, a
// truncation, an insertion (one of `tokens`, or a random byte when there are none), a deletion
// of up to 8 bytes or a splice of up to 16 bytes from elsewhere in the input. Not thread-safe
// (shares `rng`).

#include <random>
#include <string>
#include <vector>

namespace kiln::fuzz {

inline std::string Mutate(std::string s, std::mt19937& rng,
                          const std::vector<std::string>& tokens = {}) {
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits && !s.empty(); e++) {
    size_t pos = rng() % s.size();
    switch (rng() % 5) {
      case 0:
        s[pos] = static_cast<char>(s[pos] ^ (1 << (rng() % 8)));
        break;
      case 1:
        s.resize(pos);
        break;
      case 2:
        if (tokens.empty()) {
          s.insert(pos, 1, static_cast<char>(rng()));
        } else {
          s.insert(pos, tokens[rng() % tokens.size()]);
        }
        break;
      case 3:
        s.erase(pos, 1 + rng() % 8);
        break;
      default:
        s.insert(pos, s.substr(rng() % s.size(), rng() % 16));
        break;
    }
  }
  return s;
}

}  // namespace kiln::fuzz
