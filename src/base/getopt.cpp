#include "base/getopt.hpp"

#include <string_view>

#include "base/die.hpp"

namespace qbox {

int GetOpt::next() {
  arg_ = nullptr;
  if (ind_ >= argc_ || !argv_[ind_]) return -1;
  if (pos_ && !argv_[ind_][pos_]) {
    ++ind_;
    pos_ = 0;
    if (ind_ >= argc_ || !argv_[ind_]) return -1;
  }
  if (!pos_) {
    if (argv_[ind_][0] != '-') return -1;
    ++pos_;
    char c = argv_[ind_][1];
    if (c == '-' || c == 0) {
      if (c) ++ind_;
      pos_ = 0;
      return -1;
    }
  }
  char c = argv_[ind_][pos_++];
  for (const char* s = opts_; *s; ++s) {
    if (*s == ':') continue;
    if (c != *s) continue;
    if (s[1] == ':') {
      arg_ = argv_[ind_] + pos_;
      ++ind_;
      pos_ = 0;
      if (!*arg_) {
        if (ind_ >= argc_ || !argv_[ind_]) {
          arg_ = nullptr;
          if (report_) {
            char b[2] = {c, 0};
            warn(prog(), ": option requires an argument -- ", std::string_view(b, 1));
          }
          return '?';
        }
        arg_ = argv_[ind_++];
      }
    }
    return c;
  }
  if (report_) {
    char b[2] = {c, 0};
    warn(prog(), ": illegal option -- ", std::string_view(b, 1));
  }
  return '?';
}

const char* GetOpt::prog() const {
  const char* p = argv_[0] ? argv_[0] : "";
  for (const char* s = p; *s; ++s)
    if (*s == '/') p = s + 1;
  return p;
}

}  // namespace qbox
