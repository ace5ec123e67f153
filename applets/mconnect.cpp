// mconnect: talks to an SMTP server (or any line-based one) from the
// terminal, as ucspi-tcp 0.88's script
//   tcpclient -RHl0 -- "${1-0}" "${2-25}" mconnect-io
// does, without a shell: host 0 (127.0.0.1) and port 25 by default;
// tcpclient's messages and exit code 111 when no connection can be made,
// then mconnect-io (lines typed go out with CR LF, the server's replies are
// printed as they are).
#include "base/applet.hpp"
#include "base/die.hpp"
#include "net/client.hpp"

using namespace qbox;

static int mconnect_main(int argc, char** argv) {
  int s = net::script_connect(argc > 1 ? argv[1] : "0", argc > 2 ? argv[2] : "25");
  if (s < 0) return kExitTemp;
  net::mconnect_io(s, s);
}

extern const AppletInfo applet_mconnect = {"talk to an SMTP server from the terminal",
                                           "mconnect [ host [ port ] ]", mconnect_main};
