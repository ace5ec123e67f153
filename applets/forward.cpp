// forward: forward the message on descriptor 0 to the addresses given
// (forward(1)), from $NEWSENDER, with $DTLINE in front: a .qmail line
// "|forward a@b c@d" does what "&a@b" and "&c@d" do. Says "forward: qp N"
// on stderr when the message is queued.
#include <csignal>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/env.hpp"
#include "base/num.hpp"
#include "proc/child.hpp"
#include "queue/resend.hpp"

using namespace qbox;

static constexpr char kFatal[] = "forward: fatal: ";

static int forward_main(int, char** argv) {
  sig_ignore(SIGPIPE);
  const char* sender = env::get("NEWSENDER");
  if (!sender) die(kExitPerm, kFatal, "NEWSENDER not set");
  const char* dtline = env::get("DTLINE");
  if (!dtline) die(kExitPerm, kFatal, "DTLINE not set");
  long qp = queue::resend(kFatal, dtline, sender, argv + 1);
  char n[kNumDigits];
  die(0, "forward: qp ", fmt_num(n, static_cast<unsigned long long>(qp)));
}

extern const AppletInfo applet_forward = {"forward a message to other addresses",
                                          "forward address ...", forward_main};
