#include "svc/control.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include "base/fd.hpp"
#include "base/str.hpp"

namespace qbox {

int supervise_control_write(std::string_view dir, std::string_view cmds) {
  Str path(dir);
  path.append("/supervise/control");
  int fd;
  do {
    fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return -1;
  Fd control(fd);
  for (;;) {
    ssize_t w = ::write(fd, cmds.data(), cmds.size());
    if (w == static_cast<ssize_t>(cmds.size())) return 0;
    if (w >= 0) {
      // A fifo takes up to PIPE_BUF bytes whole or not at all; a short write
      // would mean a partial command string, which svc reports as an error.
      errno = EAGAIN;
      return -1;
    }
    if (errno != EINTR) return -1;
  }
}

}  // namespace qbox
