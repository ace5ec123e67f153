#include "tls/ec.hpp"

#include <cstring>

#include "tls/p256.hpp"
#include "tls/x25519.hpp"

namespace qbox::tls {

namespace {

const br_ec_impl& others() { return br_ec_all_m31; }

const unsigned char* api_generator(int curve, std::size_t* len) { return others().generator(curve, len); }
const unsigned char* api_order(int curve, std::size_t* len) { return others().order(curve, len); }
std::size_t api_xoff(int curve, std::size_t* len) { return others().xoff(curve, len); }

// Curve25519's scalars, as BearSSL's ec_c25519 code takes them: at most
// 32 bytes, little-endian here, zero-padded to 32 in k; false when longer.
bool c25519_scalar(uint8_t k[32], const unsigned char* x, std::size_t xlen) {
  if (xlen > 32) return false;
  std::memset(k, 0, 32);
  std::memcpy(k, x, xlen);
  return true;
}

// G is the 32-byte u-coordinate, replaced by the result.
uint32_t c25519_mul(unsigned char* g, std::size_t glen, const unsigned char* x, std::size_t xlen) {
  uint8_t k[32];
  if (glen != 32 || !c25519_scalar(k, x, xlen)) return 0;
  x25519(g, k, g);
  explicit_bzero(k, sizeof k);
  return 1;
}

std::size_t c25519_mulgen(unsigned char* r, const unsigned char* x, std::size_t xlen) {
  uint8_t k[32];
  if (!c25519_scalar(k, x, xlen)) return 0;
  x25519_base(r, k);
  explicit_bzero(k, sizeof k);
  return 32;
}

uint32_t api_mul(unsigned char* g, std::size_t glen, const unsigned char* x, std::size_t xlen, int curve) {
  switch (curve) {
    case BR_EC_curve25519: return c25519_mul(g, glen, x, xlen);
    case BR_EC_secp256r1: return kEcP256.mul(g, glen, x, xlen, curve);
    default: return others().mul(g, glen, x, xlen, curve);
  }
}

std::size_t api_mulgen(unsigned char* r, const unsigned char* x, std::size_t xlen, int curve) {
  switch (curve) {
    case BR_EC_curve25519: return c25519_mulgen(r, x, xlen);
    case BR_EC_secp256r1: return kEcP256.mulgen(r, x, xlen, curve);
    default: return others().mulgen(r, x, xlen, curve);
  }
}

uint32_t api_muladd(unsigned char* a, const unsigned char* b, std::size_t len, const unsigned char* x,
                    std::size_t xlen, const unsigned char* y, std::size_t ylen, int curve) {
  if (curve == BR_EC_secp256r1) return kEcP256.muladd(a, b, len, x, xlen, y, ylen, curve);
  return others().muladd(a, b, len, x, xlen, y, ylen, curve);
}

}  // namespace

const br_ec_impl kEcFast = {
    (uint32_t{1} << BR_EC_secp256r1) | (uint32_t{1} << BR_EC_secp384r1) |
        (uint32_t{1} << BR_EC_secp521r1) | (uint32_t{1} << BR_EC_curve25519),
    &api_generator, &api_order, &api_xoff, &api_mul, &api_mulgen, &api_muladd};

}  // namespace qbox::tls
