// ECDSA signatures (ASN.1 DER) with P-256's scalar arithmetic in 64-bit
// limbs; BearSSL's br_ecdsa_i31_sign_asn1 for the other curves.
//
// Why: BearSSL's i31 code spends on the inversion of the nonce and the
// other products modulo n about as much as a fast k*G costs; a TLS server
// with an ECDSA certificate signs once per full handshake.
#pragma once
#include <bearssl.h>

#include <cstddef>

namespace qbox::tls {

// As br_ecdsa_sign (bearssl_ec.h): signs the hash hash_value (of hf's
// output length) with sk, k*G computed by impl; the nonce k is
// deterministic, RFC 6979's (HMAC_DRBG over hf seeded with the key and
// the reduced hash, as BearSSL does). Returns the signature's length (at
// most 72 bytes for P-256), 0 on error (a curve impl lacks, a key that is
// 0 or not below n).
std::size_t ecdsa_sign_asn1(const br_ec_impl* impl, const br_hash_class* hf, const void* hash_value,
                            const br_ec_private_key* sk, void* sig);

}  // namespace qbox::tls
