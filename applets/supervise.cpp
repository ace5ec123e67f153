// supervise: starts ./run in a service directory and restarts it when it
// exits, obeying the one-letter commands svc writes to supervise/control
// and reporting in supervise/status (daemontools 0.76, as Debian ships it).
//
// Beyond 0.76:
// - the pause between automatic restarts does not block: a start is at
//   least one second after the previous one, and commands are obeyed
//   meanwhile; `svc -u` or `svc -o` on a service that is down starts it at
//   once;
// - an executable ./finish runs after ./run exits, as `./finish CODE SIG`
//   (CODE: run's exit code or -1 when a signal killed it; SIG: that signal
//   or 0), before any restart; while it runs the service shows as down,
//   and a, h, i, k, t signal finish;
// - when an earlier supervise was killed and left its service running,
//   the new one picks that process up (the pid in supervise/status, if
//   /proc shows it started when the status says) instead of starting a
//   second copy.
//
// The main loop allocates nothing; every piece of state is below.
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/num.hpp"
#include "proc/child.hpp"
#include "proc/pidfd.hpp"
#include "svc/control.hpp"
#include "svc/status.hpp"
#include "time/tai.hpp"

extern char** environ;

using namespace qbox;

namespace {

constexpr char kUsage[] = "supervise dir";
constexpr char kFatal[] = "supervise: fatal: ";
constexpr char kWarning[] = "supervise: warning: ";

// An adopted process is trusted to be the one in supervise/status when
// /proc says it started within this many seconds of the status time.
constexpr std::int64_t kAdoptSlack = 3;

const char* dir;
int fd_control = -1;

pid_t pid = 0;           // ./run, or the process picked up; 0: down
int pidfd = -1;          // for a picked-up process (not our child)
std::int64_t adopted_start = 0;  // its start time, when there is no pidfd
bool adopted = false;
pid_t finish_pid = 0;    // ./finish while it runs

bool flag_exit = false;
bool flag_want = true;
bool flag_wantup = true;
bool flag_paused = false;

bool start_due = false;  // a start is wanted once nothing runs
bool start_now = false;  // ... and it was asked for: no pause
long long not_before = 0;  // monotonic ms: no automatic start before

svc::Status status;

void pidchange() { status.when = Tai64n::now(); }

void announce() {
  status.pid = static_cast<std::uint32_t>(pid);
  status.paused = pid && flag_paused ? 1 : 0;
  status.want = flag_want ? (flag_wantup ? 'u' : 'd') : 0;
  switch (svc::write_status(status)) {
    case svc::WriteStep::kDone: break;
    case svc::WriteStep::kOpen:
      warn_sys(kWarning, "unable to open ", dir, "/supervise/status.new: ");
      break;
    case svc::WriteStep::kWrite:
      warn_sys(kWarning, "unable to write ", dir, "/supervise/status.new: ");
      break;
    case svc::WriteStep::kPartial:
      warn(kWarning, "unable to write ", dir, "/supervise/status.new: partial write");
      break;
    case svc::WriteStep::kRename:
      warn_sys(kWarning, "unable to rename ", dir, "/supervise/status.new to status: ");
      break;
  }
}

void on_child(int) { selfpipe_notify(); }

// Forks and runs argv; the child's pid, or -1 (errno) when fork failed.
pid_t spawn(char* const* argv, const char* what) {
  pid_t f = ::fork();
  if (f != 0) return f;
  sig_default(SIGCHLD);
  ::execve(argv[0], argv, environ);
  die_sys(kExitTemp, kFatal, "unable to start ", dir, what);
}

void trystart() {
  static char run[] = "./run";
  char* argv[] = {run, nullptr};
  start_due = start_now = false;
  pid_t f = spawn(argv, "/run: ");
  if (f < 0) {
    warn_sys(kWarning, "unable to fork for ", dir, ", sleeping 60 seconds: ");
    not_before = monotonic_ms() + 60000;
    start_due = flag_want && flag_wantup;
    return;
  }
  flag_paused = false;
  pid = f;
  adopted = false;
  pidchange();
  announce();
  not_before = monotonic_ms() + 1000;
}

bool finish_wanted() {
  struct stat st;
  return ::stat("finish", &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

// ./run (or the picked-up process) is gone; wstat is null when its exit
// status is unknown (a process we did not start).
void run_ended(const int* wstat) {
  pid = 0;
  adopted = false;
  if (pidfd >= 0) {
    ::close(pidfd);
    pidfd = -1;
  }
  pidchange();
  announce();
  if (!flag_exit && flag_want && flag_wantup) start_due = true;
  if (!finish_wanted()) return;
  char code[kNumDigits + 1] = "-1";
  char sig[kNumDigits] = "0";
  if (wstat) {
    char num[kNumDigits];
    std::string_view v;
    if (!wait_crashed(*wstat)) {
      v = fmt_num(num, static_cast<unsigned>(wait_exitcode(*wstat)));
      v.copy(code, v.size());
      code[v.size()] = 0;
    } else {
      v = fmt_num(num, static_cast<unsigned>(wait_termsig(*wstat)));
      v.copy(sig, v.size());
      sig[v.size()] = 0;
    }
  }
  static char finish[] = "./finish";
  char* argv[] = {finish, code, sig, nullptr};
  pid_t f = spawn(argv, "/finish: ");
  if (f < 0) {
    warn_sys(kWarning, "unable to fork for ", dir, "/finish: ");
    return;
  }
  finish_pid = f;
}

void reap() {
  for (;;) {
    int w;
    pid_t r = wait_nohang(&w);
    if (r <= 0) return;
    if (r == pid && !adopted) run_ended(&w);
    else if (r == finish_pid) finish_pid = 0;
  }
}

// Sends sig to the service, or to ./finish while that runs.
void signal_service(int sig) {
  if (pid) {
    if (pidfd >= 0) pidfd_signal(pidfd, sig);
    else ::kill(pid, sig);
  } else if (finish_pid) {
    ::kill(finish_pid, sig);
  }
}

void command(char c) {
  switch (c) {
    case 'd':
      flag_want = true;
      flag_wantup = false;
      start_due = start_now = false;
      if (pid) {
        signal_service(SIGTERM);
        signal_service(SIGCONT);
        flag_paused = false;
      }
      announce();
      break;
    case 'u':
      flag_want = true;
      flag_wantup = true;
      announce();
      if (!pid) start_due = start_now = true;
      break;
    case 'o':
      flag_want = false;
      announce();
      if (!pid) start_due = start_now = true;
      break;
    case 'a': signal_service(SIGALRM); break;
    case 'h': signal_service(SIGHUP); break;
    case 'k': signal_service(SIGKILL); break;
    case 't': signal_service(SIGTERM); break;
    case 'i': signal_service(SIGINT); break;
    case 'p':
      flag_paused = true;
      announce();
      if (pid) signal_service(SIGSTOP);
      break;
    case 'c':
      flag_paused = false;
      announce();
      if (pid) signal_service(SIGCONT);
      break;
    case 'x':
      flag_exit = true;
      announce();
      break;
    default: break;
  }
}

// The process an earlier supervise left running, if supervise/status names
// one that is still there and started when the status says.
void pick_up() {
  svc::Status old;
  if (svc::read_status(old) != svc::ReadResult::kOk || !old.pid) return;
  pid_t p = static_cast<pid_t>(old.pid);
  if (p <= 1 || p == ::getpid()) return;
  auto started = process_start_time(p);
  if (!started) return;
  std::int64_t d = *started - old.when.unix_sec();
  if (d < -kAdoptSlack || d > kAdoptSlack) return;
  int fd = pidfd_open(p);
  if (fd < 0 && errno != ENOSYS) return;
  pidfd = fd;
  adopted_start = *started;
  adopted = true;
  pid = p;
  flag_paused = old.paused != 0;
  status.when = old.when;
}

bool adopted_gone() {
  if (pidfd >= 0) {
    pollfd x = {pidfd, POLLIN, 0};
    return ::poll(&x, 1, 0) > 0;
  }
  auto started = process_start_time(pid);
  return !started || *started != adopted_start;
}

void maybe_start() {
  if (!start_due || pid || finish_pid) return;
  if (start_now || monotonic_ms() >= not_before) trystart();
}

void loop() {
  announce();
  for (;;) {
    maybe_start();
    if (flag_exit && !pid && !finish_pid) return;

    int timeout = -1;
    if (start_due && !pid && !finish_pid) {
      long long left = not_before - monotonic_ms();
      timeout = left < 0 ? 0 : static_cast<int>(left);
    }
    if (adopted && pidfd < 0) timeout = timeout < 0 || timeout > 1000 ? 1000 : timeout;
    pollfd x[3] = {{selfpipe_fd(), POLLIN, 0}, {fd_control, POLLIN, 0}, {pidfd, POLLIN, 0}};
    ::poll(x, pidfd >= 0 ? 3 : 2, timeout);

    selfpipe_drain();
    reap();
    if (adopted && adopted_gone()) run_ended(nullptr);
    maybe_start();

    char c;
    if (::read(fd_control, &c, 1) == 1) command(c);
  }
}

void make_supervise_dir() {
  if (::mkdir("supervise", 0700) == 0) return;
  // Debian: supervise may be a symlink; a dangling one gets its target made.
  char buf[256];
  ssize_t r = ::readlink("supervise", buf, sizeof buf);
  if (r >= 0) {
    // djb's error_str has no words for EOVERFLOW.
    if (r == static_cast<ssize_t>(sizeof buf)) die(kExitTemp, "unable to readlink ./supervise: unknown error");
    buf[r] = 0;
    ::mkdir(buf, 0700);
  } else if (errno != ENOENT && errno != EINVAL) {
    die_sys(kExitTemp, "unable to readlink ./supervise: ");
  }
}

int supervise_main(int argc, char** argv) {
  dir = argc > 1 ? argv[1] : nullptr;
  if (!dir || argv[2]) die(kExitPerm, "supervise: usage: ", kUsage);

  if (selfpipe_init() != 0) die_sys(kExitTemp, kFatal, "unable to create pipe for ", dir, ": ");
  sig_catch(SIGCHLD, on_child);
  sig_unblock(SIGCHLD);  // in case it came blocked; the child inherits it unblocked

  if (::chdir(dir) != 0) die_sys(kExitTemp, kFatal, "unable to chdir to ", dir, ": ");
  struct stat st;
  if (::stat("down", &st) == 0) flag_wantup = false;
  else if (errno != ENOENT) die_sys(kExitTemp, kFatal, "unable to stat ", dir, "/down: ");

  make_supervise_dir();
  if (svc::acquire_lock(svc::kLockPath) < 0)
    die_sys(kExitTemp, kFatal, "unable to acquire ", dir, "/supervise/lock: ");

  svc::make_fifo(svc::kControlPath);
  fd_control = svc::open_fifo_read(svc::kControlPath);
  if (fd_control < 0) die_sys(kExitTemp, kFatal, "unable to read ", dir, "/supervise/control: ");
  if (svc::open_fifo_write(svc::kControlPath) < 0)
    die_sys(kExitTemp, kFatal, "unable to write ", dir, "/supervise/control: ");

  pick_up();
  if (!adopted) pidchange();
  announce();

  svc::make_fifo(svc::kOkPath);
  if (svc::open_fifo_read(svc::kOkPath) < 0)
    die_sys(kExitTemp, kFatal, "unable to read ", dir, "/supervise/ok: ");

  if (!adopted && (!flag_want || flag_wantup)) start_due = start_now = true;

  loop();
  announce();
  _exit(0);
}

}  // namespace

extern const AppletInfo applet_supervise = {"start a service and keep it running", kUsage,
                                            supervise_main};
