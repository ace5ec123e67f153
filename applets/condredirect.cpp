// condredirect: redirect a message to another address if a program says so
// (condredirect(1)). The program gets the message on descriptor 0; when it
// exits 0 the message is queued for NEWADDRESS from $SENDER, with $DTLINE
// in front, and condredirect exits 99 ("condredirect: qp N" on stderr) so
// that qmail-local skips the rest of the .qmail file. When the program
// exits 111 the delivery is deferred; any other code lets the message go on
// (exit 0).
#include <csignal>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/env.hpp"
#include "base/num.hpp"
#include "proc/child.hpp"
#include "proc/run.hpp"
#include "queue/resend.hpp"

using namespace qbox;

static constexpr char kFatal[] = "condredirect: fatal: ";

static int condredirect_main(int, char** argv) {
  if (!argv[1] || !argv[2])
    die(kExitPerm, "condredirect: usage: condredirect newaddress program [ arg ... ]");
  switch (run_filter_program(kFatal, argv + 2)) {
    case 0: break;
    case 111: die(kExitTemp, kFatal, "temporary child error");
    default: return 0;
  }
  if (::lseek(0, 0, SEEK_SET) != 0) die_sys(kExitTemp, kFatal, "unable to rewind: ");
  sig_ignore(SIGPIPE);
  const char* sender = env::get("SENDER");
  if (!sender) die(kExitPerm, kFatal, "SENDER not set");
  const char* dtline = env::get("DTLINE");
  if (!dtline) die(kExitPerm, kFatal, "DTLINE not set");
  char* recips[] = {argv[1], nullptr};
  long qp = queue::resend(kFatal, dtline, sender, recips);
  char n[kNumDigits];
  die(99, "condredirect: qp ", fmt_num(n, static_cast<unsigned long long>(qp)));
}

extern const AppletInfo applet_condredirect = {
    "redirect a message to another address if a program says so",
    "condredirect newaddress program [ arg ... ]", condredirect_main};
