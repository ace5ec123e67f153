// Arithmetic in GF(2^255 - 19) with five limbs of 51 bits and 128-bit
// products, for X25519's ladder (x25519.cpp) and its fixed-base
// multiplication on the Edwards form (x25519_base.cpp). Constant time:
// no branch and no memory access depends on a value. The functions are
// static, not inline: each user inlines them as its own code needs (as
// inline functions GCC unrolled them into every caller, several times the
// size for no speed).
#pragma once
#include <cstdint>

namespace qbox::tls::fe25519 {

using u64 = uint64_t;
using u128 = unsigned __int128;

// An element of GF(2^255 - 19): v[0] + v[1]*2^51 + ... + v[4]*2^204.
// Limbs may exceed 51 bits between operations; the bounds are noted where
// they matter. Every limb below 2^53 keeps each product sum of mul() below
// 2^115.
struct Fe {
  u64 v[5];
};

inline constexpr u64 kMask = (u64(1) << 51) - 1;

[[maybe_unused]] static u64 load64(const uint8_t* p) {
  u64 x = 0;
  for (int i = 7; i >= 0; --i) x = x << 8 | p[i];
  return x;
}

[[maybe_unused]] static void store64(uint8_t* p, u64 x) {
  for (int i = 0; i < 8; ++i, x >>= 8) p[i] = static_cast<uint8_t>(x);
}

// The 255 low bits of four little-endian 64-bit words; limbs below 2^51.
[[maybe_unused]] static Fe from_words(u64 w0, u64 w1, u64 w2, u64 w3) {
  w3 &= 0x7fffffffffffffff;
  return {{w0 & kMask, (w0 >> 51 | w1 << 13) & kMask, (w1 >> 38 | w2 << 26) & kMask,
           (w2 >> 25 | w3 << 39) & kMask, w3 >> 12}};
}

// The same of 32 little-endian bytes.
[[maybe_unused]] static Fe from_bytes(const uint8_t b[32]) {
  return from_words(load64(b), load64(b + 8), load64(b + 16), load64(b + 24));
}

// One carry pass: limbs 1-4 below 2^51 after it, limb 0 below 2^51 plus
// 19 times the carry out of limb 4.
[[maybe_unused]] static void carry(Fe& f) {
  for (int i = 0; i < 4; ++i) {
    f.v[i + 1] += f.v[i] >> 51;
    f.v[i] &= kMask;
  }
  u64 c = f.v[4] >> 51;
  f.v[4] &= kMask;
  f.v[0] += 19 * c;
}

// The canonical value (below 2^255 - 19), 32 bytes little-endian.
[[maybe_unused]] static void to_bytes(uint8_t out[32], Fe f) {
  carry(f);
  carry(f);  // every limb below 2^51 now: the value is below 2^255
  // q = 1 when the value is at least p, that is when value + 19 >= 2^255.
  u64 q = (f.v[0] + 19) >> 51;
  for (int i = 1; i < 5; ++i) q = (f.v[i] + q) >> 51;
  // value - q*p = value + 19q - q*2^255: the 2^255 falls off the top limb.
  f.v[0] += 19 * q;
  for (int i = 0; i < 4; ++i) {
    f.v[i + 1] += f.v[i] >> 51;
    f.v[i] &= kMask;
  }
  f.v[4] &= kMask;
  store64(out, f.v[0] | f.v[1] << 51);
  store64(out + 8, f.v[1] >> 13 | f.v[2] << 38);
  store64(out + 16, f.v[2] >> 26 | f.v[3] << 25);
  store64(out + 24, f.v[3] >> 39 | f.v[4] << 12);
}

[[maybe_unused]] static Fe add(const Fe& a, const Fe& b) {
  Fe h;
  for (int i = 0; i < 5; ++i) h.v[i] = a.v[i] + b.v[i];
  return h;
}

// a - b + 2p, so that no limb goes below zero: b's limbs must be below
// 2^52 - 38 (the outputs of the multiplications are).
[[maybe_unused]] static Fe sub(const Fe& a, const Fe& b) {
  constexpr u64 kTwoP0 = 2 * ((u64(1) << 51) - 19), kTwoP = 2 * kMask;
  Fe h;
  h.v[0] = a.v[0] + kTwoP0 - b.v[0];
  for (int i = 1; i < 5; ++i) h.v[i] = a.v[i] + kTwoP - b.v[i];
  return h;
}

// The sums of limb products (below 2^115) back to limbs: limbs 0 and 2-4
// below 2^51, limb 1 below 2^51 + 2^19.
[[maybe_unused]] static Fe reduce(u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
  Fe h;
  r1 += static_cast<u64>(r0 >> 51);
  h.v[0] = static_cast<u64>(r0) & kMask;
  r2 += static_cast<u64>(r1 >> 51);
  h.v[1] = static_cast<u64>(r1) & kMask;
  r3 += static_cast<u64>(r2 >> 51);
  h.v[2] = static_cast<u64>(r2) & kMask;
  r4 += static_cast<u64>(r3 >> 51);
  h.v[3] = static_cast<u64>(r3) & kMask;
  h.v[4] = static_cast<u64>(r4) & kMask;
  // 2^255 = 19 (mod p): the carry out of limb 4 comes back in at limb 0.
  u128 t = static_cast<u128>(h.v[0]) + static_cast<u128>(static_cast<u64>(r4 >> 51)) * 19;
  h.v[0] = static_cast<u64>(t) & kMask;
  h.v[1] += static_cast<u64>(t >> 51);
  return h;
}

// Limbs of a and b below 2^53.
[[maybe_unused]] static Fe mul(const Fe& a, const Fe& b) {
  const u64 *f = a.v, *g = b.v;
  u64 g1 = 19 * g[1], g2 = 19 * g[2], g3 = 19 * g[3], g4 = 19 * g[4];
  auto m = [](u64 x, u64 y) { return static_cast<u128>(x) * y; };
  return reduce(m(f[0], g[0]) + m(f[1], g4) + m(f[2], g3) + m(f[3], g2) + m(f[4], g1),
                m(f[0], g[1]) + m(f[1], g[0]) + m(f[2], g4) + m(f[3], g3) + m(f[4], g2),
                m(f[0], g[2]) + m(f[1], g[1]) + m(f[2], g[0]) + m(f[3], g4) + m(f[4], g3),
                m(f[0], g[3]) + m(f[1], g[2]) + m(f[2], g[1]) + m(f[3], g[0]) + m(f[4], g4),
                m(f[0], g[4]) + m(f[1], g[3]) + m(f[2], g[2]) + m(f[3], g[1]) + m(f[4], g[0]));
}

// mul(a, a) with the equal cross products taken once, doubled.
[[maybe_unused]] static Fe sq(const Fe& a) {
  const u64* f = a.v;
  u64 d0 = 2 * f[0], d1 = 2 * f[1];
  u64 f3_19 = 19 * f[3], f4_19 = 19 * f[4];
  auto m = [](u64 x, u64 y) { return static_cast<u128>(x) * y; };
  return reduce(m(f[0], f[0]) + 2 * (m(f[1], f4_19) + m(f[2], f3_19)),
                m(d0, f[1]) + 2 * m(f[2], f4_19) + m(f[3], f3_19),
                m(d0, f[2]) + m(f[1], f[1]) + 2 * m(f[3], f4_19),
                m(d0, f[3]) + m(d1, f[2]) + m(f[4], f4_19),
                m(d0, f[4]) + m(d1, f[3]) + m(f[2], f[2]));
}

[[maybe_unused]] static Fe sq_times(Fe a, int n) {
  while (n-- > 0) a = sq(a);
  return a;
}

[[maybe_unused]] static Fe mul_small(const Fe& a, u64 k) {
  return reduce(static_cast<u128>(a.v[0]) * k, static_cast<u128>(a.v[1]) * k,
                static_cast<u128>(a.v[2]) * k, static_cast<u128>(a.v[3]) * k,
                static_cast<u128>(a.v[4]) * k);
}

// z^(p-2) = 1/z (0 for 0), p - 2 = 2^255 - 21: 254 squarings and 11
// multiplications, building z^(2^k - 1) for k = 5, 10, 20, 40, 50, 100,
// 200, 250.
[[maybe_unused]] static Fe invert(const Fe& z) {
  Fe z2 = sq(z);
  Fe z9 = mul(sq_times(z2, 2), z);
  Fe z11 = mul(z9, z2);
  Fe e5 = mul(sq(z11), z9);  // z^31
  Fe e10 = mul(sq_times(e5, 5), e5);
  Fe e20 = mul(sq_times(e10, 10), e10);
  Fe e40 = mul(sq_times(e20, 20), e20);
  Fe e50 = mul(sq_times(e40, 10), e10);
  Fe e100 = mul(sq_times(e50, 50), e50);
  Fe e200 = mul(sq_times(e100, 100), e100);
  Fe e250 = mul(sq_times(e200, 50), e50);
  return mul(sq_times(e250, 5), z11);  // z^((2^250 - 1) * 32 + 11)
}

}  // namespace qbox::tls::fe25519
