// x25519_base: X25519(k, 9) as k times the base point of edwards25519,
// the twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2 that Curve25519 is
// birationally equivalent to (u = (1 + y) / (1 - y)), from a precomputed
// comb table. Edwards' unified formulas are complete (d is not a square):
// no input needs a special case, so the code has no branch on the scalar,
// and the table is scanned whole.
#include <cstring>

#include "tls/ct.hpp"
#include "tls/ed25519_table.hpp"
#include "tls/fe25519.hpp"
#include "tls/x25519.hpp"

namespace qbox::tls {

namespace {

using namespace fe25519;

// Sums and differences carried at once, so that every operand of mul()
// and of sub() stays within their bounds.
Fe addc(const Fe& a, const Fe& b) {
  Fe r = add(a, b);
  carry(r);
  return r;
}
Fe subc(const Fe& a, const Fe& b) {
  Fe r = sub(a, b);
  carry(r);
  return r;
}

// Extended coordinates: x = X/Z, y = Y/Z, x*y = T/Z.
struct Extended {
  Fe x, y, z, t;
};

// An affine point as (y + x, y - x, 2d * x * y).
struct Niels {
  Fe ypx, ymx, xy2d;
};

// P + Q, Q affine ("madd-2008-hwcd-3" for a = -1).
Extended add(const Extended& p, const Niels& q) {
  Fe a = mul(subc(p.y, p.x), q.ymx), b = mul(addc(p.y, p.x), q.ypx);
  Fe c = mul(p.t, q.xy2d), d = addc(p.z, p.z);
  Fe e = subc(b, a), f = subc(d, c), g = addc(d, c), h = addc(b, a);
  return {mul(e, f), mul(g, h), mul(f, g), mul(e, h)};
}

// 2P ("dbl-2008-hwcd" for a = -1).
Extended dbl(const Extended& p) {
  Fe a = sq(p.x), b = sq(p.y), zz = sq(p.z), c = addc(zz, zz);
  Fe h = addc(a, b);                   // -H of the formulas
  Fe e = subc(sq(addc(p.x, p.y)), h);  // 2xy
  Fe g = subc(b, a), f = subc(g, c);
  Fe minus_h = subc({{0, 0, 0, 0, 0}}, h);
  return {mul(e, f), mul(g, minus_h), mul(f, g), mul(e, minus_h)};
}

// Entry digit (1 .. 15) of block b's table, or the neutral point (0, 1)
// for 0, read by a scan of the whole table.
Niels entry(int b, unsigned digit) {
  constexpr int kEntries = (1 << ed25519::kCombTeeth) - 1;
  u64 ypx[4] = {1, 0, 0, 0}, ymx[4] = {1, 0, 0, 0}, xy2d[4] = {0, 0, 0, 0};
  for (int e = 0; e < kEntries; ++e) {
    u64 hit = ct::eq_mask(digit, static_cast<unsigned>(e + 1));
    const ed25519::NielsWords& w = ed25519::kComb[b][e];
    ct::cmov_words(ypx, w.ypx, 4, hit);
    ct::cmov_words(ymx, w.ymx, 4, hit);
    ct::cmov_words(xy2d, w.xy2d, 4, hit);
  }
  return {from_words(ypx[0], ypx[1], ypx[2], ypx[3]), from_words(ymx[0], ymx[1], ymx[2], ymx[3]),
          from_words(xy2d[0], xy2d[1], xy2d[2], xy2d[3])};
}

}  // namespace

void x25519_base(uint8_t out[32], const uint8_t scalar[32]) {
  using namespace ed25519;
  uint8_t k[32];
  std::memcpy(k, scalar, 32);
  k[0] &= 248;
  k[31] &= 127;
  k[31] |= 64;
  auto bit = [&k](int i) -> unsigned { return i < 255 ? (k[i >> 3] >> (i & 7)) & 1 : 0; };
  Extended q = {{{0, 0, 0, 0, 0}}, {{1, 0, 0, 0, 0}}, {{1, 0, 0, 0, 0}}, {{0, 0, 0, 0, 0}}};
  for (int j = kCombSpacing - 1; j >= 0; --j) {
    if (j != kCombSpacing - 1) q = dbl(q);
    for (int b = 0; b < kCombBlocks; ++b) {
      unsigned digit = 0;
      for (int t = 0; t < kCombTeeth; ++t) digit |= bit((b * kCombTeeth + t) * kCombSpacing + j) << t;
      q = add(q, entry(b, digit));
    }
  }
  // u = (1 + y) / (1 - y) = (Z + Y) / (Z - Y).
  to_bytes(out, mul(addc(q.z, q.y), invert(subc(q.z, q.y))));
  explicit_bzero(k, sizeof k);
}

}  // namespace qbox::tls
