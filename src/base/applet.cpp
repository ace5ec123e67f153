#include "base/applet.hpp"

#include <unistd.h>

#include "base/env.hpp"

namespace qbox {

bool running_setuid() { return ::getuid() != ::geteuid() || ::getgid() != ::getegid(); }

const char* qmail_home() {
  if (!running_setuid()) {
    const char* h = env::get("QMAILHOME");
    if (h && *h) return h;
  }
  return "/var/qmail";
}

}  // namespace qbox
