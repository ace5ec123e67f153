#include "tls/ecdsa.hpp"

#include <cstring>

#include "tls/p256.hpp"

namespace qbox::tls {

namespace {

using mont256::U256;
using mont256::u64;
constexpr const mont256::Modulus& kN = p256::kOrder;

// x - n when x is at least n, for x below 2n.
U256 reduce_once(const U256& x) { return mont256::reduce_once<kN>(x, 0); }

}  // namespace

std::size_t ecdsa_sign_asn1(const br_ec_impl* impl, const br_hash_class* hf, const void* hash_value,
                            const br_ec_private_key* sk, void* sig) {
  if (sk->curve != BR_EC_secp256r1) return br_ecdsa_i31_sign_asn1(impl, hf, hash_value, sk, sig);
  if (((impl->supported_curves >> BR_EC_secp256r1) & 1) == 0) return 0;
  U256 x;
  if (!mont256::from_be_any(x, sk->x, sk->xlen) || !mont256::nonzero_mask(x) || !mont256::less_mask(x, kN.m))
    return 0;

  // The hash as an integer: its leftmost 256 bits (RFC 6979's bits2int
  // for a 256-bit order), reduced modulo n.
  std::size_t hash_len = (hf->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK;
  U256 m;
  mont256::from_be_any(m, static_cast<const unsigned char*>(hash_value), hash_len < 32 ? hash_len : 32);
  m = reduce_once(m);

  // The nonce: HMAC_DRBG seeded with int2octets(x) || int2octets(m); the
  // first output that is in [1, n-1]. The rejections reveal nothing.
  unsigned char seed[64];
  mont256::to_be(seed, x);
  mont256::to_be(seed + 32, m);
  br_hmac_drbg_context drbg;
  br_hmac_drbg_init(&drbg, hf, seed, sizeof seed);
  unsigned char kb[32];
  U256 k;
  do {
    br_hmac_drbg_generate(&drbg, kb, sizeof kb);
    k = mont256::from_be(kb);
  } while (!mont256::nonzero_mask(k) || !mont256::less_mask(k, kN.m));

  // r = x(k*G) mod n; s = (m + x*r) / k mod n.
  unsigned char point[65];
  std::size_t point_len = impl->mulgen(point, kb, sizeof kb, BR_EC_secp256r1);
  U256 r = reduce_once(mont256::from_be(point + 1));
  U256 kinv = mont256::invert<kN>(mont256::to_mont<kN>(k));
  U256 xr = mont256::mul<kN>(mont256::to_mont<kN>(x), r);
  U256 s = mont256::mul<kN>(mont256::add<kN>(xr, m), kinv);

  unsigned char raw[64 + 9];
  mont256::to_be(raw, r);
  mont256::to_be(raw + 32, s);
  std::size_t len = point_len == 65 ? br_ecdsa_raw_to_asn1(raw, 64) : 0;
  if (len != 0) std::memcpy(sig, raw, len);

  explicit_bzero(seed, sizeof seed);
  explicit_bzero(kb, sizeof kb);
  explicit_bzero(&drbg, sizeof drbg);
  explicit_bzero(&x, sizeof x);
  explicit_bzero(&k, sizeof k);
  explicit_bzero(&kinv, sizeof kinv);
  explicit_bzero(&xr, sizeof xr);
  return len;
}

}  // namespace qbox::tls
