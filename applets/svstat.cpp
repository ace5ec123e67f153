// svstat: prints the status of the service in each directory, as
// daemontools 0.76 does: "DIR: up (pid 123) 45 seconds", problems included,
// all on standard output.
#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/str.hpp"
#include "io/buffer.hpp"
#include "svc/control.hpp"
#include "svc/status.hpp"
#include "time/tai.hpp"

using namespace qbox;

namespace {

constexpr char kUsage[] = "svstat dir ...";

void describe(Str& out, const char* dir) {
  out.append(dir);
  out.append(": ");
  if (::chdir(dir) != 0) {
    out.append("unable to chdir: ");
    out.append(error_str(errno));
    return;
  }
  bool normally_up = false;
  struct stat st;
  if (::stat("down", &st) != 0) {
    if (errno != ENOENT) {
      out.append("unable to stat down: ");
      out.append(error_str(errno));
      return;
    }
    normally_up = true;
  }
  int fd = svc::open_fifo_write(svc::kOkPath);
  if (fd < 0) {
    if (errno == ENXIO) {
      out.append("supervise not running");
      return;
    }
    out.append("unable to open supervise/ok: ");
    out.append(error_str(errno));
    return;
  }
  ::close(fd);
  svc::Status s;
  switch (svc::read_status(s)) {
    case svc::ReadResult::kOk: break;
    case svc::ReadResult::kOpenFailed:
      out.append("unable to open supervise/status: ");
      out.append(error_str(errno));
      return;
    case svc::ReadResult::kReadFailed:
      out.append("unable to read supervise/status: ");
      out.append(error_str(errno));
      return;
    case svc::ReadResult::kShort:
      out.append("unable to read supervise/status: bad format");
      return;
  }
  svc::describe_status(out, s, Tai64n::now().sec, normally_up);
}

int svstat_main(int, char** argv) {
  Fd origdir(open_read("."));
  if (!origdir) die_sys(kExitTemp, "svstat: fatal: unable to open current directory: ");
  char space[1024];
  Writer w(1, space);
  Str line;
  for (++argv; *argv; ++argv) {
    line.clear();
    describe(line, *argv);
    line.push('\n');
    w.put(line);
    // Like 0.76, what is still buffered is lost on this error.
    if (::fchdir(origdir.get()) != 0) die_sys(kExitTemp, "svstat: fatal: unable to set directory: ");
  }
  w.flush();
  return 0;
}

}  // namespace

extern const AppletInfo applet_svstat = {"print the status of supervised services", kUsage,
                                         svstat_main};
