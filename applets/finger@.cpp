// finger@: asks a host's finger service (port 79) about a user, or about
// everybody, as ucspi-tcp 0.88's script
//   echo "${2-}" | tcpclient -RHl0 -- "${1-0}" 79 sh -c '
//     addcr >&7
//     exec delcr <&6
//   ' | cat -v
// does, without a shell: it sends "USER\r\n" (a LF inside USER goes out as
// CR LF too), then prints the reply with CR LF shown as LF and other
// control bytes as cat -v shows them. Host 0 (127.0.0.1) by default;
// tcpclient's messages when no connection can be made, and exit code 0
// (cat's) all the same. The user is sent as it is given: the script's
// echo, in shells whose echo reads backslash escapes or -n, changed it.
#include <csignal>

#include "base/applet.hpp"
#include "base/fd.hpp"
#include "base/str.hpp"
#include "io/text.hpp"
#include "net/client.hpp"
#include "proc/child.hpp"

using namespace qbox;

static int finger_at_main(int argc, char** argv) {
  sig_ignore(SIGPIPE);
  int s = net::script_connect(argc > 1 ? argv[1] : "0", "79");
  if (s < 0) return 0;
  Str request;
  StrSink sink{request};
  AddCr<StrSink> add(sink);
  add.put(argc > 2 ? argv[2] : "");
  add.put('\n');
  write_all(s, request);  // a failure is the script's addcr dying: go on
  net::show_text(s, "finger@");
  return 0;
}

extern const AppletInfo applet_finger_at = {"ask a host's finger service (port 79) about a user",
                                            "finger@ [ host [ user ] ]", finger_at_main};
