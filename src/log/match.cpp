#include "log/match.hpp"

#include <cstring>

namespace qbox::log {

bool match(std::string_view pattern, std::string_view line) {
  std::size_t i = 0, j = 0;
  for (;;) {
    if (i == pattern.size()) return j == line.size();
    char ch = pattern[i++];
    if (ch == '*') {
      if (i == pattern.size()) return true;
      // Skip to the next occurrence of the character after the star; that
      // character is matched by the next round.
      if (j == line.size()) return false;
      const void* q = std::memchr(line.data() + j, pattern[i], line.size() - j);
      if (!q) return false;
      j = static_cast<std::size_t>(static_cast<const char*>(q) - line.data());
      continue;
    }
    if (j == line.size() || line[j] != ch) return false;
    ++j;
  }
}

}  // namespace qbox::log
