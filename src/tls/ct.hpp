// Constant-time selection for the elliptic-curve code (mont256.hpp,
// p256.cpp, x25519_base.cpp): masks made without branches, and copies
// under a mask, so that which table entry a secret picks leaves no trace
// in branches or memory addresses.
#pragma once
#include <cstddef>
#include <cstdint>

namespace qbox::tls::ct {

// All ones when x == y, else 0; for values below 2^63.
inline uint64_t eq_mask(uint64_t x, uint64_t y) { return 0 - (((x ^ y) - 1) >> 63); }

// dst[i] = src[i] for i < n where mask is all ones; dst unchanged where it is 0.
inline void cmov_words(uint64_t* dst, const uint64_t* src, std::size_t n, uint64_t mask) {
#pragma GCC unroll 4
  for (std::size_t i = 0; i < n; ++i) dst[i] ^= mask & (dst[i] ^ src[i]);
}

}  // namespace qbox::tls::ct
