// mailq: sendmail under the name mailq, which lists the queue (qmail-qread).
#include "base/applet.hpp"

using namespace qbox;

extern const AppletInfo applet_sendmail;

static int mailq_main(int argc, char** argv) { return applet_sendmail.main(argc, argv); }

extern const AppletInfo applet_mailq = {"list the qmail queue (sendmail -bp)", "mailq", mailq_main};
