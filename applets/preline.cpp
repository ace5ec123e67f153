// preline: feed a program the message with qmail-local's UFLINE, RPLINE
// and DTLINE in front (preline(1)), for programs that expect an mbox-style
// "From " line or want the envelope in the header. -f, -r, -d leave out
// the From line, the Return-Path line, the Delivered-To line (-F, -R, -D
// put them back). The exit code is the program's.
#include <cerrno>
#include <csignal>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/env.hpp"
#include "base/fd.hpp"
#include "base/getopt.hpp"
#include "io/buffer.hpp"
#include "proc/child.hpp"
#include "proc/exec.hpp"

using namespace qbox;

static constexpr char kUsage[] = "preline cmd [ arg ... ]";
static constexpr char kFatal[] = "preline: fatal: ";

static int preline_main(int argc, char** argv) {
  sig_ignore(SIGPIPE);
  const char* ufline = env::get("UFLINE");
  const char* rpline = env::get("RPLINE");
  const char* dtline = env::get("DTLINE");
  if (!ufline || !rpline || !dtline) die_usage(kUsage);
  bool uf = true, rp = true, dt = true;
  GetOpt opt(argc, argv, "frdFRD");
  for (int c; (c = opt.next()) != -1;) {
    switch (c) {
      case 'f': uf = false; break;
      case 'r': rp = false; break;
      case 'd': dt = false; break;
      case 'F': uf = true; break;
      case 'R': rp = true; break;
      case 'D': dt = true; break;
      default: die_usage(kUsage);
    }
  }
  char** rest = opt.rest();
  if (!*rest) die_usage(kUsage);

  int pi[2];
  if (::pipe(pi) != 0) die_sys(kExitTemp, kFatal, "unable to create pipe: ");
  pid_t pid = ::fork();
  if (pid < 0) die_sys(kExitTemp, kFatal, "unable to fork: ");
  if (pid == 0) {
    ::close(pi[1]);
    if (fd_move(0, pi[0]) != 0) die_sys(kExitTemp, kFatal, "unable to set up fds: ");
    sig_default(SIGPIPE);
    pathexec(rest);
    die_sys(error_temp(errno) ? kExitTemp : kExitPerm, kFatal, "unable to run ", *rest, ": ");
  }
  ::close(pi[0]);
  if (fd_move(1, pi[1]) != 0) die_sys(kExitTemp, kFatal, "unable to set up fds: ");

  char ibuf[8192], obuf[8192];
  Writer out(1, obuf);
  // As preline: a program that stops reading early (broken pipe) makes
  // this a temporary failure, whatever its exit code.
  if (uf) out.put(ufline);
  if (rp) out.put(rpline);
  if (dt) out.put(dtline);
  for (;;) {
    ssize_t r = ::read(0, ibuf, sizeof ibuf);
    if (r < 0) {
      if (errno == EINTR) continue;
      die_sys(kExitTemp, kFatal, "unable to copy input: ");
    }
    if (r == 0) break;
    if (out.put(std::string_view(ibuf, static_cast<std::size_t>(r))) < 0)
      die_sys(kExitTemp, kFatal, "unable to copy input: ");
  }
  out.flush();  // as preline: what is left over may find no reader
  ::close(1);

  int status = 0;
  if (wait_pid(pid, &status) < 0) die_sys(kExitTemp, kFatal, "wait failed: ");
  if (wait_crashed(status)) die(kExitTemp, kFatal, "child crashed");
  return wait_exitcode(status);
}

extern const AppletInfo applet_preline = {"prepend the qmail-local envelope lines to a message",
                                          kUsage, preline_main};
