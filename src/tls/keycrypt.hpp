// Encrypted private keys, in the two forms openssl writes them, decrypted
// with BearSSL's primitives (BearSSL itself reads only plain keys):
//
//   PKCS#8 "ENCRYPTED PRIVATE KEY" (openssl pkcs8 -topk8, genpkey -aes256,
//   and OpenSSL 3's rsa/ec -aes256): PBES2 (RFC 8018) with PBKDF2 over
//   HMAC-SHA1 (the default), -SHA224, -SHA256, -SHA384 or -SHA512, and
//   AES-128/192/256-CBC or DES-EDE3-CBC. The result is a PrivateKeyInfo.
//
//   The legacy form ("RSA PRIVATE KEY" or "EC PRIVATE KEY" with the
//   headers "Proc-Type: 4,ENCRYPTED" and "DEK-Info: CIPHER,IV"; openssl
//   rsa -traditional -aes256, OpenSSL 1.x's rsa -des3): the key from
//   EVP_BytesToKey (MD5, one round, the first 8 bytes of the IV as salt);
//   AES-128/192/256-CBC, DES-EDE3-CBC or DES-CBC. The result is the PKCS#1
//   or SEC1 key.
//
// Not supported: scrypt, the PKCS#12 PBE schemes (openssl pkcs8 -v1) and
// the other legacy ciphers; they are reported as such.
#pragma once
#include <bearssl.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/str.hpp"

namespace qbox::tls {

// PBKDF2 (RFC 8018, 5.2) with HMAC over `hash`: `len` bytes of key from
// the passphrase and the salt.
void pbkdf2(const br_hash_class* hash, std::string_view pass, std::string_view salt, uint32_t iterations,
            unsigned char* out, std::size_t len);

// OpenSSL's EVP_BytesToKey with MD5 and one round: D1 = MD5(pass salt),
// Di = MD5(Di-1 pass salt), the key is D1 D2 ... cut to `len`.
void bytes_to_key_md5(std::string_view pass, const unsigned char salt[8], unsigned char* out, std::size_t len);

enum class Decrypted {
  kOk,
  kWrongPassphrase,  // the padding or the DER inside is wrong
  kUnsupported,      // a scheme, KDF or cipher not listed above
  kMalformed,        // the encrypted structure itself is broken
};

// An EncryptedPrivateKeyInfo (DER): the PrivateKeyInfo it holds in `out`.
Decrypted decrypt_pkcs8(std::string_view der, std::string_view pass, Str& out);

// A legacy encrypted key: its DEK-Info header's value ("AES-256-CBC,<hex
// IV>") and its decoded body; the plain key's DER in `out`.
Decrypted decrypt_legacy(std::string_view dek_info, std::string_view der, std::string_view pass, Str& out);

// PEM text without the RFC 1421 headers ("Proc-Type:", "DEK-Info:" and
// the blank line after them) that pem_decode does not take, and the
// DEK-Info value of each object in order (empty for none).
void strip_pem_headers(std::string_view text, Str& out, std::vector<Str>& dek_infos);

// "-3": the passphrase from a descriptor, as ucspi-ssl reads it: up to the
// first NUL or the end of the input (a newline is part of it). -1 with
// errno on a read error; EFBIG past `max` bytes.
int read_passphrase(int fd, Str& out, std::size_t max = 1024);

}  // namespace qbox::tls
