// tcpserver: accepts TCP connections and runs a program for each, as
// ucspi-tcp 0.88's tcpserver does, with IPv6 (ucspi-tcp6's environment)
// and the limits patch (MAXLOAD, MAXCONNIP, MAXCONNC, DIEMSG...). The
// server itself lives in src/net/server.hpp, which sslserver shares.
#include "base/applet.hpp"
#include "base/getopt.hpp"
#include "net/server.hpp"

using namespace qbox;

static constexpr char kUsage[] =
    "tcpserver [ -1UXpPhHrRoOdDqQv ] [ -c limit ] [ -x rules.cdb ] [ -B banner ] [ -g gid ] "
    "[ -u uid ] [ -b backlog ] [ -l localname ] [ -t timeout ] host port program";

static int tcpserver_main(int argc, char** argv) {
  net::ServerOptions o;
  o.usage = kUsage;
  GetOpt g(argc, argv, net::kServerOptions);
  int opt;
  while ((opt = g.next()) != -1)
    if (!net::server_option(o, opt, g.arg())) net::serve_usage(o);
  net::serve(o, g.rest());
}

extern const AppletInfo applet_tcpserver = {"accept TCP connections and run a program for each", kUsage,
                                            tcpserver_main};
