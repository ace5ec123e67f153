#include "tls/sha256_block.hpp"

#include "tls/cpu.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define QBOX_SHA_NI 1
#endif

namespace qbox::tls {

namespace {

// FIPS 180-4, 4.2.2: the first 32 bits of the fractional parts of the
// cube roots of the first 64 primes.
alignas(16) constexpr std::uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

}  // namespace

void sha256_block_portable(const unsigned char* block, std::uint32_t* state) {
  std::uint32_t w[64];
  for (int t = 0; t < 16; ++t) {
    const unsigned char* p = block + 4 * t;
    w[t] = std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
  }
  for (int t = 16; t < 64; ++t) {
    std::uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    std::uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  std::uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  std::uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
  for (int t = 0; t < 64; ++t) {
    std::uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kK[t] + w[t];
    std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g, g = f, f = e, e = d + t1;
    d = c, c = b, b = a, a = t1 + t2;
  }
  state[0] += a, state[1] += b, state[2] += c, state[3] += d;
  state[4] += e, state[5] += f, state[6] += g, state[7] += h;
}

#ifdef QBOX_SHA_NI

// The SHA extensions keep the state as two registers, ABEF and CDGH (A in
// the highest lane); each sha256rnds2 does two rounds with two words of
// W+K, and sha256msg1/msg2 extend the message schedule four words at a time.
__attribute__((target("sha,sse4.1,ssse3")))
void sha256_block_shani(const unsigned char* block, std::uint32_t* state) {
  const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
  __m128i abcd = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state));
  __m128i efgh = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4));
  __m128i badc = _mm_shuffle_epi32(abcd, 0xB1);    // lanes 0..3: B A D C
  __m128i hgfe = _mm_shuffle_epi32(efgh, 0x1B);    // H G F E
  __m128i abef = _mm_alignr_epi8(badc, hgfe, 8);   // F E B A
  __m128i cdgh = _mm_blend_epi16(hgfe, badc, 0xF0);  // H G D C
  const __m128i abef0 = abef, cdgh0 = cdgh;

  __m128i w[4];
#pragma GCC unroll 16  // unrolled, w[] lives in registers
  for (int i = 0; i < 16; ++i) {
    __m128i& wi = w[i & 3];
    if (i < 4) {
      wi = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 16 * i)), bswap);
    } else {
      // W[t..t+3] from W[t-16..t-13], W[t-12], W[t-7..t-4] and W[t-4..t-1].
      const __m128i& prev1 = w[(i + 3) & 3];  // W[t-4..t-1]
      const __m128i& prev2 = w[(i + 2) & 3];  // W[t-8..t-5]
      __m128i x = _mm_sha256msg1_epu32(wi, w[(i + 1) & 3]);
      x = _mm_add_epi32(x, _mm_alignr_epi8(prev1, prev2, 4));
      wi = _mm_sha256msg2_epu32(x, prev1);
    }
    __m128i wk = _mm_add_epi32(wi, _mm_load_si128(reinterpret_cast<const __m128i*>(kK + 4 * i)));
    cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
    abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
  }
  abef = _mm_add_epi32(abef, abef0);
  cdgh = _mm_add_epi32(cdgh, cdgh0);

  __m128i a_b_e_f = _mm_shuffle_epi32(abef, 0x1B);     // A B E F
  __m128i g_h_c_d = _mm_shuffle_epi32(cdgh, 0xB1);     // G H C D
  abcd = _mm_blend_epi16(a_b_e_f, g_h_c_d, 0xF0);      // A B C D
  efgh = _mm_alignr_epi8(g_h_c_d, a_b_e_f, 8);         // E F G H
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), abcd);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), efgh);
}

bool have_sha_ni() { return cipher_impls().sha_ni; }

#else

void sha256_block_shani(const unsigned char* block, std::uint32_t* state) { sha256_block_portable(block, state); }
bool have_sha_ni() { return false; }

#endif

}  // namespace qbox::tls

// BearSSL's name for it (src/inner.h), which all of its SHA-224/256 calls.
extern "C" void br_sha2small_round(const unsigned char* buf, std::uint32_t* val) {
  if (qbox::tls::have_sha_ni()) {
    qbox::tls::sha256_block_shani(buf, val);
  } else {
    qbox::tls::sha256_block_portable(buf, val);
  }
}
