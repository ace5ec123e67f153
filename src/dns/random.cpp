#include "dns/random.hpp"

#include <cerrno>
#include <sys/random.h>
#include <unistd.h>

#include "base/fd.hpp"

namespace qbox::dns {

static bool read_urandom(char* p, std::size_t n) {
  Fd fd(open_read("/dev/urandom"));
  if (!fd) return false;
  while (n) {
    ssize_t r = ::read(fd.get(), p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = EIO;
      return false;
    }
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

bool random_bytes(void* buf, std::size_t n) {
  char* p = static_cast<char*>(buf);
  while (n) {
    ssize_t r = ::getrandom(p, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return read_urandom(p, n);  // ENOSYS on old kernels, or a seccomp filter
    }
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace qbox::dns
