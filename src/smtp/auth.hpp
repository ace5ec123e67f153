// SMTP AUTH (RFC 4954) for qmail-smtpd, as the classic qmail SMTP AUTH
// patches offer it: LOGIN, PLAIN and CRAM-MD5, checked by a checkpassword
// program (djb's interface, on descriptor 3) or by control/auth.cdb.
//
// The replies are the patches': 334 for each step, "235 ok, go ahead
// (#2.0.0)", "535 authentication failed (#5.7.1)", "501 malformed auth
// input (#5.5.4)", "501 auth exchange cancelled (#5.0.0)" (the client sent
// "*"), "504 auth type unimplemented (#5.5.1)" and "454 temporary
// authentication failure (#4.3.0)".
//
// checkpassword: djb's interface, as the patches use it: "user\0password\0\0"
// on descriptor 3 for LOGIN and PLAIN, "user\0digest\0challenge\0" for
// CRAM-MD5 (the order of the patches and of vpopmail's vchkpw). Exit 0
// accepts, 111 or a crash is temporary (454), any other code refuses (535).
// The program's descriptor 0 is /dev/null and its 1 is our 2, so it cannot
// talk to the client; it is killed after 60 seconds (454). It is waited for
// by its pid: the caller must not reap every child from a SIGCHLD handler
// while auth_command runs. SIGPIPE is ignored only while writing to it.
//
// control/auth.cdb: see smtp/authdb.hpp for its records. With both
// backends configured, checkpassword decides. With neither, AUTH gets
// "503 auth not available (#5.3.3)".
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
