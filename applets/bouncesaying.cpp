// bouncesaying: bounce a message with an error text, unless a program says
// otherwise (bouncesaying(1)). Without a program, or when the program exits
// 0, the text goes to stderr and the exit code is 100 (a permanent failure
// for qmail-local); when it exits 111 the delivery is deferred; any other
// exit code lets the message through (exit 0).

#include "base/applet.hpp"
#include "base/die.hpp"
#include "proc/run.hpp"

using namespace qbox;

static constexpr char kFatal[] = "bouncesaying: fatal: ";

static int bouncesaying_main(int, char** argv) {
  if (!argv[1]) die(kExitPerm, "bouncesaying: usage: bouncesaying error [ program [ arg ... ] ]");
  if (argv[2]) {
    switch (run_filter_program(kFatal, argv + 2)) {
      case 0: break;
      case 111: die(kExitTemp, kFatal, "temporary child error");
      default: return 0;
    }
  }
  die(kExitPerm, argv[1]);
}

extern const AppletInfo applet_bouncesaying = {
    "bounce a message with an error text, unless a program says otherwise",
    "bouncesaying error [ program [ arg ... ] ]", bouncesaying_main};
