// Fd: an owned file descriptor, closed when it goes out of scope.
// And the small descriptor helpers every program needs.
#pragma once
#include <cstddef>
#include <string_view>

#include "base/str.hpp"

namespace qbox {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept { reset(o.release()); return *this; }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  explicit operator bool() const { return ok(); }
  int release() { int f = fd_; fd_ = -1; return f; }
  // Closes the descriptor held (if any) and takes `fd`.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// open(2) wrappers with the flags the classic programs use; all close-on-exec
// except where the name says the descriptor is for a child. -1 and errno on failure.
int open_read(const char* path);      // O_RDONLY | O_NONBLOCK cleared
int open_write(const char* path);     // O_WRONLY, must exist
int open_trunc(const char* path);     // O_WRONLY | O_CREAT | O_TRUNC, 0644
int open_append(const char* path);    // O_WRONLY | O_CREAT | O_APPEND, 0644
int open_excl(const char* path);      // O_WRONLY | O_CREAT | O_EXCL, 0644

// Writes everything, retrying on EINTR and short writes. -1 and errno on failure.
int write_all(int fd, std::string_view s);
// Reads until EOF, appending to out. Fails with EFBIG past `max` bytes.
int read_all(int fd, Str& out, std::size_t max = static_cast<std::size_t>(-1));
// Reads a whole file (open_read + read_all + close); a regular file above
// `max` fails with EFBIG at once, with nothing read.
int read_file(const char* path, Str& out, std::size_t max = static_cast<std::size_t>(-1));
// fsync of the directory `path` (relative to `at_fd`, or AT_FDCWD), so that
// the entries just made in it are durable. A file system that cannot sync a
// directory (EINVAL, EROFS) counts as done: its entries are as durable as
// they get. -1 and errno on failure.
int fsync_dir(int at_fd, const char* path);

// Descriptor flags.
int set_cloexec(int fd, bool on = true);
int set_nonblock(int fd, bool on = true);
// Moves `from` onto `to` (dup2 + close); no-op when they are the same.
int fd_move(int to, int from);
// Copies `from` onto `to` (dup2); no-op when they are the same.
int fd_copy(int to, int from);

}  // namespace qbox
