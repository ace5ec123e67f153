// Arithmetic modulo an odd constant below 2^256 in Montgomery form
// (a stands for a * 2^256 mod m), four 64-bit limbs and 128-bit products.
//
// Why: P-256's field (mod p) and its ECDSA scalars (mod n) need the same
// few operations; a modulus known at compile time (the template argument)
// lets the compiler fold its limbs into the code. Every value is kept
// fully reduced (below m), so equality is equality of limbs, and nothing
// here branches on or indexes memory with a value, save pow() on its
// exponent, which its callers make public.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tls/ct.hpp"

namespace qbox::tls::mont256 {

using u64 = uint64_t;
using u128 = unsigned __int128;

// v[0] + v[1] * 2^64 + v[2] * 2^128 + v[3] * 2^192.
struct U256 {
  u64 v[4];
};

struct Modulus {
  U256 m;     // odd, below 2^256
  u64 m0inv;  // -1/m mod 2^64
  U256 one;   // 2^256 mod m: 1 in Montgomery form
  U256 rr;    // 2^512 mod m: multiplying by it converts into Montgomery form
};

// All ones when a is not zero, else 0.
inline u64 nonzero_mask(const U256& a) {
  u64 t = a.v[0] | a.v[1] | a.v[2] | a.v[3];
  return 0 - ((t | (0 - t)) >> 63);
}

using ct::eq_mask;

// dst = src where mask is all ones; dst unchanged where it is 0.
inline void cmov(U256& dst, const U256& src, u64 mask) { ct::cmov_words(dst.v, src.v, 4, mask); }

// r = a - b mod 2^256; returns the borrow (0 or 1).
inline u64 sub_borrow(U256& r, const U256& a, const U256& b) {
  u64 borrow = 0;
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    u128 t = static_cast<u128>(a.v[i]) - b.v[i] - borrow;
    r.v[i] = static_cast<u64>(t);
    borrow = static_cast<u64>(t >> 64) & 1;
  }
  return borrow;
}

// r = a + b mod 2^256; returns the carry (0 or 1).
inline u64 add_carry(U256& r, const U256& a, const U256& b) {
  u64 carry = 0;
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    u128 t = static_cast<u128>(a.v[i]) + b.v[i] + carry;
    r.v[i] = static_cast<u64>(t);
    carry = static_cast<u64>(t >> 64);
  }
  return carry;
}

// All ones when a < b.
inline u64 less_mask(const U256& a, const U256& b) {
  U256 d;
  return 0 - sub_borrow(d, a, b);
}

// a - m when that is not negative (a below 2m), carry being bit 256 of a.
template <const Modulus& M>
inline U256 reduce_once(const U256& a, u64 carry) {
  U256 d;
  u64 borrow = sub_borrow(d, a, M.m);
  U256 r = a;
  cmov(r, d, 0 - (carry | (borrow ^ 1)));
  return r;
}

template <const Modulus& M>
inline U256 add(const U256& a, const U256& b) {
  U256 s;
  u64 carry = add_carry(s, a, b);
  return reduce_once<M>(s, carry);
}

template <const Modulus& M>
inline U256 sub(const U256& a, const U256& b) {
  U256 d, back;
  u64 mask = 0 - sub_borrow(d, a, b);
  for (int i = 0; i < 4; ++i) back.v[i] = M.m.v[i] & mask;
  add_carry(d, d, back);
  return d;
}

// a * b / 2^256 mod m (Montgomery's product, operand by operand); a and b
// below m.
template <const Modulus& M>
inline U256 mul(const U256& a, const U256& b) {
  u64 t[5] = {0, 0, 0, 0, 0};
  // Unrolled even at -Os/-O2: the loops' bookkeeping would cost more than
  // the products.
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    u128 c = 0;
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      c = static_cast<u128>(a.v[j]) * b.v[i] + t[j] + static_cast<u64>(c >> 64);
      t[j] = static_cast<u64>(c);
    }
    u128 top = static_cast<u128>(t[4]) + static_cast<u64>(c >> 64);
    t[4] = static_cast<u64>(top);
    u64 t5 = static_cast<u64>(top >> 64);
    // Add q*m, q chosen so that the low limb becomes 0, and drop that limb.
    u64 q = t[0] * M.m0inv;
    if constexpr (M.m.v[0] == ~u64{0})
      c = static_cast<u128>(q) << 64;  // t[0] + q * (2^64 - 1) with q = t[0] (m0inv is 1)
    else
      c = static_cast<u128>(q) * M.m.v[0] + t[0];
#pragma GCC unroll 3
    for (int j = 1; j < 4; ++j) {
      // P-256's p has a zero limb: no product for it.
      u128 qm = M.m.v[j] == 0 ? 0 : static_cast<u128>(q) * M.m.v[j];
      c = qm + t[j] + static_cast<u64>(c >> 64);
      t[j - 1] = static_cast<u64>(c);
    }
    top = static_cast<u128>(t[4]) + static_cast<u64>(c >> 64);
    t[3] = static_cast<u64>(top);
    t[4] = t5 + static_cast<u64>(top >> 64);
  }
  return reduce_once<M>({{t[0], t[1], t[2], t[3]}}, t[4]);  // t is below 2m
}

template <const Modulus& M>
inline U256 sqr(const U256& a) {
  return mul<M>(a, a);
}

// a (below m) into Montgomery form, and back.
template <const Modulus& M>
inline U256 to_mont(const U256& a) {
  return mul<M>(a, M.rr);
}
template <const Modulus& M>
inline U256 from_mont(const U256& a) {
  return mul<M>(a, {{1, 0, 0, 0}});
}

// a^e, a in Montgomery form; e is public: its 4-bit windows pick the
// table entries. With e = m - 2 and m prime, 1/a (0 for 0).
template <const Modulus& M>
U256 pow(const U256& a, const U256& e) {
  U256 table[16];
  table[0] = M.one;
  for (int i = 1; i < 16; ++i) table[i] = mul<M>(table[i - 1], a);
  U256 acc = M.one;
  for (int w = 63; w >= 0; --w) {
    for (int s = 0; s < 4; ++s) acc = sqr<M>(acc);
    unsigned digit = (e.v[w / 16] >> (4 * (w % 16))) & 15;
    if (digit != 0) acc = mul<M>(acc, table[digit]);
  }
  return acc;
}

template <const Modulus& M>
inline U256 invert(const U256& a) {
  U256 e;
  sub_borrow(e, M.m, {{2, 0, 0, 0}});
  return pow<M>(a, e);
}

// 32 bytes, big-endian.
inline U256 from_be(const uint8_t b[32]) {
  U256 r;
  for (int i = 0; i < 4; ++i) {
    u64 x = 0;
    for (int j = 0; j < 8; ++j) x = x << 8 | b[(3 - i) * 8 + j];
    r.v[i] = x;
  }
  return r;
}

inline void to_be(uint8_t out[32], const U256& a) {
  for (int i = 0; i < 4; ++i) {
    u64 x = a.v[i];
    for (int j = 7; j >= 0; --j, x >>= 8) out[(3 - i) * 8 + j] = static_cast<uint8_t>(x);
  }
}

// A big-endian integer of len bytes (any length); false when it is 2^256
// or more. The length is public, the value is not: no branch on it.
inline bool from_be_any(U256& out, const uint8_t* x, std::size_t len) {
  uint8_t b[32] = {};
  uint8_t high = 0;  // the bytes above the low 32, ORed
  for (std::size_t i = 0; i < len; ++i) {
    if (len - i > 32)
      high |= x[i];
    else
      b[32 - (len - i)] = x[i];
  }
  out = from_be(b);
  explicit_bzero(b, sizeof b);  // a secret scalar's copy; a plain loop may be optimized away
  return high == 0;
}

}  // namespace qbox::tls::mont256
