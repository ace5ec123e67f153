// tcpcat: prints what a TCP server sends, as ucspi-tcp 0.88's script
//   tcpclient -RHl0 -- "${1-0}" "${2-17}" sh -c 'exec cat <&6'
// does, without a shell: host 0 (127.0.0.1) and port 17 by default,
// tcpclient's messages and exit code 111 when no connection can be made,
// then cat's behaviour (exit 0 at the end of the data, 1 on an error).
#include <cerrno>
#include <csignal>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "net/client.hpp"
#include "proc/child.hpp"

using namespace qbox;

static int tcpcat_main(int argc, char** argv) {
  sig_ignore(SIGPIPE);
  int s = net::script_connect(argc > 1 ? argv[1] : "0", argc > 2 ? argv[2] : "17");
  if (s < 0) return kExitTemp;
  char buf[8192];
  for (;;) {
    ssize_t r = ::read(s, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      die_sys(1, "tcpcat: fatal: unable to read network: ");
    }
    if (r == 0) return 0;
    if (write_all(1, std::string_view(buf, static_cast<std::size_t>(r))) != 0)
      net::die_output("tcpcat", 1, false);
  }
}

extern const AppletInfo applet_tcpcat = {"print what a TCP server sends", "tcpcat [ host [ port ] ]",
                                         tcpcat_main};
