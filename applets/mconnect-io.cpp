// mconnect-io: the other half of mconnect, run by tcpclient: copies
// standard input to descriptor 7 with a CR before every LF, and descriptor
// 6 to standard output, until descriptor 6 ends; exits 0. As ucspi-tcp
// 0.88's, with the work in src/net/client.hpp (mconnect shares it).
#include "base/applet.hpp"
#include "net/client.hpp"

using namespace qbox;

static int mconnect_io_main(int, char**) { net::mconnect_io(6, 7); }

extern const AppletInfo applet_mconnect_io = {
    "copy stdin to descriptor 7 with CR LF, and descriptor 6 to stdout", "mconnect-io",
    mconnect_io_main};
