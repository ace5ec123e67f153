// SMTP command lines and envelope addresses as qmail-smtpd reads them.
//
// A command line is split the way qmail's commands.c splits it: the verb is
// everything before the first space (compared ignoring case), the argument
// is what follows once the spaces after the verb are skipped. The caller has
// already removed the line's CR LF (or bare LF, which qmail accepts in
// commands).
//
// Addresses follow qmail's addrparse: what is between '<' and '>' (or, for
// a client that never read RFC 821, the word after the ':'), a source
// route ("@a,@b:") dropped, quotes removed and backslash escapes taken
// literally. "<>" is the empty address. Nothing is checked beyond the
// length: qmail accepts what it can deliver or bounce later.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/str.hpp"

namespace qbox::smtp {

enum class Verb {
  kUnknown,
  kHelo, kEhlo, kMail, kRcpt, kData, kRset, kNoop, kVrfy, kHelp, kQuit,
  kStarttls, kAuth,
};

struct Command {
  Verb verb = Verb::kUnknown;
  std::string_view name;  // the verb as the client wrote it
  std::string_view arg;
};

Command parse_command(std::string_view line);

// Line limits. A command line is at most 1000 bytes with its CR LF (RFC
// 5321's text line); AUTH lines may be longer (RFC 4954: 12288), so lines
// are read up to kMaxAuthLine and everything but AUTH is held to
// kMaxCommandLine.
inline constexpr std::size_t kMaxCommandLine = 998;
inline constexpr std::size_t kMaxAuthLine = 12288;

// qmail refuses addresses of more than 900 bytes with their NUL.
inline constexpr std::size_t kMaxAddress = 899;

struct ParsedAddress {
  bool ok = false;               // false: longer than kMaxAddress
  std::string_view params;       // what follows the address ("SIZE=123 BODY=8BITMIME")
};
// Reads the address in the argument of MAIL or RCPT into addr.
ParsedAddress parse_address(std::string_view arg, Str& addr);

// The SIZE= parameter of MAIL (RFC 1870), if any: its decimal value,
// UINT64_MAX when it does not fit. Parameters are separated by spaces and
// their names compared ignoring case.
std::optional<std::uint64_t> size_param(std::string_view params);

// The domain of an address: what follows its last '@' (empty if none).
std::string_view address_domain(std::string_view addr);

}  // namespace qbox::smtp
