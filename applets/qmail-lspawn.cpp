// qmail-lspawn: schedule local deliveries (qmail-lspawn(8)).
//
//   qmail-lspawn defaultdelivery
//
// Speaks spawn's protocol with qmail-send on descriptors 0 and 1 (see
// spawn/spawn.hpp). For each recipient it finds the user that controls the
// local part: users/cdb first (as qmail-lspawn does it, see users/assign.hpp),
// else bin/qmail-getpw run as qmailp; then runs
//   bin/qmail-local -- user home local dash ext domain sender defaultdelivery
// in QMAILHOME as that user's uid and gid (no switch in single-uid mode),
// and turns its exit code into a K, Z or D report.
#include <cerrno>
#include <sys/wait.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/num.hpp"
#include "cdb/cdb.hpp"
#include "proc/child.hpp"
#include "qmail/ids.hpp"
#include "spawn/spawn.hpp"
#include "users/assign.hpp"

using namespace qbox;

namespace {

constexpr int kQlxUsage = 112, kQlxRoot = 113, kQlxNfs = 115, kQlxNoAlias = 116,
              kQlxCdb = 117, kQlxSys = 118, kQlxNoMem = 119, kQlxExecSoft = 120,
              kQlxExecPw = 121, kQlxExecHard = 126;

const char* aliasempty;
qmail::Ids ids;

void report(Str& out, int wstat, std::string_view s) {
  if (wait_crashed(wstat)) { out.append("Zqmail-local crashed.\n"); return; }
  int code = wait_exitcode(wstat);
  switch (code) {
    case kQlxCdb: out.append("ZTrouble reading users/cdb in qmail-lspawn.\n"); return;
    case kQlxNoMem: out.append("ZOut of memory in qmail-lspawn.\n"); return;
    case kQlxSys: out.append("ZTemporary failure in qmail-lspawn.\n"); return;
    case kQlxNoAlias: out.append("ZUnable to find alias user!\n"); return;
    case kQlxRoot: out.append("ZNot allowed to perform deliveries as root.\n"); return;
    case kQlxUsage: out.append("ZInternal qmail-lspawn bug.\n"); return;
    case kQlxNfs: out.append("ZNFS failure in qmail-local.\n"); return;
    case kQlxExecHard: out.append("DUnable to run qmail-local.\n"); return;
    case kQlxExecSoft: out.append("ZUnable to run qmail-local.\n"); return;
    case kQlxExecPw: out.append("ZUnable to run qmail-getpw.\n"); return;
    case 111: case 71: case 74: case 75: out.push('Z'); break;
    case 0: out.push('K'); break;
    default: out.push('D'); break;
  }
  std::size_t n = s.find('\0');
  out.append(s.substr(0, n));
}

// The user that controls `local`: users/cdb, else qmail-getpw.
void nughde_get(const char* local, users::Assignment& a) {
  CdbReader db;
  if (db.open("users/cdb") == 0) {
    int r = users::lookup(db, local, a);
    if (r < 0) ::_exit(kQlxCdb);
    if (r == 1) return;
  } else if (errno != ENOENT) {
    ::_exit(kQlxCdb);
  }
  int pi[2];
  if (::pipe(pi) != 0) ::_exit(kQlxSys);
  pid_t pid = ::fork();
  if (pid < 0) ::_exit(kQlxSys);
  if (pid == 0) {
    if (qmail::become(ids, ids.qmailp, ids.nofiles) != 0) ::_exit(kQlxUsage);
    ::close(pi[0]);
    if (fd_move(1, pi[1]) != 0) ::_exit(kQlxSys);
    char* args[] = {const_cast<char*>("bin/qmail-getpw"), const_cast<char*>(local), nullptr};
    ::execv(args[0], args);
    ::_exit(kQlxExecPw);
  }
  ::close(pi[1]);
  Str out;
  if (read_all(pi[0], out, 4096) != 0) ::_exit(kQlxSys);
  ::close(pi[0]);
  int wstat;
  if (wait_pid(pid, &wstat) != -1) {
    if (wait_crashed(wstat)) ::_exit(kQlxSys);
    if (wait_exitcode(wstat) != 0) ::_exit(wait_exitcode(wstat));
  }
  if (!out.empty() && out.back() == '\0') out.truncate(out.size() - 1);
  if (!users::parse_assignment(out.view(), a)) ::_exit(kQlxUsage);
}

pid_t spawn(int fdmess, int fdout, const char* sender, char* r, std::size_t at) {
  pid_t f = ::fork();
  if (f != 0) return f;
  r[at] = 0;
  if (!r[0]) ::_exit(0);  // <>
  if (::chdir(qmail_home()) != 0) ::_exit(kQlxUsage);
  users::Assignment a;
  nughde_get(r, a);
  auto uid = parse_num(a.uid.view(), 0xffffffffULL);
  auto gid = parse_num(a.gid.view(), 0xffffffffULL);
  if (!uid || !gid) ::_exit(kQlxUsage);
  char* args[] = {const_cast<char*>("bin/qmail-local"), const_cast<char*>("--"),
                  a.user.data(), a.home.data(), r, a.dash.data(), a.ext.data(),
                  r + at + 1, const_cast<char*>(sender), const_cast<char*>(aliasempty),
                  nullptr};
  if (fd_move(0, fdmess) != 0) ::_exit(kQlxSys);
  if (fd_move(1, fdout) != 0) ::_exit(kQlxSys);
  if (fd_copy(2, 1) != 0) ::_exit(kQlxSys);
  if (qmail::become(ids, static_cast<uid_t>(*uid), static_cast<gid_t>(*gid)) != 0)
    ::_exit(kQlxUsage);
  if (::getuid() == 0) ::_exit(kQlxRoot);
  sig_default(SIGPIPE);
  sig_default(SIGCHLD);
  ::execv(args[0], args);
  ::_exit(error_temp(errno) ? kQlxExecSoft : kQlxExecHard);
}

int qmail_lspawn_main(int, char** argv) {
  aliasempty = argv[1];
  if (!aliasempty) ::_exit(100);
  const char* missing = nullptr;
  if (qmail::load_ids(ids, &missing) != 0) ::_exit(111);
  spawn::run({spawn, report}, ids.qmailq);
}

}  // namespace

extern const AppletInfo applet_qmail_lspawn = {
    "schedule local deliveries for qmail-send", "qmail-lspawn defaultdelivery",
    qmail_lspawn_main};
