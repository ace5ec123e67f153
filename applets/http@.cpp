// http@: fetches a page from a web server and prints its body, as
// ucspi-tcp 0.88's script
//   echo "GET /${2-} HTTP/1.0
//   Host: ${1-0}:${3-80}
//   " | tcpclient -RHl0 -- "${1-0}" "${3-80}" sh -c '
//     addcr >&7
//     exec delcr <&6
//   ' | awk '/^$/ { body=1; next } { if (body) print }'
// does, without a shell: it sends "GET /PATH HTTP/1.0\r\nHost: HOST:PORT
// \r\n\r\n" (HOST and PORT as given; a LF inside them goes out as CR LF),
// reads the reply with CR LF as LF and prints the lines after the first
// empty line, leaving out every empty line, as that awk program does. Host
// 0 (127.0.0.1), path "" and port 80 by default; tcpclient's messages when
// no connection can be made, and exit code 0 (awk's) all the same. The
// arguments are sent as they are given: the script's echo, in shells whose
// echo reads backslash escapes, changed them.
#include <csignal>

#include "base/applet.hpp"
#include "base/fd.hpp"
#include "base/str.hpp"
#include "io/buffer.hpp"
#include "io/filter.hpp"
#include "io/text.hpp"
#include "net/client.hpp"
#include "proc/child.hpp"

using namespace qbox;

static int http_at_main(int argc, char** argv) {
  sig_ignore(SIGPIPE);
  const char* host = argc > 1 ? argv[1] : "0";
  const char* path = argc > 2 ? argv[2] : "";
  const char* port = argc > 3 ? argv[3] : "80";
  int s = net::script_connect(host, port);
  if (s < 0) return 0;

  Str request;
  StrSink sink{request};
  AddCr<StrSink> add(sink);
  add.put("GET /");
  add.put(path);
  add.put(" HTTP/1.0\nHost: ");
  add.put(host);
  add.put(":");
  add.put(port);
  add.put("\n\n");
  write_all(s, request);  // a failure is the script's addcr dying: go on

  char obuf[4096];
  Writer out(1, obuf);
  BodyLines<Writer> body(out);
  DelCr<BodyLines<Writer>> del(body);
  int r = pump(s, del, out);
  if (r == -1) {  // delcr died; awk saw the end of its input
    body.finish();
    if (out.flush() < 0) r = -2;
  }
  if (r == -2) net::die_output("http@", 2, true);
  return 0;
}

extern const AppletInfo applet_http_at = {"fetch a web page and print its body",
                                          "http@ [ host [ path [ port ] ] ]", http_at_main};
