#include "svc/control.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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

}  // namespace qbox::svc
