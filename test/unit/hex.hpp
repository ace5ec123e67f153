// Hex strings to bytes and back, for test vectors.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace qbox::test {

inline std::vector<unsigned char> unhex(std::string_view s) {
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::vector<unsigned char> out;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2) out.push_back(static_cast<unsigned char>(nib(s[i]) << 4 | nib(s[i + 1])));
  return out;
}

inline std::string hex(const unsigned char* p, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

}  // namespace qbox::test
