// The records of control/auth.cdb, the password database qmail-smtpd's
// AUTH checks when no checkpassword program is given (mkauth writes it):
//
//   key:   the user name, as the client sends it (case matters)
//   value: a crypt(3) hash: "$1$" MD5-crypt, "$5$" SHA-256-crypt or "$6$"
//          SHA-512-crypt (an optional "rounds=N$" is allowed for $5$ and
//          $6$), optionally followed by "\n" and the CRAM-MD5 secret:
//          "cram-md5:" and 64 lower-case hex digits, the 32 bytes
//          Dovecot's CRAM-MD5 password scheme stores: the MD5 states after
//          the HMAC-MD5 outer key block (key ^ 0x5c...) and then after the
//          inner one (key ^ 0x36...), each as its four 32-bit words in
//          little-endian order. With them the server answers any CRAM-MD5
//          challenge without knowing the password; they are as good as
//          the password for CRAM-MD5 itself, so the file must not be
//          readable by anyone but qmail-smtpd's user.
//
// A user without a CRAM-MD5 secret can use LOGIN and PLAIN only.
#pragma once
#include <cstddef>
#include <string_view>

#include "base/str.hpp"

namespace qbox::smtp {

inline constexpr std::string_view kCramPrefix = "cram-md5:";
inline constexpr std::size_t kCramSecretLen = 9 + 64;  // prefix and hex

// Whether s is a well-formed $1$, $5$ or $6$ crypt hash.
bool is_crypt_hash(std::string_view s);
// Whether s is "cram-md5:" and 64 lower-case hex digits.
bool is_cram_secret(std::string_view s);

// Checks password against a crypt hash (smtp/pwhash), comparing in
// constant time. 1 match, 0 no match (a password with a NUL never
// matches), -1 the hash is none of $1$, $5$, $6$.
int crypt_check(std::string_view password, std::string_view hash);
// A new SHA-512-crypt hash of password with a random 16-character salt.
// false (errno) when there is no random source.
bool crypt_sha512(std::string_view password, Str& out);

// Appends the CRAM-MD5 secret ("cram-md5:..." as above) of password.
void cram_secret(std::string_view password, Str& out);
// The CRAM-MD5 response digest (RFC 2195: HMAC-MD5 keyed with the
// password over the challenge) as 32 lower-case hex digits, from a secret.
// false for a malformed secret.
bool cram_digest(std::string_view secret, std::string_view challenge, char hex[32]);

// Equality without an early exit (lengths are not secret).
bool equal_ct(std::string_view a, std::string_view b);

// An auth.cdb value split into its hash and CRAM secret (empty if none).
// false when it is not of the form above.
struct AuthRecord {
  std::string_view hash, cram;
};
bool parse_auth_record(std::string_view value, AuthRecord& out);

// How long auth_command waits for a checkpassword program before it kills
// it and answers 454 (milliseconds; tests shorten it).
extern int g_checkpassword_timeout_ms;

}  // namespace qbox::smtp
