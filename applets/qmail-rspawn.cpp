// qmail-rspawn: schedule remote deliveries (qmail-rspawn(8)).
//
// Speaks spawn's protocol with qmail-send on descriptors 0 and 1 (see
// spawn/spawn.hpp) and runs QMAILHOME/bin/qmail-remote host sender recipient
// for each request, with the message on descriptor 0. qmail-remote answers
// with one record per recipient (r accepted, h refused, s deferred; text;
// NUL) and a final one (K, Z or D; text; NUL), which become one report.
// qmail runs "qmail-remote" from $PATH; qbox runs the one of the
// installation, so a test or a site can put any program there.
#include <cerrno>
#include <csignal>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "proc/child.hpp"
#include "qmail/ids.hpp"
#include "spawn/spawn.hpp"

using namespace qbox;

namespace {

Str remote;  // QMAILHOME/bin/qmail-remote

void report(Str& out, int wstat, std::string_view s) {
  if (wait_crashed(wstat)) { out.append("Zqmail-remote crashed.\n"); return; }
  switch (wait_exitcode(wstat)) {
    case 0: break;
    case 111: out.append("ZUnable to run qmail-remote.\n"); return;
    default: out.append("DUnable to run qmail-remote.\n"); return;
  }
  if (s.empty()) { out.append("Zqmail-remote produced no output.\n"); return; }
  int result = -1;
  std::size_t j = 0;
  for (std::size_t k = 0; k < s.size(); ++k)
    if (!s[k]) {
      if (s[j] == 'K') { result = 1; break; }
      if (s[j] == 'Z') { result = 0; break; }
      if (s[j] == 'D') break;
      j = k + 1;
    }
  int orr = result;
  if (s[0] == 's') orr = 0;
  else if (s[0] == 'h') orr = -1;
  out.push(orr == 1 ? 'K' : orr == 0 ? 'Z' : 'D');
  auto cstr = [&](std::size_t from) { return s.substr(from, s.find('\0', from) - from); };
  for (std::size_t k = 1; k < s.size();)
    if (!s[k++]) {
      out.append(cstr(1));
      if (result <= orr && k < s.size())
        if (s[k] == 'Z' || s[k] == 'D' || s[k] == 'K') out.append(cstr(k + 1));
      break;
    }
}

pid_t spawn(int fdmess, int fdout, const char* sender, char* r, std::size_t at) {
  pid_t f = ::fork();
  if (f != 0) return f;
  char* args[] = {const_cast<char*>("qmail-remote"), r + at + 1, const_cast<char*>(sender),
                  r, nullptr};
  if (fd_move(0, fdmess) != 0) ::_exit(111);
  if (fd_move(1, fdout) != 0) ::_exit(111);
  if (fd_copy(2, 1) != 0) ::_exit(111);
  sig_default(SIGPIPE);
  sig_default(SIGCHLD);
  ::execv(remote.c_str(), args);
  ::_exit(error_temp(errno) ? 111 : 100);
}

int qmail_rspawn_main(int, char**) {
  qmail::Ids ids;
  const char* missing = nullptr;
  if (qmail::load_ids(ids, &missing) != 0) ::_exit(111);
  remote = qmail_home();
  remote.append("/bin/qmail-remote");
  spawn::run({spawn, report}, ids.qmailq);
}

}  // namespace

extern const AppletInfo applet_qmail_rspawn = {
    "schedule remote deliveries for qmail-send", "qmail-rspawn", qmail_rspawn_main};
