// What an applet file provides: its one-line summary, its usage text (as
// printed after "NAME: usage: ") and its main. The table in
// applets/table.cpp adds the name and whether it may run setuid.
#pragma once

namespace qbox {

struct AppletInfo {
  const char* summary;
  const char* usage;
  int (*main)(int argc, char** argv);
};

// True when the effective ids differ from the real ones: then only
// setuid-safe applets run and environment overrides of paths are ignored.
bool running_setuid();

// The root of the qmail installation: $QMAILHOME, else /var/qmail
// ($QMAILHOME is ignored when running setuid).
const char* qmail_home();

}  // namespace qbox
