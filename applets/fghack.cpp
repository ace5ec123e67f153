// fghack: runs a program that puts itself in the background, and waits
// until it and everything it started are done.
//
// As daemontools 0.76: the child gets 31 descriptors (pipe(2) write end
// and 30 copies) of a pipe; fghack reads the pipe until every copy is
// closed, then waits for the child and exits with its exit code.
#include <cerrno>
#include <sys/types.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "proc/child.hpp"
#include "proc/exec.hpp"

using namespace qbox;

namespace {

constexpr char kUsage[] = "fghack child";
constexpr char kFatal[] = "fghack: fatal: ";

int fghack_main(int argc, char** argv) {
  if (argc < 2) die(kExitPerm, "fghack: usage: ", kUsage);
  int pi[2];
  if (::pipe(pi) == -1) die_sys(kExitTemp, kFatal, "unable to create pipe: ");
  pid_t pid = ::fork();
  if (pid == -1) die_sys(kExitTemp, kFatal, "unable to fork: ");
  if (pid == 0) {
    ::close(pi[0]);
    for (int i = 0; i < 30; ++i) (void)::dup(pi[1]);
    pathexec(argv + 1);
    die_sys(kExitTemp, kFatal, "unable to run ", argv[1], ": ");
  }
  ::close(pi[1]);
  for (;;) {
    char buf[64];
    ssize_t r = ::read(pi[0], buf, sizeof buf);
    if (r > 0 || (r == -1 && errno == EINTR)) continue;
    break;
  }
  int status;
  if (wait_pid(pid, &status) == -1) die_sys(kExitTemp, kFatal, "wait failed: ");
  if (wait_crashed(status)) die(kExitTemp, kFatal, "child crashed");
  return wait_exitcode(status);
}

}  // namespace

extern const AppletInfo applet_fghack = {
    "run a program that backgrounds itself, and wait for all of it", kUsage, fghack_main};
