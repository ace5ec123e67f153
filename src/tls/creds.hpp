// TLS credentials for BearSSL, loaded from PEM files: a certificate chain
// with its private key (RSA or EC; PKCS#1, SEC1 or PKCS#8, plain or
// encrypted with a passphrase as openssl does it), and the trust
// anchors a client or a client-authenticating server checks chains against.
//
// Errors are values: a loader returns false and leaves one line in `err`
// that names the file and what is wrong with it, ready to follow
// "PROG: fatal: ".
#pragma once
#include <bearssl.h>

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "base/str.hpp"

namespace qbox::tls {

// One PEM object: "-----BEGIN name-----", base64 of der, "-----END name-----".
struct PemObject {
  Str name;
  Str der;
};

// Decodes every PEM object in `text`; text outside the objects is ignored,
// as openssl does. False when an object is malformed (bad base64, no END
// line); `out` then holds the objects before it.
bool pem_decode(std::string_view text, std::vector<PemObject>& out);

// A DN callback for br_x509_decoder_init(): appends to the Str that `str`
// points to. A DN longer than kMaxDnBytes is left cut at that length,
// where format_dn() fails on it.
inline constexpr std::size_t kMaxDnBytes = 4096;
void collect_dn(void* str, const void* p, std::size_t n);

// A certificate chain (end-entity first) and the private key that belongs
// to its first certificate.
class Credentials {
 public:
  Credentials() = default;
  ~Credentials();
  // Moving keeps the key's bytes where they are (the BearSSL structures
  // point into them); both moves and destruction wipe what they drop.
  Credentials(Credentials&& o) noexcept
      : certs_(static_cast<std::vector<Str>&&>(o.certs_)),
        chain_(static_cast<std::vector<br_x509_certificate>&&>(o.chain_)),
        key_bytes_(static_cast<Str&&>(o.key_bytes_)), rsa_(o.rsa_), ec_(o.ec_),
        key_type_(o.key_type_), issuer_key_type_(o.issuer_key_type_) {
    o.key_type_ = o.issuer_key_type_ = 0;
  }
  Credentials& operator=(Credentials&& o) noexcept;
  Credentials(const Credentials&) = delete;
  Credentials& operator=(const Credentials&) = delete;

  // The chain from cert_file and the key from key_file; with key_file null
  // or empty, the key is taken from cert_file too (qmail's servercert.pem,
  // ucspi-ssl with $KEYFILE unset). The key must match the certificate.
  // An encrypted key (tls/keycrypt.hpp) needs the passphrase.
  bool load(const char* cert_file, const char* key_file, Str& err,
            std::optional<std::string_view> passphrase = std::nullopt);
  // Same, from PEM text in memory; the names are used in messages only.
  bool load_pem(std::string_view cert_pem, std::string_view cert_name,
                std::string_view key_pem, std::string_view key_name, Str& err,
                std::optional<std::string_view> passphrase = std::nullopt);

  bool ok() const { return key_type_ != 0; }
  int key_type() const { return key_type_; }  // BR_KEYTYPE_RSA or BR_KEYTYPE_EC
  // The key type of the issuer's signature on the first certificate.
  int issuer_key_type() const { return issuer_key_type_; }
  const br_x509_certificate* chain() const { return chain_.data(); }
  std::size_t chain_len() const { return chain_.size(); }
  const br_rsa_private_key* rsa() const { return key_type_ == BR_KEYTYPE_RSA ? &rsa_ : nullptr; }
  const br_ec_private_key* ec() const { return key_type_ == BR_KEYTYPE_EC ? &ec_ : nullptr; }

 private:
  bool take_key(std::string_view der, std::string_view key_name, Str& err);
  std::vector<Str> certs_;                // DER of each certificate
  std::vector<br_x509_certificate> chain_;
  Str key_bytes_;                         // the private key's numbers
  br_rsa_private_key rsa_{};
  br_ec_private_key ec_{};
  int key_type_ = 0;
  int issuer_key_type_ = 0;
};

// Trust anchors (CA certificates) from PEM bundles such as
// /etc/ssl/certs/ca-certificates.crt.
class TrustAnchors {
 public:
  // Movable, not copyable: the anchors point into the blobs' heap blocks,
  // which a move keeps and a copy would not.
  TrustAnchors() = default;
  TrustAnchors(TrustAnchors&&) = default;
  TrustAnchors& operator=(TrustAnchors&&) = default;
  TrustAnchors(const TrustAnchors&) = delete;
  TrustAnchors& operator=(const TrustAnchors&) = delete;

  // Adds every certificate in the file. Certificates BearSSL cannot use
  // (an unsupported key type) are skipped; no usable one at all is an error.
  bool load(const char* file, Str& err);
  bool add_pem(std::string_view pem, std::string_view name, Str& err);
  std::size_t size() const { return tas_.size(); }
  const br_x509_trust_anchor* data() const { return tas_.data(); }

 private:
  std::vector<Str> blobs_;                // DN and key bytes of each anchor
  std::vector<br_x509_trust_anchor> tas_;
};

// Formats a DER-encoded X.500 name the way OpenSSL's X509_NAME_oneline()
// does and ucspi-ssl puts in $SSL_CLIENT_S_DN: "/C=DE/O=Example/CN=host".
// Bytes outside printable ASCII appear as \xHH, so the result is safe in
// an environment variable. False (and "?" appended) if the DER is broken.
bool format_dn(std::string_view der, Str& out);

// A readable description of a BearSSL error code (engine or X.509);
// append_error also spells out the alerts ("peer sent alert unknown CA").
const char* error_text(int br_err);
void append_error(Str& out, int br_err);

}  // namespace qbox::tls
