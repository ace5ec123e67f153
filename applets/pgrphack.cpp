// pgrphack: runs a child in a new session and process group.
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "proc/exec.hpp"

using namespace qbox;

static constexpr char kUsage[] = "pgrphack child";

static int pgrphack_main(int argc, char** argv) {
  if (argc < 2) die(kExitPerm, "pgrphack: usage: ", kUsage);
  ::setsid();  // fails only for a group leader, which keeps its group then
  pathexec(argv + 1);
  die_sys(kExitTemp, "pgrphack: fatal: unable to run ", argv[1], ": ");
}

extern const AppletInfo applet_pgrphack = {"run a program in a new session and process group",
                                           kUsage, pgrphack_main};
