// SMTP AUTH (RFC 4954) for qmail-smtpd, as the classic qmail SMTP AUTH
// patches offer it: LOGIN, PLAIN and CRAM-MD5, checked by a checkpassword
// program (djb's interface, on descriptor 3) or by control/auth.cdb.
//
// control/auth.cdb: key = user name, value = a crypt(3) hash ($1$ MD5,
// $5$ SHA-256 or $6$ SHA-512), optionally followed by "\n" and a CRAM-MD5
// secret "cram-md5:" + 64 lowercase hex digits: the MD5 states after the
// HMAC inner and outer key blocks (key ^ 0x36.., key ^ 0x5c..), 16 bytes
// each, inner first, each state's four 32-bit words little-endian. This is
// the precomputed HMAC key that lets CRAM-MD5 work without storing the
// password itself. mkauth writes this file.
#pragma once
#include <string_view>

#include "base/str.hpp"
#include "smtp/lineio.hpp"

namespace qbox::smtp {

struct AuthConfig {
  char* const* checkpassword = nullptr;  // argv[2..] of `qmail-smtpd HOST CHECKPASSWORD SUBPROGRAM...`, or nullptr
  const char* cdb = nullptr;             // "control/auth.cdb" when that file exists, else nullptr
  std::string_view hostname;             // for the CRAM-MD5 challenge
};

// The mechanisms for the EHLO line "250-AUTH ...": "LOGIN PLAIN CRAM-MD5",
// or empty when there is no backend (no AUTH offered).
std::string_view auth_mechanisms(const AuthConfig&);

// Runs "AUTH <args>" (args = what follows "AUTH ") over io: reads the
// continuation lines and writes the 334 / 235 / 535 / 501 / 504 / 454
// replies; "*" from the client cancels (501).
// 1 authenticated (user set), 0 refused (reply written; `why` holds a short
// reason for the log), -1 connection lost.
int auth_command(std::string_view args, LineIo& io, const AuthConfig& cfg, Str& user, Str& why);

}  // namespace qbox::smtp
