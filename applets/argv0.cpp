// argv0: runs a program with a chosen argv[0].
#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/env.hpp"
#include "proc/exec.hpp"

using namespace qbox;

static constexpr char kUsage[] = "argv0 realname program [ arg ... ]";

static int argv0_main(int argc, char** argv) {
  if (argc < 3) die(kExitPerm, "argv0: usage: ", kUsage);
  pathexec_env(argv[1], argv + 2, env::build());
  die_sys(kExitTemp, "argv0: fatal: unable to run ", argv[1], ": ");
}

extern const AppletInfo applet_argv0 = {"run a program with a chosen argv[0]", kUsage, argv0_main};
