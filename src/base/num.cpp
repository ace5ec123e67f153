#include "base/num.hpp"

namespace qbox {

std::string_view fmt_num(char* b, unsigned long long n) {
  return fmt_num0(b, n, 1);
}

std::string_view fmt_num0(char* b, unsigned long long n, unsigned width) {
  char* end = b + kNumDigits;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n);
  while (static_cast<unsigned>(end - p) < width && p > b) *--p = '0';
  return {p, static_cast<std::size_t>(end - p)};
}

static int digit(char c, unsigned base) {
  int d;
  if (c >= '0' && c <= '9') d = c - '0';
  else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
  else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
  else return -1;
  return d < static_cast<int>(base) ? d : -1;
}

Scanned scan_num(std::string_view s, unsigned base, unsigned long long max) {
  Scanned r;
  for (char c : s) {
    int d = digit(c, base);
    if (d < 0) break;
    ++r.used;
    if (r.overflow) continue;
    if (r.value > (max - static_cast<unsigned>(d)) / base) {
      r.overflow = true;
      r.value = max;
    } else {
      r.value = r.value * base + static_cast<unsigned>(d);
    }
  }
  return r;
}

std::optional<unsigned long long> parse_num(std::string_view s,
                                            unsigned long long max,
                                            unsigned base) {
  Scanned r = scan_num(s, base, max);
  if (r.used == 0 || r.used != s.size() || r.overflow) return std::nullopt;
  return r.value;
}

std::size_t scan_ulong(std::string_view s, unsigned long& out) {
  unsigned long v = 0;
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + static_cast<unsigned long>(s[i++] - '0');
  out = v;
  return i;
}

}  // namespace qbox
