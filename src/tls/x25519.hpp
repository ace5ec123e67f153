// X25519 (RFC 7748) with 64-bit arithmetic (BearSSL's interface to it is
// kEcFast, ec.hpp).
//
// Why: an ECDHE handshake on Curve25519 (what clients prefer) costs two
// X25519 multiplications. BearSSL 0.6, the pinned version, has only its
// 32-bit code for it (ec_c25519_m31, 9 limbs of 30 bits), about a quarter
// of the CPU time of qmail-smtpd's STARTTLS; here the field elements are 5
// limbs of 51 bits and the products 128-bit, some three times faster. The
// ladder is the RFC's, in constant time: no branch and no memory access
// depends on the scalar.
#pragma once
#include <cstdint>

namespace qbox::tls {

// out = X25519(scalar, u): the scalar is 32 bytes, little-endian, clamped
// here as RFC 7748 says (bits 0-2 and 255 cleared, bit 254 set); u is 32
// bytes, little-endian, its top bit ignored, any value below 2^255 taken
// modulo 2^255 - 19. out may be u.
void x25519(uint8_t out[32], const uint8_t scalar[32], const uint8_t u[32]);

// out = X25519(scalar, 9), the public key of the private key scalar, the
// same value as x25519() gives but some three times faster: from a table
// of multiples of the base point (x25519_base.cpp).
void x25519_base(uint8_t out[32], const uint8_t scalar[32]);

}  // namespace qbox::tls
