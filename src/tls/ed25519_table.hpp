// The comb table of edwards25519's base point (written by
// ed25519_table.py, read by x25519_base.cpp).
#pragma once
#include <cstdint>

namespace qbox::tls::ed25519 {

inline constexpr int kCombBlocks = 4, kCombTeeth = 4, kCombSpacing = 16;

// An affine point as (y + x, y - x, 2d * x * y), each 4 words of 64 bits.
struct NielsWords {
  uint64_t ypx[4], ymx[4], xy2d[4];
};

extern const NielsWords kComb[kCombBlocks][(1 << kCombTeeth) - 1];

}  // namespace qbox::tls::ed25519
