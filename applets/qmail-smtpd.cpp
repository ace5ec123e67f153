// qmail-smtpd: receives mail over SMTP and puts it into the queue, as
// qmail 1.03's qmail-smtpd does, with what the popular patches added
// (netqmail, the TLS and AUTH patches, John Simpson's combined patch).
//
//   tcpserver ... 0 smtp qmail-smtpd
//   tcpserver ... 0 smtp qmail-smtpd HOSTNAME CHECKPASSWORD SUBPROGRAM...
//   sslserver ... 0 465 qmail-smtpd        (SMTPS: TLS outside)
//
// It runs in QMAILHOME, reads the client on descriptor 0 and answers on 1;
// the environment of tcpserver (TCPREMOTEIP, TCPREMOTEHOST, TCPREMOTEINFO,
// TCPLOCALHOST or TCPLOCALIP) says who is talking. A message is accepted
// ("250 ok") only once qmail-queue ($QMAILQUEUE) has exited 0; a filter's
// own error text (exit 82, text on descriptor 6) goes to the client.
//
// Protocol: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT, STARTTLS
// (with control/servercert.pem: certificate and key in one file; not
// offered under sslserver), AUTH (LOGIN PLAIN CRAM-MD5 when a checkpassword
// program is given or control/auth.cdb exists). EHLO offers PIPELINING,
// 8BITMIME and SIZE (control/databytes). End of data is CR LF . CR LF
// only; a bare LF in the data gets qmail's 451 and the end of the session.
//
// AUTH (smtp/auth) is offered and accepted only under TLS unless
// ALLOW_INSECURE_AUTH is set (else "538 encryption required..."). An
// authenticated client relays as with RELAYCLIENT, shows as USER@IP in the
// Received line, gets "X-AuthUser: USER" under it (the client's own
// X-AuthUser fields are dropped) and the queue program sees TCPREMOTEINFO
// and SMTP_AUTH_USER set to USER. Each refused attempt delays the next
// command by as many seconds as there were refusals; the third ends the
// session (421). STARTTLS forgets an earlier AUTH (RFC 3207).
//
// Controls (control/...): me, smtpgreeting, localiphost, timeoutsmtpd
// (default 1200), rcpthosts, morercpthosts.cdb, badmailfrom, badrcptto,
// databytes, maxrcpt, mfcheck, validrcptto.cdb, servercert.pem, auth.cdb.
// Environment:
//   RELAYCLIENT     relaying allowed; the value is appended to recipients
//   DATABYTES       overrides control/databytes (0: no limit)
//   MAXRCPT         recipients per message (control/maxrcpt; default 100,
//                   0 no limit, less than 100 counts as 100: RFC 5321)
//   MFCHECK         the sender's domain must have an MX or an address
//                   (451 on a DNS failure, 553 when it does not exist);
//                   2 logs failures, 3 passes too
//   VALIDRCPTTO_CDB the validrcptto.cdb to use (default control/'s; empty:
//                   none); VALIDRCPTTO_LIMIT invalid recipients after which
//                   the client is sent away (default 10, 0 never);
//                   VALIDRCPTTO_LOG 1 logs the keys that matched
//   SMTPGREETING    overrides control/smtpgreeting
//   GREETDELAY      seconds to wait before the greeting; DROP_PRE_GREET
//                   drops a client that speaks before it
//   QMAILSMTPD_LOG_MAIL, QMAILSMTPD_LOG_RCPT  log the envelope lines
//   QMAILSMTPD_HELP_VERSION  HELP also names qbox
//   FORCE_TLS       MAIL needs STARTTLS first; DENY_TLS no STARTTLS;
//   TLS_SERVER_CERT another certificate file than control/servercert.pem
//   SSL_PROTOCOL, SSL_CIPHER (sslserver), SSL=1  the connection is TLS
//   REQUIRE_AUTH    MAIL needs AUTH first; ALLOW_INSECURE_AUTH  AUTH
//                   without TLS; AUTH_CDB another file than control/auth.cdb
//   QMAILQUEUE      the program that queues (default bin/qmail-queue)
//
// Log (stderr, one line each, for multilog): classic qmail-smtpd logs
// nothing; these are the lines of the JMS combined patch, plus one per
// message. Every line starts with "qmail-smtpd[PID]: ":
//   message accepted [IP] qp QP bytes N rcpts N from <SENDER>[ auth USER]
//   message refused [IP] from <SENDER>[ auth USER]: REPLY
//   AUTH successful [IP] USER          AUTH failed [IP] REASON
//   MAIL FROM:<addr>   RCPT TO:<addr>  (with the two QMAILSMTPD_LOG_ flags)
//   badmailfrom: <addr> at IP          badrcptto: <addr> at IP
//   rcpthosts [IP] relaying denied: <addr>
//   validrcptto [IP] not found: addr   validrcptto [IP] excessive violations, hanging up
//   MAXRCPT fail [IP]                  DATABYTES exceeded [IP]
//   MFCHECK fail [IP] domain           (MFCHECK=2; MFCHECK=3 also "pass")
//   before greeting: [IP] client sent data | client disconnected
//   STARTTLS [IP] ...                  bare LF [IP]   timeout [IP]
//   unable to read controls: FILE: ERROR
// Bytes below 32 in logged client text show as '?'.
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <ctime>
#include <poll.h>
#include <unistd.h>
#include <vector>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/env.hpp"
#include "base/fd.hpp"
#include "base/num.hpp"
#include "base/str.hpp"
#include "cdb/cdb.hpp"
#include "dns/resolver.hpp"
#include "net/ifaddr.hpp"
#include "net/ip.hpp"
#include "proc/child.hpp"
#include "qmail/constmap.hpp"
#include "qmail/control.hpp"
#include "queue/submit.hpp"
#include "smtp/auth.hpp"
#include "smtp/command.hpp"
#include "smtp/conn.hpp"
#include "smtp/data.hpp"
#include "smtp/policy.hpp"
#include "smtp/received.hpp"
#include "smtp/validrcptto.hpp"
#include "time/tai.hpp"
#include "tls/creds.hpp"

using namespace qbox;
using namespace qbox::smtp;

static constexpr char kUsage[] = "qmail-smtpd [ hostname checkpassword subprogram [ arg ... ] ]";

namespace {

// Recipients' bytes per message, whatever MAXRCPT says: memory stays bounded.
constexpr std::size_t kMaxEnvelope = 256 << 10;
// Refused AUTH attempts before the client is sent away; each one before
// that delays the next command by as many seconds as there were failures.
constexpr unsigned kMaxAuthFailures = 3;

unsigned long env_num(const char* name, unsigned long def) {
  const char* v = env::get(name);
  if (!v) return def;
  unsigned long n = 0;
  scan_ulong(v, n);
  return n;
}

bool env_flag(const char* name) { return env_num(name, 0) > 0; }

const char* env_or(const char* name, const char* def) {
  const char* v = env::get(name);
  return v ? v : def;
}

class Smtpd {
 public:
  explicit Smtpd(unsigned timeout) : io_(0, 1, timeout) {}
  int main(int argc, char** argv);

 private:
  // ---- output and logging
  void out(std::string_view s) {
    if (io_.put(s) < 0) _exit(1);
  }
  void flush() {
    if (io_.flush() < 0) _exit(1);
  }
  [[noreturn]] void bye(std::string_view reply) {
    out(reply);
    io_.close();
    _exit(1);
  }
  void log(std::initializer_list<std::string_view> parts);
  [[noreturn]] void die_control(const char* file);
  [[noreturn]] void die_read();

  // ---- set-up
  void setup();
  void greet_delay();

  // ---- commands
  void dispatch(const Command& c);
  void smtp_helo(std::string_view arg, bool ehlo);
  void smtp_mail(std::string_view arg);
  void smtp_rcpt(std::string_view arg);
  void smtp_data();
  void smtp_starttls(std::string_view arg);
  void smtp_auth(std::string_view arg);
  void setup_auth(int argc, char** argv);
  void dohelo(std::string_view arg);
  void reset_session();

  // ---- checks
  bool addrparse(std::string_view arg, std::string_view* params = nullptr);
  void localiphost();
  int mfcheck();  // 0 pass, 1 permanent failure, 2 temporary
  bool validrcptto();
  void protocol(Str& out) const;

  Conn io_;
  qmail::Control ctl_;
  Str greeting_;
  bool liphost_ok_ = false;
  Str liphost_;
  unsigned long databytes_ = 0;
  unsigned long maxrcpt_ = 100;
  unsigned long mfcheck_ = 0;
  unsigned long vrt_limit_ = 10;
  unsigned long vrt_log_ = 0;
  unsigned long greetdelay_ = 0;
  bool drop_pre_greet_ = false;
  bool log_mail_ = false, log_rcpt_ = false, help_version_ = false;
  bool force_tls_ = false, deny_tls_ = false;
  const char* servercert_ = "control/servercert.pem";
  tls::Credentials* creds_ = nullptr;
  bool bmf_ok_ = false, brt_ok_ = false;
  qmail::ConstMap bmf_, brt_;
  RcptHosts rcpthosts_;
  CdbReader vrt_;
  AuthConfig auth_;
  bool auth_offered_ = false;  // a backend exists
  bool allow_insecure_auth_ = false, require_auth_ = false;
  unsigned auth_failures_ = 0;

  const char* remoteip_ = "unknown";
  const char* remotehost_ = "unknown";
  const char* local_ = "unknown";
  const char* remoteinfo_ = nullptr;
  const char* relayclient_ = nullptr;
  Str pid_;

  // The session.
  Str helohost_;
  bool fakehelo_ = false;  // helohost_ differs from remotehost_
  bool seenmail_ = false;
  bool flagbarf_ = false;  // the sender is in badmailfrom
  Str addr_;               // the address of the current MAIL or RCPT
  Str mailfrom_;
  Str rcptto_;             // recipients, each followed by a NUL
  unsigned long nrcpt_ = 0;
  unsigned long vrt_count_ = 0;
  Str user_;               // the authenticated user, if any
};

void Smtpd::log(std::initializer_list<std::string_view> parts) {
  Str line("qmail-smtpd[");
  line.append(pid_.view());
  line.append("]: ");
  for (std::string_view p : parts)
    for (char c : p) line.push(static_cast<unsigned char>(c) < 32 || c == 127 ? '?' : c);
  line.push('\n');
  write_all(2, line.view());
}

void Smtpd::die_control(const char* file) {
  Str why(error_str(errno));
  log({"unable to read controls: ", file, ": ", why.view()});
  bye("421 unable to read controls (#4.3.0)\r\n");
}

void Smtpd::die_read() {
  if (errno == ETIMEDOUT) {
    log({"timeout [", remoteip_, "]"});
    bye("451 timeout (#4.4.2)\r\n");
  }
  _exit(1);
}

// ---- set-up ------------------------------------------------------------------

void Smtpd::setup() {
  if (ctl_.init() < 0) die_control("control/me");
  if (ctl_.rldef(greeting_, "control/smtpgreeting", true, nullptr) != 1) die_control("control/smtpgreeting");
  if (const char* g = env::get("SMTPGREETING")) greeting_ = std::string_view(g);
  int r = ctl_.rldef(liphost_, "control/localiphost", true, nullptr);
  if (r < 0) die_control("control/localiphost");
  liphost_ok_ = r == 1;
  const char* failed = nullptr;
  if (rcpthosts_.init(ctl_, &failed) < 0) die_control(failed);

  Str lines;
  r = ctl_.readfile(lines, "control/badmailfrom", false);
  if (r < 0) die_control("control/badmailfrom");
  if ((bmf_ok_ = r == 1)) bmf_.init(lines.view(), false);
  r = ctl_.readfile(lines, "control/badrcptto", false);
  if (r < 0) die_control("control/badrcptto");
  if ((brt_ok_ = r == 1)) brt_.init(lines.view(), false);

  if (qmail::Control::readint(databytes_, "control/databytes", ULONG_MAX) < 0) die_control("control/databytes");
  databytes_ = env_num("DATABYTES", databytes_);
  if (qmail::Control::readint(maxrcpt_, "control/maxrcpt", ULONG_MAX) < 0) die_control("control/maxrcpt");
  maxrcpt_ = env_num("MAXRCPT", maxrcpt_);
  if (maxrcpt_ > 0 && maxrcpt_ < 100) maxrcpt_ = 100;
  if (qmail::Control::readint(mfcheck_, "control/mfcheck", ULONG_MAX) < 0) die_control("control/mfcheck");
  mfcheck_ = env_num("MFCHECK", mfcheck_);

  // validrcptto.cdb: $VALIDRCPTTO_CDB names it (empty: none), else control/'s.
  const char* vrt = env::get("VALIDRCPTTO_CDB");
  if (vrt) {
    if (*vrt && vrt_.open(vrt) != 0) die_control(vrt);
  } else if (vrt_.open("control/validrcptto.cdb") != 0 && errno != ENOENT) {
    die_control("control/validrcptto.cdb");
  }
  vrt_limit_ = env_num("VALIDRCPTTO_LIMIT", 10);
  vrt_log_ = env_num("VALIDRCPTTO_LOG", 0);

  greetdelay_ = env_num("GREETDELAY", 0);
  drop_pre_greet_ = env_flag("DROP_PRE_GREET");
  log_mail_ = env_flag("QMAILSMTPD_LOG_MAIL");
  log_rcpt_ = env_flag("QMAILSMTPD_LOG_RCPT");
  help_version_ = env_flag("QMAILSMTPD_HELP_VERSION");

  // TLS outside (sslserver sets SSL_PROTOCOL and SSL_CIPHER; the JMS run
  // script sets SSL=1): no STARTTLS then, and FORCE_TLS is satisfied.
  io_.set_tls_outside(env::get("SSL_PROTOCOL") || env::get("SSL_CIPHER") || env_flag("SSL"));
  servercert_ = env_or("TLS_SERVER_CERT", "control/servercert.pem");
  deny_tls_ = env_flag("DENY_TLS") || ::access(servercert_, R_OK) != 0;
  force_tls_ = env_flag("FORCE_TLS") && !io_.tls();
  if (force_tls_ && deny_tls_) {
    log({"FORCE_TLS without a usable ", servercert_});
    bye("421 FORCE_TLS set but TLS is not available (#4.3.0)\r\n");
  }

  remoteip_ = env_or("TCPREMOTEIP", "unknown");
  local_ = env::get("TCPLOCALHOST");
  if (!local_) local_ = env_or("TCPLOCALIP", "unknown");
  remotehost_ = env_or("TCPREMOTEHOST", "unknown");
  remoteinfo_ = env::get("TCPREMOTEINFO");
  relayclient_ = env::get("RELAYCLIENT");
  dohelo(remotehost_);
}

void Smtpd::greet_delay() {
  if (!greetdelay_ && !drop_pre_greet_) return;
  int ms = static_cast<int>((greetdelay_ ? (greetdelay_ > 3600 ? 3600 : greetdelay_) : 1) * 1000);
  std::int64_t until = monotonic_ms() + ms;
  long r = io_.fill_within(ms);
  if (r < 0 && errno != ETIMEDOUT) {
    Str why(error_str(errno));
    log({"before greeting: [", remoteip_, "] ", why.view()});
    _exit(1);
  }
  if (r == 0) {
    log({"before greeting: [", remoteip_, "] client disconnected"});
    _exit(1);
  }
  if (r > 0) {
    if (drop_pre_greet_) {
      log({"before greeting: [", remoteip_, "] client sent data"});
      bye("554 SMTP protocol violation\r\n");
    }
    // Talking early buys no time: the data waits, and so does the client.
    std::int64_t left = until - monotonic_ms();
    if (left > 0) ::poll(nullptr, 0, static_cast<int>(left));
  }
}

// ---- commands -----------------------------------------------------------------

void Smtpd::dohelo(std::string_view arg) {
  helohost_ = arg;
  fakehelo_ = qmail::case_compare(remotehost_, arg) != 0;
}

void Smtpd::reset_session() {
  seenmail_ = false;
  rcptto_.clear();
  nrcpt_ = 0;
}

void Smtpd::smtp_helo(std::string_view arg, bool ehlo) {
  out(ehlo ? "250-" : "250 ");
  out(greeting_.view());
  out("\r\n");
  if (ehlo) {
    if (auth_offered_ && (io_.tls() || allow_insecure_auth_)) {
      out("250-AUTH ");
      out(auth_mechanisms(auth_));
      out("\r\n");
    }
    if (!deny_tls_ && !io_.tls()) out("250-STARTTLS\r\n");
    out("250-SIZE");
    if (databytes_) {
      char b[kNumDigits];
      out(" ");
      out(fmt_num(b, databytes_));
    }
    out("\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
  }
  reset_session();
  dohelo(arg);
}

bool Smtpd::addrparse(std::string_view arg, std::string_view* params) {
  ParsedAddress p = parse_address(arg, addr_);
  if (!p.ok) return false;
  if (params) *params = p.params;
  if (liphost_ok_) localiphost();
  return addr_.size() <= kMaxAddress;
}

// "user@[1.2.3.4]" with one of our addresses becomes user@localiphost.
void Smtpd::localiphost() {
  std::string_view a = addr_.view();
  std::size_t at = a.rfind('@');
  if (at == std::string_view::npos || a.size() < at + 3 || a[at + 1] != '[' || a.back() != ']') return;
  std::string_view lit = a.substr(at + 2, a.size() - at - 3);
  uint8_t ip[16];
  bool v6 = lit.size() > 5 && qmail::case_compare(lit.substr(0, 5), "IPv6:") == 0;
  if (v6 ? !net::parse_ip6(lit.substr(5), ip) : !net::parse_ip(lit, ip)) return;
  if (!v6 && lit.find(':') != std::string_view::npos) return;
  if (net::is_local_ip(ip) != 1) return;
  addr_.truncate(at + 1);
  addr_.append(liphost_.view());
}

int Smtpd::mfcheck() {
  std::string_view a = addr_.view();
  if (!mfcheck_ || a.empty() || a == "#@[]") return 0;
  std::size_t at = a.rfind('@');
  if (at == std::string_view::npos || at + 1 == a.size()) {
    if (mfcheck_ > 1) log({"MFCHECK invalid [", remoteip_, "] ", a});
    return 1;
  }
  std::string_view domain = a.substr(at + 1);
  if (domain.front() == '[') return 0;  // an address literal needs no DNS
  dns::Resolver dns;
  std::vector<dns::Mx> mx;
  dns::Status st = dns.lookup_mx(domain, mx);
  int verdict;
  if (st == dns::Status::ok) {
    // A null MX (RFC 7505) says the domain takes no mail.
    verdict = mx.size() == 1 && (mx[0].name.view() == "." || mx[0].name.empty()) ? 1 : 0;
  } else if (st == dns::Status::nodata) {
    // No MX: mail goes to the domain's address, if it has one.
    verdict = 1;
    for (uint16_t type : {dns::kTypeA, dns::kTypeAaaa}) {
      std::vector<dns::Record> rr;
      dns::Status s2 = dns.query(domain, type, rr);
      if (s2 == dns::Status::ok) { verdict = 0; break; }
      if (s2 == dns::Status::temporary) { verdict = 2; break; }
    }
  } else {
    verdict = st == dns::Status::temporary ? 2 : 1;
  }
  if (verdict && mfcheck_ > 1) log({"MFCHECK fail [", remoteip_, "] ", domain});
  if (!verdict && mfcheck_ > 2) log({"MFCHECK pass [", remoteip_, "] ", domain});
  return verdict;
}

void Smtpd::smtp_mail(std::string_view arg) {
  if (force_tls_ && !io_.tls()) return out("530 must issue STARTTLS first (#5.7.0)\r\n");
  if (require_auth_ && user_.empty()) return out("530 authentication required (#5.7.1)\r\n");
  std::string_view params;
  if (!addrparse(arg, &params)) return out("555 syntax error (#5.5.4)\r\n");
  if (databytes_) {
    std::optional<std::uint64_t> size = size_param(params);
    if (size && *size > databytes_) {
      log({"DATABYTES exceeded [", remoteip_, "]"});
      return out("552 sorry, that message size exceeds my databytes limit (#5.3.4)\r\n");
    }
  }
  switch (mfcheck()) {
    case 1: return out("553 sorry, your envelope sender domain must exist (#5.7.1)\r\n");
    case 2: return out("451 DNS temporary failure (#4.3.0)\r\n");
  }
  flagbarf_ = bmf_ok_ && address_listed(bmf_, addr_.view());
  reset_session();
  seenmail_ = true;
  mailfrom_ = addr_.view();
  if (log_mail_) log({"MAIL FROM:<", mailfrom_.view(), ">"});
  out("250 ok\r\n");
}

bool Smtpd::validrcptto() {
  if (!vrt_.is_open()) return true;
  Str key;
  int r = validrcptto_check(vrt_, addr_.view(), &key);
  if (r < 0) die_control("validrcptto.cdb");
  if (r == 1 && vrt_log_) log({"validrcptto [", remoteip_, "] found: ", key.view()});
  return r == 1;
}

void Smtpd::smtp_rcpt(std::string_view arg) {
  if (!seenmail_) return out("503 MAIL first (#5.5.1)\r\n");
  if (!addrparse(arg)) return out("555 syntax error (#5.5.4)\r\n");
  if (log_rcpt_) log({"RCPT TO:<", addr_.view(), ">"});
  if (flagbarf_) {
    log({"badmailfrom: <", mailfrom_.view(), "> at ", remoteip_});
    return out("553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)\r\n");
  }
  if (brt_ok_ && address_listed(brt_, addr_.view())) {
    log({"badrcptto: <", addr_.view(), "> at ", remoteip_});
    return out("553 sorry, your envelope recipient is in my badrcptto list (#5.7.1)\r\n");
  }
  if (maxrcpt_ && nrcpt_ >= maxrcpt_) {
    log({"MAXRCPT fail [", remoteip_, "]"});
    return out("452 sorry, too many recipients (#4.5.3)\r\n");
  }
  if (relayclient_) {
    addr_.append(relayclient_);
  } else {
    int ok = rcpthosts_.allowed(addr_.view());
    if (ok < 0) die_control("control/morercpthosts.cdb");
    if (!ok) {
      log({"rcpthosts [", remoteip_, "] relaying denied: <", addr_.view(), ">"});
      return out("553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)\r\n");
    }
    if (!validrcptto()) {
      log({"validrcptto [", remoteip_, "] not found: ", addr_.view()});
      if (vrt_limit_ && ++vrt_count_ >= vrt_limit_) {
        log({"validrcptto [", remoteip_, "] excessive violations, hanging up"});
        bye("421 too many invalid addresses, goodbye (#4.3.0)\r\n");
      }
      return out("553 sorry, this recipient is not in my validrcptto list (#5.7.1)\r\n");
    }
  }
  if (rcptto_.size() + addr_.size() + 1 > kMaxEnvelope) {
    log({"MAXRCPT fail [", remoteip_, "] envelope too large"});
    return out("452 sorry, too many recipients (#4.5.3)\r\n");
  }
  rcptto_.append(addr_.view());
  rcptto_.push('\0');
  ++nrcpt_;
  out("250 ok\r\n");
}

void Smtpd::protocol(Str& p) const {
  if (!io_.tls()) {
    p = std::string_view("SMTP");
    return;
  }
  const char* cipher = io_.cipher();
  if (!*cipher) cipher = env_or("SSL_CIPHER", "");
  p = std::string_view("(");
  append_safe(p, *cipher ? std::string_view(cipher) : std::string_view("TLS"));
  p.append(" encrypted) SMTP");
}

void Smtpd::smtp_data() {
  if (!seenmail_) return out("503 MAIL first (#5.5.1)\r\n");
  if (rcptto_.empty()) return out("503 RCPT first (#5.5.1)\r\n");
  seenmail_ = false;
  queue::Submit qq;
  if (qq.open() != 0) return out("451 qqt failure (#4.3.0)\r\n");
  out("354 go ahead\r\n");

  Str chunk, proto;
  // Room for a whole chunk (flushed at 4096 bytes, plus a line) from the
  // start: growing it step by step made malloc map and unmap three times.
  chunk.reserve(8192);
  protocol(proto);
  ReceivedInfo ri;
  ri.remotehost = remotehost_;
  ri.remoteip = remoteip_;
  if (remoteinfo_) ri.remoteinfo = std::string_view(remoteinfo_);
  if (fakehelo_) ri.helo = helohost_.view();
  ri.local = local_;
  ri.protocol = proto.view();
  received_line(chunk, ri, static_cast<std::int64_t>(::time(nullptr)));
  if (!user_.empty()) {
    chunk.append("X-AuthUser: ");
    for (char c : user_.view()) chunk.push(static_cast<unsigned char>(c) < 32 || c == 127 ? '?' : c);
    chunk.push('\n');
  }
  qq.put(chunk.view());
  chunk.clear();

  DataReader reader(databytes_, !user_.empty());
  io_.restart_clock();
  for (;;) {
    long r = io_.fill();
    if (r <= 0) {
      if (r == 0) errno = 0;
      die_read();  // qmail-queue sees the message cut short and queues nothing
    }
    std::string_view in = io_.peek();
    std::size_t used = 0;
    DataReader::Status st = reader.feed(in, used, chunk);
    if (std::memchr(in.data(), '\n', used)) io_.restart_clock();
    io_.skip(used);
    if (chunk.size() >= 4096 || st != DataReader::Status::kMore) {
      qq.put(chunk.view());
      chunk.clear();
    }
    if (st == DataReader::Status::kBareLf) {
      log({"bare LF [", remoteip_, "]"});
      bye("451 See http://pobox.com/~djb/docs/smtplf.html.\r\n");
    }
    if (st == DataReader::Status::kEnd) break;
  }

  bool hops = reader.too_many_hops();
  if (hops || reader.too_big() || reader.header_line_too_long()) qq.fail();
  qq.from(mailfrom_.view());
  for (std::string_view rest = rcptto_.view(); !rest.empty();) {
    std::size_t z = rest.find('\0');
    qq.to(rest.substr(0, z));
    rest.remove_prefix(z + 1);
  }
  pid_t qp = qq.pid();
  std::string_view qqx = qq.close();
  char num[kNumDigits], num2[kNumDigits];
  std::string_view auth = user_.empty() ? std::string_view() : std::string_view(" auth ");
  if (qqx.empty()) {
    char when[kNumDigits];
    out("250 ok ");
    out(fmt_num(when, static_cast<unsigned long long>(::time(nullptr))));
    out(" qp ");
    out(fmt_num(num, static_cast<unsigned long long>(qp)));
    out("\r\n");
    char bytes[kNumDigits];
    log({"message accepted [", remoteip_, "] qp ", fmt_num(num, static_cast<unsigned long long>(qp)),
         " bytes ", fmt_num(bytes, reader.bytes()), " rcpts ", fmt_num(num2, nrcpt_), " from <",
         mailfrom_.view(), ">", auth, user_.view()});
    return;
  }
  Str reply;
  if (hops) {
    reply = std::string_view("554 too many hops, this message is looping (#5.4.6)");
  } else if (reader.too_big()) {
    log({"DATABYTES exceeded [", remoteip_, "]"});
    reply = std::string_view("552 sorry, that message size exceeds my databytes limit (#5.3.4)");
  } else if (reader.header_line_too_long()) {
    reply = std::string_view("554 sorry, a header line of the message is too long (#5.3.4)");
  } else {
    reply = std::string_view(qqx[0] == 'D' ? "554 " : "451 ");
    reply.append(qqx.substr(1));
  }
  log({"message refused [", remoteip_, "] from <", mailfrom_.view(), ">", auth, user_.view(), ": ",
       reply.view()});
  out(reply.view());
  out("\r\n");
}

void Smtpd::smtp_starttls(std::string_view arg) {
  if (!arg.empty()) return out("501 Syntax error (no parameters allowed) (#5.5.4)\r\n");
  if (io_.tls()) return out("454 TLS not available: TLS already active (#4.3.0)\r\n");
  if (deny_tls_) return out("454 TLS not available (#4.3.0)\r\n");
  if (!creds_) {
    creds_ = new tls::Credentials;
    Str err;
    if (!creds_->load(servercert_, nullptr, err)) {
      log({"STARTTLS [", remoteip_, "] ", err.view()});
      delete creds_;
      creds_ = nullptr;
      return out("454 TLS not available: missing certificate (#4.3.0)\r\n");
    }
  }
  Str err;
  if (!io_.starttls(*creds_, "220 ready for tls\r\n", err)) {
    log({"STARTTLS [", remoteip_, "] ", err.view()});
    if (!io_.tls()) return out("454 TLS not available: unable to start TLS (#4.3.0)\r\n");
    _exit(1);
  }
  if (io_.discarded()) {
    char n[kNumDigits];
    log({"STARTTLS [", remoteip_, "] dropped ", fmt_num(n, io_.discarded()),
         " bytes sent before the TLS handshake"});
  }
  // RFC 3207: everything the client said before is forgotten.
  reset_session();
  dohelo(remotehost_);
  remoteinfo_ = env::get("TCPREMOTEINFO");
  relayclient_ = env::get("RELAYCLIENT");
  if (!user_.empty()) {
    env::set("TCPREMOTEINFO", remoteinfo_);
    env::unset("SMTP_AUTH_USER");
  }
  user_.clear();
}

// AUTH: with `qmail-smtpd HOSTNAME CHECKPASSWORD SUBPROGRAM...` (the
// patches' way) or control/auth.cdb ($AUTH_CDB); HOSTNAME goes into the
// CRAM-MD5 challenge.
void Smtpd::setup_auth(int argc, char** argv) {
  if (argc > 3) auth_.checkpassword = argv + 2;
  auth_.hostname = argc > 3 ? std::string_view(argv[1]) : ctl_.me();
  const char* cdb = env::get("AUTH_CDB");
  if (cdb && *cdb) {
    if (::access(cdb, R_OK) != 0) {
      Str why(error_str(errno));
      log({"unable to read AUTH_CDB ", cdb, ": ", why.view()});
      bye("421 cannot read AUTH_CDB file (#4.3.0)\r\n");
    }
    auth_.cdb = cdb;
  } else if (::access("control/auth.cdb", F_OK) == 0) {
    auth_.cdb = "control/auth.cdb";
  }
  auth_offered_ = !auth_mechanisms(auth_).empty();
  allow_insecure_auth_ = env_flag("ALLOW_INSECURE_AUTH");
  require_auth_ = env_flag("REQUIRE_AUTH");
  if (require_auth_ && !auth_offered_) {
    log({"REQUIRE_AUTH without a checkpassword program or control/auth.cdb"});
    bye("421 REQUIRE_AUTH set without valid AUTH program (#4.3.0)\r\n");
  }
}

void Smtpd::smtp_auth(std::string_view arg) {
  if (!auth_offered_) return out("503 auth not available (#5.3.3)\r\n");
  if (!user_.empty()) return out("503 you're already authenticated (#5.5.0)\r\n");
  if (seenmail_) return out("503 no auth during mail transaction (#5.5.0)\r\n");
  if (!io_.tls() && !allow_insecure_auth_)
    return out("538 encryption required for requested authentication mechanism (#5.7.11)\r\n");
  Str user, why;
  int r = auth_command(arg, io_, auth_, user, why);
  if (r < 0) _exit(1);
  if (r == 1) {
    // The authenticated user relays as RELAYCLIENT does, shows in the
    // Received line as the client's identity, and is told to the queue
    // program ($TCPREMOTEINFO and $SMTP_AUTH_USER, as the patches do).
    user_ = user.view();
    Str safe;
    for (char c : user_.view()) safe.push(static_cast<unsigned char>(c) < 32 || c == 127 ? '?' : c);
    user_ = safe.view();
    remoteinfo_ = user_.c_str();
    if (!relayclient_) relayclient_ = "";
    env::set("TCPREMOTEINFO", user_.c_str());
    env::set("SMTP_AUTH_USER", user_.c_str());
    log({"AUTH successful [", remoteip_, "] ", user_.view()});
    auth_failures_ = 0;
    return;
  }
  // A refusal: the reply is out. Each one costs the client more time, and
  // a few of them the connection.
  ++auth_failures_;
  log({"AUTH failed [", remoteip_, "] ", why.view()});
  if (auth_failures_ >= kMaxAuthFailures) {
    log({"AUTH [", remoteip_, "] too many failures, hanging up"});
    bye("421 too many failed AUTH attempts, goodbye (#4.7.0)\r\n");
  }
  flush();
  ::poll(nullptr, 0, static_cast<int>(auth_failures_ > 5 ? 5 : auth_failures_) * 1000);
}

void Smtpd::dispatch(const Command& c) {
  switch (c.verb) {
    case Verb::kRcpt: return smtp_rcpt(c.arg);
    case Verb::kMail: return smtp_mail(c.arg);
    case Verb::kData: smtp_data(); break;
    case Verb::kQuit:
      out("221 ");
      out(greeting_.view());
      out("\r\n");
      io_.close();
      _exit(0);
    case Verb::kHelo: smtp_helo(c.arg, false); break;
    case Verb::kEhlo: smtp_helo(c.arg, true); break;
    case Verb::kRset:
      reset_session();
      return out("250 flushed\r\n");
    case Verb::kHelp:
      out(help_version_ ? "214-qmail home page: http://pobox.com/~djb/qmail.html\r\n214 qbox qmail-smtpd\r\n"
                        : "214 qmail home page: http://pobox.com/~djb/qmail.html\r\n");
      break;
    case Verb::kNoop: out("250 ok\r\n"); break;
    case Verb::kVrfy: out("252 send some mail, i'll try my best\r\n"); break;
    case Verb::kStarttls: smtp_starttls(c.arg); break;
    case Verb::kAuth: smtp_auth(c.arg); break;
    default: out("502 unimplemented (#5.5.1)\r\n"); break;
  }
  // Replies to pipelined commands (RFC 2920) go out together: the output
  // is flushed once the client's input is used up, as the next read would
  // wait (Conn flushes then too). Separate small writes would wait for
  // the client's delayed ACKs (Nagle).
  if (io_.peek().empty()) flush();
}

int Smtpd::main(int argc, char** argv) {
  char b[kNumDigits];
  pid_ = fmt_num(b, static_cast<unsigned long long>(::getpid()));
  sig_ignore(SIGPIPE);
  if (::chdir(qmail_home()) != 0) die_control(qmail_home());
  setup();
  setup_auth(argc, argv);
  greet_delay();
  out("220 ");
  out(greeting_.view());
  out(" ESMTP\r\n");
  Str line;
  for (;;) {
    int r = io_.getline(line, kMaxAuthLine);
    if (r == 0) _exit(1);
    if (r == -1) die_read();
    Command c;
    if (r == 1) c = parse_command(line.view());
    if (r == -2 || (line.size() > kMaxCommandLine && c.verb != Verb::kAuth)) {
      out("500 command line too long (#5.5.2)\r\n");
      flush();
      continue;
    }
    dispatch(c);
  }
}

int qmail_smtpd_main(int argc, char** argv) {
  // The timeout is needed before the connection object exists.
  unsigned long timeout = 1200;
  const char* home = qmail_home();
  Str path(home);
  path.append("/control/timeoutsmtpd");
  if (qmail::Control::readint(timeout, path.c_str(), 0x7fffffff) < 0) {
    Str why(error_str(errno));
    char pid[kNumDigits];
    warn("qmail-smtpd[", fmt_num(pid, static_cast<unsigned long long>(::getpid())),
         "]: unable to read controls: control/timeoutsmtpd: ", why.view());
    write_all(1, "421 unable to read controls (#4.3.0)\r\n");
    return 1;
  }
  if (timeout == 0) timeout = 1;
  Smtpd* s = new Smtpd(static_cast<unsigned>(timeout));
  return s->main(argc, argv);
}

}  // namespace

extern const AppletInfo applet_qmail_smtpd = {
    "receive mail over SMTP and queue it (STARTTLS, AUTH, the popular patches' controls)", kUsage,
    qmail_smtpd_main};
