#include "log/logdir.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/die.hpp"
#include "base/fd.hpp"
#include "proc/child.hpp"
#include "time/tai.hpp"

extern char** environ;

namespace qbox::log {

volatile sig_atomic_t g_exitasap = 0;
volatile sig_atomic_t g_forcerotate = 0;

namespace {

constexpr char kWarning[] = "multilog: warning: ";
constexpr char kFatal[] = "multilog: fatal: ";

sigset_t g_waitmask;  // the signal mask while waiting for input

void on_term(int) { g_exitasap = 1; }
void on_alarm(int) { g_forcerotate = 1; }

sigset_t term_alarm() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGALRM);
  return s;
}

// djb's open_read, open_trunc (0644) and open_append (0600), relative to a
// directory, close-on-exec.
int open_at(int dirfd, const char* name, int flags, int mode = 0) {
  return ::openat(dirfd, name, flags | O_NONBLOCK | O_CLOEXEC, mode);
}
int read_at(int dirfd, const char* name) { return open_at(dirfd, name, O_RDONLY); }
int trunc_at(int dirfd, const char* name) {
  return open_at(dirfd, name, O_WRONLY | O_TRUNC | O_CREAT, 0644);
}
int append_at(int dirfd, const char* name) {
  return open_at(dirfd, name, O_WRONLY | O_APPEND | O_CREAT, 0600);
}

// Puts `from` on descriptor `to` for a child, without close-on-exec.
int move_to(int to, int from) {
  if (to == from) return set_cloexec(to, false);
  if (::dup2(from, to) == -1) return -1;
  ::close(from);
  return 0;
}

}  // namespace

// ---- signals -------------------------------------------------------------

void signals_init() {
  sigset_t s = term_alarm(), old;
  ::sigprocmask(SIG_BLOCK, &s, &old);
  g_waitmask = old;
  sigdelset(&g_waitmask, SIGTERM);
  sigdelset(&g_waitmask, SIGALRM);
  sig_catch(SIGTERM, on_term);
  sig_catch(SIGALRM, on_alarm);
  sig_ignore(SIGXFSZ);
}

bool wait_input(int fd) {
  pollfd p = {fd, POLLIN, 0};
  int r = ::ppoll(&p, 1, nullptr, &g_waitmask);
  return !(r < 0 && errno == EINTR);
}

bool deep_sleep(bool wake_on_alarm) {
  int saved = errno;
  sigset_t s = term_alarm();
  timespec end;
  ::clock_gettime(CLOCK_MONOTONIC, &end);
  end.tv_sec += 5;
  bool alarmed = false;
  for (;;) {
    timespec now, left;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    left.tv_sec = end.tv_sec - now.tv_sec;
    left.tv_nsec = end.tv_nsec - now.tv_nsec;
    if (left.tv_nsec < 0) { left.tv_nsec += 1000000000; --left.tv_sec; }
    if (left.tv_sec < 0) break;
    int sig = ::sigtimedwait(&s, nullptr, &left);
    if (sig == SIGTERM) g_exitasap = 1;
    else if (sig == SIGALRM) {
      g_forcerotate = 1;
      if (wake_on_alarm) { alarmed = true; break; }
    } else if (sig < 0 && errno == EAGAIN) break;
  }
  errno = saved;
  return alarmed;
}

bool pause_sys(std::initializer_list<std::string_view> parts, bool wake_on_alarm) {
  int e = errno;
  Str msg(kWarning);
  for (std::string_view p : parts) msg.append(p);
  errno = e;
  warn_sys(msg.view());
  return deep_sleep(wake_on_alarm);
}

// ---- the directory -------------------------------------------------------

LogDir::LogDir(const DirSpec& spec)
    : dir_(spec.dir), size_(spec.size), num_(spec.num), processor_(spec.processor),
      buf_(new char[128 * 1024]), cap_(128 * 1024) {}

LogDir::~LogDir() {
  delete[] buf_;
  for (int fd : {cur_, fdlock_, fddir_})
    if (fd >= 0) ::close(fd);
}

void LogDir::start(int fdstart) {
  if (::fchdir(fdstart) == -1) die_sys(kExitTemp, kFatal, "unable to switch to starting directory: ");
  ::mkdir(dir_, 0700);
  fddir_ = ::open(dir_, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fddir_ == -1 || ::fchdir(fddir_) == -1)
    die_sys(kExitTemp, kFatal, "unable to open directory ", dir_, ": ");
  fdlock_ = append_at(fddir_, "lock");
  if (fdlock_ == -1 || ::flock(fdlock_, LOCK_EX | LOCK_NB) == -1)
    die_sys(kExitTemp, kFatal, "unable to lock directory ", dir_, ": ");

  struct stat st;
  if (::fstatat(fddir_, "current", &st, 0) == -1) {
    if (errno != ENOENT) die_sys(kExitTemp, kFatal, "unable to stat ", dir_, "/current: ");
  } else if (st.st_mode & 0100) {
    // A complete current, left by a clean exit: go on appending to it.
    cur_ = append_at(fddir_, "current");
    if (cur_ == -1) die_sys(kExitTemp, kFatal, "unable to append to ", dir_, "/current: ");
    if (::fchmod(cur_, 0644) == -1)
      die_sys(kExitTemp, kFatal, "unable to set mode of ", dir_, "/current: ");
    bytes_ = static_cast<unsigned long>(st.st_size);
    return;
  }

  // Recovery: a processor that finished keeps its output; otherwise its
  // input is kept, as an unfinished file, and so is current.
  ::unlinkat(fddir_, "state", 0);
  ::unlinkat(fddir_, "newstate", 0);
  bool processed = false;
  if (::fstatat(fddir_, "processed", &st, 0) == -1) {
    if (errno != ENOENT) die_sys(kExitTemp, kFatal, "unable to stat ", dir_, "/processed: ");
  } else if (st.st_mode & 0100) {
    processed = true;
  }
  if (processed) {
    ::unlinkat(fddir_, "previous", 0);
    finish("processed", 's');
  } else {
    ::unlinkat(fddir_, "processed", 0);
    finish("previous", 'u');
  }
  finish("current", 'u');

  int fd = trunc_at(fddir_, "state");
  if (fd == -1) die_sys(kExitTemp, kFatal, "unable to write to ", dir_, "/state: ");
  ::close(fd);
  cur_ = append_at(fddir_, "current");
  if (cur_ == -1) die_sys(kExitTemp, kFatal, "unable to write to ", dir_, "/current: ");
  if (::fchmod(cur_, 0644) == -1)
    die_sys(kExitTemp, kFatal, "unable to set mode of ", dir_, "/current: ");
  bytes_ = 0;
}

// ---- output: 0.76's buffer, replayed -------------------------------------

void LogDir::ensure(std::size_t n) {
  if (len_ + n > cap_) flush();
}

void LogDir::append(std::string_view s) {
  if (s.empty()) return;
  std::memcpy(buf_ + len_, s.data(), s.size());
  len_ += s.size();
}

void LogDir::line(std::string_view a, std::string_view b, bool newline) {
  std::size_t n = a.size() + b.size();
  ensure(n + 1);
  append(a);
  append(b);
  if (newline) buf_[len_++] = '\n';
  put(n);
  if (newline) putc_run(1);
}

void LogDir::tail(std::string_view s) {
  while (!s.empty()) {
    std::size_t k = std::min<std::size_t>(s.size(), 4096);
    ensure(k);
    append(s.substr(0, k));
    putc_run(k);
    s.remove_prefix(k);
  }
}

void LogDir::newline() {
  ensure(1);
  buf_[len_++] = '\n';
  putc_run(1);
}

void LogDir::end_of_read() { vflush(); }

// buffer_put: what does not fit flushes the buffer first; what is larger
// than the buffer is written directly.
void LogDir::put(std::size_t n) {
  if (n > kBuf - vp_) {
    vflush();
    if (n > kBuf) {
      c_write(n);
      return;
    }
  }
  vp_ += n;
}

// buffer_PUTC, n times.
void LogDir::putc_run(std::size_t n) {
  while (n) {
    if (vp_ == kBuf) vflush();
    std::size_t k = std::min(n, kBuf - vp_);
    vp_ += k;
    n -= k;
  }
}

void LogDir::vflush() {
  if (!vp_) return;
  std::size_t n = vp_;
  vp_ = 0;
  c_write(n);
}

// 0.76's c_write, called until the n bytes at clen_ are taken: within 2000
// bytes of the size limit a write stops after its last newline, and current
// is rotated when such a write ends a line; it never grows past the limit.
void LogDir::c_write(std::size_t n) {
  while (n) {
    if (bytes_ >= size_) rotate();
    std::size_t len = n;
    if (len >= size_ - bytes_) len = size_ - bytes_;
    if (bytes_ + len >= size_ - 2000) {
      const void* nl = ::memrchr(buf_ + clen_, '\n', len);
      if (nl) len = static_cast<std::size_t>(static_cast<const char*>(nl) - (buf_ + clen_)) + 1;
    }
    clen_ += len;
    bytes_ += len;
    n -= len;
    if (bytes_ >= size_ - 2000 && buf_[clen_ - 1] == '\n') rotate();
  }
}

void LogDir::flush() {
  std::size_t start = head_;
  while (head_ < clen_) {
    ssize_t w = ::write(cur_, buf_ + head_, clen_ - head_);
    if (w > 0) {
      head_ += static_cast<std::size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    int e = errno;
    bool alarmed = pause_sys({"unable to write to ", dir_, "/current, pausing: "}, true);
    // Beyond 0.76: current cannot grow past a file size limit, and an ALRM
    // asks for a rotation; either way the rest goes to a new current. A
    // line that this flush wrote only in part is taken back first, so
    // that it is not cut in two.
    if (!alarmed && e != EFBIG) continue;
    unsigned long on_disk = bytes_ - (clen_ - head_);
    const void* nl = head_ > start ? ::memrchr(buf_ + start, '\n', head_ - start) : nullptr;
    if (nl) {
      std::size_t keep = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_) + 1;
      if (keep < head_ && ::ftruncate(cur_, static_cast<off_t>(on_disk - (head_ - keep))) == 0) {
        on_disk -= head_ - keep;
        head_ = keep;
      }
    }
    if (on_disk > 0) {
      fullcurrent();
      if (alarmed) alarm_rotated = true;
    }
  }
  std::size_t rest = len_ - clen_;
  if (clen_ && rest) std::memmove(buf_, buf_ + clen_, rest);
  len_ = rest;
  clen_ = head_ = 0;
}

// ---- rotation ------------------------------------------------------------

void LogDir::rotate() {
  flush();
  fullcurrent();
}

void LogDir::fullcurrent() {
  while (::fsync(cur_) == -1) pause_sys({"unable to write ", dir_, "/current to disk, pausing: "});
  ::close(cur_);
  while (::renameat(fddir_, "current", fddir_, "previous") == -1)
    pause_sys({"unable to rename current to previous in directory ", dir_, ", pausing: "});
  while ((cur_ = append_at(fddir_, "current")) == -1)
    pause_sys({"unable to create ", dir_, "/current, pausing: "});
  bytes_ = clen_ - head_;  // what is still to be written goes here
  while (::fchmod(cur_, 0644) == -1)
    pause_sys({"unable to set mode of ", dir_, "/current, pausing: "});
  while (::fchmodat(fddir_, "previous", 0744, 0) == -1)
    pause_sys({"unable to set mode of ", dir_, "/previous, pausing: "});
  if (!processor_) finish("previous", 's');
  else run_processor();
}

void LogDir::run_processor() {
  for (;;) {
    pid_t pid;
    while ((pid = ::fork()) == -1)
      pause_sys({"unable to fork for processor in ", dir_, ", pausing: "});
    if (pid == 0) start_processor();
    int status;
    if (wait_pid(pid, &status) == -1)
      pause_sys({"wait failed for processor in ", dir_, ", pausing: "});
    else if (wait_crashed(status))
      pause_sys({"processor crashed in ", dir_, ", pausing: "});
    else if (wait_exitcode(status) == 0)
      break;
    warn(kWarning, "processor failed in ", dir_, ", pausing");
    deep_sleep(false);
  }
  int fd;
  while ((fd = append_at(fddir_, "processed")) == -1)
    pause_sys({"unable to create ", dir_, "/processed, pausing: "});
  while (::fsync(fd) == -1) pause_sys({"unable to write ", dir_, "/processed to disk, pausing: "});
  while (::fchmod(fd, 0744) == -1)
    pause_sys({"unable to set mode of ", dir_, "/processed, pausing: "});
  ::close(fd);
  while ((fd = append_at(fddir_, "newstate")) == -1)
    pause_sys({"unable to create ", dir_, "/newstate, pausing: "});
  while (::fsync(fd) == -1) pause_sys({"unable to write ", dir_, "/newstate to disk, pausing: "});
  ::close(fd);
  while (::unlinkat(fddir_, "previous", 0) == -1)
    pause_sys({"unable to remove ", dir_, "/previous, pausing: "});
  while (::renameat(fddir_, "newstate", fddir_, "state") == -1)
    pause_sys({"unable to rename newstate to state in directory ", dir_, ", pausing: "});
  finish("processed", 's');
}

// In the child: sh -c PROCESSOR in the directory, reading previous on 0,
// writing processed on 1, reading state on 4, writing newstate on 5.
void LogDir::start_processor() {
  sig_default(SIGTERM);
  sig_default(SIGALRM);
  sig_default(SIGXFSZ);
  sig_unblock(SIGTERM);
  sig_unblock(SIGALRM);
  int fd;
  if (::fchdir(fddir_) == -1) goto fail;
  // From here on fddir_ may be replaced by one of these: relative names.
  if ((fd = read_at(AT_FDCWD, "previous")) == -1 || move_to(0, fd) == -1) goto fail;
  if ((fd = trunc_at(AT_FDCWD, "processed")) == -1 || move_to(1, fd) == -1) goto fail;
  if ((fd = read_at(AT_FDCWD, "state")) == -1 || move_to(4, fd) == -1) goto fail;
  if ((fd = trunc_at(AT_FDCWD, "newstate")) == -1 || move_to(5, fd) == -1) goto fail;
  {
    const char* args[] = {"sh", "-c", processor_, nullptr};
    ::execve("/bin/sh", const_cast<char* const*>(args), environ);
  }
fail:
  die_sys(kExitTemp, kFatal, "unable to run ", processor_, ": ");
}

// 0.76's finish(): file becomes @TAI64N.code (unless it is already linked
// elsewhere), then the oldest archives go until fewer than num are left.
void LogDir::finish(const char* file, char code) {
  struct stat st;
  for (;;) {
    if (::fstatat(fddir_, file, &st, 0) == 0) break;
    if (errno == ENOENT) return;
    pause_sys({"unable to stat ", dir_, "/", file, ", pausing: "});
  }
  if (st.st_nlink == 1) {
    char fn[kTai64nHexLen + 3];
    for (;;) {
      fmt_tai64n(fn, Tai64n::now());
      fn[kTai64nHexLen] = '.';
      fn[kTai64nHexLen + 1] = code;
      fn[kTai64nHexLen + 2] = 0;
      if (::linkat(fddir_, file, fddir_, fn, 0) == 0) break;
      pause_sys({"unable to link to ", dir_, "/", fn, ", pausing: "});
    }
  }
  while (::unlinkat(fddir_, file, 0) == -1)
    pause_sys({"unable to remove ", dir_, "/", file, ", pausing: "});
  for (;;) {
    int r = filesfit();
    if (r == 1) return;
    if (r == -1) pause_sys({"unable to read ", dir_, ", pausing: "});
  }
}

// 1: fewer than num archives (names of 25 bytes or more starting with @);
// 0: the oldest one was removed; -1: the directory could not be read.
int LogDir::filesfit() {
  int fd = ::openat(fddir_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd == -1) return -1;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return -1;
  }
  char oldest[kTai64nHexLen + 1] = "@z";
  unsigned long count = 0;
  for (;;) {
    errno = 0;
    dirent* x = ::readdir(d);
    if (!x) break;
    if (x->d_name[0] == '@' && std::strlen(x->d_name) >= kTai64nHexLen) {
      ++count;
      if (std::strcmp(x->d_name, oldest) < 0) {
        std::memcpy(oldest, x->d_name, kTai64nHexLen);
        oldest[kTai64nHexLen] = 0;
      }
    }
  }
  if (errno) {
    ::closedir(d);
    return -1;
  }
  if (count < num_) {
    ::closedir(d);
    return 1;
  }
  ::rewinddir(d);
  std::size_t plen = std::strlen(oldest);
  Str victim;
  for (;;) {
    errno = 0;
    dirent* x = ::readdir(d);
    if (!x) break;
    if (x->d_name[0] == '@' && std::strlen(x->d_name) >= kTai64nHexLen &&
        std::strncmp(x->d_name, oldest, plen) == 0) {
      victim = x->d_name;
      break;
    }
  }
  int e = errno;
  ::closedir(d);
  if (e) {
    errno = e;
    return -1;
  }
  // 0.76 loops at once, forever, when it finds nothing to remove or cannot
  // remove it; this stops, or pauses.
  if (victim.empty()) return 1;
  if (::unlinkat(fddir_, victim.c_str(), 0) == -1)
    pause_sys({"unable to remove ", dir_, "/", victim.view(), ", pausing: "});
  return 0;
}

void LogDir::quit() {
  end_of_read();
  flush();
  while (::fsync(cur_) == -1) pause_sys({"unable to write ", dir_, "/current to disk, pausing: "});
  while (::fchmod(cur_, 0744) == -1)
    pause_sys({"unable to set mode of ", dir_, "/current, pausing: "});
}

}  // namespace qbox::log
