#include "base/fd.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace qbox {

void Fd::reset(int fd) {
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
}

// openat, not open: musl's open() follows every O_CLOEXEC open with an
// fcntl(FD_CLOEXEC) for kernels older than 2.6.23, one wasted system call
// per file the queue programs touch.
static int open_retry(const char* path, int flags, int mode = 0644) {
  for (;;) {
    int fd = ::openat(AT_FDCWD, path, flags | O_CLOEXEC, mode);
    if (fd >= 0 || errno != EINTR) return fd;
  }
}

int open_read(const char* path) { return open_retry(path, O_RDONLY); }
int open_write(const char* path) { return open_retry(path, O_WRONLY); }
int open_trunc(const char* path) { return open_retry(path, O_WRONLY | O_CREAT | O_TRUNC); }
int open_append(const char* path) { return open_retry(path, O_WRONLY | O_CREAT | O_APPEND); }
int open_excl(const char* path) { return open_retry(path, O_WRONLY | O_CREAT | O_EXCL); }

int write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t w = ::write(fd, s.data(), s.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    s.remove_prefix(static_cast<std::size_t>(w));
  }
  return 0;
}

int read_all(int fd, Str& out, std::size_t max) {
  std::size_t start = out.size();
  // Read into the stack, then append what came: a control file of a few
  // bytes then costs a few bytes of heap, not 4 KB that malloc maps for
  // it and unmaps again (page faults and a TLB flush, in every session).
  char buf[4096];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return 0;
    out.append(buf, static_cast<std::size_t>(r));
    if (out.size() - start > max) {
      errno = EFBIG;
      return -1;
    }
  }
}

int read_file(const char* path, Str& out, std::size_t max) {
  Fd fd(open_read(path));
  if (!fd) return -1;
  // A regular file known to be too big is refused before any of it is read.
  struct stat st;
  if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode)) {
    if (static_cast<unsigned long long>(st.st_size) > max) {
      errno = EFBIG;
      return -1;
    }
    // Room for all of it at once, rather than doubling past it.
    out.reserve(static_cast<std::size_t>(st.st_size));
  }
  return read_all(fd.get(), out, max);
}

int fsync_dir(int at_fd, const char* path) {
  Fd d(::openat(at_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d) return -1;
  if (::fsync(d.get()) == 0) return 0;
  return errno == EINVAL || errno == EROFS ? 0 : -1;
}

int set_cloexec(int fd, bool on) {
  int f = ::fcntl(fd, F_GETFD);
  if (f < 0) return -1;
  return ::fcntl(fd, F_SETFD, on ? (f | FD_CLOEXEC) : (f & ~FD_CLOEXEC));
}

int set_nonblock(int fd, bool on) {
  int f = ::fcntl(fd, F_GETFL);
  if (f < 0) return -1;
  return ::fcntl(fd, F_SETFL, on ? (f | O_NONBLOCK) : (f & ~O_NONBLOCK));
}

int fd_copy(int to, int from) {
  if (to == from) return 0;
  if (::fcntl(from, F_GETFL) == -1) return -1;
  ::close(to);
  return ::dup2(from, to) == -1 ? -1 : 0;
}

int fd_move(int to, int from) {
  if (to == from) return 0;
  if (fd_copy(to, from) == -1) return -1;
  ::close(from);
  return 0;
}

}  // namespace qbox
