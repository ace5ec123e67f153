#include "tls/cpu.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

namespace qbox::tls {

namespace {

CipherImpls pick() {
  CipherImpls c;
#if defined(__x86_64__) && defined(__GNUC__)
  unsigned eax, ebx, ecx, edx;
  __cpuid(1, eax, ebx, ecx, edx);
  // The feature bits BearSSL's own checks test: AES-NI with SSE4.1
  // (ECX 25 and 19), PCLMULQDQ (ECX 1), SSE2 (EDX 26).
  c.aes_ctr = (ecx & 0x02080000u) == 0x02080000u ? &br_aes_x86ni_ctr_vtable : nullptr;
  c.ghash = (ecx & 0x00000002u) ? &br_ghash_pclmul : nullptr;
  c.chacha20 = (edx & 0x04000000u) ? &br_chacha20_sse2_run : nullptr;
  // SHA (leaf 7, EBX 29), used with SSSE3 and SSE4.1 (ECX 9 and 19). Leaf
  // 7 is asked only where AES-NI is: every CPU with AES-NI has it (leaf 0
  // would say so at the price of another trap), and every CPU with SHA
  // has AES-NI.
  if ((ecx & 0x02080200u) == 0x02080200u) {
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    c.sha_ni = (ebx & 0x20000000u) != 0;
  }
#else
  c.aes_ctr = br_aes_x86ni_ctr_get_vtable();
  c.ghash = br_ghash_pclmul_get();
  c.chacha20 = br_chacha20_sse2_get();
#endif
  c.aesni = c.aes_ctr != nullptr;
  if (!c.aes_ctr) c.aes_ctr = &br_aes_ct64_ctr_vtable;
  if (!c.ghash) c.ghash = &br_ghash_ctmul64;
  if (!c.chacha20) c.chacha20 = &br_chacha20_ct_run;
  c.poly1305 = br_poly1305_ctmulq_get();  // no CPUID: a compile-time choice
  if (!c.poly1305) c.poly1305 = &br_poly1305_ctmul_run;
  return c;
}

}  // namespace

const CipherImpls& cipher_impls() {
  // -fno-threadsafe-statics: no guard; the processes are single-threaded.
  static const CipherImpls c = pick();
  return c;
}

}  // namespace qbox::tls
