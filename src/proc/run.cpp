#include "proc/run.hpp"

#include <cerrno>
#include <unistd.h>

#include "base/die.hpp"
#include "proc/child.hpp"
#include "proc/exec.hpp"

namespace qbox {

int run_filter_program(const char* fatal, char* const* argv) {
  pid_t pid = ::fork();
  if (pid < 0) die_sys(kExitTemp, fatal, "unable to fork: ");
  if (pid == 0) {
    pathexec(argv);
    ::_exit(error_temp(errno) ? kExitTemp : kExitPerm);
  }
  int status = 0;
  if (wait_pid(pid, &status) < 0) die(kExitTemp, fatal, "wait failed");
  if (wait_crashed(status)) die(kExitTemp, fatal, "child crashed");
  return wait_exitcode(status);
}

}  // namespace qbox
