// NIST P-256 (secp256r1) with 64-bit limbs: the curve's field and order as
// Montgomery moduli, and a BearSSL EC implementation for this one curve.
//
// Why: BearSSL 0.6, the pinned version, has only 32- and 15-bit code for
// P-256, and the ECDSA signature of each TLS handshake with the usual
// certificate costs a multiplication of the generator that was the largest
// share of qmail-smtpd's STARTTLS CPU time. Here the generator's multiples
// come from a precomputed comb table (p256_table.cpp) and field products
// are 4x4 64-bit limb products. Constant time: no branch and no memory
// access depends on a secret scalar (tables are scanned whole, entries
// taken with masks), save the one case the addition formulas cannot do, an
// addition of a point to itself, which a random secret scalar reaches
// with negligible probability (see p256.cpp).
#pragma once
#include <bearssl.h>

#include <cstddef>
#include <cstdint>

#include "tls/mont256.hpp"

namespace qbox::tls::p256 {

// p = 2^256 - 2^224 + 2^192 + 2^96 - 1.
inline constexpr mont256::Modulus kField = {
    {{0xffffffffffffffff, 0x00000000ffffffff, 0x0000000000000000, 0xffffffff00000001}},
    1,
    {{0x0000000000000001, 0xffffffff00000000, 0xffffffffffffffff, 0x00000000fffffffe}},
    {{0x0000000000000003, 0xfffffffbffffffff, 0xfffffffffffffffe, 0x00000004fffffffd}}};

// n, the order of the generator (a prime).
inline constexpr mont256::Modulus kOrder = {
    {{0xf3b9cac2fc632551, 0xbce6faada7179e84, 0xffffffffffffffff, 0xffffffff00000000}},
    0xccd1c8aaee00bc4f,
    {{0x0c46353d039cdaaf, 0x4319055258e8617b, 0x0000000000000000, 0x00000000ffffffff}},
    {{0x83244c95be79eea2, 0x4699799c49bd6fa6, 0x2845b2392b6bec59, 0x66e12d94f3d95620}}};

// A big-endian integer of len bytes, reduced modulo n; false (a public
// fact) when it is 2^256 or more. Constant time in the value.
bool scalar_from_be(mont256::U256& out, const unsigned char* x, std::size_t len);

}  // namespace qbox::tls::p256

namespace qbox::tls {

// mul, mulgen and muladd for P-256 (BR_EC_secp256r1) alone, as the
// interface of br_ec_impl documents them: mul and muladd return 0 for a
// point that is not on the curve and for a result at infinity (a scalar
// that is 0 or a multiple of n); scalars of any value are reduced modulo
// n. The generator, order and xoff are BearSSL's.
extern const br_ec_impl kEcP256;

}  // namespace qbox::tls
