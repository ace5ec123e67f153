// setuidgid: runs a child under an account's uid and gid, with that gid as
// the only supplementary group.
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "proc/exec.hpp"

using namespace qbox;

static constexpr char kUsage[] = "setuidgid account child";
static constexpr char kFatal[] = "setuidgid: fatal: ";

static int setuidgid_main(int argc, char** argv) {
  if (argc < 3) die(kExitPerm, "setuidgid: usage: ", kUsage);
  const char* account = argv[1];
  struct passwd* pw = ::getpwnam(account);
  if (!pw) die(kExitTemp, kFatal, "unknown account ", account);

  gid_t gid = pw->pw_gid;
  if (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0)
    die_sys(kExitTemp, kFatal, "unable to setgid: ");
  if (::setuid(pw->pw_uid) != 0) die_sys(kExitTemp, kFatal, "unable to setuid: ");

  pathexec(argv + 2);
  die_sys(kExitTemp, kFatal, "unable to run ", argv[2], ": ");
}

extern const AppletInfo applet_setuidgid = {"run a program under an account's uid, gid and only that group",
                                            kUsage, setuidgid_main};
