// envdir: runs a child with environment variables taken from the files of a
// directory. Each file NAME (not starting with a dot) sets NAME to its first
// line, trailing blanks and tabs removed, NULs turned into newlines; an empty
// file removes NAME. The changes apply in the order of the directory.
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/env.hpp"
#include "base/fd.hpp"
#include "base/str.hpp"
#include "proc/exec.hpp"

using namespace qbox;

static constexpr char kUsage[] = "envdir dir child";
static constexpr char kFatal[] = "envdir: fatal: ";

// The classic open_read: non-blocking, so that a FIFO without a writer
// reads as empty instead of hanging.
static int open_nonblock(const char* path) { return ::open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); }

// Reads NAME in the current directory into `value` as envdir does. A file
// that vanished between readdir and open (or a dangling symlink) leaves
// `value` as the previous file made it, like the classic openreadclose.
static int read_value(const char* name, Str& value) {
  int fd = open_nonblock(name);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  Fd owner(fd);
  value.clear();
  return read_all(fd, value);
}

// The first line, trailing spaces and tabs removed, NUL as newline.
static void clean_value(Str& v) {
  const char* nl = static_cast<const char*>(std::memchr(v.data(), '\n', v.size()));
  std::size_t n = nl ? static_cast<std::size_t>(nl - v.data()) : v.size();
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) --n;
  v.truncate(n);
  for (std::size_t i = 0; i < n; ++i)
    if (v[i] == '\0') v[i] = '\n';
}

static int envdir_main(int argc, char** argv) {
  if (argc < 3) die(kExitTemp, "envdir: usage: ", kUsage);
  const char* dirname = argv[1];

  int orig = open_nonblock(".");
  if (orig < 0) die_sys(kExitTemp, kFatal, "unable to switch to current directory: ");
  if (::chdir(dirname) != 0) die_sys(kExitTemp, kFatal, "unable to switch to directory ", dirname, ": ");

  DIR* dir = ::opendir(".");
  if (!dir) die_sys(kExitTemp, kFatal, "unable to read directory ", dirname, ": ");
  Str value;
  for (;;) {
    errno = 0;
    struct dirent* d = ::readdir(dir);
    if (!d) {
      if (errno) die_sys(kExitTemp, kFatal, "unable to read directory ", dirname, ": ");
      break;
    }
    if (d->d_name[0] == '.') continue;
    if (read_value(d->d_name, value) < 0)
      die_sys(kExitTemp, kFatal, "unable to read ", dirname, "/", d->d_name, ": ");
    if (value.empty()) {
      env::unset(d->d_name);
      continue;
    }
    clean_value(value);
    env::set(d->d_name, value.c_str());
    // The classic program keeps the terminating NUL in its buffer, which a
    // following vanished file then reads back as part of the value.
    value.push('\0');
  }
  ::closedir(dir);

  if (::fchdir(orig) != 0) die_sys(kExitTemp, kFatal, "unable to switch to starting directory: ");
  ::close(orig);

  pathexec(argv + 2);
  die_sys(kExitTemp, kFatal, "unable to run ", argv[2], ": ");
}

extern const AppletInfo applet_envdir = {"run a program with environment variables from a directory's files",
                                         kUsage, envdir_main};
