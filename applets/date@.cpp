// date@: prints the date and time of a host (its daytime service, port
// 13), as ucspi-tcp 0.88's script
//   tcpclient -RHl0 -- "${1-0}" 13 sh -c 'exec delcr <&6' | cat -v
// does, without a shell: host 0 (127.0.0.1) by default, CR LF shown as LF
// and other control bytes as cat -v shows them; tcpclient's messages when
// no connection can be made, and exit code 0 (cat's) all the same.
#include "base/applet.hpp"
#include "net/client.hpp"

using namespace qbox;

static int date_at_main(int argc, char** argv) {
  return net::script_show(argc > 1 ? argv[1] : "0", "13", "date@");
}

extern const AppletInfo applet_date_at = {"print the date and time of a host (daytime, port 13)",
                                          "date@ [ host ]", date_at_main};
