// softlimit: runs a child with soft resource limits lowered (or raised up
// to the hard limits). "=" sets a soft limit to its hard limit; a larger
// number than the hard limit is taken as the hard limit.
#include <cstring>
#include <sys/resource.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/getopt.hpp"
#include "base/num.hpp"
#include "proc/exec.hpp"

using namespace qbox;

static constexpr char kUsage[] =
    "softlimit [-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] "
    "[-m membytes] [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] "
    "[-t cpusecs] child";
static constexpr char kFatal[] = "softlimit: fatal: ";

[[noreturn]] static void usage() { die(kExitPerm, "softlimit: usage: ", kUsage); }

static void set_soft(int resource, const char* arg) {
  struct rlimit r;
  if (::getrlimit(resource, &r) != 0) die_sys(kExitTemp, kFatal, "getrlimit failed: ");
  if (std::strcmp(arg, "=") == 0) {
    r.rlim_cur = r.rlim_max;
  } else {
    // Leading digits, as the classic scan_ulong reads them: no sign, an
    // empty number is 0, and a number too large wraps around.
    unsigned long u = 0;
    std::string_view a(arg);
    if (scan_ulong(a, u) != a.size()) usage();
    r.rlim_cur = u;
    if (r.rlim_cur > r.rlim_max) r.rlim_cur = r.rlim_max;
  }
  if (::setrlimit(resource, &r) != 0) die_sys(kExitTemp, kFatal, "setrlimit failed: ");
}

static int softlimit_main(int argc, char** argv) {
  GetOpt opt(argc, argv, "a:c:d:f:l:m:o:p:r:s:t:");
  for (int c; (c = opt.next()) != -1;) {
    const char* a = opt.arg();
    switch (c) {
      case 'a': set_soft(RLIMIT_AS, a); break;
      case 'c': set_soft(RLIMIT_CORE, a); break;
      case 'd': set_soft(RLIMIT_DATA, a); break;
      case 'f': set_soft(RLIMIT_FSIZE, a); break;
      case 'l': set_soft(RLIMIT_MEMLOCK, a); break;
      case 'm':
        set_soft(RLIMIT_DATA, a);
        set_soft(RLIMIT_STACK, a);
        set_soft(RLIMIT_MEMLOCK, a);
        set_soft(RLIMIT_AS, a);
        break;
      case 'o': set_soft(RLIMIT_NOFILE, a); break;
      case 'p': set_soft(RLIMIT_NPROC, a); break;
      case 'r': set_soft(RLIMIT_RSS, a); break;
      case 's': set_soft(RLIMIT_STACK, a); break;
      case 't': set_soft(RLIMIT_CPU, a); break;
      default: usage();
    }
  }
  char** child = opt.rest();
  if (!*child) usage();
  pathexec(child);
  die_sys(kExitTemp, kFatal, "unable to run ", child[0], ": ");
}

extern const AppletInfo applet_softlimit = {"run a program with soft resource limits changed",
                                            kUsage, softlimit_main};
