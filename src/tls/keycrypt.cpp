#include "tls/keycrypt.hpp"

#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "tls/der.hpp"

namespace qbox::tls {

namespace {

// OID contents (without tag and length).
constexpr std::string_view kPbes2("\x2a\x86\x48\x86\xf7\x0d\x01\x05\x0d", 9);
constexpr std::string_view kPbkdf2("\x2a\x86\x48\x86\xf7\x0d\x01\x05\x0c", 9);
constexpr std::string_view kHmacPrefix("\x2a\x86\x48\x86\xf7\x0d\x02", 7);  // then 7 (SHA1) .. 11
constexpr std::string_view kAesCbcPrefix("\x60\x86\x48\x01\x65\x03\x04\x01", 8);  // then 2, 22, 42
constexpr std::string_view kDesEde3Cbc("\x2a\x86\x48\x86\xf7\x0d\x03\x07", 8);

struct Cipher {
  bool aes;             // else DES or 3DES
  std::size_t key_len;  // bytes
  std::size_t block() const { return aes ? 16 : 8; }
};

// Wipes what it holds when it goes away: keys and plain key material.
struct Secret {
  unsigned char b[64];
  ~Secret() { explicit_bzero(b, sizeof b); }
};

void wipe(Str& s) {
  if (!s.empty()) explicit_bzero(s.data(), s.size());
  s.clear();
}

std::size_t digest_size(const br_hash_class* h) {
  return (h->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK;
}

// Decrypts `data` in place, then checks and drops the PKCS#7 padding and
// checks that what is left is one DER SEQUENCE: a wrong key leaves noise
// that fails one or the other.
Decrypted cbc_decrypt(const Cipher& c, const unsigned char* key, const unsigned char* iv_in, Str& data) {
  std::size_t bs = c.block();
  if (data.empty() || data.size() % bs != 0) return Decrypted::kMalformed;
  unsigned char iv[16];
  std::memcpy(iv, iv_in, bs);
  if (c.aes) {
    br_aes_ct_cbcdec_keys k;
    br_aes_ct_cbcdec_init(&k, key, c.key_len);
    br_aes_ct_cbcdec_run(&k, iv, data.data(), data.size());
    explicit_bzero(&k, sizeof k);
  } else {
    br_des_ct_cbcdec_keys k;
    br_des_ct_cbcdec_init(&k, key, c.key_len);
    br_des_ct_cbcdec_run(&k, iv, data.data(), data.size());
    explicit_bzero(&k, sizeof k);
  }
  auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  unsigned pad = p[n - 1];
  bool ok = pad >= 1 && pad <= bs;
  for (std::size_t i = 0; ok && i < pad; ++i) ok = p[n - 1 - i] == pad;
  if (!ok) return Decrypted::kWrongPassphrase;
  data.truncate(n - pad);
  Der all = Der::of(data.view()), seq;
  if (!all.expect(0x30, seq) || all.n != 0) return Decrypted::kWrongPassphrase;
  return Decrypted::kOk;
}

bool aes_by_oid(Der oid, Cipher& c) {
  if (oid.n != kAesCbcPrefix.size() + 1 || std::memcmp(oid.p, kAesCbcPrefix.data(), kAesCbcPrefix.size()) != 0)
    return false;
  switch (oid.p[kAesCbcPrefix.size()]) {
    case 2: c = {true, 16}; return true;
    case 22: c = {true, 24}; return true;
    case 42: c = {true, 32}; return true;
  }
  return false;
}

const br_hash_class* hmac_by_oid(Der oid) {
  if (oid.n != kHmacPrefix.size() + 1 || std::memcmp(oid.p, kHmacPrefix.data(), kHmacPrefix.size()) != 0)
    return nullptr;
  switch (oid.p[kHmacPrefix.size()]) {
    case 7: return &br_sha1_vtable;
    case 8: return &br_sha224_vtable;
    case 9: return &br_sha256_vtable;
    case 10: return &br_sha384_vtable;
    case 11: return &br_sha512_vtable;
  }
  return nullptr;
}

int unhex(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

void pbkdf2(const br_hash_class* hash, std::string_view pass, std::string_view salt, uint32_t iterations,
            unsigned char* out, std::size_t len) {
  br_hmac_key_context kc;
  br_hmac_key_init(&kc, hash, pass.data(), pass.size());
  std::size_t hlen = digest_size(hash);
  Secret u, t;
  br_hmac_context hc;
  for (uint32_t block = 1; len > 0; ++block) {
    unsigned char be[4] = {static_cast<unsigned char>(block >> 24), static_cast<unsigned char>(block >> 16),
                           static_cast<unsigned char>(block >> 8), static_cast<unsigned char>(block)};
    br_hmac_init(&hc, &kc, 0);
    br_hmac_update(&hc, salt.data(), salt.size());
    br_hmac_update(&hc, be, 4);
    br_hmac_out(&hc, u.b);
    std::memcpy(t.b, u.b, hlen);
    for (uint32_t i = 1; i < iterations; ++i) {
      br_hmac_init(&hc, &kc, 0);
      br_hmac_update(&hc, u.b, hlen);
      br_hmac_out(&hc, u.b);
      for (std::size_t j = 0; j < hlen; ++j) t.b[j] ^= u.b[j];
    }
    std::size_t k = len < hlen ? len : hlen;
    std::memcpy(out, t.b, k);
    out += k;
    len -= k;
  }
  explicit_bzero(&hc, sizeof hc);
  explicit_bzero(&kc, sizeof kc);
}

void bytes_to_key_md5(std::string_view pass, const unsigned char salt[8], unsigned char* out, std::size_t len) {
  Secret d;
  br_md5_context mc;
  for (bool first = true; len > 0; first = false) {
    br_md5_init(&mc);
    if (!first) br_md5_update(&mc, d.b, br_md5_SIZE);
    br_md5_update(&mc, pass.data(), pass.size());
    br_md5_update(&mc, salt, 8);
    br_md5_out(&mc, d.b);
    std::size_t k = len < br_md5_SIZE ? len : br_md5_SIZE;
    std::memcpy(out, d.b, k);
    out += k;
    len -= k;
  }
  explicit_bzero(&mc, sizeof mc);
}

Decrypted decrypt_pkcs8(std::string_view der, std::string_view pass, Str& out) {
  wipe(out);
  // EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }
  Der in = Der::of(der), info, alg, data, oid, params;
  if (!in.expect(0x30, info) || in.n != 0 || !info.expect(0x30, alg) || !info.expect(0x04, data) ||
      info.n != 0 || !alg.expect(0x06, oid))
    return Decrypted::kMalformed;
  if (!oid.equals(kPbes2)) return Decrypted::kUnsupported;
  // PBES2-params ::= SEQUENCE { keyDerivationFunc, encryptionScheme }
  Der kdf, enc, kdf_oid, kp, salt, enc_oid, iv;
  if (!alg.expect(0x30, params) || !params.expect(0x30, kdf) || !params.expect(0x30, enc) ||
      !kdf.expect(0x06, kdf_oid))
    return Decrypted::kMalformed;
  if (!kdf_oid.equals(kPbkdf2)) return Decrypted::kUnsupported;
  // PBKDF2-params ::= SEQUENCE { salt, iterationCount, keyLength OPTIONAL,
  //                              prf DEFAULT hmacWithSHA1 }
  unsigned tag;
  uint32_t iterations, key_length = 0;
  if (!kdf.expect(0x30, kp) || !kp.next(tag, salt)) return Decrypted::kMalformed;
  if (tag != 0x04) return Decrypted::kUnsupported;  // the "otherSource" choice
  if (!kp.uint32(iterations) || iterations == 0) return Decrypted::kMalformed;
  const br_hash_class* prf = &br_sha1_vtable;
  if (kp.n > 0 && kp.p[0] == 0x02 && !kp.uint32(key_length)) return Decrypted::kMalformed;
  if (kp.n > 0) {
    Der prf_alg, prf_oid;
    if (!kp.expect(0x30, prf_alg) || !prf_alg.expect(0x06, prf_oid) || kp.n != 0) return Decrypted::kMalformed;
    prf = hmac_by_oid(prf_oid);
    if (!prf) return Decrypted::kUnsupported;
  }
  // The cipher and its IV.
  Cipher c;
  if (!enc.expect(0x06, enc_oid)) return Decrypted::kMalformed;
  if (enc_oid.equals(kDesEde3Cbc)) c = {false, 24};
  else if (!aes_by_oid(enc_oid, c)) return Decrypted::kUnsupported;
  if (!enc.expect(0x04, iv) || iv.n != c.block()) return Decrypted::kMalformed;
  if (key_length && key_length != c.key_len) return Decrypted::kMalformed;

  Secret key;
  pbkdf2(prf, pass, salt.view(), iterations, key.b, c.key_len);
  out.reserve(data.n);  // one block: no stray copies of the plain key
  out.append(data.view());
  Decrypted r = cbc_decrypt(c, key.b, iv.p, out);
  if (r != Decrypted::kOk) wipe(out);
  return r;
}

Decrypted decrypt_legacy(std::string_view dek_info, std::string_view der, std::string_view pass, Str& out) {
  wipe(out);
  std::size_t comma = dek_info.find(',');
  if (comma == std::string_view::npos) return Decrypted::kMalformed;
  std::string_view name = trim(dek_info.substr(0, comma)), hex = trim(dek_info.substr(comma + 1));
  Cipher c;
  if (name == "AES-128-CBC") c = {true, 16};
  else if (name == "AES-192-CBC") c = {true, 24};
  else if (name == "AES-256-CBC") c = {true, 32};
  else if (name == "DES-EDE3-CBC") c = {false, 24};
  else if (name == "DES-CBC") c = {false, 8};
  else return Decrypted::kUnsupported;
  unsigned char iv[16];
  if (hex.size() != 2 * c.block()) return Decrypted::kMalformed;
  for (std::size_t i = 0; i < c.block(); ++i) {
    int hi = unhex(hex[2 * i]), lo = unhex(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Decrypted::kMalformed;
    iv[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  Secret key;
  bytes_to_key_md5(pass, iv, key.b, c.key_len);
  out.reserve(der.size());
  out.append(der);
  Decrypted r = cbc_decrypt(c, key.b, iv, out);
  if (r != Decrypted::kOk) wipe(out);
  return r;
}

void strip_pem_headers(std::string_view text, Str& out, std::vector<Str>& dek_infos) {
  out.clear();
  out.reserve(text.size());  // no partial copies of a key left behind by growing
  dek_infos.clear();
  enum { kOutside, kFirst, kHeaders, kBody } state = kOutside;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = nl == std::string_view::npos ? text : text.substr(0, nl + 1);
    text.remove_prefix(line.size());
    std::string_view bare = trim(line.substr(0, line.size() - (line.back() == '\n')));
    if (line.substr(0, 11) == "-----BEGIN ") {
      dek_infos.emplace_back();
      state = kFirst;
    } else if (line.substr(0, 9) == "-----END ") {
      state = kOutside;
    } else if (state == kFirst || state == kHeaders) {
      // A header is "Name: value" (a continuation starts with a blank);
      // a blank line ends them.
      bool continued = state == kHeaders && (line[0] == ' ' || line[0] == '\t');
      if (bare.find(':') != std::string_view::npos || continued) {
        if (bare.substr(0, 9) == "DEK-Info:") dek_infos.back() = trim(bare.substr(9));
        state = kHeaders;
        continue;
      }
      bool blank = bare.empty();
      state = kBody;
      if (blank) continue;
    }
    out.append(line);
  }
}

int read_passphrase(int fd, Str& out, std::size_t max) {
  wipe(out);
  out.reserve(max + 256);  // never moved: no stray copies
  char buf[256];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      explicit_bzero(buf, sizeof buf);
      return -1;
    }
    if (r == 0) break;
    auto n = static_cast<std::size_t>(r);
    const char* z = static_cast<const char*>(std::memchr(buf, '\0', n));
    out.append(buf, z ? static_cast<std::size_t>(z - buf) : n);
    if (out.size() > max) {
      explicit_bzero(buf, sizeof buf);
      wipe(out);
      errno = EFBIG;
      return -1;
    }
    if (z) break;
  }
  explicit_bzero(buf, sizeof buf);
  return 0;
}

}  // namespace qbox::tls
