// A DER reader for the few ASN.1 structures src/tls reads itself (names,
// encrypted private keys): one TLV at a time, bounds-checked, short tags
// only, definite lengths up to 4 bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace qbox::tls {

struct Der {
  const unsigned char* p;
  std::size_t n;

  static Der of(std::string_view s) { return {reinterpret_cast<const unsigned char*>(s.data()), s.size()}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(p), n}; }

  // The next element: its tag and its contents; false at the end or when
  // the encoding is broken.
  bool next(unsigned& tag, Der& body) {
    if (n < 2) return false;
    tag = p[0];
    if ((tag & 0x1f) == 0x1f) return false;
    std::size_t len = p[1], hdr = 2;
    if (len & 0x80) {
      std::size_t k = len & 0x7f;
      if (k == 0 || k > 4 || n < 2 + k) return false;
      len = 0;
      for (std::size_t i = 0; i < k; ++i) len = len << 8 | p[2 + i];
      hdr += k;
    }
    if (len > n - hdr) return false;
    body = {p + hdr, len};
    p += hdr + len;
    n -= hdr + len;
    return true;
  }
  // The next element, which must have this tag.
  bool expect(unsigned want, Der& body) {
    unsigned tag;
    return next(tag, body) && tag == want;
  }
  // A non-negative INTEGER that fits in 32 bits.
  bool uint32(uint32_t& out) {
    Der v;
    if (!expect(0x02, v) || v.n == 0 || v.n > 5 || (v.p[0] & 0x80)) return false;
    if (v.n == 5 && v.p[0] != 0) return false;
    uint64_t x = 0;
    for (std::size_t i = 0; i < v.n; ++i) x = x << 8 | v.p[i];
    out = static_cast<uint32_t>(x);
    return true;
  }
  bool equals(std::string_view bytes) const { return bytes.size() == n && std::memcmp(p, bytes.data(), n) == 0; }
};

}  // namespace qbox::tls
