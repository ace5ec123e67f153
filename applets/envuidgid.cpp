// envuidgid: runs a child with $UID and $GID set to an account's uid and gid.
#include <pwd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/env.hpp"
#include "base/str.hpp"
#include "proc/exec.hpp"

using namespace qbox;

static constexpr char kUsage[] = "envuidgid account child";
static constexpr char kFatal[] = "envuidgid: fatal: ";

static int envuidgid_main(int argc, char** argv) {
  if (argc < 3) die(kExitPerm, "envuidgid: usage: ", kUsage);
  const char* account = argv[1];
  struct passwd* pw = ::getpwnam(account);
  if (!pw) die(kExitTemp, kFatal, "unknown account ", account);

  Str num;
  num.append_num(pw->pw_gid);
  env::set("GID", num.c_str());
  num.clear();
  num.append_num(pw->pw_uid);
  env::set("UID", num.c_str());

  pathexec(argv + 2);
  die_sys(kExitTemp, kFatal, "unable to run ", argv[2], ": ");
}

extern const AppletInfo applet_envuidgid = {"run a program with $UID and $GID of an account",
                                            kUsage, envuidgid_main};
