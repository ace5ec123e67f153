// The core of tcpclient, shared with the programs ucspi-tcp 0.88 builds on
// it in its scripts (tcpcat, mconnect, who@, date@, finger@, http@): the
// connection with 0.88's timeout schedule, the environment, the messages.
//
// CONNECTING (client_connect). Host "0" or "" is 127.0.0.1 (::1 with -6).
// A literal IPv4 or IPv6 address is used as it is (an IPv6 one may name
// its interface: "fe80::1%eth0"); a name goes through host_addresses()
// (src/net/names.hpp: the resolver's search list, A records first, then
// AAAA). -4 keeps the IPv4 addresses, -6 the IPv6 ones, and -i (other than
// 0.0.0.0 or ::) those of its own family. Each address is tried in turn,
// from -i and -p when given: in the first round for TIMEOUT1 seconds
// (-T TIMEOUT1+TIMEOUT2, default 2+58); an address that timed out is tried
// again in a second round for TIMEOUT2 seconds, after all the others. A
// host with one address gets the sum in one try. Every failure that is
// final prints "tcpclient: unable to connect to IP port N: ERROR".
// -I INTERFACE (ucspi-tcp6's): every socket is bound to that interface
// (SO_BINDTODEVICE), and a link-local IPv6 address given without its own
// "%interface" (the host's, or -i's) gets it as its scope; an interface
// that does not exist is fatal ("tcpclient: fatal: no network interface
// named X", 111), and so is a socket the system will not bind to it.
//
// ENVIRONMENT (client_environment), in tcpclient's order: PROTO=TCP,
// TCPLOCALPORT, TCPLOCALIP, TCPLOCALHOST (-l, else the name DNS gives the
// local address), TCPREMOTEPORT, TCPREMOTEIP, TCPREMOTEHOST (-h: the name
// DNS gives), TCPREMOTEINFO (-r: RFC 1413, -t seconds). A name or info that
// cannot be had is unset; as in 0.88 an address without a PTR record
// (the lookup succeeded, no name) gives an empty TCPLOCALHOST or
// TCPREMOTEHOST, and an ident ERROR reply an empty TCPREMOTEINFO. For an
// IPv6 connection as ucspi-tcp6 does it: PROTO=TCP6, each classic variable
// next to its TCP6 twin (TCPLOCALIP and TCP6LOCALIP...), TCP6INTERFACE for
// a link-local address. With -v, "tcpclient: connected to IP port N" once
// TCPREMOTEIP is known.
//
// MESSAGES. All of them are tcpclient's ("tcpclient: fatal: ..."), in the
// scripts too, and -q silences every one, as 0.88 does.
#pragma once
#include <cstdint>

#include "net/socket.hpp"

namespace qbox::net {

struct ClientOptions {
  int verbosity = 1;                         // -q 0, -Q 1, -v 2
  bool delay = true;                         // -d / -D (TCP_NODELAY)
  bool remote_host = true;                   // -h / -H
  bool remote_info = true;                   // -r / -R
  unsigned long info_timeout = 26;           // -t
  unsigned long conn_timeout[2] = {2, 58};   // -T first+second
  Endpoint local;                            // -i, -p
  bool local_ip = false;                     // -i given (and not any)
  const char* localname = nullptr;           // -l
  int family = 0;                            // -4: 4, -6: 6, else 0
  const char* interface = nullptr;           // -I
};

// tcpclient's option letters, for GetOpt; client_option applies one of
// them (false for a bad -i address or a letter that is not tcpclient's).
inline constexpr char kClientOptions[] = "46dDvqQhHrRi:p:t:T:l:I:";
bool client_option(ClientOptions& o, int opt, const char* arg);

// The port: a number (wrapping at 65536 as 0.88's does) or a name from
// /etc/services. false after "unable to figure out port number for X".
bool client_port(const ClientOptions& o, const char* name, uint16_t& port);

// Connects as described above: the socket (close-on-exec, blocking), or
// -1 after the messages.
int client_connect(const ClientOptions& o, const char* host, uint16_t port);

// Records the environment (env::set) for the program tcpclient runs over
// socket s, and prints the -v line. Exits 111 when the addresses of s
// cannot be had.
void client_environment(const ClientOptions& o, int s);

// "tcpclient: fatal: " + what + arg + tail + the errno text, honouring -q;
// exit 111.
[[noreturn]] void client_fatal_sys(const ClientOptions& o, const char* what, const char* arg = "",
                                   const char* tail = "");

// ---- for the programs of ucspi-tcp's scripts --------------------------------

// The connection of `tcpclient -RHl0 -- host port`, as the scripts make
// it: the socket, or -1 after tcpclient's messages.
int script_connect(const char* host, const char* port);

// `delcr <&6 | cat -v`: the rest of the connection on standard output,
// CR LF as LF and other control bytes made visible. Output errors end the
// program as they end the script (die_output(prog, 1, true)).
void show_text(int s, const char* prog);

// who@ and date@: `tcpclient -RHl0 -- host port sh -c 'exec delcr <&6'
// | cat -v`, with SIGPIPE ignored while talking to the server. Returns 0,
// the pipeline's (cat's) exit code, also when no connection was made.
int script_show(const char* host, const char* port, const char* prog);

// A failed write to standard output (errno), as it ends the script whose
// last program wrote it: a closed pipe kills that program with SIGPIPE,
// and the program is killed by SIGPIPE too (exec cat) or, when that
// program ended a pipeline, exits 141 as the shell then does; any other
// error prints "PROG: fatal: unable to write output: ERROR" and exits
// `code` (cat's 1, awk's 2).
[[noreturn]] void die_output(const char* prog, int code, bool pipeline);

// mconnect-io: standard input to net_out with CR before every LF (in a
// child process), net_in to standard output, until net_in ends; then the
// child is stopped and mconnect-io exits 0. Write errors are ignored.
[[noreturn]] void mconnect_io(int net_in, int net_out);

}  // namespace qbox::net
