#include "base/str.hpp"

#include <cstdlib>

#include "base/die.hpp"
#include "base/num.hpp"

namespace qbox {

Str& Str::operator=(Str&& o) noexcept {
  if (this != &o) {
    std::free(p_);
    p_ = o.p_; n_ = o.n_; cap_ = o.cap_;
    o.p_ = nullptr; o.n_ = o.cap_ = 0;
  }
  return *this;
}

Str::~Str() { std::free(p_); }

void Str::reserve(std::size_t extra) {
  if (p_ && cap_ - n_ >= extra) return;
  if (extra > kMax - n_) out_of_memory();
  std::size_t want = n_ + extra;
  std::size_t cap = cap_ ? cap_ : 15;
  while (cap < want) cap = cap * 2 + 1;  // at most 2 * kMax + 1: no wrap
  char* q = static_cast<char*>(std::realloc(p_, cap + 1));
  if (!q) out_of_memory();
  if (!p_) q[0] = 0;
  p_ = q;
  cap_ = cap;
}

Str& Str::append(std::string_view s) {
  reserve(s.size());
  if (!s.empty()) std::memmove(p_ + n_, s.data(), s.size());
  n_ += s.size();
  p_[n_] = 0;
  return *this;
}

Str& Str::push(char c) {
  reserve(1);
  p_[n_++] = c;
  p_[n_] = 0;
  return *this;
}

Str& Str::append_num(unsigned long long n) {
  char b[kNumDigits];
  return append(fmt_num(b, n));
}

void Str::resize(std::size_t n) {
  if (n > n_) {
    reserve(n - n_);
    std::memset(p_ + n_, 0, n - n_);
  }
  if (p_) { n_ = n; p_[n_] = 0; }
}

}  // namespace qbox
