// svscan: starts and watches a supervise for every service directory.
//
// As daemontools 0.76: svscan [ directory ] changes to the directory (else
// stays in the current one) and scans it at once and then every 5 seconds.
// For each subdirectory DIR whose name does not start with a dot it runs
// `supervise DIR`, and when DIR/log exists also `supervise log` inside DIR,
// with a pipe from the first one's standard output to the second one's
// standard input. svscan keeps both ends of that pipe open, so it survives
// restarts of the service and of its logger. A supervise that exits is
// started again at the next scan; a directory that vanishes is forgotten
// once its supervises have exited (they are not killed). Services are
// known by device and inode, as in 0.76, and at most 1000 of them.
//
// Beyond 0.76:
// - SIGALRM makes svscan scan at once (0.76 dies of it).
// - Every child is reaped as soon as it exits, including orphans that a
//   process id 1 inherits (0.76 reaped them only at each scan).
// - As process id 1 (a container's init) SIGTERM and SIGINT stop
//   everything cleanly, within 10 seconds:
//   1. the supervise of every service (not of the loggers) is told "dx":
//      the service gets SIGTERM, then its supervise exits;
//   2. once a service's supervise has exited, svscan closes its end of the
//      log pipe and tells the log supervise "ox": the logger reads the pipe
//      to its end and is not started again, then its supervise exits;
//   3. once no service's supervise is left, orphans the services left
//      behind (children of svscan it did not start; they may hold a log
//      pipe open) get SIGTERM;
//   4. once no supervise is left at all, or 5 seconds after the signal,
//      every remaining process gets SIGTERM; after 10 seconds SIGKILL;
//   5. svscan exits 0 as soon as it has no child left (at the latest
//      after the SIGKILL).
//   Outside process id 1, SIGTERM and SIGINT keep their default action as
//   in 0.76: svscan dies and the supervises keep running, so svscan can be
//   restarted without touching the services, and `svc -dx` remains the way
//   to stop them.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/num.hpp"
#include "base/str.hpp"
#include "proc/child.hpp"
#include "proc/exec.hpp"
#include "svc/control.hpp"
#include "time/tai.hpp"

using namespace qbox;

namespace {

constexpr char kUsage[] = "svscan [ directory ]";
constexpr char kWarning[] = "svscan: warning: ";

constexpr std::size_t kMaxServices = 1000;  // as 0.76
constexpr long long kScanMs = 5000;
constexpr long long kStopTermMs = 5000;   // stop: SIGTERM to what is left
constexpr long long kStopKillMs = 10000;  // stop: SIGKILL to what is left
constexpr int kStopPollMs = 100;          // stop: retry undelivered commands

struct Service {
  dev_t dev = 0;
  ino_t ino = 0;
  Str name;             // as last seen in the directory
  bool active = false;  // seen by the scan in progress
  bool log = false;     // has a log service, and the pipe below
  pid_t pid = 0;        // supervise DIR, 0 when not running
  pid_t pidlog = 0;     // supervise DIR/log, 0 when not running
  Fd rd, wr;            // the pipe from the service to its logger
  bool told = false;    // stop: "dx" delivered to DIR
  bool logtold = false; // stop: "ox" delivered to DIR/log
};

std::vector<Service> services;
std::size_t hint = 0;  // where the next lookup starts: scans repeat an order

volatile sig_atomic_t got_alarm = 0;
volatile sig_atomic_t got_stop = 0;

void on_alarm(int) {
  got_alarm = 1;
  selfpipe_notify();
}
void on_child(int) { selfpipe_notify(); }
void on_stop(int) {
  got_stop = 1;
  selfpipe_notify();
}

Service* find(dev_t dev, ino_t ino) {
  std::size_t n = services.size();
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t i = hint + k < n ? hint + k : hint + k - n;
    if (services[i].ino == ino && services[i].dev == dev) {
      hint = i + 1 < n ? i + 1 : 0;
      return &services[i];
    }
  }
  return nullptr;
}

// The child side of a start: descriptor `from` (if any) becomes `to` and
// survives the exec, then supervise runs, found in $PATH.
[[noreturn]] void exec_supervise(int to, int from, const char* cd, const char* arg,
                                 std::string_view fn, std::string_view suffix) {
  if (from >= 0 && (fd_move(to, from) == -1 || set_cloexec(to, false) == -1))
    die_sys(kExitTemp, kWarning, "unable to set up descriptors for ", fn, suffix, ": ");
  if (cd && ::chdir(cd) == -1) die_sys(kExitTemp, kWarning, "unable to switch to ", fn, ": ");
  char* argv[] = {const_cast<char*>("supervise"), const_cast<char*>(arg), nullptr};
  pathexec(argv);
  die_sys(kExitTemp, kWarning, "unable to start supervise ", fn, suffix, ": ");
}

void start(const char* fn) {
  if (fn[0] == '.') return;
  struct stat st;
  if (::stat(fn, &st) == -1) {
    warn_sys(kWarning, "unable to stat ", fn, ": ");
    return;
  }
  if (!S_ISDIR(st.st_mode)) return;

  Service* s = find(st.st_dev, st.st_ino);
  if (!s) {
    if (services.size() >= kMaxServices) {
      warn(kWarning, "unable to start ", fn, ": running too many services");
      return;
    }
    Service n;
    n.dev = st.st_dev;
    n.ino = st.st_ino;
    n.name = fn;
    Str log(fn);
    log.append("/log");
    if (::stat(log.c_str(), &st) == 0) {
      n.log = true;
    } else if (errno != ENOENT) {
      warn_sys(kWarning, "unable to stat ", fn, "/log: ");
      return;
    }
    if (n.log) {
      int pi[2];
      if (::pipe2(pi, O_CLOEXEC) == -1) {
        warn_sys(kWarning, "unable to create pipe for ", fn, ": ");
        return;
      }
      n.rd.reset(pi[0]);
      n.wr.reset(pi[1]);
    }
    services.push_back(std::move(n));
    s = &services.back();
  } else if (s->name.view() != fn) {
    s->name = fn;  // renamed: same directory, same supervise
  }
  s->active = true;

  if (!s->pid) {
    pid_t child = ::fork();
    if (child == -1) {
      warn_sys(kWarning, "unable to fork for ", fn, ": ");
      return;
    }
    if (child == 0) exec_supervise(1, s->log ? s->wr.get() : -1, nullptr, fn, fn, "");
    s->pid = child;
  }

  if (s->log && !s->pidlog) {
    pid_t child = ::fork();
    if (child == -1) {
      warn_sys(kWarning, "unable to fork for ", fn, "/log: ");
      return;
    }
    if (child == 0) exec_supervise(0, s->rd.get(), fn, "log", fn, "/log");
    s->pidlog = child;
  }
}

// Removes entry i (its pipe closes with it).
void forget(std::size_t i) {
  if (i + 1 != services.size()) services[i] = std::move(services.back());
  services.pop_back();
}

void scan() {
  for (Service& s : services) s.active = false;
  DIR* dir = ::opendir(".");
  if (!dir) {
    warn_sys(kWarning, "unable to read directory: ");
    return;
  }
  for (;;) {
    errno = 0;
    dirent* d = ::readdir(dir);
    if (!d) break;
    start(d->d_name);
  }
  if (errno) {
    warn_sys(kWarning, "unable to read directory: ");
    ::closedir(dir);
    return;
  }
  ::closedir(dir);
  for (std::size_t i = 0; i < services.size();) {
    const Service& s = services[i];
    if (!s.active && !s.pid && !s.pidlog) forget(i);
    else ++i;
  }
}

// Reaps every child that has exited, ours or inherited. False when there is
// no child left at all.
bool reap() {
  for (;;) {
    int status;
    pid_t r = ::waitpid(-1, &status, WNOHANG);
    if (r == 0) return true;
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno != ECHILD;
    }
    for (Service& s : services) {
      if (s.pid == r) { s.pid = 0; break; }
      if (s.pidlog == r) { s.pidlog = 0; break; }
    }
  }
}

bool is_supervise(pid_t pid) {
  for (const Service& s : services)
    if (s.pid == pid || s.pidlog == pid) return true;
  return false;
}

// SIGTERM and SIGCONT, once each, to every child of svscan that is not one
// of its supervises: as process id 1 these are orphans the services left
// behind, which may hold a log pipe open. Needs a /proc of svscan's own
// process namespace (else does nothing and the stop's timers act).
void term_orphans(std::vector<pid_t>& termed) {
  char buf[128];
  ssize_t n = ::readlink("/proc/self", buf, sizeof buf);
  pid_t self = ::getpid();
  char me[kNumDigits];
  if (n <= 0 || std::string_view(buf, static_cast<std::size_t>(n)) != fmt_num(me, self)) return;
  DIR* dir = ::opendir("/proc");
  if (!dir) return;
  Str path;
  while (dirent* d = ::readdir(dir)) {
    auto pid = parse_num(d->d_name, 0x7fffffff);
    if (!pid) continue;
    path = "/proc/";
    path.append(d->d_name);
    path.append("/stat");
    Fd fd(open_read(path.c_str()));
    if (!fd) continue;
    n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) continue;
    // "pid (comm) state ppid ...": comm may hold anything, so from its end.
    std::string_view stat(buf, static_cast<std::size_t>(n));
    std::size_t paren = stat.rfind(')');
    if (paren == std::string_view::npos || paren + 4 > stat.size()) continue;
    Scanned ppid = scan_num(stat.substr(paren + 4));
    pid_t p = static_cast<pid_t>(*pid);
    if (!ppid.used || ppid.value != static_cast<unsigned long long>(self) || is_supervise(p)) continue;
    if (std::find(termed.begin(), termed.end(), p) != termed.end()) continue;
    ::kill(p, SIGTERM);
    ::kill(p, SIGCONT);
    termed.push_back(p);
  }
  ::closedir(dir);
}

// The stop as process id 1, one round at a time; true when svscan may exit.
struct Stop {
  bool on = false;
  long long start = 0;
  bool all_termed = false;
  std::vector<pid_t> orphans_termed;
};

bool stop_round(Stop& stop, long long now, bool children) {
  if (!children) return true;  // nothing left in the namespace
  long long elapsed = now - stop.start;
  if (elapsed >= kStopKillMs) {
    // Exiting as process id 1 makes the kernel collect what is left.
    ::kill(-1, SIGKILL);
    return true;
  }
  bool services_up = false, loggers_up = false;
  for (Service& s : services) {
    if (s.pid) {
      services_up = true;
      if (!s.told && svc::send_control(s.name, "dx") == 0) s.told = true;
      continue;
    }
    if (!s.log) continue;
    s.wr.reset();  // the service is gone: its logger sees the end of the pipe
    if (s.pidlog) {
      loggers_up = true;
      if (!s.logtold) {
        Str log(s.name);
        log.append("/log");
        if (svc::send_control(log, "ox") == 0) s.logtold = true;
      }
    }
  }
  if (stop.all_termed) return false;
  if (!services_up && !loggers_up) {
    // Whatever is left: orphans of the services and of the loggers.
    ::kill(-1, SIGTERM);
    ::kill(-1, SIGCONT);
    stop.all_termed = true;
  } else if (elapsed >= kStopTermMs) {
    ::kill(-1, SIGTERM);  // late: the stuck ones, their supervises with them
    ::kill(-1, SIGCONT);
    stop.all_termed = true;
  } else if (!services_up) {
    term_orphans(stop.orphans_termed);  // so the loggers can drain
  }
  return false;
}

int svscan_main(int argc, char** argv) {
  if (argc > 1 && ::chdir(argv[1]) == -1)
    die_sys(kExitTemp, "svscan: fatal: unable to chdir to ", argv[1], ": ");
  if (selfpipe_init() == -1) die_sys(kExitTemp, "svscan: fatal: unable to create pipe: ");
  sig_unblock_all();  // the loop waits for signals; the supervises get a clean mask
  sig_catch(SIGALRM, on_alarm);
  sig_catch(SIGCHLD, on_child);
  if (::getpid() == 1) {
    sig_catch(SIGTERM, on_stop);
    sig_catch(SIGINT, on_stop);
  }

  Stop stop;
  long long next = 0;
  for (;;) {
    bool children = reap();
    long long now = monotonic_ms();
    int timeout;
    if (got_stop && !stop.on) {
      stop.on = true;
      stop.start = now;
    }
    if (stop.on) {
      if (stop_round(stop, now, children)) return 0;
      timeout = kStopPollMs;
    } else {
      if (got_alarm || now >= next) {
        got_alarm = 0;
        scan();
        now = monotonic_ms();
        next = now + kScanMs;
      }
      timeout = static_cast<int>(next - now);
    }
    pollfd p = {selfpipe_fd(), POLLIN, 0};
    ::poll(&p, 1, timeout);
    selfpipe_drain();
  }
}

}  // namespace

extern const AppletInfo applet_svscan = {
    "start and watch a supervise for every service directory", kUsage, svscan_main};
