// The SHA-224/256 compression function, one 64-byte block into the eight
// state words: with the CPU's SHA instructions where it has them, in plain
// C++ where not.
//
// Why: every SHA-256 of a TLS handshake (the transcript, the PRF's HMACs,
// BearSSL's HMAC_DRBG, the RFC 6979 nonces) ends in this function, about
// a hundred blocks a handshake; BearSSL 0.6 has only portable code for it.
// configure.sh makes BearSSL's own br_sha2small_round a weak symbol, so
// that this file's definition serves all of BearSSL's SHA-224/256.
#pragma once
#include <cstdint>

namespace qbox::tls {

// Both compute the same thing; sha256_block_shani() only where
// have_sha_ni() says so. For the tests.
void sha256_block_portable(const unsigned char* block, std::uint32_t* state);
void sha256_block_shani(const unsigned char* block, std::uint32_t* state);
bool have_sha_ni();

}  // namespace qbox::tls
