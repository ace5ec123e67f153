// Str: an owned, growable byte string. Bytes, not text: it may hold NULs.
// c_str() keeps a terminating NUL after the bytes for system calls.
#pragma once
#include <cstddef>
#include <cstring>
#include <string_view>

namespace qbox {

class Str {
 public:
  // The most a Str may hold: growing past it (a length from input gone
  // wild, the shape of qmail's stralloc overflow, CVE-2005-1513) is out of
  // memory, never a wrapped size.
  static constexpr std::size_t kMax = static_cast<std::size_t>(-1) / 4;

  Str() = default;
  Str(std::string_view s) { append(s); }
  Str(const Str& o) { append(o.view()); }
  Str(Str&& o) noexcept : p_(o.p_), n_(o.n_), cap_(o.cap_) { o.p_ = nullptr; o.n_ = o.cap_ = 0; }
  Str& operator=(const Str& o) { if (this != &o) { clear(); append(o.view()); } return *this; }
  Str& operator=(Str&& o) noexcept;
  Str& operator=(std::string_view s) { clear(); return append(s); }
  ~Str();

  const char* data() const { return p_ ? p_ : ""; }
  char* data() { reserve(0); return p_; }
  const char* c_str() const { return data(); }
  std::size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  std::string_view view() const { return {data(), n_}; }
  operator std::string_view() const { return view(); }
  char& operator[](std::size_t i) { return p_[i]; }
  char operator[](std::size_t i) const { return p_[i]; }
  char back() const { return p_[n_ - 1]; }

  Str& append(std::string_view s);
  Str& append(const char* b, std::size_t n) { return append(std::string_view(b, n)); }
  Str& push(char c);
  Str& operator+=(std::string_view s) { return append(s); }
  Str& operator+=(char c) { return push(c); }
  // Appends an unsigned number in decimal.
  Str& append_num(unsigned long long n);
  void clear() { n_ = 0; if (p_) p_[0] = 0; }
  void resize(std::size_t n);  // new bytes are zero
  void truncate(std::size_t n) { if (n < n_) { n_ = n; p_[n] = 0; } }
  void reserve(std::size_t extra);
  // Room for `extra` bytes past the end; commit() then takes what was written.
  char* tail(std::size_t extra) { reserve(extra); return p_ + n_; }
  void commit(std::size_t n) { n_ += n; p_[n_] = 0; }

  friend bool operator==(const Str& a, const Str& b) { return a.view() == b.view(); }
  friend bool operator==(const Str& a, std::string_view b) { return a.view() == b; }

 private:
  char* p_ = nullptr;
  std::size_t n_ = 0;
  std::size_t cap_ = 0;  // usable bytes, not counting the NUL
};

// The first line of text, without its LF, taken off text (a last line with
// no LF is taken whole). For the readers of small files split into lines.
inline std::string_view take_line(std::string_view& text) {
  std::size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  return line;
}

}  // namespace qbox
