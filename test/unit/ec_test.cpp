// src/tls: the 256-bit Montgomery arithmetic against values computed
// elsewhere (Python), P-256's mul, mulgen and muladd against BearSSL's
// br_ec_p256_m31 for random and edge scalars, ECDSA signatures checked by
// BearSSL's verifier, equal to BearSSL's own (both RFC 6979) and to the
// RFC's test vectors, kEcFast's dispatch, and X25519's fixed-base
// multiplication against its ladder.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "hex.hpp"
#include "tls/ec.hpp"
#include "tls/ecdsa.hpp"
#include "tls/p256.hpp"
#include "tls/x25519.hpp"

using namespace qbox::tls;
using qbox::test::hex;
using qbox::test::unhex;
using mont256::U256;

namespace {

constexpr const char* kOrderHex = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

// splitmix64: reproducible "random" bytes.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
  void fill(unsigned char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(next());
  }
};

U256 u256(const char* h) {
  auto b = unhex(h);
  return mont256::from_be(b.data());
}

std::string str(const U256& a) {
  unsigned char b[32];
  mont256::to_be(b, a);
  return hex(b, 32);
}

// A scalar below n, not 0: 32 random bytes with the top one below 0xff.
std::vector<unsigned char> random_scalar(Rng& rng) {
  std::vector<unsigned char> k(32);
  rng.fill(k.data(), 32);
  k[0] &= 0x7f;
  k[31] |= 1;
  return k;
}

// Scalars that stress carries and the comb's teeth: 1, 2, n-1, n-2, single
// bits, long runs of ones and zeros.
std::vector<std::vector<unsigned char>> edge_scalars() {
  std::vector<std::vector<unsigned char>> out;
  auto n = unhex(kOrderHex);
  auto n1 = n, n2 = n;
  n1[31] -= 1;
  n2[31] -= 2;
  out.push_back(n1);
  out.push_back(n2);
  for (int bitpos = 0; bitpos < 256; ++bitpos) {
    std::vector<unsigned char> k(32, 0);
    k[31 - bitpos / 8] = static_cast<unsigned char>(1 << (bitpos % 8));
    out.push_back(k);
  }
  out.push_back(unhex("0000000000000000000000000000000000000000000000000000000000000002"));
  out.push_back(unhex("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"));
  out.push_back(unhex("8000000000000000000000000000000000000000000000000000000000000001"));
  out.push_back(unhex("00000000000000000000000000000000ffffffffffffffffffffffffffffffff"));
  out.push_back(unhex("ffffffff00000000000000000000000000000000000000000000000000000000"));
  out.push_back(unhex("00000fffffffffff000000000000ffffffffffffff0000000000000fffffffff"));
  out.push_back(unhex("f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"));
  out.push_back(unhex("0001ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"));
  return out;
}

std::string point_hex(const unsigned char* p) { return hex(p, 65); }

}  // namespace

TEST_CASE("mont256: products, sums and inverses modulo P-256's p and n") {
  const U256 a = u256("0123456789abcdeffedcba98765432100f1e2d3c4b5a69788796a5b4c3d2e1f0");
  const U256 b = u256("fedcba9876543210f0e1d2c3b4a5968778695a4b3c2d1e0f1122334455667788");
  const auto& P = p256::kField;
  const auto& N = p256::kOrder;
  U256 am = mont256::to_mont<P>(a), bm = mont256::to_mont<P>(b);
  CHECK(str(mont256::from_mont<P>(mont256::mul<P>(am, bm))) ==
        "f8052ebfe9b24cf1a03cde43e859fddbce8f764ce4732de58c2190a2451df172");
  CHECK(str(mont256::from_mont<P>(mont256::invert<P>(am))) ==
        "c3e8ebc6702ab4555d25d61f0a81e337f2e65cba9bf0b96f66b697fb7be08b71");
  CHECK(str(mont256::sub<P>(a, b)) == "02468ace13579be00dfae7d4c1ae9b8896b4d2f20f2d4b69767472706e6c6a67");
  CHECK(str(mont256::add<P>(a, b)) == "00000000ffffffffefbe8d5c2af9c897878787868787878798b8d8f919395979");
  CHECK(str(mont256::mul<P>(P.one, P.one)) == str(P.one));
  CHECK(str(mont256::from_mont<P>(P.one)) == str({{1, 0, 0, 0}}));
  U256 p1;  // p - 1: (p - 1)^2 = 1
  mont256::sub_borrow(p1, P.m, {{1, 0, 0, 0}});
  U256 p1m = mont256::to_mont<P>(p1);
  CHECK(str(mont256::from_mont<P>(mont256::sqr<P>(p1m))) == str({{1, 0, 0, 0}}));
  CHECK(str(mont256::add<P>(p1, {{1, 0, 0, 0}})) == str({{0, 0, 0, 0}}));
  CHECK(str(mont256::sub<P>({{0, 0, 0, 0}}, {{1, 0, 0, 0}})) == str(p1));
  CHECK(str(mont256::invert<P>({{0, 0, 0, 0}})) == str({{0, 0, 0, 0}}));

  U256 an = mont256::to_mont<N>(a);
  CHECK(str(mont256::from_mont<N>(mont256::mul<N>(an, mont256::to_mont<N>(b)))) ==
        "07b59133f3b562a5c4fe31eff78d57bf393a62c27d130bc4f1fba16e1eb684c7");
  CHECK(str(mont256::from_mont<N>(mont256::invert<N>(an))) ==
        "fbe1a36b0ab8ba03a77634bfc9858415f3761836416af8c16bcdfa2971da9f29");
  CHECK(str(mont256::from_mont<N>(N.one)) == str({{1, 0, 0, 0}}));
}

TEST_CASE("mont256: masks and big-endian integers of any length") {
  U256 x;
  const unsigned char five[3] = {0, 0, 5};
  CHECK(mont256::from_be_any(x, five, 3));
  CHECK(str(x) == str({{5, 0, 0, 0}}));
  std::vector<unsigned char> long_zero(40, 0), long_big(40, 0);
  long_zero[39] = 7;
  long_big[7] = 1;  // 2^256
  CHECK(mont256::from_be_any(x, long_zero.data(), 40));
  CHECK(str(x) == str({{7, 0, 0, 0}}));
  CHECK(!mont256::from_be_any(x, long_big.data(), 40));
  CHECK(mont256::nonzero_mask({{0, 0, 0, 0}}) == 0);
  CHECK(mont256::nonzero_mask({{0, 0, 0, 1}}) == ~uint64_t{0});
  CHECK(mont256::eq_mask(3, 3) == ~uint64_t{0});
  CHECK(mont256::eq_mask(3, 4) == 0);
  CHECK(mont256::less_mask({{1, 0, 0, 0}}, {{0, 1, 0, 0}}) == ~uint64_t{0});
  CHECK(mont256::less_mask({{0, 1, 0, 0}}, {{0, 1, 0, 0}}) == 0);
}

TEST_CASE("P-256 mulgen: equal to BearSSL's for random and edge scalars") {
  Rng rng{1};
  auto scalars = edge_scalars();
  for (int i = 0; i < 200; ++i) scalars.push_back(random_scalar(rng));
  for (const auto& k : scalars) {
    unsigned char ours[65], theirs[65];
    REQUIRE(kEcP256.mulgen(ours, k.data(), k.size(), BR_EC_secp256r1) == 65);
    REQUIRE(br_ec_p256_m31.mulgen(theirs, k.data(), k.size(), BR_EC_secp256r1) == 65);
    CHECK_MESSAGE(point_hex(ours) == point_hex(theirs), hex(k.data(), k.size()));
  }
  // Shorter and longer encodings of a scalar; scalars reduced modulo n.
  unsigned char a[65], b[65];
  const unsigned char one[1] = {1};
  std::vector<unsigned char> one_long(40, 0);
  one_long[39] = 1;
  kEcP256.mulgen(a, one, 1, BR_EC_secp256r1);
  kEcP256.mulgen(b, one_long.data(), one_long.size(), BR_EC_secp256r1);
  std::size_t glen;
  const unsigned char* g = br_ec_p256_m31.generator(BR_EC_secp256r1, &glen);
  CHECK(point_hex(a) == point_hex(g));
  CHECK(point_hex(b) == point_hex(g));
  auto n_plus_1 = unhex(kOrderHex);
  n_plus_1[31] += 1;
  kEcP256.mulgen(b, n_plus_1.data(), 32, BR_EC_secp256r1);
  CHECK(point_hex(b) == point_hex(g));
  auto ones = unhex("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
  auto ones_minus_n = unhex("00000000ffffffff00000000000000004319055258e8617b0c46353d039cdaae");
  kEcP256.mulgen(a, ones.data(), 32, BR_EC_secp256r1);
  br_ec_p256_m31.mulgen(b, ones_minus_n.data(), 32, BR_EC_secp256r1);
  CHECK(point_hex(a) == point_hex(b));
  CHECK(kEcP256.mulgen(a, one, 1, BR_EC_secp384r1) == 0);
}

TEST_CASE("P-256 mul: equal to BearSSL's for random points and scalars; invalid input refused") {
  Rng rng{2};
  auto scalars = edge_scalars();
  for (int i = 0; i < 60; ++i) scalars.push_back(random_scalar(rng));
  for (const auto& k : scalars) {
    auto base = random_scalar(rng);
    unsigned char ours[65], theirs[65];
    br_ec_p256_m31.mulgen(ours, base.data(), 32, BR_EC_secp256r1);
    std::memcpy(theirs, ours, 65);
    REQUIRE(kEcP256.mul(ours, 65, k.data(), k.size(), BR_EC_secp256r1) == 1);
    REQUIRE(br_ec_p256_m31.mul(theirs, 65, k.data(), k.size(), BR_EC_secp256r1) == 1);
    CHECK_MESSAGE(point_hex(ours) == point_hex(theirs), hex(k.data(), k.size()));
  }
  std::size_t glen;
  const unsigned char* g = br_ec_p256_m31.generator(BR_EC_secp256r1, &glen);
  unsigned char p[65];
  auto n = unhex(kOrderHex);
  const unsigned char zero[32] = {};
  const unsigned char two[1] = {2};
  // The header's rules: a result at infinity is an error.
  std::memcpy(p, g, 65);
  CHECK(kEcP256.mul(p, 65, zero, 32, BR_EC_secp256r1) == 0);
  std::memcpy(p, g, 65);
  CHECK(kEcP256.mul(p, 65, n.data(), 32, BR_EC_secp256r1) == 0);
  // Points that are not on the curve, or not encoded as 65 bytes.
  std::memcpy(p, g, 65);
  p[64] ^= 1;
  CHECK(kEcP256.mul(p, 65, two, 1, BR_EC_secp256r1) == 0);
  std::memcpy(p, g, 65);
  p[0] = 0x02;
  CHECK(kEcP256.mul(p, 65, two, 1, BR_EC_secp256r1) == 0);
  std::memcpy(p, g, 65);
  CHECK(kEcP256.mul(p, 64, two, 1, BR_EC_secp256r1) == 0);
  auto above_p = unhex(
      "04ffffffff00000001000000000000000000000001000000000000000000000000"
      "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
  CHECK(kEcP256.mul(above_p.data(), 65, two, 1, BR_EC_secp256r1) == 0);
  std::memcpy(p, g, 65);
  CHECK(kEcP256.mul(p, 65, two, 1, BR_EC_secp256r1) == 1);
  unsigned char twice[65];
  kEcP256.mulgen(twice, two, 1, BR_EC_secp256r1);
  CHECK(point_hex(p) == point_hex(twice));
}

TEST_CASE("P-256 muladd: equal to BearSSL's; infinity and zero scalars are errors") {
  Rng rng{3};
  for (int i = 0; i < 60; ++i) {
    auto a_k = random_scalar(rng), b_k = random_scalar(rng), x = random_scalar(rng), y = random_scalar(rng);
    unsigned char a1[65], a2[65], b[65];
    br_ec_p256_m31.mulgen(a1, a_k.data(), 32, BR_EC_secp256r1);
    br_ec_p256_m31.mulgen(b, b_k.data(), 32, BR_EC_secp256r1);
    std::memcpy(a2, a1, 65);
    const unsigned char* bp = i % 2 ? b : nullptr;  // every other time the generator
    REQUIRE(kEcP256.muladd(a1, bp, 65, x.data(), 32, y.data(), 32, BR_EC_secp256r1) == 1);
    REQUIRE(br_ec_p256_m31.muladd(a2, bp, 65, x.data(), 32, y.data(), 32, BR_EC_secp256r1) == 1);
    CHECK(point_hex(a1) == point_hex(a2));
  }
  std::size_t glen;
  const unsigned char* g = br_ec_p256_m31.generator(BR_EC_secp256r1, &glen);
  unsigned char a[65], four[65];
  const unsigned char one[1] = {1}, two[1] = {2}, zero[1] = {0}, four_k[1] = {4};
  auto n1 = unhex(kOrderHex);
  n1[31] -= 1;
  // G + (n-1)G is infinity.
  std::memcpy(a, g, 65);
  CHECK(kEcP256.muladd(a, nullptr, 65, one, 1, n1.data(), 32, BR_EC_secp256r1) == 0);
  // 2G + 2G: the sum of a point and itself.
  std::memcpy(a, g, 65);
  CHECK(kEcP256.muladd(a, nullptr, 65, two, 1, two, 1, BR_EC_secp256r1) == 1);
  kEcP256.mulgen(four, four_k, 1, BR_EC_secp256r1);
  CHECK(point_hex(a) == point_hex(four));
  std::memcpy(a, g, 65);
  CHECK(kEcP256.muladd(a, g, 65, two, 1, two, 1, BR_EC_secp256r1) == 1);
  CHECK(point_hex(a) == point_hex(four));
  std::memcpy(a, g, 65);
  CHECK(kEcP256.muladd(a, nullptr, 65, zero, 1, two, 1, BR_EC_secp256r1) == 0);
  std::memcpy(a, g, 65);
  CHECK(kEcP256.muladd(a, nullptr, 65, two, 1, zero, 1, BR_EC_secp256r1) == 0);
}

namespace {

br_ec_private_key private_key(std::vector<unsigned char>& x) {
  return {BR_EC_secp256r1, x.data(), x.size()};
}

br_ec_public_key public_key(const br_ec_private_key& sk, unsigned char buf[65]) {
  br_ec_public_key pk;
  br_ec_compute_pub(&br_ec_p256_m31, &pk, buf, &sk);
  return pk;
}

std::vector<unsigned char> hash_of(const br_hash_class* hc, const char* msg) {
  br_hash_compat_context ctx;
  hc->init(&ctx.vtable);
  hc->update(&ctx.vtable, msg, std::strlen(msg));
  std::vector<unsigned char> out((hc->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK);
  hc->out(&ctx.vtable, out.data());
  return out;
}

// The raw r || s of an ASN.1 signature.
std::string raw_hex(const unsigned char* sig, std::size_t len) {
  unsigned char raw[80];
  std::memcpy(raw, sig, len);
  std::size_t n = br_ecdsa_asn1_to_raw(raw, len);
  return hex(raw, n);
}

}  // namespace

TEST_CASE("ecdsa_sign_asn1: RFC 6979's P-256 test vectors (A.2.5)") {
  auto x = unhex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
  br_ec_private_key sk = private_key(x);
  unsigned char pub_buf[65];
  br_ec_public_key pk = public_key(sk, pub_buf);
  CHECK(hex(pk.q, pk.qlen) ==
        "0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
        "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299");
  struct Vector {
    const br_hash_class* hc;
    const char* msg;
    const char* rs;
  };
  const Vector vectors[] = {
      {&br_sha256_vtable, "sample",
       "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
       "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"},
      {&br_sha256_vtable, "test",
       "f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367"
       "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083"},
      {&br_sha1_vtable, "sample",  // a hash shorter than the order
       "61340c88c3aaebeb4f6d667f672ca9759a6ccaa9fa8811313039ee4a35471d32"
       "6d7f147dac089441bb2e2fe8f7a3fa264b9c475098fdcf6e00d7c996e1b8b7eb"},
      {&br_sha512_vtable, "sample",  // and one longer
       "8496a60b5e9b47c825488827e0495b0e3fa109ec4568fd3f8d1097678eb97f00"
       "2362ab1adbe2b8adf9cb9edab740ea6049c028114f2460f96554f61fae3302fe"},
  };
  for (const auto& v : vectors) {
    auto h = hash_of(v.hc, v.msg);
    unsigned char sig[80];
    std::size_t len = ecdsa_sign_asn1(&kEcFast, v.hc, h.data(), &sk, sig);
    REQUIRE(len > 0);
    CHECK(raw_hex(sig, len) == v.rs);
    CHECK(br_ecdsa_i31_vrfy_asn1(&br_ec_p256_m31, h.data(), h.size(), &pk, sig, len) == 1);
  }
}

TEST_CASE("ecdsa_sign_asn1: BearSSL's signature for random keys and hashes, which BearSSL verifies") {
  Rng rng{4};
  for (int i = 0; i < 40; ++i) {
    auto x = random_scalar(rng);
    br_ec_private_key sk = private_key(x);
    unsigned char pub_buf[65];
    br_ec_public_key pk = public_key(sk, pub_buf);
    unsigned char h[32];
    rng.fill(h, 32);
    if (i == 0) std::memset(h, 0xff, 32);  // a hash above n
    unsigned char ours[80], theirs[80];
    std::size_t len = ecdsa_sign_asn1(&kEcFast, &br_sha256_vtable, h, &sk, ours);
    std::size_t their_len = br_ecdsa_i31_sign_asn1(&br_ec_p256_m31, &br_sha256_vtable, h, &sk, theirs);
    REQUIRE(len > 0);
    CHECK(hex(ours, len) == hex(theirs, their_len));
    CHECK(br_ecdsa_i31_vrfy_asn1(&br_ec_p256_m31, h, 32, &pk, ours, len) == 1);
    CHECK(br_ecdsa_i31_vrfy_asn1(&kEcFast, h, 32, &pk, ours, len) == 1);
    h[5] ^= 1;
    CHECK(br_ecdsa_i31_vrfy_asn1(&kEcFast, h, 32, &pk, ours, len) == 0);
  }
}

TEST_CASE("ecdsa_sign_asn1: bad keys refused; other curves through BearSSL") {
  unsigned char h[32] = {1, 2, 3};
  unsigned char sig[160];
  auto zero = unhex("0000000000000000000000000000000000000000000000000000000000000000");
  auto n = unhex(kOrderHex);
  br_ec_private_key sk = private_key(zero);
  CHECK(ecdsa_sign_asn1(&kEcFast, &br_sha256_vtable, h, &sk, sig) == 0);
  sk = private_key(n);
  CHECK(ecdsa_sign_asn1(&kEcFast, &br_sha256_vtable, h, &sk, sig) == 0);
  auto one = unhex("01");
  sk = private_key(one);
  CHECK(ecdsa_sign_asn1(&br_ec_c25519_m31, &br_sha256_vtable, h, &sk, sig) == 0);  // no P-256 there
  CHECK(ecdsa_sign_asn1(&kEcFast, &br_sha256_vtable, h, &sk, sig) > 0);

  Rng rng{5};
  std::vector<unsigned char> x(48);
  rng.fill(x.data(), 48);
  x[0] &= 0x7f;
  br_ec_private_key sk384 = {BR_EC_secp384r1, x.data(), x.size()};
  unsigned char pub_buf[97];
  br_ec_public_key pk;
  br_ec_compute_pub(&br_ec_all_m31, &pk, pub_buf, &sk384);
  unsigned char h48[48] = {1, 2, 3};
  std::size_t len = ecdsa_sign_asn1(&kEcFast, &br_sha384_vtable, h48, &sk384, sig);
  REQUIRE(len > 0);
  CHECK(br_ecdsa_i31_vrfy_asn1(&br_ec_all_m31, h48, 48, &pk, sig, len) == 1);
}

TEST_CASE("kEcFast: P-256 through p256, Curve25519 through x25519, the others through BearSSL") {
  CHECK(kEcFast.supported_curves == br_ec_all_m31.supported_curves);
  auto k = unhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  unsigned char ours[133], theirs[133];
  for (int curve : {BR_EC_secp256r1, BR_EC_secp384r1, BR_EC_secp521r1, BR_EC_curve25519}) {
    std::size_t n = kEcFast.mulgen(ours, k.data(), 32, curve);
    REQUIRE(n > 0);
    CHECK(n == br_ec_all_m31.mulgen(theirs, k.data(), 32, curve));
    CHECK(hex(ours, n) == hex(theirs, n));
    CHECK(kEcFast.mul(ours, n, k.data(), 32, curve) == 1);
    CHECK(br_ec_all_m31.mul(theirs, n, k.data(), 32, curve) == 1);
    CHECK(hex(ours, n) == hex(theirs, n));
  }
}

TEST_CASE("x25519_base: X25519(k, 9) for random and edge scalars, as the ladder computes it") {
  Rng rng{6};
  const uint8_t nine[32] = {9};
  std::vector<std::vector<unsigned char>> scalars;
  scalars.push_back(std::vector<unsigned char>(32, 0));
  scalars.push_back(std::vector<unsigned char>(32, 0xff));
  for (int bitpos = 0; bitpos < 256; ++bitpos) {
    std::vector<unsigned char> k(32, 0);
    k[bitpos / 8] = static_cast<unsigned char>(1 << (bitpos % 8));
    scalars.push_back(k);
  }
  for (int i = 0; i < 200; ++i) {
    std::vector<unsigned char> k(32);
    rng.fill(k.data(), 32);
    scalars.push_back(k);
  }
  for (const auto& k : scalars) {
    uint8_t ours[32], ladder[32];
    x25519_base(ours, k.data());
    x25519(ladder, k.data(), nine);
    CHECK_MESSAGE(hex(ours, 32) == hex(ladder, 32), hex(k.data(), 32));
  }
  // Through kEcFast: a short scalar is zero-extended; a long one refused.
  const unsigned char short_k[3] = {0x48, 0x01, 0x02};
  unsigned char padded[32] = {0x48, 0x01, 0x02}, out[32], want[32];
  CHECK(kEcFast.mulgen(out, short_k, 3, BR_EC_curve25519) == 32);
  x25519(want, padded, nine);
  CHECK(hex(out, 32) == hex(want, 32));
  unsigned char long_k[33] = {};
  CHECK(kEcFast.mulgen(out, long_k, 33, BR_EC_curve25519) == 0);
}
