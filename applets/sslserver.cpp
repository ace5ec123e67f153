// sslserver: tcpserver with TLS, compatible with ucspi-ssl's sslserver for
// SMTPS and POP3S. The listening, the rules, the limits and the -v log are
// tcpserver's (src/net/server.hpp); each allowed connection's child does
// the TLS handshake itself (BearSSL, src/tls), sets the TLS environment and
// runs the program on pipes, relaying between them and the connection.
//
// Options: tcpserver's (with TCP_NODELAY on unless -d, as ucspi-ssl's
// code has it), plus ucspi-ssl's -i (require a valid client certificate,
// checked against $CAFILE) and -I (ask for none, the default), -T
// (handshake timeout, 26 s), -w (idle timeout, 3600 s), -e/-E (tcpserver's
// variables too, or not), -s/-S (the SSL_* session variables, or not), -V
// (fehcom's: -v, and protocol:cipher in the "ssl PID accept" line), -3
// (the passphrase of an encrypted key, up to a NUL or the end, from
// descriptor 3, which is then closed; src/tls/keycrypt.hpp has the
// encryptions that work), -n (UCSPI-TLS: the program starts at once on
// the plain connection and asks for TLS later, see ucspi_tls() below) and
// -N (TLS at once, the default), and, for the sake of existing run
// scripts, -a/-A, which change nothing.
//
// Differences from ucspi-ssl: the TCP* variables (-e) and the SSL_*
// variables (-s) are set by default; the certificate and key are always
// read before -u/-g take effect (as with -a); with -n, a program that
// closes $SSLCTLFD without asking for TLS keeps its plain connection
// (ucspi-ssl stops it); a client certificate under -i is not
// matched against the client's host name; without -n the program starts
// only once the handshake has succeeded (ucspi-ssl starts it at once, and
// without -s it runs even for a client whose handshake then fails).
// $CERTFILE (or $CERTCHAINFILE) names the chain, $KEYFILE the key (unset
// or empty: the key is in the certificate file); $CADIR, $CCAFILE,
// $CIPHERS, $DHFILE and $VERIFYDEPTH are ignored: the policy is fixed
// (TLS 1.2, ECDHE with AES-GCM or ChaCha20-Poly1305).
#include <bearssl.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/env.hpp"
#include "base/fd.hpp"
#include "base/getopt.hpp"
#include "base/num.hpp"
#include "net/server.hpp"
#include "proc/child.hpp"
#include "proc/exec.hpp"
#include "tls/creds.hpp"
#include "tls/keycrypt.hpp"
#include "tls/session.hpp"

using namespace qbox;

static constexpr char kUsage[] =
    "sslserver [ -13UXpPhHrRoOdDqQvViIeEsSaAnN ] [ -c limit ] [ -x rules.cdb ] [ -B banner ] "
    "[ -g gid ] [ -u uid ] [ -b backlog ] [ -l localname ] [ -t timeout ] [ -T ssltimeout ] "
    "[ -w progtimeout ] host port program";

// tcpserver's letters and ucspi-ssl's.
static constexpr char kOptions[] = "dDvqQhHrR13UXx:t:u:g:l:b:B:c:pPoOiIeEsSaAnNVT:w:";

static constexpr char kProg[] = "sslserver";
static constexpr char kFatal[] = "sslserver: fatal: ";
static constexpr char kDrop[] = "sslserver: warning: dropping connection, ";

namespace {

struct Config {
  net::ServerOptions o;
  bool show_cipher = false;      // -V
  bool passphrase_fd3 = false;   // -3
  bool ucspi_tls = false;        // -n
  bool ssl_env = true;           // -s / -S
  unsigned long ssl_timeout = 26;    // -T, seconds
  unsigned long prog_timeout = 3600; // -w, seconds
  const char* banner = "";       // -B, sent through TLS after the handshake
  tls::Credentials creds;
  tls::TrustAnchors client_cas;
  tls::ServerConfig tls;
  Str server_dn;                 // $SSL_SERVER_S_DN
};

template <class... A>
[[noreturn]] void fatal(const Config& c, const A&... a) {
  if (c.o.verbosity) die(kExitTemp, kFatal, a...);
  _exit(kExitTemp);
}

template <class... A>
[[noreturn]] void drop(const Config& c, const A&... a) {
  if (c.o.verbosity) warn(kDrop, a...);
  _exit(kExitTemp);
}

// After a failed handshake: a clean end for the client (a plain-text one,
// say): our FIN first, then whatever it sent and we did not read is
// dropped, so that the close does not answer it with a reset.
void close_gently(int fd) {
  ::shutdown(fd, SHUT_WR);
  char buf[4096];
  for (int i = 0; i < 16; ++i)
    if (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0) break;
  ::close(fd);
}

// A failed start or handshake: logged (the peer's address is in the
// "pid ... from" line before it), the connection closed gently.
[[noreturn]] void drop_handshake(const Config& c, int fd, const tls::Session& s) {
  close_gently(fd);
  drop(c, "unable to accept SSL: ", s.error());
}

// A timeout in seconds as poll() milliseconds (0 from the command line:
// no time at all, as ucspi-ssl's; capped, never negative).
int to_ms(unsigned long s) { return s > 2000000 ? 2000000000 : static_cast<int>(s * 1000); }

// The subject of our own certificate, once, in the parent.
void server_subject(Config& c) {
  const br_x509_certificate& cert = c.creds.chain()[0];
  Str der;
  br_x509_decoder_context dc;
  br_x509_decoder_init(&dc, tls::collect_dn, &der);
  br_x509_decoder_push(&dc, cert.data, cert.data_len);
  if (br_x509_decoder_last_error(&dc) == 0) tls::format_dn(der, c.server_dn);
}

// Everything from the environment and the files, before serving: a
// mistake here stops sslserver at once, not each connection.
void load_credentials(Config& c) {
  const char* cert = env::get("CERTCHAINFILE");
  if (!cert || !*cert) cert = env::get("CERTFILE");
  if (!cert || !*cert) fatal(c, "unable to load certificate: $CERTFILE is not set");
  const char* key = env::get("KEYFILE");  // unset or empty: in $CERTFILE
  Str err, pass;
  std::optional<std::string_view> passphrase;
  if (c.passphrase_fd3) {
    if (tls::read_passphrase(3, pass) != 0)
      fatal(c, "unable to read the passphrase from descriptor 3: ", error_str(errno));
    ::close(3);
    passphrase = pass.view();
  }
  bool loaded = c.creds.load(cert, key, err, passphrase);
  if (!pass.empty()) explicit_bzero(pass.data(), pass.size());
  if (!loaded) fatal(c, err);
  server_subject(c);
  c.tls.creds = &c.creds;
  if (c.tls.client_auth != tls::ClientAuth::kNone) {
    const char* ca = env::get("CAFILE");
    if (!ca || !*ca) fatal(c, "unable to load CA list: -i needs $CAFILE");
    if (!c.client_cas.load(ca, err)) fatal(c, err);
    c.tls.client_cas = &c.client_cas;
  }
}

void hex(Str& out, std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (unsigned char b : bytes) {
    out.push(kDigits[b >> 4]);
    out.push(kDigits[b & 15]);
  }
}

// ucspi-ssl's session variables, for what BearSSL knows: put(name,
// value) for each (a null value: unset).
template <class Put>
void ssl_vars(const Config& c, const tls::Session& s, Put put) {
  put("SSL_PROTOCOL", s.version());
  Str id;
  hex(id, s.session_id());
  put("SSL_SESSION_ID", id.c_str());
  put("SSL_CIPHER", s.cipher());
  char bits[kNumDigits + 1];
  std::string_view b = fmt_num(bits, s.cipher_bits());
  std::memmove(bits, b.data(), b.size());
  bits[b.size()] = 0;
  put("SSL_CIPHER_EXPORT", "false");
  put("SSL_CIPHER_USEKEYSIZE", bits);
  put("SSL_CIPHER_ALGKEYSIZE", bits);
  put("SSL_VERSION_INTERFACE", "qbox sslserver");
  put("SSL_VERSION_LIBRARY", "BearSSL");
  if (!c.server_dn.empty()) put("SSL_SERVER_S_DN", c.server_dn.c_str());
  std::string_view dn = s.peer_subject();
  Str d(dn);
  put("SSL_CLIENT_S_DN", dn.empty() ? nullptr : d.c_str());
}

// -s: in the program's environment.
void set_ssl_env(const Config& c, const tls::Session& s) {
  ssl_vars(c, s, [](const char* name, const char* value) { env::set(name, value); });
}

// UCSPI-TLS's 'Y': "VAR=value" and a NUL for each variable that has a
// value, then one more NUL.
void ssl_env_string(const Config& c, const tls::Session& s, Str& out) {
  ssl_vars(c, s, [&](const char* name, const char* value) {
    if (value) out.append(name).push('=').append(value).push('\0');
  });
  out.push('\0');
}

// Lifts a descriptor above 2 (the parent closed 0 and 1, so a pipe may
// land there), close-on-exec; -1 on failure.
int above_stdio(Fd& fd) {
  if (fd.get() > 2) return 0;
  int n = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
  if (n < 0) return -1;
  fd.reset(n);
  return 0;
}

// Starts the program with `in` on its descriptor 0 and `out` on 1, with
// vfork semantics (posix_spawn); every other descriptor of ours is
// close-on-exec (the socket too, unless it is `in` and `out`).
pid_t spawn_program(Fd& in, Fd& out, char** argv) {
  if (above_stdio(in) != 0 || above_stdio(out) != 0) return -1;
  posix_spawn_file_actions_t fa;
  if ((errno = posix_spawn_file_actions_init(&fa)) != 0) return -1;
  pid_t pid = -1;
  int e = posix_spawn_file_actions_adddup2(&fa, in.get(), 0);
  if (!e) e = posix_spawn_file_actions_adddup2(&fa, out.get(), 1);
  if (!e) e = pathspawn(&pid, argv, &fa);
  posix_spawn_file_actions_destroy(&fa);
  errno = e;
  return e ? -1 : pid;
}

// Waits for the program and exits as it did (0 if it crashed).
[[noreturn]] void exit_as(pid_t kid) {
  int wstat;
  if (wait_pid(kid, &wstat) == kid && !wait_crashed(wstat)) _exit(wait_exitcode(wstat));
  _exit(0);
}

int make_pipe(Fd& r, Fd& w) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return -1;
  r.reset(p[0]);
  w.reset(p[1]);
  return 0;
}

// A descriptor the program inherits (above 2, not close-on-exec), and its
// number in the program's environment.
void hand_over(const Config& c, Fd& fd, const char* var) {
  if (above_stdio(fd) != 0 || set_cloexec(fd.get(), false) != 0)
    drop(c, "unable to set up descriptors: ", error_str(errno));
  char num[kNumDigits + 1];
  std::string_view n = fmt_num(num, static_cast<unsigned long>(fd.get()));
  std::memmove(num, n.data(), n.size());
  num[n.size()] = 0;
  env::set(var, num);
}

// "ssl PID accept" (-v), with protocol:cipher for -V.
void log_accept(const Config& c, const tls::Session& s) {
  if (c.o.verbosity < 2) return;
  char pid[kNumDigits];
  std::string_view p = fmt_num(pid, static_cast<unsigned long>(::getpid()));
  if (c.show_cipher)
    warn(kProg, ": ssl ", p, " accept ", s.version(), ":", s.cipher());
  else
    warn(kProg, ": ssl ", p, " accept ");
}

// -n, UCSPI-TLS (ucspi-tls(2)): the program starts at once with the
// connection itself on 0 and 1, in plain text, and gets three more
// descriptors: $SSLCTLFD (a socket to us), $SSLREADFD and $SSLWRITEFD
// (pipes). When it writes 'y' to the control socket (after its STARTTLS
// reply, say), we do the handshake and relay between TLS and the pipes;
// 'Y' also sends it the session variables over the control socket, as
// "VAR=value\0...\0". Other bytes are ignored. If the control socket
// closes first, the session stays plain text and we just wait.
[[noreturn]] void ucspi_tls(Config& c, const net::Connection& conn, char** argv) {
  Fd sock(conn.fd);
  if (*c.banner && write_all(sock.get(), c.banner) != 0) drop(c, "unable to print banner: ", error_str(errno));
  Fd in_r, in_w, out_r, out_w, ctl, prog_ctl;
  int sp[2];
  if (make_pipe(in_r, in_w) != 0 || make_pipe(out_r, out_w) != 0 ||
      ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
    net::drop_connection_sys("unable to create pipe: ");
  ctl.reset(sp[0]);
  prog_ctl.reset(sp[1]);
  hand_over(c, prog_ctl, "SSLCTLFD");
  hand_over(c, in_r, "SSLREADFD");
  hand_over(c, out_w, "SSLWRITEFD");
  pid_t kid = spawn_program(sock, sock, argv);
  if (kid < 0) net::drop_connection_sys(Str("unable to run ").append(argv[0]).append(": ").c_str());
  in_r.reset();
  out_w.reset();
  prog_ctl.reset();
  sig_ignore(SIGPIPE);  // the control socket and the relay's pipe

  char cmd = 0;
  for (;;) {
    ssize_t r = ::read(ctl.get(), &cmd, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      // No TLS after all: the connection is the program's alone.
      sock.reset();
      exit_as(kid);
    }
    if (cmd == 'y' || cmd == 'Y') break;
  }
  tls::Session s;
  if (!s.start_server(c.tls, sock.get(), sock.get()) || !s.handshake(to_ms(c.ssl_timeout))) {
    ::kill(kid, SIGTERM);
    drop_handshake(c, sock.release(), s);
  }
  c.creds = tls::Credentials();  // as in child(): the key is not needed any more
  log_accept(c, s);
  if (cmd == 'Y') {
    Str vars;
    ssl_env_string(c, s, vars);
    if (write_all(ctl.get(), vars) != 0) {
      ::kill(kid, SIGTERM);
      drop(c, "unable to write SSL environment: ", error_str(errno));
    }
  }
  if (s.relay(in_w, out_r, to_ms(c.prog_timeout)) != 0) {
    ::kill(kid, SIGTERM);
    drop(c, "unable to speak SSL: ", s.error());
  }
  out_r.reset();
  sock.reset();
  exit_as(kid);
}

// The child of an allowed connection: handshake, environment, program,
// relay. Exits with the program's exit code once the session is over.
void child(void* ctx, const net::Connection& conn, char** argv) {
  Config& c = *static_cast<Config*>(ctx);
  if (c.ucspi_tls) ucspi_tls(c, conn, argv);
  tls::Session s;
  if (!s.start_server(c.tls, conn.fd, conn.fd) || !s.handshake(to_ms(c.ssl_timeout)))
    drop_handshake(c, conn.fd, s);
  // The key is not needed any more (no renegotiation): wipe it from this
  // process, which lives as long as the connection.
  c.creds = tls::Credentials();

  log_accept(c, s);
  if (c.ssl_env) set_ssl_env(c, s);

  Fd in_r, in_w, out_r, out_w;
  if (make_pipe(in_r, in_w) != 0 || make_pipe(out_r, out_w) != 0)
    net::drop_connection_sys("unable to create pipe: ");
  pid_t kid = spawn_program(in_r, out_w, argv);
  if (kid < 0) net::drop_connection_sys(Str("unable to run ").append(argv[0]).append(": ").c_str());
  in_r.reset();
  out_w.reset();
  sig_ignore(SIGPIPE);  // the relay writes to the program's pipe

  if (*c.banner && (s.write(c.banner, to_ms(c.prog_timeout)) != 0 || s.flush(to_ms(c.prog_timeout)) != 0))
    drop(c, "unable to print banner: ", s.error());
  if (s.relay(in_w, out_r, to_ms(c.prog_timeout)) != 0) drop(c, "unable to speak SSL: ", s.error());
  out_r.reset();  // a program still writing gets SIGPIPE
  exit_as(kid);
}

}  // namespace

static int sslserver_main(int argc, char** argv) {
  Config c;  // serve() never returns; the children get it through the hook
  net::ServerOptions& o = c.o;
  o.prog = kProg;
  o.usage = kUsage;
  o.proto = "SSL";
  o.v6_names = false;    // PROTO=SSL and SSL* for IPv6 peers too, as ucspi-ssl
  o.also_proto = "TCP";  // and tcpserver's names, for qmail-smtpd and friends
  o.delay = false;       // ucspi-ssl's sslserver sets TCP_NODELAY unless -d
  GetOpt g(argc, argv, kOptions);
  int opt;
  while ((opt = g.next()) != -1) {
    switch (opt) {
      case 'i': c.tls.client_auth = tls::ClientAuth::kRequire; break;
      case 'I': c.tls.client_auth = tls::ClientAuth::kNone; break;
      case 'e': o.also_proto = "TCP"; break;
      case 'E': o.also_proto = nullptr; break;
      case 's': c.ssl_env = true; break;
      case 'S': c.ssl_env = false; break;
      case 'a': case 'A': break;
      case 'n': c.ucspi_tls = true; break;
      case 'N': c.ucspi_tls = false; break;
      case '3': c.passphrase_fd3 = true; break;
      case 'V': o.verbosity = 2; c.show_cipher = true; break;
      case 'T': scan_ulong(g.arg(), c.ssl_timeout); break;
      case 'w': scan_ulong(g.arg(), c.prog_timeout); break;
      case 'B': c.banner = g.arg(); break;
      default:
        if (!net::server_option(o, opt, g.arg())) net::serve_usage(o);
    }
  }
  o.banner = "";  // sent through TLS by the child instead
  char** rest = g.rest();
  // Bad usage first, as ucspi-ssl: host, port and program must be there.
  if (!rest[0] || !rest[1] || !rest[2]) {
    if (o.verbosity) net::serve_usage(o);
    _exit(kExitPerm);
  }
  load_credentials(c);
  tls::detect_cpu();  // once, for every child
  net::serve(o, rest, child, &c);
}

extern const AppletInfo applet_sslserver = {"accept TLS connections and run a program for each", kUsage,
                                            sslserver_main};
