// setlock: runs a child holding an exclusive flock on a file, which the
// child inherits (the descriptor stays open across exec) so the lock lasts
// as long as the child and whatever it leaves the descriptor to.
//   -n  fail at once if the file is locked; -N wait for it (the default)
//   -x  exit 0 silently if the file cannot be opened or locked; -X complain
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/getopt.hpp"
#include "proc/exec.hpp"

using namespace qbox;

static constexpr char kUsage[] = "setlock [ -nNxX ] file program [ arg ... ]";
static constexpr char kFatal[] = "setlock: fatal: ";

[[noreturn]] static void usage() { die(kExitPerm, "setlock: usage: ", kUsage); }

static int setlock_main(int argc, char** argv) {
  bool nodelay = false;
  bool quiet = false;
  GetOpt opt(argc, argv, "nNxX");
  for (int c; (c = opt.next()) != -1;) {
    switch (c) {
      case 'n': nodelay = true; break;
      case 'N': nodelay = false; break;
      case 'x': quiet = true; break;
      case 'X': quiet = false; break;
      default: usage();
    }
  }
  char** rest = opt.rest();
  if (!rest[0] || !rest[1]) usage();
  const char* file = rest[0];

  // Not close-on-exec: the child must inherit the locked descriptor. The
  // flags and mode are the classic open_append's.
  int fd = ::open(file, O_WRONLY | O_NONBLOCK | O_APPEND | O_CREAT, 0600);
  if (fd < 0) {
    if (quiet) _exit(0);
    die_sys(kExitTemp, kFatal, "unable to open ", file, ": ");
  }
  if (::flock(fd, nodelay ? LOCK_EX | LOCK_NB : LOCK_EX) != 0) {
    if (quiet) _exit(0);
    die_sys(kExitTemp, kFatal, "unable to lock ", file, ": ");
  }

  pathexec(rest + 1);
  die_sys(kExitTemp, kFatal, "unable to run ", rest[1], ": ");
}

extern const AppletInfo applet_setlock = {"run a program holding an exclusive lock on a file", kUsage,
                                          setlock_main};
