#include "time/tai.hpp"

#include <ctime>

namespace qbox {

Tai64n Tai64n::now() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return from_unix(ts.tv_sec, static_cast<std::uint32_t>(ts.tv_nsec));
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

void fmt_tai64n(char out[kTai64nHexLen], const Tai64n& t) {
  static constexpr char hex[] = "0123456789abcdef";
  char packed[12];
  t.pack(packed);
  out[0] = '@';
  for (int i = 0; i < 12; ++i) {
    unsigned char c = static_cast<unsigned char>(packed[i]);
    out[1 + 2 * i] = hex[c >> 4];
    out[2 + 2 * i] = hex[c & 15];
  }
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
