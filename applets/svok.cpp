// svok: exits 0 when a supervise runs for the directory, 100 when none
// does (daemontools 0.76).
#include <cerrno>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "svc/control.hpp"

using namespace qbox;

namespace {

constexpr char kUsage[] = "svok dir";

int svok_main(int argc, char** argv) {
  if (argc < 2 || !argv[1]) die(kExitPerm, "svok: usage: ", kUsage);
  const char* dir = argv[1];
  if (::chdir(dir) != 0) die_sys(kExitTemp, "svok: fatal: unable to chdir to ", dir, ": ");
  if (svc::open_fifo_write(svc::kOkPath) < 0) {
    if (errno == ENOENT || errno == ENXIO) _exit(kExitPerm);
    die_sys(kExitTemp, "svok: fatal: unable to open ", dir, "/supervise/ok: ");
  }
  _exit(0);
}

}  // namespace

extern const AppletInfo applet_svok = {"tell whether supervise is running", kUsage, svok_main};
