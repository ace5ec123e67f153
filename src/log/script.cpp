#include "log/script.hpp"

namespace qbox::log {

unsigned long scan_ulong(const char* s) {
  unsigned long r = 0;
  for (;; ++s) {
    unsigned d = static_cast<unsigned char>(*s) - static_cast<unsigned>('0');
    if (d >= 10) return r;
    r = r * 10 + d;  // wraps, as the classic code does
  }
}

unsigned long script_size(const char* s) {
  unsigned long n = scan_ulong(s);
  if (n < kMinSize) n = kMinSize;
  if (n > kMaxSize) n = kMaxSize;
  return n;
}

unsigned long script_num(const char* s) {
  unsigned long n = scan_ulong(s);
  if (n < kMinNum) n = kMinNum;
  return n;
}

Script parse_script(char* const* argv) {
  Script sc;
  if (argv[0] && argv[0][0] == 't') sc.timestamp = true;
  unsigned long size = kDefaultSize, num = kDefaultNum;
  const char* processor = nullptr;
  for (; *argv; ++argv) {
    const char* a = *argv;
    switch (a[0]) {
      case '+': sc.actions.push_back({Act::kSelect, a + 1, 0}); break;
      case '-': sc.actions.push_back({Act::kDeselect, a + 1, 0}); break;
      case 'e': sc.actions.push_back({Act::kAlert, {}, 0}); break;
      case '=':
        sc.actions.push_back({Act::kStatus, a + 1, static_cast<unsigned>(sc.files.size())});
        sc.files.push_back(a + 1);
        break;
      case 's': size = script_size(a + 1); break;
      case 'n': num = script_num(a + 1); break;
      case '!': processor = a + 1; break;
      case '.':
      case '/':
        sc.actions.push_back({Act::kDir, a, static_cast<unsigned>(sc.dirs.size())});
        sc.dirs.push_back({a, size, num, processor});
        break;
      default: break;  // t, and anything unknown
    }
  }
  return sc;
}

}  // namespace qbox::log
