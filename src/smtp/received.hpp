// The Received line qmail-smtpd puts on top of every message, in qmail's
// received.c format:
//
//   Received: from relay1.uu.net (HELO uunet.uu.net) (7@192.48.96.5)
//     by silverton.berkeley.edu with SMTP; 26 Sep 1995 04:46:54 -0000
//
// "(HELO x)" appears when the HELO name differs from the remote host name
// (ignoring case); "info@" when the client's identity is known (ident, or
// the authenticated user). Every byte of the client-supplied parts outside
// letters, digits and . @ % + / = : - [ ] becomes '?', so nothing a client
// says can break the line. The protocol is ours: "SMTP", or under TLS
// "(CIPHER encrypted) SMTP" as the qmail TLS patch writes it.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/str.hpp"

namespace qbox::smtp {

struct ReceivedInfo {
  std::string_view remotehost;   // $TCPREMOTEHOST or "unknown"
  std::string_view remoteip;     // $TCPREMOTEIP or "unknown"
  std::optional<std::string_view> remoteinfo;  // ident or the AUTH user
  std::optional<std::string_view> helo;        // only when it differs from remotehost
  std::string_view local;        // $TCPLOCALHOST, $TCPLOCALIP or "unknown"
  std::string_view protocol;     // "SMTP"
};

// Appends the two lines, LF-terminated.
void received_line(Str& out, const ReceivedInfo& r, std::int64_t unix_sec);

// Appends s with every byte that received.c would not write as '?'.
void append_safe(Str& out, std::string_view s);

}  // namespace qbox::smtp
