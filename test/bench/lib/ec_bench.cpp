// ec_bench: microseconds of CPU per operation of qbox's EC code (src/tls)
// next to BearSSL's: P-256 k*G, k*P and an ECDSA signature, X25519 with
// any point and with the base point. Built and run by ../ec_bench.py.
#include <bearssl.h>

#include <cstdio>
#include <cstring>
#include <ctime>

#include "tls/ec.hpp"
#include "tls/ecdsa.hpp"
#include "tls/p256.hpp"

using namespace qbox::tls;

namespace {

double cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// The best of 5 runs of n calls of op(i), in microseconds per call.
template <class Op>
double us_per_op(int n, Op op) {
  double best = 1e9;
  for (int run = 0; run < 5; ++run) {
    double t0 = cpu_seconds();
    for (int i = 0; i < n; ++i) op(i);
    double t = (cpu_seconds() - t0) / n * 1e6;
    if (t < best) best = t;
  }
  return best;
}

void row(const char* what, double ours, double theirs) {
  std::printf("  %-28s qbox %7.1f us, BearSSL %7.1f us, BearSSL/qbox %.2f\n", what, ours, theirs, theirs / ours);
}

}  // namespace

int main() {
  unsigned char k[32];
  for (int i = 0; i < 32; ++i) k[i] = static_cast<unsigned char>(i * 13 + 7);
  k[0] &= 0x7f;
  unsigned char point[133];
  std::size_t glen;
  const unsigned char* g = br_ec_p256_m31.generator(BR_EC_secp256r1, &glen);
  const int n = 200;

  auto mulgen = [&](const br_ec_impl* impl) {
    return [&k, &point, impl](int i) {
      k[31] = static_cast<unsigned char>(i);
      impl->mulgen(point, k, 32, BR_EC_secp256r1);
    };
  };
  row("P-256 k*G", us_per_op(n, mulgen(&kEcFast)), us_per_op(n, mulgen(&br_ec_p256_m31)));

  auto mul = [&](const br_ec_impl* impl) {
    return [&k, &point, g, impl](int i) {
      std::memcpy(point, g, 65);
      k[31] = static_cast<unsigned char>(i);
      impl->mul(point, 65, k, 32, BR_EC_secp256r1);
    };
  };
  row("P-256 k*P", us_per_op(n, mul(&kEcFast)), us_per_op(n, mul(&br_ec_p256_m31)));

  br_ec_private_key sk = {BR_EC_secp256r1, k, 32};
  unsigned char hash[32] = {1, 2, 3}, sig[80];
  double ours = us_per_op(n, [&](int i) {
    hash[5] = static_cast<unsigned char>(i);
    ecdsa_sign_asn1(&kEcFast, &br_sha256_vtable, hash, &sk, sig);
  });
  double theirs = us_per_op(n, [&](int i) {
    hash[5] = static_cast<unsigned char>(i);
    br_ecdsa_i31_sign_asn1(&br_ec_p256_m31, &br_sha256_vtable, hash, &sk, sig);
  });
  row("ECDSA P-256 signature", ours, theirs);

  const unsigned char* u = br_ec_c25519_m31.generator(BR_EC_curve25519, &glen);
  auto x25519_mul = [&](const br_ec_impl* impl) {
    return [&k, &point, u, impl](int i) {
      std::memcpy(point, u, 32);
      k[3] = static_cast<unsigned char>(i);
      impl->mul(point, 32, k, 32, BR_EC_curve25519);
    };
  };
  row("X25519 k*u", us_per_op(n, x25519_mul(&kEcFast)), us_per_op(n, x25519_mul(&br_ec_c25519_m31)));
  auto x25519_gen = [&](const br_ec_impl* impl) {
    return [&k, &point, impl](int i) {
      k[3] = static_cast<unsigned char>(i);
      impl->mulgen(point, k, 32, BR_EC_curve25519);
    };
  };
  row("X25519 k*9 (key pair)", us_per_op(n, x25519_gen(&kEcFast)), us_per_op(n, x25519_gen(&br_ec_c25519_m31)));
  return 0;
}
