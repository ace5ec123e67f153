// tcprules: the rules source format, its cdb encoding, and the lookup
// tcpserver and tcprulescheck do for each connection (ucspi-tcp 0.88).
//
// THE SOURCE: one rule a line, "address:instructions".
//   - Lines starting with '#', and lines without a ':', are ignored;
//     trailing spaces, tabs and newlines are dropped.
//   - The instructions are "allow" or "deny", then any number of
//     ",VAR=XvalueX" where X is any character (the quote) that does not
//     occur in the value.
//   - The address is taken literally as the key ("1.2.3.4", "1.2.3.",
//     "=host.example", "=.example", "=", "info@1.2.3.4", "info@=host",
//     ""), except for a range: an address without '=' or '@' that has a
//     '-' ("1.2.3.4-7", "1.2.3-5.") stands for one key per number.
// THE ENCODING (tcprules.c): key = the address; value = "D\0" for deny
// (nothing for allow), then "+VAR=value\0" for each variable, in order.
// When several rules have the same key, the first one wins.
//
// THE LOOKUP (rules.c), first key found wins: info@IP, info@=HOST, IP,
// =HOST, the prefixes of IP that end with '.' (longest first), =.PARENT for
// each '.' in HOST ("=.b.c", "=.c"), "=", and last the empty key. The
// info and host keys are tried only when TCPREMOTEINFO / TCPREMOTEHOST are
// known.
//
// EXTENSIONS (qbox), chosen so that
//   (1) every rule the classic tcprules accepts is encoded byte for byte as
//       it encodes it, except an address that looks like IPv4 CIDR (below),
//       which the classic stored as a key no connection ever matched;
//   (2) a cdb made by the classic tcprules is read exactly as tcpserver
//       0.88 reads it, whatever it holds;
//   (3) CIDR rules turn into keys of the classic kinds where they can, so
//       the classic tcpserver also follows them.
//
// IPv4 CIDR: "10.0.0.0/8", also "10./8" or "192.168./16" (missing parts
// are 0; host bits past the prefix are cleared). A prefix that ends on an
// octet boundary is the classic prefix key ("10.", "192.168.", the address
// itself for /32); otherwise the rule is written as the keys of the next
// octet boundary: 10.0.0.0/12 is "10.0." ... "10.15."; 1.2.3.0/25 is the
// 128 addresses "1.2.3.0" ... "1.2.3.127"; 0.0.0.0/0 is "0." ... "255."
// (at most 256 keys a rule). Such a rule ranks like the classic prefix
// keys it became. An address made only of digits, dots and '/' that is not
// a valid CIDR is a parse error.
//
// IPv6 (the classic format cannot express these: it takes the address up to
// the first ':'). When the first ':' of a line is not followed by "allow" or
// "deny", the address runs to the first ':' that is, and must be one of
//   ADDR          exact:  "2001:db8::1"
//   info@ADDR     exact, for one TCPREMOTEINFO
//   ADDR/n        CIDR, 0 <= n <= 128: "2001:db8::/32", "fe80::/10"
//   G:G:...:      prefix in whole groups, ucspi-tcp6 style: "2001:db8:"
// or the line is a parse error, as in the classic tcprules. Keys use the
// full form of the address, 8 groups of 4 lowercase hex digits:
//   exact  "2001:0db8:0000:0000:0000:0000:0000:0001"
//   prefix of n bits, n a multiple of 4 below 128: the first n/4 digits
//          of the full form (with the colons between them) and a ':' --
//          "2001:0db8:" for /32, "2001:0db8:a:" for /36, "f:" for /4.
// Every prefix key ends with ':' the way classic IPv4 prefixes end with
// '.', and contains no '.', so IPv4 and IPv6 keys never meet. A CIDR
// length that is not a multiple of 4 becomes the keys of the next multiple
// of 4 (at most 8; ::/0 is the 16 keys "0:" ... "f:"). A v4-mapped address
// (::ffff:1.2.3.4, /96 and longer) is written as the IPv4 rule it means.
// For an IPv6 peer the lookup is the classic one with the full form as IP
// and the prefixes /124, /120, ..., /4 as its prefixes; a v4-mapped peer
// is looked up as its IPv4 dotted quad. An IP that is not an IPv6 address
// is used literally, as the classic lookup does.
#pragma once
#include <optional>
#include <string_view>

#include "base/str.hpp"
#include "cdb/cdb.hpp"

namespace qbox::rules {

// Receives the records that source lines compile to, in order.
class Sink {
 public:
  // 0, or -1 with errno (compilation stops).
  virtual int add(std::string_view key, std::string_view value) = 0;

 protected:
  ~Sink() = default;
};

enum class LineStatus {
  kSkip,        // comment, blank, or no ':' at all
  kRule,        // one or more records were added
  kBad,         // "unable to parse this line"
  kSinkFailed,  // Sink::add failed (errno)
};

// Compiles one source line as read, with its '\n' if it has one.
LineStatus compile_line(std::string_view line, Sink& out);

// How tcprules shows a line it cannot parse: trailing spaces, tabs and
// newlines dropped, cut at the first NUL.
std::string_view shown_line(std::string_view line);

// The connection the rules are looked up for. An unset host or info is
// nullopt (not the same as an empty one).
struct Peer {
  std::string_view ip;
  std::optional<std::string_view> host;
  std::optional<std::string_view> info;
};

// Calls fn(ctx, key) for each key the lookup tries, in order, until fn
// returns nonzero; returns that value, or 0.
int for_each_key(const Peer& peer, int (*fn)(void* ctx, std::string_view key), void* ctx);

struct Match {
  Str key;    // the key that matched (tcprulescheck shows it)
  Str value;  // its instructions
};

// Looks the peer up in an open cdb: 1 found (out is set), 0 no rule at all,
// -1 on a read error (errno; EPROTO for a damaged file).
int find(CdbReader& db, const Peer& peer, Match& out);
// Opens `path` afresh for this one lookup, as tcpserver does for every
// connection. -1 with errno also when it cannot be opened (ENOENT: no
// rules file), and EINVAL for an empty file, as ucspi-tcp reports it.
int find_file(const char* path, const Peer& peer, Match& out);

// The instructions of a rule, one at a time: kind 'D' (deny) or '+' (body
// "VAR=value"); other kinds are ignored by tcpserver. Each instruction ends
// with a NUL; bytes after the last NUL are not an instruction.
struct Instruction {
  char kind;
  std::string_view body;  // after the kind byte, up to the NUL
};

class Instructions {
 public:
  explicit Instructions(std::string_view value) : rest_(value) {}
  bool next(Instruction& out);

 private:
  std::string_view rest_;
};

// Splits a '+' body at its first '='; false when it has none (tcpserver
// then ignores it).
bool split_env(std::string_view body, std::string_view& name, std::string_view& value);

}  // namespace qbox::rules
