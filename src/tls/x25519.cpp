#include "tls/x25519.hpp"

#include <cstring>

#include "tls/fe25519.hpp"

namespace qbox::tls {

namespace {

using namespace fe25519;

// Swaps a and b when swap is 1, in constant time.
void cswap(u64 swap, Fe& a, Fe& b) {
  u64 mask = 0 - swap;
  for (int i = 0; i < 5; ++i) {
    u64 t = mask & (a.v[i] ^ b.v[i]);
    a.v[i] ^= t;
    b.v[i] ^= t;
  }
}

}  // namespace

void x25519(uint8_t out[32], const uint8_t scalar[32], const uint8_t u[32]) {
  uint8_t k[32];
  std::memcpy(k, scalar, 32);
  k[0] &= 248;
  k[31] &= 127;
  k[31] |= 64;
  // The Montgomery ladder of RFC 7748, section 5.
  const Fe x1 = from_bytes(u);
  Fe x2 = {{1, 0, 0, 0, 0}}, z2 = {{0, 0, 0, 0, 0}}, x3 = x1, z3 = {{1, 0, 0, 0, 0}};
  u64 swap = 0;
  for (int t = 254; t >= 0; --t) {
    u64 bit = (k[t >> 3] >> (t & 7)) & 1;
    swap ^= bit;
    cswap(swap, x2, x3);
    cswap(swap, z2, z3);
    swap = bit;
    Fe a = add(x2, z2), aa = sq(a);
    Fe b = sub(x2, z2), bb = sq(b);
    Fe e = sub(aa, bb);
    Fe c = add(x3, z3), d = sub(x3, z3);
    Fe da = mul(d, a), cb = mul(c, b);
    x3 = sq(add(da, cb));
    z3 = mul(x1, sq(sub(da, cb)));
    x2 = mul(aa, bb);
    z2 = mul(e, add(aa, mul_small(e, 121665)));  // a24 = (486662 - 2) / 4
  }
  cswap(swap, x2, x3);
  cswap(swap, z2, z3);
  to_bytes(out, mul(x2, invert(z2)));
  explicit_bzero(k, sizeof k);
}

}  // namespace qbox::tls
