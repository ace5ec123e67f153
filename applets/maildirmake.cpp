// maildirmake: create a maildir (maildir(5)): NAME and NAME/tmp, NAME/new,
// NAME/cur, mode 700. An existing NAME is an error, as in qmail.
#include <sys/stat.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"

using namespace qbox;

static constexpr char kFatal[] = "maildirmake: fatal: ";

static int maildirmake_main(int, char** argv) {
  ::umask(077);
  if (!argv[1]) die(kExitPerm, "maildirmake: usage: maildirmake name");
  const char* name = argv[1];
  if (::mkdir(name, 0700) != 0) die_sys(kExitTemp, kFatal, "unable to mkdir ", name, ": ");
  if (::chdir(name) != 0) die_sys(kExitTemp, kFatal, "unable to chdir to ", name, ": ");
  for (const char* sub : {"tmp", "new", "cur"})
    if (::mkdir(sub, 0700) != 0) die_sys(kExitTemp, kFatal, "unable to mkdir ", name, "/", sub, ": ");
  return 0;
}

extern const AppletInfo applet_maildirmake = {"create a maildir", "maildirmake name",
                                              maildirmake_main};
