// qmail-start: turn on mail delivery (qmail-start(8)).
//
//   qmail-start [defaultdelivery [logger arg...]]
//
// Starts qmail-send, qmail-todo, qmail-lspawn (with defaultdelivery,
// "./Mailbox" when none is given), qmail-rspawn and two qmail-cleans (one
// for qmail-send, one for qmail-todo), found in $PATH, tied by pipes the
// way qmail-send expects them:
//   qmail-send fd 0: its log (the logger's input, or qmail-start's stdout)
//   fd 1/2: to/from qmail-lspawn, fd 3/4: qmail-rspawn, fd 5/6: qmail-clean,
//   fd 7/8: qmail-todo (whose fd 0/1 are qmail-send and 2/3 its qmail-clean)
// Everything runs in / with umask 077 and group qmail; qmail-send and
// qmail-todo as qmails, qmail-rspawn as qmailr, qmail-clean as qmailq, the
// logger as qmaill (group nofiles), qmail-lspawn as the user that started
// it (root, since it must switch to each recipient's uid). In single-uid
// mode nothing switches. Any failure before the last exec: exit 111,
// silently, as qmail.
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/fd.hpp"
#include "qmail/ids.hpp"

using namespace qbox;

namespace {

[[noreturn]] void die() { ::_exit(111); }

constexpr int kPipes = 11;  // 0: the logger, 1-6: spawners and clean, 7-10: qmail-todo
int pi[kPipes][2];

// Descriptors 2 to 8 are what the children's pipes are copied to; they are
// held (as copies of 0) while the pipes are made so no pipe lands on them.
void close_low() {
  for (int fd = 2; fd <= 8; ++fd) ::close(fd);
}

void close_pipes() {
  for (int i = 1; i < kPipes; ++i) { ::close(pi[i][0]); ::close(pi[i][1]); }
}

void run(const char* const* args) {
  ::execvp(args[0], const_cast<char* const*>(args));
  die();
}

// Forks a child on the pipe ends `in` (its fd 0) and `out` (its fd 1).
void child(const qmail::Ids& ids, uid_t uid, bool as_uid, int in, int out,
           const char* const* args) {
  switch (::fork()) {
    case -1: die();
    case 0:
      if (as_uid && qmail::become(ids, uid, ids.qmail) != 0) die();
      if (fd_copy(0, in) != 0 || fd_copy(1, out) != 0) die();
      close_low();
      close_pipes();
      run(args);
  }
}

int qmail_start_main(int, char** argv) {
  const char* qsargs[] = {"qmail-send", nullptr};
  const char* qcargs[] = {"qmail-clean", nullptr};
  const char* qlargs[] = {"qmail-lspawn", "./Mailbox", nullptr};
  const char* qrargs[] = {"qmail-rspawn", nullptr};
  const char* qtargs[] = {"qmail-todo", nullptr};

  qmail::Ids ids;
  const char* missing = nullptr;
  if (qmail::load_ids(ids, &missing) != 0) die();
  if (::chdir("/") != 0) die();
  ::umask(077);
  if (ids.system && ::setgroups(1, &ids.qmail) != 0) die();
  if (ids.system && ::setgid(ids.qmail) != 0) die();
  for (int fd = 2; fd <= 8; ++fd)
    if (fd_copy(fd, 0) != 0) die();

  if (argv[1]) {
    qlargs[1] = argv[1];
    ++argv;
  }
  if (argv[1]) {
    if (::pipe(pi[0]) != 0) die();
    switch (::fork()) {
      case -1: die();
      case 0:
        if (qmail::become(ids, ids.qmaill, ids.nofiles) != 0) die();
        ::close(pi[0][1]);
        if (fd_move(0, pi[0][0]) != 0) die();
        close_low();
        ::execvp(argv[1], argv + 1);
        die();
    }
    ::close(pi[0][0]);
    if (fd_move(1, pi[0][1]) != 0) die();
  }
  for (int i = 1; i < kPipes; ++i)
    if (::pipe(pi[i]) != 0) die();

  child(ids, 0, false, pi[1][0], pi[2][1], qlargs);
  child(ids, ids.qmailr, true, pi[3][0], pi[4][1], qrargs);
  child(ids, ids.qmailq, true, pi[5][0], pi[6][1], qcargs);
  child(ids, ids.qmailq, true, pi[9][0], pi[10][1], qcargs);  // qmail-todo's
  switch (::fork()) {
    case -1: die();
    case 0:
      if (qmail::become(ids, ids.qmails, ids.qmail) != 0) die();
      if (fd_copy(0, pi[7][0]) != 0 || fd_copy(1, pi[8][1]) != 0 || fd_copy(2, pi[9][1]) != 0 ||
          fd_copy(3, pi[10][0]) != 0)
        die();
      for (int fd = 4; fd <= 8; ++fd) ::close(fd);
      close_pipes();
      run(qtargs);
  }
  if (qmail::become(ids, ids.qmails, ids.qmail) != 0) die();
  if (fd_copy(0, 1) != 0) die();
  if (fd_copy(1, pi[1][1]) != 0 || fd_copy(2, pi[2][0]) != 0 || fd_copy(3, pi[3][1]) != 0 ||
      fd_copy(4, pi[4][0]) != 0 || fd_copy(5, pi[5][1]) != 0 || fd_copy(6, pi[6][0]) != 0 ||
      fd_copy(7, pi[7][1]) != 0 || fd_copy(8, pi[8][0]) != 0)
    die();
  close_pipes();
  run(qsargs);
  return 111;
}

}  // namespace

extern const AppletInfo applet_qmail_start = {
    "turn on mail delivery", "qmail-start [defaultdelivery [logger arg ...]]",
    qmail_start_main};
