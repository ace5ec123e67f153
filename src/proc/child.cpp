#include "proc/child.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace qbox {

pid_t wait_pid(pid_t pid, int* status) {
  for (;;) {
    pid_t r = ::waitpid(pid, status, 0);
    if (r >= 0 || errno != EINTR) return r;
  }
}

pid_t wait_nohang(int* status) {
  for (;;) {
    pid_t r = ::waitpid(-1, status, WNOHANG);
    if (r >= 0 || errno != EINTR) return r;
  }
}

bool wait_crashed(int status) { return WIFSIGNALED(status); }
int wait_exitcode(int status) { return WEXITSTATUS(status); }
int wait_termsig(int status) { return WTERMSIG(status); }

static void set_action(int sig, void (*handler)(int)) {
  struct sigaction sa = {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  if (handler != SIG_IGN && handler != SIG_DFL) sigaddset(&sa.sa_mask, sig);
  sa.sa_flags = 0;
  ::sigaction(sig, &sa, nullptr);
}

void sig_catch(int sig, void (*handler)(int)) { set_action(sig, handler); }
void sig_ignore(int sig) { set_action(sig, SIG_IGN); }
void sig_default(int sig) { set_action(sig, SIG_DFL); }

static void change_mask(int how, int sig) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  ::sigprocmask(how, &s, nullptr);
}

void sig_block(int sig) { change_mask(SIG_BLOCK, sig); }
void sig_unblock(int sig) { change_mask(SIG_UNBLOCK, sig); }
void sig_unblock_all() {
  sigset_t s;
  sigemptyset(&s);
  ::sigprocmask(SIG_SETMASK, &s, nullptr);
}

static int selfpipe[2] = {-1, -1};

int selfpipe_init() {
  if (selfpipe[0] >= 0) return 0;
  return ::pipe2(selfpipe, O_NONBLOCK | O_CLOEXEC);
}

int selfpipe_fd() { return selfpipe[0]; }

void selfpipe_notify() {
  int e = errno;
  char c = 0;
  if (::write(selfpipe[1], &c, 1) < 0) {
    // Full pipe: a wake-up is already pending.
  }
  errno = e;
}

void selfpipe_drain() {
  char b[64];
  while (::read(selfpipe[0], b, sizeof b) > 0) {
  }
}

}  // namespace qbox
