#include "net/ip.hpp"

#include <cstring>

namespace qbox::net {

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static bool isdigit(char c) { return c >= '0' && c <= '9'; }

std::size_t scan_ip4(std::string_view s, uint8_t ip[4]) {
  std::size_t i = 0;
  uint8_t out[4];
  for (int part = 0; part < 4; ++part) {
    if (part) {
      if (i >= s.size() || s[i] != '.') return 0;
      ++i;
    }
    std::size_t start = i;
    unsigned v = 0;
    while (i < s.size() && isdigit(s[i])) {
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
      if (v > 255) return 0;
      ++i;
    }
    if (i == start) return 0;
    out[part] = static_cast<uint8_t>(v);
  }
  std::memcpy(ip, out, 4);
  return i;
}

bool parse_ip4(std::string_view s, uint8_t ip[4]) {
  uint8_t tmp[4];
  if (s.empty() || scan_ip4(s, tmp) != s.size()) return false;
  std::memcpy(ip, tmp, 4);
  return true;
}

static std::size_t fmt_dec(char* out, unsigned v) {
  char b[3];
  std::size_t n = 0;
  do {
    b[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  for (std::size_t i = 0; i < n; ++i) out[i] = b[n - 1 - i];
  return n;
}

std::size_t fmt_ip4(char* out, const uint8_t ip[4]) {
  std::size_t n = 0;
  for (int i = 0; i < 4; ++i) {
    if (i) out[n++] = '.';
    n += fmt_dec(out + n, ip[i]);
  }
  return n;
}

std::size_t scan_ip6(std::string_view s, uint8_t ip[16]) {
  uint16_t groups[8];
  int n = 0;     // groups read
  int gap = -1;  // where "::" stands, in groups
  std::size_t i = 0;
  auto at = [&](std::size_t k) { return k < s.size() ? s[k] : '\0'; };

  if (at(0) == ':' && at(1) == ':') {
    gap = 0;
    i = 2;
  }
  while (n < 8) {
    std::size_t k = 0;
    unsigned v = 0;
    while (k < 5 && hexval(at(i + k)) >= 0) {
      v = v * 16 + static_cast<unsigned>(hexval(at(i + k)));
      ++k;
    }
    if (k == 0) break;  // the address ends (after "::", or it is bad)
    if (at(i + k) == '.') {
      // The last 32 bits as a dotted quad.
      uint8_t v4[4];
      if (n > 6) break;
      std::size_t m = scan_ip4(s.substr(i), v4);
      if (!m) break;
      groups[n++] = static_cast<uint16_t>(v4[0] << 8 | v4[1]);
      groups[n++] = static_cast<uint16_t>(v4[2] << 8 | v4[3]);
      i += m;
      break;
    }
    if (k > 4) return 0;
    groups[n++] = static_cast<uint16_t>(v);
    i += k;
    if (n == 8 || (gap >= 0 && n == 7)) break;
    if (at(i) != ':') break;
    if (at(i + 1) == ':') {
      if (gap >= 0) break;  // a second "::" is not part of the address
      gap = n;
      i += 2;
    } else if (hexval(at(i + 1)) >= 0) {
      i += 1;
    } else {
      break;
    }
  }
  if (gap < 0 ? n != 8 : n > 7) return 0;
  uint8_t out[16] = {};
  int tail = gap < 0 ? 0 : n - gap;
  int head = n - tail;
  for (int g = 0; g < head; ++g) {
    out[2 * g] = static_cast<uint8_t>(groups[g] >> 8);
    out[2 * g + 1] = static_cast<uint8_t>(groups[g]);
  }
  for (int g = 0; g < tail; ++g) {
    int to = 8 - tail + g;
    out[2 * to] = static_cast<uint8_t>(groups[head + g] >> 8);
    out[2 * to + 1] = static_cast<uint8_t>(groups[head + g]);
  }
  std::memcpy(ip, out, 16);
  return i;
}

bool parse_ip6(std::string_view s, uint8_t ip[16]) {
  uint8_t tmp[16];
  if (s.empty() || scan_ip6(s, tmp) != s.size()) return false;
  std::memcpy(ip, tmp, 16);
  return true;
}

bool parse_ip(std::string_view s, uint8_t ip[16]) {
  uint8_t v4[4];
  if (parse_ip4(s, v4)) {
    v4mapped(v4, ip);
    return true;
  }
  return parse_ip6(s, ip);
}

static const uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_v4mapped(const uint8_t ip[16]) { return std::memcmp(ip, kV4MappedPrefix, 12) == 0; }

void v4mapped(const uint8_t ip4[4], uint8_t ip6[16]) {
  uint8_t tmp[4];
  std::memcpy(tmp, ip4, 4);  // ip4 may point into ip6
  std::memcpy(ip6, kV4MappedPrefix, 12);
  std::memcpy(ip6 + 12, tmp, 4);
}

bool is_link_local(const uint8_t ip[16]) { return ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80; }

static const char kHex[] = "0123456789abcdef";

std::size_t fmt_ip6(char* out, const uint8_t ip[16]) {
  // The longest run of zero groups; the first one when runs tie.
  int best = -1, best_len = 0;
  for (int g = 0; g < 8;) {
    if (ip[2 * g] || ip[2 * g + 1]) {
      ++g;
      continue;
    }
    int start = g;
    while (g < 8 && !ip[2 * g] && !ip[2 * g + 1]) ++g;
    if (g - start > best_len) {
      best = start;
      best_len = g - start;
    }
  }
  std::size_t n = 0;
  for (int g = 0; g < 8; ++g) {
    if (g == 6 && is_v4mapped(ip)) {
      n += fmt_ip4(out + n, ip + 12);
      break;
    }
    if (g == best) {
      if (g == 0) out[n++] = ':';
      out[n++] = ':';
      g += best_len - 1;
      continue;
    }
    unsigned v = static_cast<unsigned>(ip[2 * g] << 8 | ip[2 * g + 1]);
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      unsigned d = (v >> shift) & 15;
      if (d || started || shift == 0) {
        out[n++] = kHex[d];
        started = true;
      }
    }
    if (g < 7) out[n++] = ':';
  }
  return n;
}

std::size_t fmt_ip6_full(char* out, const uint8_t ip[16]) {
  std::size_t n = 0;
  for (int i = 0; i < 16; ++i) {
    if (i && i % 2 == 0) out[n++] = ':';
    out[n++] = kHex[ip[i] >> 4];
    out[n++] = kHex[ip[i] & 15];
  }
  return n;
}

void mask_bits(uint8_t* ip, std::size_t len, unsigned bits) {
  for (std::size_t i = 0; i < len; ++i) {
    unsigned have = bits > 8 * i ? bits - 8 * i : 0;
    if (have >= 8) continue;
    ip[i] &= static_cast<uint8_t>(0xff00u >> have);
  }
}

}  // namespace qbox::net
