// except: reverse the exit code of a program (except(1)): 0 becomes 100,
// 111 stays a temporary failure, anything else becomes 0.
#include "base/applet.hpp"
#include "base/die.hpp"
#include "proc/run.hpp"

using namespace qbox;

static constexpr char kFatal[] = "except: fatal: ";

static int except_main(int, char** argv) {
  if (!argv[1]) die(kExitPerm, "except: usage: except program [ arg ... ]");
  switch (run_filter_program(kFatal, argv + 1)) {
    case 0: return kExitPerm;
    case 111: die(kExitTemp, kFatal, "temporary child error");
    default: return 0;
  }
}

extern const AppletInfo applet_except = {"reverse the exit code of a program",
                                         "except program [ arg ... ]", except_main};
