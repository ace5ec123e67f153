#include "svc/control.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fd.hpp"
#include "base/str.hpp"

namespace qbox::svc {

static int open_retry(const char* path, int flags, int mode = 0) {
  for (;;) {
    int fd = ::open(path, flags | O_CLOEXEC, mode);
    if (fd >= 0 || errno != EINTR) return fd;
  }
}

int open_fifo_write(const char* path) { return open_retry(path, O_WRONLY | O_NONBLOCK); }
int open_fifo_read(const char* path) { return open_retry(path, O_RDONLY | O_NONBLOCK); }

void make_fifo(const char* path) {
  if (::mkfifo(path, 0600) != 0) {
    // EEXIST is the usual case; anything else shows at the open.
  }
}

int acquire_lock(const char* path) {
  int fd = open_retry(path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK, 0600);
  if (fd < 0) return -1;
  int r;
  do r = ::flock(fd, LOCK_EX | LOCK_NB);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    int e = errno;
    ::close(fd);
    errno = e == EWOULDBLOCK ? EAGAIN : e;
    return -1;
  }
  return fd;
}

int send_control(std::string_view dir, std::string_view cmds) {
  Str path(dir);
  path.push('/');
  path.append(kControlPath);
  int fd = open_fifo_write(path.c_str());
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

}  // namespace qbox::svc
