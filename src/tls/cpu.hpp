// The fastest AES-CTR, GHASH, ChaCha20 and Poly1305 code BearSSL has for
// this CPU, as br_ssl_engine_set_default_aes_gcm() and _chapol() would
// pick them, and whether it has the SHA-256 instructions, found once per
// process.
//
// Why not BearSSL's own picks: in a VM every CPUID traps to the
// hypervisor (4-6 us here), and each BearSSL *_get() asks twice (leaf
// 0, then leaf 1); on x86-64 one read of leaf 1 (always present there)
// answers all of them.
#pragma once
#include <bearssl.h>

namespace qbox::tls {

struct CipherImpls {
  bool aesni = false;  // hardware AES: AES-GCM is then the fastest suite
  const br_block_ctr_class* aes_ctr = nullptr;
  br_ghash ghash = nullptr;
  br_chacha20_run chacha20 = nullptr;
  br_poly1305_run poly1305 = nullptr;
  bool sha_ni = false;  // SHA-256 instructions (tls/sha256_block)
};

const CipherImpls& cipher_impls();

}  // namespace qbox::tls
