#include "tls/creds.hpp"

#include <cerrno>
#include <cstring>

#include "base/base64.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "tls/der.hpp"
#include "tls/ec.hpp"
#include "tls/keycrypt.hpp"

namespace qbox::tls {

namespace {

constexpr std::size_t kMaxPemFile = 16 << 20;  // a CA bundle is ~200 KiB
constexpr unsigned kMaxRsaBits = 4096;          // BearSSL's limit
constexpr std::string_view kUnsupportedKey =
    ": unsupported key type (RSA keys, and EC keys on P-256, P-384 or P-521 work)";

void wipe(Str& s) {
  if (!s.empty()) explicit_bzero(s.data(), s.size());
  s.clear();
}

// The public point that an EC private key's DER carries, if it does:
// SEC1's ECPrivateKey has it as its optional [1] publicKey, also inside a
// PKCS#8 PrivateKeyInfo; empty when absent or not an EC key.
std::string_view ec_public_of(std::string_view der, bool pkcs8 = true) {
  Der top = Der::of(der), seq;
  uint32_t version;
  if (!top.expect(0x30, seq) || !seq.uint32(version)) return {};
  Der part;
  if (version == 0 && pkcs8) {  // AlgorithmIdentifier, then the SEC1 key
    Der inner;
    if (!seq.expect(0x30, part) || !seq.expect(0x04, inner)) return {};
    return ec_public_of(inner.view(), false);
  }
  if (version != 1 || !seq.expect(0x04, part)) return {};
  unsigned tag;
  while (seq.next(tag, part)) {
    Der bits;
    if (tag != 0xa1) continue;
    if (!part.expect(0x03, bits) || bits.n < 2 || bits.p[0] != 0) return {};
    return {reinterpret_cast<const char*>(bits.p + 1), bits.n - 1};
  }
  return {};
}

// PEM text that may hold an encrypted key: the objects, and the DEK-Info
// header of each (empty for none).
bool pem_decode_keys(std::string_view text, std::vector<PemObject>& out, std::vector<Str>& dek_infos) {
  Str bare;
  strip_pem_headers(text, bare, dek_infos);
  bool ok = pem_decode(bare, out);
  if (!bare.empty()) explicit_bzero(bare.data(), bare.size());
  return ok;
}

constexpr std::string_view kMalformedPem = ": malformed PEM data";

const unsigned char* ucp(const Str& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

bool is_cert(std::string_view name) {
  return name == "CERTIFICATE" || name == "X509 CERTIFICATE" || name == "TRUSTED CERTIFICATE";
}
bool is_key(std::string_view name) {
  return name == "PRIVATE KEY" || name == "RSA PRIVATE KEY" || name == "EC PRIVATE KEY";
}

// Strips leading zero bytes of a big-endian number.
std::string_view trim_be(const unsigned char* p, std::size_t n) {
  while (n > 0 && *p == 0) { ++p; --n; }
  return {reinterpret_cast<const char*>(p), n};
}

bool read_pem_file(const char* file, Str& text, Str& err) {
  if (read_file(file, text, kMaxPemFile) < 0) {
    err = "unable to read ";
    err.append(file).append(": ").append(error_str(errno));
    return false;
  }
  return true;
}

void say_file(Str& err, std::string_view what, std::string_view file) {
  err = what;
  err.append(file);
}

}  // namespace

void collect_dn(void* str, const void* p, std::size_t n) {
  Str* s = static_cast<Str*>(str);
  if (s->size() + n > kMaxDnBytes) {
    s->resize(kMaxDnBytes);
    return;
  }
  s->append(static_cast<const char*>(p), n);
}

bool pem_decode(std::string_view text, std::vector<PemObject>& out) {
  // Line by line (LF or CR LF): "-----BEGIN NAME-----", base64 lines (any
  // blanks in them ignored), "-----END NAME-----". Not BearSSL's PEM
  // decoder, which takes some 1000 instructions a byte: qmail-smtpd reads
  // its certificate and key for every STARTTLS.
  // All the room at once: growing would leave copies of a key's base64
  // behind in freed memory, unwiped (and cost malloc a map and unmap).
  Str b64;
  b64.reserve(text.size());
  bool inside = false, ok = true;
  auto marker = [](std::string_view line, std::string_view start, std::string_view& name) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (line.size() < start.size() + 5 || line.substr(0, start.size()) != start ||
        line.substr(line.size() - 5) != "-----")
      return false;
    name = line.substr(start.size(), line.size() - start.size() - 5);
    return true;
  };
  while (ok && !text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view name;
    if (!inside) {
      if (marker(line, "-----BEGIN ", name)) {
        out.push_back({Str(name), Str()});
        b64.clear();
        inside = true;
      }
    } else if (marker(line, "-----END ", name)) {
      ok = base64_decode(b64.view(), out.back().der);
      inside = false;
    } else {
      for (char c : line)
        if (c != ' ' && c != '\t' && c != '\r') b64.push(c);
    }
  }
  if (!b64.empty()) explicit_bzero(b64.data(), b64.size());
  if (!ok || inside) {
    wipe(out.back().der);
    out.pop_back();
    return false;
  }
  return true;
}

// ---- Credentials ------------------------------------------------------------

Credentials::~Credentials() { wipe(key_bytes_); }

Credentials& Credentials::operator=(Credentials&& o) noexcept {
  if (this != &o) {
    wipe(key_bytes_);
    certs_ = static_cast<std::vector<Str>&&>(o.certs_);
    chain_ = static_cast<std::vector<br_x509_certificate>&&>(o.chain_);
    key_bytes_ = static_cast<Str&&>(o.key_bytes_);
    rsa_ = o.rsa_;
    ec_ = o.ec_;
    key_type_ = o.key_type_;
    issuer_key_type_ = o.issuer_key_type_;
    o.key_type_ = o.issuer_key_type_ = 0;
  }
  return *this;
}

bool Credentials::take_key(std::string_view der, std::string_view key_name, Str& err) {
  br_skey_decoder_context dc;
  br_skey_decoder_init(&dc);
  br_skey_decoder_push(&dc, der.data(), der.size());
  int e = br_skey_decoder_last_error(&dc);
  int type = br_skey_decoder_key_type(&dc);
  bool ok = false;
  if (e == BR_ERR_X509_UNSUPPORTED) {
    err = "unable to use the private key in ";
    err.append(key_name).append(kUnsupportedKey);
  } else if (e != 0 || type == 0) {
    err = "unable to parse the private key in ";
    err.append(key_name).append(": ").append(error_text(e));
  } else if (type == BR_KEYTYPE_RSA) {
    const br_rsa_private_key* k = br_skey_decoder_get_rsa(&dc);
    if (k->n_bitlen > kMaxRsaBits) {
      err = "unable to use the private key in ";
      err.append(key_name).append(": RSA keys may have at most 4096 bits");
    } else {
      wipe(key_bytes_);
      const unsigned char* parts[5] = {k->p, k->q, k->dp, k->dq, k->iq};
      const std::size_t lens[5] = {k->plen, k->qlen, k->dplen, k->dqlen, k->iqlen};
      for (int i = 0; i < 5; ++i)
        key_bytes_.append(reinterpret_cast<const char*>(parts[i]), lens[i]);
      unsigned char* b = reinterpret_cast<unsigned char*>(key_bytes_.data());
      rsa_ = *k;
      rsa_.p = b; b += k->plen;
      rsa_.q = b; b += k->qlen;
      rsa_.dp = b; b += k->dplen;
      rsa_.dq = b; b += k->dqlen;
      rsa_.iq = b;
      key_type_ = BR_KEYTYPE_RSA;
      ok = true;
    }
  } else {
    const br_ec_private_key* k = br_skey_decoder_get_ec(&dc);
    if (k->curve != BR_EC_secp256r1 && k->curve != BR_EC_secp384r1 && k->curve != BR_EC_secp521r1) {
      err = "unable to use the private key in ";
      err.append(key_name).append(kUnsupportedKey);
    } else {
      wipe(key_bytes_);
      key_bytes_.append(reinterpret_cast<const char*>(k->x), k->xlen);
      ec_ = *k;
      ec_.x = reinterpret_cast<unsigned char*>(key_bytes_.data());
      key_type_ = BR_KEYTYPE_EC;
      ok = true;
    }
  }
  explicit_bzero(&dc, sizeof dc);
  return ok;
}

bool Credentials::load_pem(std::string_view cert_pem, std::string_view cert_name,
                           std::string_view key_pem, std::string_view key_name, Str& err,
                           std::optional<std::string_view> passphrase) {
  certs_.clear();
  chain_.clear();
  wipe(key_bytes_);
  key_type_ = issuer_key_type_ = 0;

  // The certificates.
  std::vector<PemObject> objs;
  std::vector<Str> deks;
  if (!pem_decode_keys(cert_pem, objs, deks)) {
    say_file(err, "unable to parse ", cert_name);
    err.append(kMalformedPem);
    for (auto& o : objs) wipe(o.der);
    return false;
  }
  for (auto& o : objs) {
    if (is_cert(o.name)) certs_.push_back(static_cast<Str&&>(o.der));
  }
  // Key material found in the cert file stays in `objs` until wiped below.
  auto wipe_objs = [](std::vector<PemObject>& v) { for (auto& o : v) wipe(o.der); };
  if (certs_.empty()) {
    wipe_objs(objs);
    say_file(err, "no certificate found in ", cert_name);
    return false;
  }

  br_x509_decoder_context dc;
  br_x509_pkey cert_key{};
  Str cert_key_bytes;
  for (std::size_t i = 0; i < certs_.size(); ++i) {
    br_x509_decoder_init(&dc, nullptr, nullptr);
    br_x509_decoder_push(&dc, certs_[i].data(), certs_[i].size());
    int e = br_x509_decoder_last_error(&dc);
    const br_x509_pkey* pk = br_x509_decoder_get_pkey(&dc);
    if (e != 0 || pk == nullptr) {
      wipe_objs(objs);
      err = "unable to parse certificate ";
      err.append_num(i + 1).append(" in ").append(cert_name).append(": ").append(error_text(e ? e : BR_ERR_X509_UNSUPPORTED));
      certs_.clear();
      return false;
    }
    if (i == 0) {
      // Keep the end-entity key: dc is reused for the rest of the chain.
      cert_key = *pk;
      issuer_key_type_ = br_x509_decoder_get_signer_key_type(&dc);
      if (pk->key_type == BR_KEYTYPE_RSA) {
        cert_key_bytes.append(reinterpret_cast<const char*>(pk->key.rsa.n), pk->key.rsa.nlen);
        cert_key_bytes.append(reinterpret_cast<const char*>(pk->key.rsa.e), pk->key.rsa.elen);
      } else {
        cert_key_bytes.append(reinterpret_cast<const char*>(pk->key.ec.q), pk->key.ec.qlen);
      }
    }
    chain_.push_back({const_cast<unsigned char*>(ucp(certs_[i])), certs_[i].size()});
  }

  // The key: from its own file, or from the certificate file.
  std::vector<PemObject> kobjs;
  std::vector<Str> kdeks;
  std::vector<PemObject>* keysrc = &objs;
  std::vector<Str>* keydeks = &deks;
  if (key_name != cert_name || key_pem.data() != cert_pem.data()) {
    if (!pem_decode_keys(key_pem, kobjs, kdeks)) {
      wipe_objs(objs);
      wipe_objs(kobjs);
      certs_.clear();
      chain_.clear();
      say_file(err, "unable to parse ", key_name);
      err.append(kMalformedPem);
      return false;
    }
    keysrc = &kobjs;
    keydeks = &kdeks;
  }
  // Plain, PKCS#8-encrypted ("ENCRYPTED PRIVATE KEY") or encrypted the
  // legacy way (a key with a DEK-Info header).
  const PemObject* key = nullptr;
  std::string_view dek;
  bool pkcs8_encrypted = false, unsupported = false, twice = false;
  for (std::size_t i = 0; i < keysrc->size(); ++i) {
    const PemObject& o = (*keysrc)[i];
    bool enc8 = o.name == "ENCRYPTED PRIVATE KEY";
    if (is_key(o.name) || enc8) {
      if (key) twice = true;
      key = &o;
      pkcs8_encrypted = enc8;
      dek = i < keydeks->size() ? (*keydeks)[i].view() : std::string_view();
    } else if (o.name == "DSA PRIVATE KEY") {
      unsupported = true;
    }
  }
  bool ok = false;
  Str key_pub;  // the public key the key file carries, if it does
  if (twice) {
    say_file(err, "more than one private key in ", key_name);
  } else if (key && (pkcs8_encrypted || !dek.empty())) {
    if (!passphrase) {
      err = "the private key in ";
      err.append(key_name).append(" is encrypted, and no passphrase was given");
    } else {
      Str plain;
      Decrypted r = pkcs8_encrypted ? decrypt_pkcs8(key->der, *passphrase, plain)
                                    : decrypt_legacy(dek, key->der, *passphrase, plain);
      if (r == Decrypted::kOk) {
        ok = take_key(plain, key_name, err);
        key_pub = ec_public_of(plain.view());
      } else {
        say_file(err, "unable to decrypt the private key in ", key_name);
        err.append(r == Decrypted::kWrongPassphrase ? ": wrong passphrase"
                   : r == Decrypted::kUnsupported
                       ? ": unsupported encryption (PBES2 with PBKDF2, or a DEK-Info header, and AES-CBC or DES-EDE3-CBC work)"
                       : ": malformed encrypted key");
      }
      wipe(plain);
    }
  } else if (key) {
    ok = take_key(key->der, key_name, err);
    key_pub = ec_public_of(key->der.view());
  } else if (unsupported) {
    say_file(err, "unable to use the private key in ", key_name);
    err.append(kUnsupportedKey);
  } else {
    say_file(err, "no private key found in ", key_name);
  }
  wipe_objs(objs);
  wipe_objs(kobjs);

  // The key must be the certificate's.
  if (ok) {
    bool match = false;
    if (key_type_ == BR_KEYTYPE_RSA && cert_key.key_type == BR_KEYTYPE_RSA) {
      br_rsa_compute_modulus modulus = br_rsa_compute_modulus_get_default();
      Str n;
      n.resize((rsa_.n_bitlen + 7) / 8);
      std::size_t nlen = modulus(n.data(), &rsa_);
      std::string_view cn = trim_be(ucp(cert_key_bytes), cert_key.key.rsa.nlen);
      match = nlen != 0 && trim_be(ucp(n), nlen) == cn;
      uint32_t e = br_rsa_compute_pubexp_get_default()(&rsa_);
      std::string_view ce = trim_be(ucp(cert_key_bytes) + cert_key.key.rsa.nlen, cert_key.key.rsa.elen);
      unsigned char eb[4] = {static_cast<unsigned char>(e >> 24), static_cast<unsigned char>(e >> 16),
                             static_cast<unsigned char>(e >> 8), static_cast<unsigned char>(e)};
      if (e != 0 && trim_be(eb, 4) != ce) match = false;
    } else if (key_type_ == BR_KEYTYPE_EC && cert_key.key_type == BR_KEYTYPE_EC &&
               cert_key.key.ec.curve == ec_.curve) {
      // The public key in the key file is compared, as OpenSSL does (for
      // Postfix, stunnel); only without one is it computed from the
      // private key, a multiplication on the curve that costs as much as
      // the signature of a handshake (qmail-smtpd loads the key for every
      // STARTTLS).
      unsigned char q[BR_EC_KBUF_PUB_MAX_SIZE];
      std::string_view have = key_pub.view();
      if (have.empty()) {
        br_ec_public_key pub;
        std::size_t qlen = br_ec_compute_pub(&kEcFast, &pub, q, &ec_);
        have = {reinterpret_cast<const char*>(q), qlen};
      }
      match = !have.empty() && have == cert_key_bytes.view();
    }
    if (!match) {
      err = "the private key in ";
      err.append(key_name).append(" does not match the certificate in ").append(cert_name);
      ok = false;
    }
  }
  if (!ok) {
    certs_.clear();
    chain_.clear();
    wipe(key_bytes_);
    key_type_ = issuer_key_type_ = 0;
  }
  return ok;
}

bool Credentials::load(const char* cert_file, const char* key_file, Str& err,
                       std::optional<std::string_view> passphrase) {
  Str ctext, ktext;
  if (!read_pem_file(cert_file, ctext, err)) return false;
  bool ok;
  if (key_file == nullptr || *key_file == 0) {
    ok = load_pem(ctext, cert_file, ctext, cert_file, err, passphrase);
  } else if (!read_pem_file(key_file, ktext, err)) {
    ok = false;
  } else {
    ok = load_pem(ctext, cert_file, ktext, key_file, err, passphrase);
  }
  wipe(ctext);
  wipe(ktext);
  return ok;
}

// ---- TrustAnchors -----------------------------------------------------------

bool TrustAnchors::add_pem(std::string_view pem, std::string_view name, Str& err) {
  std::vector<PemObject> objs;
  if (!pem_decode(pem, objs)) {
    say_file(err, "unable to parse ", name);
    err.append(": malformed PEM data");
    return false;
  }
  std::size_t added = 0;
  br_x509_decoder_context dc;
  for (const auto& o : objs) {
    if (!is_cert(o.name)) continue;
    Str blob;  // the DN, then the key
    br_x509_decoder_init(&dc, collect_dn, &blob);
    br_x509_decoder_push(&dc, o.der.data(), o.der.size());
    const br_x509_pkey* pk = br_x509_decoder_get_pkey(&dc);
    if (pk == nullptr || blob.size() >= kMaxDnBytes) continue;  // unusable: skip it
    std::size_t dnlen = blob.size();
    br_x509_trust_anchor ta{};
    ta.flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
    ta.pkey.key_type = pk->key_type;
    if (pk->key_type == BR_KEYTYPE_RSA) {
      blob.append(reinterpret_cast<const char*>(pk->key.rsa.n), pk->key.rsa.nlen);
      blob.append(reinterpret_cast<const char*>(pk->key.rsa.e), pk->key.rsa.elen);
      unsigned char* b = reinterpret_cast<unsigned char*>(blob.data());
      ta.pkey.key.rsa.n = b + dnlen;
      ta.pkey.key.rsa.nlen = pk->key.rsa.nlen;
      ta.pkey.key.rsa.e = b + dnlen + pk->key.rsa.nlen;
      ta.pkey.key.rsa.elen = pk->key.rsa.elen;
    } else {
      blob.append(reinterpret_cast<const char*>(pk->key.ec.q), pk->key.ec.qlen);
      ta.pkey.key.ec.curve = pk->key.ec.curve;
      ta.pkey.key.ec.q = reinterpret_cast<unsigned char*>(blob.data()) + dnlen;
      ta.pkey.key.ec.qlen = pk->key.ec.qlen;
    }
    ta.dn.data = reinterpret_cast<unsigned char*>(blob.data());
    ta.dn.len = dnlen;
    // The pointers stay valid: moving a Str keeps its heap block.
    blobs_.push_back(static_cast<Str&&>(blob));
    tas_.push_back(ta);
    ++added;
  }
  if (added == 0) {
    say_file(err, "no usable CA certificate found in ", name);
    return false;
  }
  return true;
}

bool TrustAnchors::load(const char* file, Str& err) {
  Str text;
  if (!read_pem_file(file, text, err)) return false;
  return add_pem(text, file, err);
}

// ---- distinguished names ----------------------------------------------------

namespace {

struct OidName {
  const char* der;  // OID content bytes
  unsigned char len;
  const char* name;
};
// The short names OpenSSL prints.
constexpr OidName kOidNames[] = {
    {"\x55\x04\x03", 3, "CN"},
    {"\x55\x04\x04", 3, "SN"},
    {"\x55\x04\x05", 3, "serialNumber"},
    {"\x55\x04\x06", 3, "C"},
    {"\x55\x04\x07", 3, "L"},
    {"\x55\x04\x08", 3, "ST"},
    {"\x55\x04\x09", 3, "street"},
    {"\x55\x04\x0a", 3, "O"},
    {"\x55\x04\x0b", 3, "OU"},
    {"\x55\x04\x0c", 3, "title"},
    {"\x55\x04\x0f", 3, "businessCategory"},
    {"\x55\x04\x11", 3, "postalCode"},
    {"\x55\x04\x2a", 3, "GN"},
    {"\x55\x04\x2b", 3, "initials"},
    {"\x55\x04\x2c", 3, "generationQualifier"},
    {"\x55\x04\x2e", 3, "dnQualifier"},
    {"\x55\x04\x41", 3, "pseudonym"},
    {"\x55\x04\x61", 3, "organizationIdentifier"},
    {"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01", 9, "emailAddress"},
    {"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19", 10, "DC"},
    {"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x01", 10, "UID"},
};

const char kHex[] = "0123456789ABCDEF";

void put_escaped(Str& out, unsigned char c) {
  if (c >= 0x20 && c < 0x7f) {
    out.push(static_cast<char>(c));
  } else {
    out.append("\\x").push(kHex[c >> 4]).push(kHex[c & 15]);
  }
}

// A code point from a BMPString or UniversalString, as UTF-8 bytes.
void put_codepoint(Str& out, uint32_t c) {
  if (c < 0x80) {
    put_escaped(out, static_cast<unsigned char>(c));
    return;
  }
  unsigned char b[4];
  int n;
  if (c < 0x800) {
    b[0] = static_cast<unsigned char>(0xc0 | c >> 6); n = 2;
  } else if (c < 0x10000) {
    b[0] = static_cast<unsigned char>(0xe0 | c >> 12); n = 3;
  } else {
    b[0] = static_cast<unsigned char>(0xf0 | (c >> 18 & 7)); n = 4;
  }
  for (int i = 1; i < n; ++i) b[i] = static_cast<unsigned char>(0x80 | (c >> (6 * (n - 1 - i)) & 0x3f));
  for (int i = 0; i < n; ++i) put_escaped(out, b[i]);
}

bool put_oid(Str& out, Der oid) {
  for (const auto& o : kOidNames) {
    if (oid.n == o.len && std::memcmp(oid.p, o.der, o.len) == 0) {
      out.append(o.name);
      return true;
    }
  }
  // Dotted numbers for the rest.
  bool first = true;
  uint64_t v = 0;
  for (std::size_t i = 0; i < oid.n; ++i) {
    if (v > (UINT64_MAX >> 7)) return false;
    v = v << 7 | (oid.p[i] & 0x7f);
    if (oid.p[i] & 0x80) continue;
    if (first) {
      uint64_t a = v < 40 ? 0 : v < 80 ? 1 : 2;
      out.append_num(a).push('.').append_num(v - 40 * a);
      first = false;
    } else {
      out.push('.').append_num(v);
    }
    v = 0;
  }
  return !first && (oid.n == 0 || !(oid.p[oid.n - 1] & 0x80));
}

}  // namespace

bool format_dn(std::string_view der, Str& out) {
  Der in{reinterpret_cast<const unsigned char*>(der.data()), der.size()};
  Der name, set, atv, oid, val;
  unsigned tag;
  bool ok = in.next(tag, name) && tag == 0x30 && in.n == 0;
  while (ok && name.n > 0) {
    ok = name.next(tag, set) && tag == 0x31;
    while (ok && set.n > 0) {
      ok = set.next(tag, atv) && tag == 0x30 && atv.next(tag, oid) && tag == 0x06 &&
           atv.next(tag, val);
      if (!ok) break;
      out.push('/');
      if (!put_oid(out, oid)) { ok = false; break; }
      out.push('=');
      if (tag == 0x1e) {  // BMPString: UCS-2
        for (std::size_t i = 0; i + 1 < val.n; i += 2) put_codepoint(out, uint32_t(val.p[i]) << 8 | val.p[i + 1]);
      } else if (tag == 0x1c) {  // UniversalString: UCS-4
        for (std::size_t i = 0; i + 3 < val.n; i += 4)
          put_codepoint(out, uint32_t(val.p[i]) << 24 | uint32_t(val.p[i + 1]) << 16 |
                                 uint32_t(val.p[i + 2]) << 8 | val.p[i + 3]);
      } else {
        for (std::size_t i = 0; i < val.n; ++i) put_escaped(out, val.p[i]);
      }
    }
  }
  if (!ok) out.push('?');
  return ok;
}

// ---- error texts -------------------------------------------------------------

namespace {

const char* alert_name(int a) {
  switch (a) {
    case BR_ALERT_CLOSE_NOTIFY: return "close notify";
    case BR_ALERT_UNEXPECTED_MESSAGE: return "unexpected message";
    case BR_ALERT_BAD_RECORD_MAC: return "bad record mac";
    case BR_ALERT_RECORD_OVERFLOW: return "record overflow";
    case BR_ALERT_HANDSHAKE_FAILURE: return "handshake failure";
    case BR_ALERT_BAD_CERTIFICATE: return "bad certificate";
    case BR_ALERT_UNSUPPORTED_CERTIFICATE: return "unsupported certificate";
    case BR_ALERT_CERTIFICATE_REVOKED: return "certificate revoked";
    case BR_ALERT_CERTIFICATE_EXPIRED: return "certificate expired";
    case BR_ALERT_CERTIFICATE_UNKNOWN: return "certificate unknown";
    case BR_ALERT_ILLEGAL_PARAMETER: return "illegal parameter";
    case BR_ALERT_UNKNOWN_CA: return "unknown CA";
    case BR_ALERT_ACCESS_DENIED: return "access denied";
    case BR_ALERT_DECODE_ERROR: return "decode error";
    case BR_ALERT_DECRYPT_ERROR: return "decrypt error";
    case BR_ALERT_PROTOCOL_VERSION: return "protocol version";
    case BR_ALERT_INSUFFICIENT_SECURITY: return "insufficient security";
    case BR_ALERT_INTERNAL_ERROR: return "internal error";
    case BR_ALERT_USER_CANCELED: return "user canceled";
    case BR_ALERT_NO_RENEGOTIATION: return "no renegotiation";
    case BR_ALERT_UNSUPPORTED_EXTENSION: return "unsupported extension";
    case BR_ALERT_NO_APPLICATION_PROTOCOL: return "no application protocol";
    default: return nullptr;
  }
}

}  // namespace

void append_error(Str& out, int e) {
  if (e >= BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT + 256) {
    out.append(e < BR_ERR_SEND_FATAL_ALERT ? "peer sent alert " : "sent alert ");
    if (const char* n = alert_name(e & 255)) {
      out.append(n);
    } else {
      out.append_num(static_cast<unsigned>(e & 255));
    }
    return;
  }
  out.append(error_text(e));
}

const char* error_text(int e) {
  switch (e) {
    case BR_ERR_OK: return "no error";
    case BR_ERR_BAD_PARAM: return "bad parameter";
    case BR_ERR_BAD_STATE: return "bad state";
    case BR_ERR_UNSUPPORTED_VERSION: return "not TLS, or an unsupported protocol version";
    case BR_ERR_BAD_VERSION: return "unexpected protocol version";
    case BR_ERR_BAD_LENGTH: return "bad record length (not TLS?)";
    case BR_ERR_TOO_LARGE: return "record too large";
    case BR_ERR_BAD_MAC: return "bad record MAC";
    case BR_ERR_NO_RANDOM: return "no source of randomness";
    case BR_ERR_UNKNOWN_TYPE: return "unknown record type (not TLS?)";
    case BR_ERR_UNEXPECTED: return "unexpected message";
    case BR_ERR_BAD_CCS: return "bad ChangeCipherSpec";
    case BR_ERR_BAD_ALERT: return "bad alert";
    case BR_ERR_BAD_HANDSHAKE: return "bad handshake message";
    case BR_ERR_OVERSIZED_ID: return "oversized session ID";
    case BR_ERR_BAD_CIPHER_SUITE: return "no cipher suite in common";
    case BR_ERR_BAD_COMPRESSION: return "no compression method in common";
    case BR_ERR_BAD_FRAGLEN: return "bad fragment length";
    case BR_ERR_BAD_SECRENEG: return "bad secure renegotiation";
    case BR_ERR_EXTRA_EXTENSION: return "unexpected extension";
    case BR_ERR_BAD_SNI: return "bad server name";
    case BR_ERR_BAD_HELLO_DONE: return "bad ServerHelloDone";
    case BR_ERR_LIMIT_EXCEEDED: return "limit exceeded";
    case BR_ERR_BAD_FINISHED: return "bad Finished message";
    case BR_ERR_RESUME_MISMATCH: return "session resumption mismatch";
    case BR_ERR_INVALID_ALGORITHM: return "unsupported algorithm";
    case BR_ERR_BAD_SIGNATURE: return "bad signature";
    case BR_ERR_WRONG_KEY_USAGE: return "wrong key usage";
    case BR_ERR_NO_CLIENT_AUTH: return "client sent no certificate";
    case BR_ERR_IO: return "I/O error";
    case BR_ERR_X509_INVALID_VALUE:
    case BR_ERR_X509_TRUNCATED:
    case BR_ERR_X509_INNER_TRUNC:
    case BR_ERR_X509_BAD_TAG_CLASS:
    case BR_ERR_X509_BAD_TAG_VALUE:
    case BR_ERR_X509_INDEFINITE_LENGTH:
    case BR_ERR_X509_EXTRA_ELEMENT:
    case BR_ERR_X509_UNEXPECTED:
    case BR_ERR_X509_NOT_CONSTRUCTED:
    case BR_ERR_X509_NOT_PRIMITIVE:
    case BR_ERR_X509_PARTIAL_BYTE:
    case BR_ERR_X509_BAD_BOOLEAN:
    case BR_ERR_X509_OVERFLOW:
    case BR_ERR_X509_BAD_DN:
    case BR_ERR_X509_BAD_TIME: return "malformed DER data";
    case BR_ERR_X509_EMPTY_CHAIN: return "empty certificate chain";
    case BR_ERR_X509_UNSUPPORTED: return "unsupported algorithm or critical feature";
    case BR_ERR_X509_LIMIT_EXCEEDED: return "certificate too large";
    case BR_ERR_X509_WRONG_KEY_TYPE: return "certificate has the wrong key type";
    case BR_ERR_X509_BAD_SIGNATURE: return "bad certificate signature";
    case BR_ERR_X509_TIME_UNKNOWN: return "current time unknown";
    case BR_ERR_X509_EXPIRED: return "certificate expired or not yet valid";
    case BR_ERR_X509_DN_MISMATCH: return "certificate issuer does not match";
    case BR_ERR_X509_BAD_SERVER_NAME: return "certificate does not match the server name";
    case BR_ERR_X509_CRITICAL_EXTENSION: return "unsupported critical extension in certificate";
    case BR_ERR_X509_NOT_CA: return "issuer certificate is not a CA";
    case BR_ERR_X509_FORBIDDEN_KEY_USAGE: return "certificate key usage forbids this use";
    case BR_ERR_X509_WEAK_PUBLIC_KEY: return "certificate key too weak";
    case BR_ERR_X509_NOT_TRUSTED: return "certificate not trusted (unknown CA)";
    default: return "TLS error";
  }
}

}  // namespace qbox::tls
