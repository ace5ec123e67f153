// The EC implementation qbox gives BearSSL: each curve to its fastest code.
//
// Why: BearSSL 0.6, the pinned version, has only 32- and 15-bit code; our
// 64-bit code covers what a handshake usually needs, Curve25519 for the
// ECDHE (x25519.hpp) and P-256 for ECDHE and the ECDSA certificate
// (p256.hpp). P-384 and P-521 stay BearSSL's (br_ec_all_m31).
#pragma once
#include <bearssl.h>

namespace qbox::tls {

// For br_ssl_engine_set_ec(), the single-EC server and client profiles and
// the X.509 validator.
extern const br_ec_impl kEcFast;

}  // namespace qbox::tls
