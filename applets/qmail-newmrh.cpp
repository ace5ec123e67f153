// qmail-newmrh: compile QMAILHOME/control/morercpthosts into
// control/morercpthosts.cdb for qmail-smtpd (qmail-newmrh(8)): every line
// lower-cased, trailing spaces, tabs and LF removed, empty lines and lines
// starting with '#' left out; the keys have empty values. Written through
// control/morercpthosts.tmp, fsynced and renamed, so qmail-smtpd sees the
// old file or the new one. Every failure is temporary (111) with qmail's
// words and leaves the old .cdb in place.
#include <cerrno>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "cdb/cdb.hpp"
#include "io/buffer.hpp"

using namespace qbox;

#define FATAL "qmail-newmrh: fatal: "

namespace {

[[noreturn]] void die_read() { die_sys(kExitTemp, FATAL "unable to read control/morercpthosts: "); }
[[noreturn]] void die_write() { die_sys(kExitTemp, FATAL "unable to write to control/morercpthosts.tmp: "); }

int qmail_newmrh_main(int, char**) {
  ::umask(033);
  if (::chdir(qmail_home()) != 0) die_sys(kExitTemp, FATAL "unable to chdir to ", qmail_home(), ": ");
  Fd fd(open_read("control/morercpthosts"));
  if (!fd) die_read();

  CdbMaker cdb;
  if (cdb.start("control/morercpthosts.cdb", "control/morercpthosts.tmp") != 0) die_write();

  char buf[1024];
  Reader in(fd.get(), buf);
  Str line;
  for (;;) {
    line.clear();
    int r = in.getline(line);
    if (r < 0) die_read();
    for (std::size_t i = 0; i < line.size(); ++i)
      if (line[i] >= 'A' && line[i] <= 'Z') line[i] = static_cast<char>(line[i] - 'A' + 'a');
    std::string_view v = line.view();
    while (!v.empty() && (v.back() == ' ' || v.back() == '\n' || v.back() == '\t')) v.remove_suffix(1);
    if (!v.empty() && v.front() != '#' && cdb.add(v, "") != 0) die_write();
    if (r == 0) break;
  }
  if (cdb.finish() != 0) {
    // qmail's message here has no ": " before the error text.
    if (std::string_view(cdb.failed_step()) == "rename")
      die_sys(kExitTemp, FATAL "unable to move control/morercpthosts.tmp to control/morercpthosts.cdb");
    die_write();
  }
  return 0;
}

}  // namespace

extern const AppletInfo applet_qmail_newmrh = {
    "compile control/morercpthosts into control/morercpthosts.cdb", "qmail-newmrh",
    qmail_newmrh_main};
