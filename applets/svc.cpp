// svc: sends commands to the supervise of each service directory
// (daemontools 0.76): each option letter, once, in the order first given.
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/getopt.hpp"
#include "proc/child.hpp"
#include "svc/control.hpp"

using namespace qbox;

namespace {

constexpr char kUsage[] = "svc [ -udopchaitkx ] dir ...";
constexpr char kOptions[] =
    "svc options: u up, d down, o once, x exit, p pause, c continue, h hup, a alarm, "
    "i interrupt, t term, k kill";

int svc_main(int argc, char** argv) {
  sig_ignore(SIGPIPE);
  char data[20];
  std::size_t len = 0;
  GetOpt opt(argc, argv, svc::kCommands);
  for (int c; (c = opt.next()) != -1;) {
    if (c == '?') die(kExitPerm, kOptions);
    if (len < sizeof data && !std::memchr(data, c, len)) data[len++] = static_cast<char>(c);
  }
  char** dirs = opt.rest();

  Fd origdir(open_read("."));
  if (!origdir) die_sys(kExitTemp, "svc: fatal: unable to open current directory: ");

  for (; *dirs; ++dirs) {
    const char* dir = *dirs;
    if (::chdir(dir) != 0) {
      warn_sys("svc: warning: unable to chdir to ", dir, ": ");
    } else {
      Fd fd(svc::open_fifo_write(svc::kControlPath));
      if (!fd) {
        if (errno == ENXIO) warn("svc: warning: unable to control ", dir, ": supervise not running");
        else warn_sys("svc: warning: unable to control ", dir, ": ");
      } else {
        set_nonblock(fd.get(), false);
        if (write_all(fd.get(), std::string_view(data, len)) < 0)
          warn_sys("svc: warning: error writing commands to ", dir, ": ");
      }
    }
    if (::fchdir(origdir.get()) != 0) die_sys(kExitTemp, "svc: fatal: unable to set directory: ");
  }
  return 0;
}

}  // namespace

extern const AppletInfo applet_svc = {"control a supervised service", kUsage, svc_main};
