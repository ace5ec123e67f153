// svscanboot: starts svscan on /service, with its messages shown in the
// process title of readproctitle.
//
// daemontools 0.76 does this with a shell script:
//   PATH=/command:/usr/local/bin:/usr/local/sbin:/bin:/sbin:/usr/bin:/usr/sbin:/usr/X11R6/bin
//   exec </dev/null >/dev/null 2>/dev/null
//   svc -dx /service/* /service/*/log
//   env - PATH=$PATH svscan /service 2>&1 |
//     env - PATH=$PATH readproctitle service errors: ...(400 dots)
// This applet does the same steps, and waits for both programs as the shell
// does. On purpose it differs in three ways:
// - An optional argument names the directory instead of /service (Debian's
//   layout is /etc/service); 0.76 ignores arguments.
// - The `svc -dx` step writes the commands to the control fifos itself, as
//   svc would, so it does not depend on which svc is installed.
// - svscan and readproctitle are always this binary, so the three parts
//   match: a name in the PATH above that is this very file (a qbox symlink
//   or hard link) is run, so that ps shows the classic names; without one,
//   the binary itself under the applet's name. Only when /proc is missing
//   are the names looked up in PATH as 0.76 does. svscan still runs the
//   `supervise` it finds in PATH, as 0.76.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/str.hpp"
#include "proc/exec.hpp"
#include "svc/control.hpp"

extern char** environ;

using namespace qbox;

namespace {

constexpr char kUsage[] = "svscanboot [ directory ]";
constexpr char kFatal[] = "svscanboot: fatal: ";
constexpr char kPath[] =
    "PATH=/command:/usr/local/bin:/usr/local/sbin:/bin:/sbin:/usr/bin:/usr/sbin:/usr/X11R6/bin";
constexpr std::size_t kDots = 400;

// `svc -dx DIR/* DIR/*/log`: every service first, then every logger.
void stop_old_supervises(const char* dir) {
  DIR* d = ::opendir(dir);
  if (!d) return;
  std::vector<Str> names;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') names.push_back(Str(e->d_name));
  ::closedir(d);
  std::sort(names.begin(), names.end(),
            [](const Str& a, const Str& b) { return a.view() < b.view(); });
  Str path;
  for (const char* suffix : {"", "/log"}) {
    for (const Str& n : names) {
      path = dir;
      path.push('/');
      path.append(n);
      path.append(suffix);
      svc::send_control(path, "dx");
    }
  }
}

// How to run applet `name` of this binary (see the top of the file).
Str this_binary_as(const char* name) {
  struct stat self, st;
  if (::stat("/proc/self/exe", &self) == -1) return Str(name);
  std::string_view dirs(kPath + 5);
  Str path;
  while (!dirs.empty()) {
    std::size_t colon = dirs.find(':');
    path = dirs.substr(0, colon);
    path.push('/');
    path.append(name);
    if (::stat(path.c_str(), &st) == 0 && st.st_dev == self.st_dev && st.st_ino == self.st_ino)
      return path;
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
  }
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    path.clear();
    path.append(buf, static_cast<std::size_t>(n));
    if (::stat(path.c_str(), &st) == 0 && st.st_dev == self.st_dev && st.st_ino == self.st_ino)
      return path;
  }
  return Str("/proc/self/exe");
}

[[noreturn]] void run(const Str& file, char** argv) {
  pathexec_env(file.c_str(), argv, environ);
  die_sys(kExitTemp, kFatal, "unable to run ", argv[0], ": ");
}

int svscanboot_main(int argc, char** argv) {
  const char* dir = argc > 1 ? argv[1] : "/service";

  char* clean_env[] = {const_cast<char*>(kPath), nullptr};
  environ = clean_env;  // env - PATH=$PATH, for both programs

  int null = ::open("/dev/null", O_RDWR);
  if (null == -1) die_sys(kExitTemp, kFatal, "unable to open /dev/null: ");
  for (int fd = 0; fd < 3; ++fd)
    if (fd_copy(fd, null) == -1) die_sys(kExitTemp, kFatal, "unable to set up descriptors: ");
  if (null > 2) ::close(null);

  stop_old_supervises(dir);

  Str svscan = this_binary_as("svscan");
  Str readproctitle = this_binary_as("readproctitle");

  int pi[2];
  if (::pipe2(pi, O_CLOEXEC) == -1) die_sys(kExitTemp, kFatal, "unable to create pipe: ");
  pid_t scanner = ::fork();
  if (scanner == -1) die_sys(kExitTemp, kFatal, "unable to fork: ");
  if (scanner == 0) {
    if (fd_copy(1, pi[1]) == -1 || fd_copy(2, pi[1]) == -1) _exit(kExitTemp);
    char* args[] = {const_cast<char*>("svscan"), const_cast<char*>(dir), nullptr};
    run(svscan, args);
  }
  pid_t title = ::fork();
  if (title == -1) die_sys(kExitTemp, kFatal, "unable to fork: ");
  if (title == 0) {
    if (fd_copy(0, pi[0]) == -1) _exit(kExitTemp);
    char dots[kDots + 1];
    std::memset(dots, '.', kDots);
    dots[kDots] = 0;
    char* args[] = {const_cast<char*>("readproctitle"), const_cast<char*>("service"),
                    const_cast<char*>("errors:"), dots, nullptr};
    run(readproctitle, args);
  }
  ::close(pi[0]);
  ::close(pi[1]);

  // As the shell: wait for both, and report on the last one.
  int code = 0;
  for (int left = 2; left > 0;) {
    int status;
    pid_t r = ::waitpid(-1, &status, 0);
    if (r == -1) {
      if (errno == EINTR) continue;
      break;
    }
    if (r == scanner || r == title) --left;
    if (r == title) code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  }
  return code;
}

}  // namespace

extern const AppletInfo applet_svscanboot = {
    "start svscan on /service with its messages in readproctitle's title", kUsage,
    svscanboot_main};
