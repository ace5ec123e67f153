// rblsmtpd: blocks SMTP clients listed in DNS block lists, as ucspi-tcp
// 0.88's rblsmtpd does (with Debian's change: no default list).
//
// The client is $TCPREMOTEIP. Its address, reversed ("4.3.2.1." for
// 1.2.3.4), is looked up under each -r base as TXT: the text is the reason
// for blocking. Each -a base is an anti-RBL: an A record there means accept
// and look no further. $RBLSMTPD decides without lookups: empty means
// accept; a leading '-' means block permanently with the rest as the text;
// other text means block temporarily with that text. The options are
// acted on in order, so -b, -B, -c and -C apply to the lists after them.
//
// A blocked client gets a small SMTP server instead of the program: a
// greeting, 250 for HELO EHLO MAIL RSET NOOP, 221 and the end for QUIT, and
// the error (451 temporary, 553 permanent) for everything else, for at
// most -t seconds (default 60; with -t 0 only the error and no greeting).
//
// Beyond 0.88:
// - A list that publishes only A records (no TXT) blocks too: when the
//   reversed name exists without TXT text, an A record there means listed,
//   with the text "Blocked by BASE".
// - An IPv6 $TCPREMOTEIP is looked up by its 32 nibbles, reversed, as RBLs
//   for IPv6 publish it ("1.0.0.0...8.b.d.0.1.0.0.2." for 2001:db8::1);
//   an IPv4-mapped one (::ffff:1.2.3.4) as its IPv4 address.
// - DNS servers come from $DNSCACHEIP as in djb's library, else from the
//   resolver's configuration (resolv.conf with its timeout and attempts).
#include <csignal>
#include <optional>
#include <unistd.h>
#include <vector>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/env.hpp"
#include "base/fd.hpp"
#include "base/getopt.hpp"
#include "base/num.hpp"
#include "base/str.hpp"
#include "dns/conf.hpp"
#include "dns/name.hpp"
#include "dns/resolver.hpp"
#include "io/buffer.hpp"
#include "net/ip.hpp"
#include "proc/exec.hpp"

using namespace qbox;

static constexpr char kUsage[] =
    "rblsmtpd [ -b ] [ -R ] [ -t timeout ] [ -r base ] [ -a base ] smtpd [ arg ... ]";

namespace {

[[noreturn]] void usage() { die(kExitPerm, "rblsmtpd: usage: ", kUsage); }

constexpr std::size_t kMaxText = 200;  // of the reason, in the SMTP reply

enum class Decision { undecided, accept, block_temp, block_perm };

// The client's name under a list: its address reversed, with a trailing dot.
Str reversed_ip(std::string_view ip) {
  Str out;
  uint8_t a6[16];
  if (ip.find(':') != std::string_view::npos && net::parse_ip6(ip, a6)) {
    if (net::is_v4mapped(a6)) {
      for (int i = 15; i >= 12; --i) {
        out.append_num(a6[i]);
        out.push('.');
      }
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      for (int i = 15; i >= 0; --i) {
        const char nib[4] = {kHex[a6[i] & 15], '.', kHex[a6[i] >> 4], '.'};
        out.append(nib, 4);
      }
    }
    return out;
  }
  // As 0.88: the dot-separated parts in reverse order, whatever they are.
  std::size_t end = ip.size();
  while (end) {
    std::size_t dot = ip.rfind('.', end - 1);
    std::size_t start = dot == std::string_view::npos ? 0 : dot + 1;
    out.append(ip.substr(start, end - start));
    out.push('.');
    if (!start) break;
    end = start - 1;
  }
  return out;
}

// djb's dns_ip4 takes a name made of digits, dots and brackets as an
// address and asks no server: it has an address when it has four parts or
// more. (So does an anti-RBL name like that, without a lookup.)
std::optional<bool> literal_ip4(std::string_view name) {
  std::size_t parts = 1;
  for (char c : name) {
    if (c == '.') ++parts;
    else if (!(c >= '0' && c <= '9') && c != '[' && c != ']') return std::nullopt;
  }
  return parts >= 4;
}

struct Rbl {
  Str ip_reverse;
  Decision decision = Decision::undecided;
  Str text;  // the reason, when blocking
  bool bounce = false;         // -b: listed means permanent
  bool fail_closed = false;    // -c: a failed lookup blocks
  bool must_not_bounce = false;  // a lookup failed: never 553
  std::optional<dns::Resolver> resolver;

  dns::Resolver& dns() {
    if (!resolver) {
      dns::Config c = dns::load_config();
      dns::apply_dnscacheip(c);
      resolver.emplace(std::move(c));
    }
    return *resolver;
  }

  // The records of `type` for the client under `base`, as djb's library
  // would have asked (a name it cannot write is a temporary failure).
  dns::Status lookup(std::string_view base, uint16_t type, std::vector<dns::Record>& out) {
    Str fqdn = ip_reverse;
    fqdn.append(base);
    dns::Name name;
    out.clear();
    if (!dns::name_from_dot(fqdn, name)) return dns::Status::temporary;
    return dns().query_name(name, type, out);
  }

  void lookup_failed() {
    must_not_bounce = true;
    if (fail_closed) {
      text = "temporary RBL lookup error";
      decision = Decision::block_temp;
    }
  }

  void rbl(std::string_view base) {
    if (decision != Decision::undecided) return;
    std::vector<dns::Record> rr;
    dns::Status st = lookup(base, dns::kTypeTxt, rr);
    if (st == dns::Status::temporary) return lookup_failed();
    text.clear();
    for (const dns::Record& r : rr) text.append(r.data);
    // A list of A records only: the name exists, but there is no text.
    if (text.empty() && st != dns::Status::nxdomain) {
      st = lookup(base, dns::kTypeA, rr);
      if (st == dns::Status::temporary) return lookup_failed();
      if (!rr.empty()) {
        text = "Blocked by ";
        text.append(base);
      }
    }
    if (!text.empty()) decision = bounce ? Decision::block_perm : Decision::block_temp;
  }

  void antirbl(std::string_view base) {
    if (decision != Decision::undecided) return;
    Str fqdn = ip_reverse;
    fqdn.append(base);
    if (std::optional<bool> lit = literal_ip4(fqdn)) {
      if (*lit) decision = Decision::accept;
      return;
    }
    std::vector<dns::Record> rr;
    if (lookup(base, dns::kTypeA, rr) == dns::Status::temporary) {
      must_not_bounce = true;
      if (!fail_closed) decision = Decision::accept;
      return;
    }
    if (!rr.empty()) decision = Decision::accept;
  }
};

// The SMTP side. Every write is whole; errors are ignored, as 0.88 does.
void put(std::string_view s) { (void)write_all(1, s); }

extern "C" void on_alarm(int) { ::_exit(0); }

// The verbs answered with 250 (helo ehlo mail rset noop), quit, or neither.
enum class Verb { other, ok, quit };

Verb verb_of(std::string_view v) {
  if (v.size() != 4) return Verb::other;
  char l[4];
  for (int i = 0; i < 4; ++i) l[i] = (v[i] >= 'A' && v[i] <= 'Z') ? static_cast<char>(v[i] + 32) : v[i];
  std::string_view w(l, 4);
  if (w == "quit") return Verb::quit;
  if (w == "helo" || w == "ehlo" || w == "mail" || w == "rset" || w == "noop") return Verb::ok;
  return Verb::other;
}

// Answers commands until the end of input, a read error or QUIT. A line
// ends at LF; a CR just before the LF goes; the verb is what comes before
// the first space (a NUL byte counts as a character). Lines may be of any
// length: only the first bytes of the verb are kept.
[[noreturn]] void converse(std::string_view reject) {
  char buf[64];
  Reader in(0, buf);
  char verb[8];
  std::size_t vlen = 0;
  bool long_verb = false, space = false;
  for (;;) {
    if (in.fill() <= 0) ::_exit(0);
    std::string_view chunk = in.peek();
    std::size_t used = 0;
    for (char c : chunk) {
      ++used;
      if (c != '\n') {
        if (space) continue;
        if (c == ' ') space = true;
        else if (vlen < sizeof verb) verb[vlen++] = c;
        else long_verb = true;
        continue;
      }
      if (!space && !long_verb && vlen && verb[vlen - 1] == '\r') --vlen;
      Verb v = long_verb ? Verb::other : verb_of({verb, vlen});
      vlen = 0;
      long_verb = space = false;
      if (v == Verb::quit) {
        put("221 rblsmtpd.local\r\n");
        ::_exit(0);
      }
      put(v == Verb::ok ? std::string_view("250 rblsmtpd.local\r\n") : reject);
    }
    in.skip(used);
  }
}

[[noreturn]] void block(const Rbl& r, const char* ip, unsigned long timeout) {
  Str msg(r.must_not_bounce || r.decision == Decision::block_temp ? "451 " : "553 ");
  msg.append(r.text.view().substr(0, kMaxText));
  for (std::size_t i = 0; i < msg.size(); ++i)
    if (msg[i] < 32 || msg[i] > 126) msg[i] = '?';

  Str log("rblsmtpd: ");
  log.append(ip);
  log.append(" pid ");
  log.append_num(static_cast<unsigned long long>(::getpid()));
  log.append(": ");
  log.append(msg);
  log.push('\n');
  (void)write_all(2, log);

  msg.append("\r\n");
  if (!timeout) {
    put(msg);
    ::_exit(0);
  }
  struct sigaction sa {};
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGALRM, &sa, nullptr);
  ::alarm(static_cast<unsigned>(timeout));  // as 0.88: the low 32 bits
  put("220 rblsmtpd.local\r\n");
  converse(msg);
}

}  // namespace

static int rblsmtpd_main(int argc, char** argv) {
  const char* ip = env::get("TCPREMOTEIP");
  if (!ip) ip = "";
  Rbl r;
  r.ip_reverse = reversed_ip(ip);

  if (const char* x = env::get("RBLSMTPD")) {
    if (!*x) {
      r.decision = Decision::accept;
    } else if (*x == '-') {
      r.text = x + 1;
      r.decision = Decision::block_perm;
    } else {
      r.text = x;
      r.decision = Decision::block_temp;
    }
  }

  unsigned long timeout = 60;
  GetOpt g(argc, argv, "bBcCt:r:a:");
  for (int opt; (opt = g.next()) != -1;) {
    switch (opt) {
      case 'b': r.bounce = true; break;
      case 'B': r.bounce = false; break;
      case 'c': r.fail_closed = true; break;
      case 'C': r.fail_closed = false; break;
      case 't': scan_ulong(g.arg(), timeout); break;
      case 'r': r.rbl(g.arg()); break;
      case 'a': r.antirbl(g.arg()); break;
      default: usage();
    }
  }
  char** prog = g.rest();
  if (!*prog) usage();

  if (r.decision == Decision::block_temp || r.decision == Decision::block_perm) block(r, ip, timeout);

  pathexec(prog);
  die_sys(kExitTemp, "rblsmtpd: fatal: unable to run ", prog[0], ": ");
}

extern const AppletInfo applet_rblsmtpd = {"block SMTP clients listed in DNS block lists", kUsage,
                                           rblsmtpd_main};
