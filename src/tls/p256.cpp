#include "tls/p256.hpp"

#include <cstring>

#include "tls/ct.hpp"
#include "tls/p256_table.hpp"

namespace qbox::tls::p256 {

using mont256::U256;
using u64 = mont256::u64;

bool scalar_from_be(U256& out, const unsigned char* x, std::size_t len) {
  if (!mont256::from_be_any(out, x, len)) return false;
  // 2^256 < 2n: one subtraction reduces.
  U256 d;
  u64 borrow = mont256::sub_borrow(d, out, kOrder.m);
  mont256::cmov(out, d, borrow - 1);
  explicit_bzero(&d, sizeof d);
  return true;
}

namespace {

// The field, in Montgomery form. One copy of each operation, out of line:
// inlined into the point formulas they made p256.o three times larger
// and no faster.
[[gnu::noinline]] U256 fadd(const U256& a, const U256& b) { return mont256::add<kField>(a, b); }
[[gnu::noinline]] U256 fsub(const U256& a, const U256& b) { return mont256::sub<kField>(a, b); }
[[gnu::noinline]] U256 fmul(const U256& a, const U256& b) { return mont256::mul<kField>(a, b); }
U256 fsqr(const U256& a) { return fmul(a, a); }

U256 fsqr_times(U256 a, int n) {
  while (n-- > 0) a = fsqr(a);
  return a;
}

// 1/a (0 for 0) as a^(p-2): 255 squarings and 12 products. p - 2 is, from
// the top, 32 ones, 31 zeros and a one, 96 zeros, 64 ones, 30 ones, 0, 1;
// x_k below stands for a^(2^k - 1), k ones.
U256 finv(const U256& a) {
  U256 x2 = fmul(fsqr(a), a);
  U256 x3 = fmul(fsqr(x2), a);
  U256 x6 = fmul(fsqr_times(x3, 3), x3);
  U256 x12 = fmul(fsqr_times(x6, 6), x6);
  U256 x15 = fmul(fsqr_times(x12, 3), x3);
  U256 x30 = fmul(fsqr_times(x15, 15), x15);
  U256 x32 = fmul(fsqr_times(x30, 2), x2);
  U256 t = fmul(fsqr_times(x32, 32), a);
  t = fmul(fsqr_times(t, 128), x32);
  t = fmul(fsqr_times(t, 32), x32);
  t = fmul(fsqr_times(t, 30), x30);
  return fmul(fsqr_times(t, 2), a);
}

// The curve's b, in Montgomery form (y^2 = x^3 - 3x + b).
constexpr U256 kB = {{0xd89cdf6229c4bddf, 0xacf005cd78843090, 0xe5a220abf7212ed6, 0xdc30061d04874834}};

// (x / z^2, y / z^3); z = 0 is the point at infinity.
struct Jacobian {
  U256 x, y, z;
};

constexpr Jacobian kInfinity = {kField.one, kField.one, {{0, 0, 0, 0}}};

void cmov(Jacobian& dst, const Jacobian& src, u64 mask) {
  mont256::cmov(dst.x, src.x, mask);
  mont256::cmov(dst.y, src.y, mask);
  mont256::cmov(dst.z, src.z, mask);
}

// 2P ("dbl-2001-b", a = -3): infinity stays infinity (z stays 0).
[[gnu::noinline]] Jacobian dbl(const Jacobian& p) {
  U256 delta = fsqr(p.z), gamma = fsqr(p.y), beta = fmul(p.x, gamma);
  U256 t = fmul(fsub(p.x, delta), fadd(p.x, delta));
  U256 alpha = fadd(fadd(t, t), t);
  U256 beta4 = fadd(beta, beta);
  beta4 = fadd(beta4, beta4);
  Jacobian r;
  r.x = fsub(fsqr(alpha), fadd(beta4, beta4));
  r.z = fsub(fsub(fsqr(fadd(p.y, p.z)), gamma), delta);
  U256 gamma2 = fsqr(gamma);
  U256 gamma8 = fadd(gamma2, gamma2);
  gamma8 = fadd(gamma8, gamma8);
  gamma8 = fadd(gamma8, gamma8);
  r.y = fsub(fmul(alpha, fsub(beta4, r.x)), gamma8);
  return r;
}

// The formulas below fail for P + P (h = 0 and r = 0: they give
// infinity). That branch is taken only then; for the secret scalars of
// mulgen (the comb) it needs two partial sums of the scalar's bits to be
// congruent modulo n, which a random scalar hits with probability about
// 2^-250; mul's window cannot reach it with a scalar below n (the
// accumulated multiple is a multiple of 16 below the scalar, the table's
// below 16); muladd's inputs are public.
bool doubling_case(const U256& h, const U256& r, u64 both_finite) {
  return (~mont256::nonzero_mask(h) & ~mont256::nonzero_mask(r) & both_finite) != 0;
}

// P + Q, Q affine ("madd-2007-bl"); P may be infinity, Q not.
[[gnu::noinline]] Jacobian add_affine(const Jacobian& p, const U256& qx, const U256& qy) {
  U256 z1z1 = fsqr(p.z);
  U256 u2 = fmul(qx, z1z1), s2 = fmul(qy, fmul(p.z, z1z1));
  U256 h = fsub(u2, p.x), r = fsub(s2, p.y);
  u64 p_finite = mont256::nonzero_mask(p.z);
  if (doubling_case(h, r, p_finite)) return dbl(p);
  r = fadd(r, r);
  U256 hh = fsqr(h), i = fadd(hh, hh);
  i = fadd(i, i);
  U256 j = fmul(h, i), v = fmul(p.x, i);
  Jacobian out;
  out.x = fsub(fsub(fsqr(r), j), fadd(v, v));
  U256 y1j = fmul(p.y, j);
  out.y = fsub(fmul(r, fsub(v, out.x)), fadd(y1j, y1j));
  out.z = fsub(fsub(fsqr(fadd(p.z, h)), z1z1), hh);
  cmov(out, {qx, qy, kField.one}, ~p_finite);
  return out;
}

// P + Q ("add-2007-bl"); either may be infinity.
[[gnu::noinline]] Jacobian add(const Jacobian& p, const Jacobian& q) {
  U256 z1z1 = fsqr(p.z), z2z2 = fsqr(q.z);
  U256 u1 = fmul(p.x, z2z2), u2 = fmul(q.x, z1z1);
  U256 s1 = fmul(p.y, fmul(q.z, z2z2)), s2 = fmul(q.y, fmul(p.z, z1z1));
  U256 h = fsub(u2, u1), r = fsub(s2, s1);
  u64 p_finite = mont256::nonzero_mask(p.z), q_finite = mont256::nonzero_mask(q.z);
  if (doubling_case(h, r, p_finite & q_finite)) return dbl(p);
  r = fadd(r, r);
  U256 i = fsqr(fadd(h, h)), j = fmul(h, i), v = fmul(u1, i);
  Jacobian out;
  out.x = fsub(fsub(fsqr(r), j), fadd(v, v));
  U256 s1j = fmul(s1, j);
  out.y = fsub(fmul(r, fsub(v, out.x)), fadd(s1j, s1j));
  out.z = fmul(fsub(fsub(fsqr(fadd(p.z, q.z)), z1z1), z2z2), h);
  cmov(out, q, ~p_finite);
  cmov(out, p, ~q_finite);
  return out;
}

unsigned bit(const U256& k, int i) { return i < 256 ? (k.v[i >> 6] >> (i & 63)) & 1 : 0; }

// k*G with the comb: kCombSpacing doublings, an addition per block and step.
Jacobian mul_generator(const U256& k) {
  constexpr int kEntries = (1 << kCombTeeth) - 1;
  Jacobian q = kInfinity;
  for (int j = kCombSpacing - 1; j >= 0; --j) {
    if (j != kCombSpacing - 1) q = dbl(q);
    for (int b = 0; b < kCombBlocks; ++b) {
      unsigned digit = 0;
      for (int t = 0; t < kCombTeeth; ++t) digit |= bit(k, (b * kCombTeeth + t) * kCombSpacing + j) << t;
      U256 x = {}, y = {};
      for (int e = 0; e < kEntries; ++e) {
        u64 hit = ct::eq_mask(digit, static_cast<unsigned>(e + 1));
        ct::cmov_words(x.v, kComb[b][e].x, 4, hit);
        ct::cmov_words(y.v, kComb[b][e].y, 4, hit);
      }
      Jacobian sum = add_affine(q, x, y);
      cmov(q, sum, 0 - static_cast<u64>(digit != 0));
    }
  }
  return q;
}

// k*P with a fixed window of 4 bits and a table of 0..15 times P.
Jacobian mul_point(const Jacobian& p, const U256& k) {
  Jacobian table[16];
  table[0] = kInfinity;
  table[1] = p;
  table[2] = dbl(p);
  for (int i = 3; i < 16; ++i) table[i] = add(table[i - 1], p);
  Jacobian q = kInfinity;
  for (int w = 63; w >= 0; --w) {
    if (w != 63)
      for (int s = 0; s < 4; ++s) q = dbl(q);
    unsigned digit = (k.v[w / 16] >> (4 * (w % 16))) & 15;
    Jacobian t = table[0];
    for (unsigned e = 1; e < 16; ++e) cmov(t, table[e], ct::eq_mask(digit, e));
    q = add(q, t);
  }
  return q;
}

// 65 bytes: 0x04, x and y below p, on the curve. Public data: branches.
bool decode(Jacobian& out, const unsigned char* buf, std::size_t len) {
  if (len != 65 || buf[0] != 0x04) return false;
  U256 x = mont256::from_be(buf + 1), y = mont256::from_be(buf + 33);
  if (!mont256::less_mask(x, kField.m) || !mont256::less_mask(y, kField.m)) return false;
  x = fmul(x, kField.rr);  // into Montgomery form
  y = fmul(y, kField.rr);
  U256 rhs = fmul(fsqr(x), x);
  rhs = fadd(fsub(rhs, fadd(fadd(x, x), x)), kB);
  U256 diff = fsub(fsqr(y), rhs);
  if (mont256::nonzero_mask(diff)) return false;
  out = {x, y, kField.one};
  return true;
}

// The 65-byte encoding of p; all-ones when p is not infinity (else the
// coordinates are zeros).
u64 encode(unsigned char out[65], const Jacobian& p) {
  U256 zinv = finv(p.z), zinv2 = fsqr(zinv);
  constexpr U256 kOne = {{1, 0, 0, 0}};  // a product with 1 leaves Montgomery form
  U256 x = fmul(fmul(p.x, zinv2), kOne);
  U256 y = fmul(fmul(p.y, fmul(zinv2, zinv)), kOne);
  out[0] = 0x04;
  mont256::to_be(out + 1, x);
  mont256::to_be(out + 33, y);
  return mont256::nonzero_mask(p.z);
}

// G, the comb's first entry (block 0, its first tooth alone).
Jacobian generator() {
  const AffineLimbs& g = kComb[0][0];
  return {{{g.x[0], g.x[1], g.x[2], g.x[3]}}, {{g.y[0], g.y[1], g.y[2], g.y[3]}}, kField.one};
}

// ---- BearSSL's interface ---------------------------------------------------------

const unsigned char* api_generator(int curve, std::size_t* len) { return br_ec_p256_m31.generator(curve, len); }
const unsigned char* api_order(int curve, std::size_t* len) { return br_ec_p256_m31.order(curve, len); }
std::size_t api_xoff(int curve, std::size_t* len) { return br_ec_p256_m31.xoff(curve, len); }

uint32_t api_mul(unsigned char* g, std::size_t glen, const unsigned char* x, std::size_t xlen, int curve) {
  Jacobian p;
  U256 k;
  if (curve != BR_EC_secp256r1 || !decode(p, g, glen) || !scalar_from_be(k, x, xlen)) return 0;
  Jacobian r = mul_point(p, k);
  explicit_bzero(&k, sizeof k);
  return static_cast<uint32_t>(encode(g, r) & 1);
}

std::size_t api_mulgen(unsigned char* r, const unsigned char* x, std::size_t xlen, int curve) {
  U256 k;
  if (curve != BR_EC_secp256r1 || !scalar_from_be(k, x, xlen)) return 0;
  Jacobian p = mul_generator(k);
  explicit_bzero(&k, sizeof k);
  encode(r, p);
  return 65;
}

uint32_t api_muladd(unsigned char* a, const unsigned char* b, std::size_t len, const unsigned char* x,
                    std::size_t xlen, const unsigned char* y, std::size_t ylen, int curve) {
  Jacobian pa, pb = generator();
  U256 kx, ky;
  if (curve != BR_EC_secp256r1 || !decode(pa, a, len) || (b && !decode(pb, b, len)) ||
      !scalar_from_be(kx, x, xlen) || !scalar_from_be(ky, y, ylen))
    return 0;
  if (!mont256::nonzero_mask(kx) || !mont256::nonzero_mask(ky)) return 0;
  Jacobian sum = add(mul_point(pa, kx), b ? mul_point(pb, ky) : mul_generator(ky));
  return static_cast<uint32_t>(encode(a, sum) & 1);
}

}  // namespace

}  // namespace qbox::tls::p256

namespace qbox::tls {

const br_ec_impl kEcP256 = {uint32_t{1} << BR_EC_secp256r1,
                            &p256::api_generator,
                            &p256::api_order,
                            &p256::api_xoff,
                            &p256::api_mul,
                            &p256::api_mulgen,
                            &p256::api_muladd};

}  // namespace qbox::tls
