#include "time/tai.hpp"

#include <ctime>

namespace qbox {

Tai64n Tai64n::now() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return from_unix(ts.tv_sec, static_cast<std::uint32_t>(ts.tv_nsec));
}

std::int64_t monotonic_ms() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

Tai64n Tai64n::now_usec() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return from_unix(ts.tv_sec, static_cast<std::uint32_t>(ts.tv_nsec / 1000 * 1000 + 500));
}

void pack_tai64(char out[8], std::uint64_t sec) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(sec & 255);
    sec >>= 8;
  }
}

std::uint64_t unpack_tai64(const char in[8]) {
  std::uint64_t x = 0;
  for (int i = 0; i < 8; ++i) x = (x << 8) | static_cast<unsigned char>(in[i]);
  return x;
}

void Tai64n::pack(char out[12]) const {
  pack_tai64(out, sec);
  std::uint32_t n = nano;
  for (int i = 11; i >= 8; --i) {
    out[i] = static_cast<char>(n & 255);
    n >>= 8;
  }
}

Tai64n Tai64n::unpack(const char in[12]) {
  Tai64n t;
  t.sec = unpack_tai64(in);
  for (int i = 8; i < 12; ++i) t.nano = (t.nano << 8) | static_cast<unsigned char>(in[i]);
  return t;
}

namespace {
// Writes the low 4 * n bits of x as n lower-case hex digits, high first.
void fmt_hex(char* out, std::uint64_t x, int n) {
  static constexpr char hex[] = "0123456789abcdef";
  for (int i = n - 1; i >= 0; --i) {
    out[i] = hex[x & 15];
    x >>= 4;
  }
}
}  // namespace

void fmt_tai64n(char out[kTai64nHexLen], const Tai64n& t) {
  out[0] = '@';
  fmt_hex(out + 1, t.sec, 16);
  fmt_hex(out + 17, t.nano, 8);
}

std::optional<Tai64n> scan_tai64n(std::string_view s) {
  if (s.size() < kTai64nHexLen || s[0] != '@') return std::nullopt;
  char packed[12];
  for (int i = 0; i < 24; ++i) {
    char c = s[1 + static_cast<std::size_t>(i)];
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else return std::nullopt;
    if (i & 1) packed[i / 2] = static_cast<char>((packed[i / 2] << 4) | v);
    else packed[i / 2] = static_cast<char>(v);
  }
  return Tai64n::unpack(packed);
}

}  // namespace qbox
