// readproctitle: shows the end of its standard input in its own argument
// area, so that `ps` displays it.
//
// As daemontools 0.76: the last argument (at least 5 bytes) is overwritten
// with dots; then each byte read (NUL bytes excepted) scrolls in from the
// right while the first three dots stay. Exits 0 at the end of input, 111
// on a read error, 100 silently when the arguments leave no room.
#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"

using namespace qbox;

namespace {

int readproctitle_main(int argc, char** argv) {
  if (argc < 2) _exit(kExitPerm);
  char* title = argv[argc - 1];
  std::size_t len = std::strlen(title);
  std::memset(title, '.', len);
  if (len < 5) _exit(kExitPerm);

  // The window is title[3..len): the last `room` bytes read.
  char* window = title + 3;
  std::size_t room = len - 3;
  char buf[256];
  for (;;) {
    ssize_t r = ::read(0, buf, sizeof buf);
    if (r == 0) _exit(0);
    if (r < 0) {
      if (errno == EINTR) continue;
      _exit(kExitTemp);
    }
    std::size_t n = 0;  // the bytes of this read, NULs dropped
    for (ssize_t i = 0; i < r; ++i)
      if (buf[i]) buf[n++] = buf[i];
    if (n >= room) {
      std::memcpy(window, buf + n - room, room);
    } else if (n) {
      std::memmove(window, window + n, room - n);
      std::memcpy(window + room - n, buf, n);
    }
  }
}

}  // namespace

extern const AppletInfo applet_readproctitle = {
    "show the end of standard input in the process title", "readproctitle io errors: ....................",
    readproctitle_main};
