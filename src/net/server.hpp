// The core of tcpserver, shared with sslserver: listen, accept, fork,
// the concurrency limit, access rules, the environment, the limits patch
// and the -v log, as ucspi-tcp 0.88's tcpserver.c does them. The applet
// parses its options into ServerOptions and calls serve(); sslserver does
// the same and passes a ChildHook that runs the program behind a TLS relay.
//
// THE PARENT. Binds host:port (SO_REUSEADDR), listens, drops to -g/-u,
// prints the port for -1, closes descriptors 0 and 1, then accepts while
// fewer than `limit` children run ("status: N/LIMIT" after each change
// with -v), forks a child for each connection and reaps children as they
// end ("end PID status WSTAT"). SIGTERM ends it at once (exit 0); the
// children keep running.
//
// THE CHILD, in this order: "pid P from IP"; IP options killed (-O) and
// Nagle off (-D); the banner (-B); the local address; PROTO and the local
// variables; the remote host name (-h, -p); the remote variables; the
// remote info (-r, RFC 1413); the rules (-x: first matching key, 'D'
// denies, '+VAR=value' sets VAR; -X: a missing file allows); the limits;
// "ok ..." or "deny ..."; then a denied connection exits 100 and an
// allowed one runs the program with the connection on descriptors 0 and 1.
//
// THE FAST PATH. When none of that can block (-H, -R and -l given, a
// short banner, no hook), the parent does the child's work itself and
// starts the child with vfork(): no copy of the page tables, and the child
// only prints its log lines (it knows its pid), then execs or exits. The
// result is the same, line for line. A refusal that pauses (DIEMSG, the
// limits) is forked instead, as the parent must not wait for it, and so is
// every connection for a second after a vfork that kept the parent waiting
// over a millisecond (other processes busy on every CPU: with fork the
// children then run side by side while the parent accepts on).
//
// ADDRESSES. host "0" or "" is "::", dual-stack (IPv4 clients arrive
// v4-mapped and are shown as IPv4), or 0.0.0.0 where the kernel has no
// IPv6; "0.0.0.0" and other IPv4 addresses listen on IPv4 only; an IPv6
// address may name its interface ("fe80::1%eth0"). A host name goes
// through host_addresses() (src/net/names.hpp, the DNS hook). The port is
// a number (wrapping at 65536 as ucspi-tcp's scan_ulong into a uint16) or
// a name from /etc/services.
//
// ENVIRONMENT. For an IPv4 peer (also a v4-mapped one on a dual-stack
// socket) exactly ucspi-tcp's: PROTO=TCP, TCPLOCALIP, TCPLOCALPORT,
// TCPLOCALHOST, TCPREMOTEIP, TCPREMOTEPORT, TCPREMOTEHOST, TCPREMOTEINFO,
// each unset when unknown. For an IPv6 peer as ucspi-tcp6 sets them:
// PROTO=TCP6, each classic variable next to its TCP6 twin (TCPLOCALIP and
// TCP6LOCALIP, ...), and TCP6INTERFACE for a link-local address.
// (`proto` replaces "TCP" in all of these names; see v6_names and
// also_proto for sslserver's variations.)
//
// LIMITS (the tcpserver limits patch, 2007-12-22 version). MAXLOAD
// (1-minute load average x100), MAXCONNIP (connections from one address),
// MAXCONNC (from one /24; for IPv6 one /64), DIEMSG and DIEMSG_MAXLOAD,
// DIEMSG_MAXCONNIP, DIEMSG_MAXCONNC come from tcpserver's environment and
// may be overridden for a connection by its rule. A connection over a
// limit is denied: the deny line ends " MAXLOAD:LOAD" (the current load),
// " MAXCONNIP:LIMIT" or " MAXCONNC:LIMIT"; the client is sent the specific
// DIEMSG_* (else DIEMSG) followed by CRLF, and the child waits a second
// before it exits 100. MAXLOAD is checked first (it also relabels a
// connection a rule denied), then MAXCONNC and MAXCONNIP (which wins).
// A connection denied by a rule alone is sent DIEMSG when it is set.
//
// LOG LINES (-v): "PROG: ok PID LOCALHOST:LOCALIP:LOCALPORT
// REMOTEHOST:REMOTEIP:REMOTEINFO:REMOTEPORT", each field cut to 100 bytes
// (then "...") with bytes outside '!'..'~' and '%' and ':' shown as '?'.
// IPv6 addresses keep their colons, as ucspi-tcp6 prints them.
//
// Messages go to descriptor 2, except with -q (verbosity 0), which
// silences all of them, the fatal ones included, as in ucspi-tcp.
#pragma once

#include "base/str.hpp"
#include "net/socket.hpp"

namespace qbox::net {

struct ServerOptions {
  const char* prog = "tcpserver";  // the name in messages
  const char* usage = "";          // printed as "PROG: usage: USAGE"
  const char* proto = "TCP";       // PROTO and the prefix of the variables
  // An IPv6 peer gets PROTO=TCP6 and TCP6* twins (ucspi-tcp6); sslserver
  // turns this off for its own names (PROTO=SSL, SSL* only, as ucspi-ssl).
  bool v6_names = true;
  // Every variable also under this prefix, the way tcpserver sets it (TCP*,
  // and the TCP6* twins for an IPv6 peer), before the rules are applied so
  // that a rule may still override them; PROTO keeps `proto`. sslserver:
  // "TCP", for programs written for tcpserver. nullptr: none.
  const char* also_proto = nullptr;
  int verbosity = 1;               // -q 0, -Q 1, -v 2
  unsigned long limit = 40;        // -c
  unsigned long backlog = 20;      // -b
  unsigned long timeout = 26;      // -t: seconds for the remote info
  unsigned long uid = 0;           // -u, -U ($UID); 0: keep
  unsigned long gid = 0;           // -g, -U ($GID); 0: keep
  const char* rules = nullptr;     // -x
  bool allow_no_rules = false;     // -X
  const char* banner = "";         // -B
  const char* localname = nullptr; // -l
  bool remote_host = true;         // -h / -H
  bool paranoid = false;           // -p / -P
  bool remote_info = true;         // -r / -R
  bool kill_ip_options = true;     // -O / -o
  bool delay = true;               // -d / -D
  bool print_port = false;         // -1
};

// tcpserver's option letters, for GetOpt; server_option applies one of
// them (false for a letter that is not tcpserver's).
inline constexpr char kServerOptions[] = "dDvqQhHrR1UXx:t:u:g:l:b:B:c:pPoO";
bool server_option(ServerOptions& o, int opt, const char* arg);
// "PROG: usage: USAGE", exit 100: for a bad option (never silenced, as
// -q takes effect only once the options are read).
[[noreturn]] void serve_usage(const ServerOptions& o);

// What the child knows of its connection once it has been allowed.
struct Connection {
  int fd;                  // the connected socket
  Endpoint local, remote;
  const char* local_ip;    // as put in the environment
  const char* remote_ip;
  const char* local_port;
  const char* remote_port;
  const char* local_host;  // nullptr when unknown
  const char* remote_host;
  const char* remote_info;
};

// Runs the program for an allowed connection in the child, instead of
// the default (the socket on descriptors 0 and 1, then exec). Signals are
// already back to their defaults. It must not return: it execs or exits.
// The environment changes so far are recorded with env::set.
using ChildHook = void (*)(void* ctx, const Connection& conn, char** argv);

// args: host port program [arg...], as left after the options. Listens and
// serves for ever; exits on fatal errors (111), on bad usage (100) and on
// SIGTERM (0).
[[noreturn]] void serve(const ServerOptions& o, char** args, ChildHook hook = nullptr,
                        void* ctx = nullptr);

// For a ChildHook: "PROG: warning: dropping connection, " + parts (+ the
// errno text), honouring -q, then exit 111.
[[noreturn]] void drop_connection_sys(const char* what, const char* arg = "");

// The text tcpserver logs for a field (the safecats of tcpserver.c):
// appended to out, at most 100 bytes then "...", and bytes below '!' or
// above '~', '%' and (unless keep_colons) ':' as '?'.
void append_safe(Str& out, std::string_view s, bool keep_colons = false);

// The 1-minute load average x100 from /proc/loadavg, as the limits patch
// reads it ("1.50" is 150); 0 when it cannot be read.
unsigned long load_average_x100();
// The same reading from the text of /proc/loadavg.
unsigned long parse_loadavg(std::string_view text);

}  // namespace qbox::net
