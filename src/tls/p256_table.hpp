// The comb table of P-256's generator (written by p256_table.py, read by
// p256.cpp's mulgen): the affine points, coordinates in Montgomery form.
#pragma once
#include <cstdint>

namespace qbox::tls::p256 {

inline constexpr int kCombBlocks = 4, kCombTeeth = 5, kCombSpacing = 13;

struct AffineLimbs {
  uint64_t x[4], y[4];
};

extern const AffineLimbs kComb[kCombBlocks][(1 << kCombTeeth) - 1];

}  // namespace qbox::tls::p256
