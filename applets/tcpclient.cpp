// tcpclient: connects to a TCP server and runs a program with the
// connection on descriptors 6 (reading) and 7 (writing), as ucspi-tcp
// 0.88's tcpclient does: the same options, environment, messages and exit
// codes (111 when no connection can be made, 100 for bad usage). On top of
// that, as in the IPv6 ucspi-tcp: IPv6 addresses (PROTO=TCP6 and the TCP6
// variables next to the classic ones), -4 (IPv4 addresses only), -6
// (IPv6 addresses only; host 0 is then ::1) and -I interface (the socket
// bound to it, the scope of a link-local address). The usage line stays
// 0.88's.
// The connection and the environment live in src/net/client.hpp.
#include <csignal>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/getopt.hpp"
#include "net/client.hpp"
#include "proc/child.hpp"
#include "proc/exec.hpp"

using namespace qbox;

static constexpr char kUsage[] =
    "tcpclient [ -hHrRdDqQv ] [ -i localip ] [ -p localport ] [ -T timeoutconn ] "
    "[ -l localname ] [ -t timeoutinfo ] host port program";

static int tcpclient_main(int argc, char** argv) {
  ::close(6);
  ::close(7);
  sig_ignore(SIGPIPE);

  net::ClientOptions o;
  GetOpt g(argc, argv, net::kClientOptions);
  int opt;
  while ((opt = g.next()) != -1)
    if (!net::client_option(o, opt, g.arg())) die_usage(kUsage);
  char** args = g.rest();

  // From here on -q silences everything, bad usage included.
  auto usage = [&] {
    if (o.verbosity) die_usage(kUsage);
    _exit(kExitPerm);
  };
  const char* host = args[0];
  if (!host) usage();
  const char* port_name = args[1];
  if (!port_name) usage();
  uint16_t port;
  if (!net::client_port(o, port_name, port)) _exit(kExitTemp);
  char** prog = args + 2;
  if (!*prog) usage();

  int s = net::client_connect(o, host, port);
  if (s < 0) _exit(kExitTemp);
  net::client_environment(o, s);

  if (fd_move(6, s) != 0 || set_cloexec(6, false) != 0)
    net::client_fatal_sys(o, "unable to set up descriptor 6: ");
  if (fd_copy(7, 6) != 0) net::client_fatal_sys(o, "unable to set up descriptor 7: ");
  sig_default(SIGPIPE);
  pathexec(prog);
  net::client_fatal_sys(o, "unable to run ", prog[0], ": ");
}

extern const AppletInfo applet_tcpclient = {"connect to a TCP server and run a program on the connection",
                                            kUsage, tcpclient_main};
