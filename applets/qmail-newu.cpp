// qmail-newu: compile QMAILHOME/users/assign into users/cdb (qmail-newu(8)),
// through users/cdb.tmp, so qmail-lspawn sees the old database or the new
// one, never half of one. Every failure is temporary (111) with qmail's
// words, and leaves the old users/cdb in place.
#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "cdb/cdb.hpp"
#include "io/buffer.hpp"
#include "users/assign.hpp"

using namespace qbox;

namespace {

[[noreturn]] void fatal(const char* what) { die(kExitTemp, "qmail-newu: fatal: ", what); }

int qmail_newu_main(int, char**) {
  ::umask(033);
  if (::chdir(qmail_home()) != 0) fatal("unable to chdir");
  Fd fd(open_read("users/assign"));
  if (!fd) fatal("unable to open users/assign");

  CdbMaker cdb;
  if (cdb.start("users/cdb", "users/cdb.tmp") != 0) {
    if (std::string_view(cdb.failed_step()) == "create") fatal("unable to open users/cdb.tmp");
    fatal("unable to write users/cdb.tmp");
  }

  char buf[4096];
  Reader in(fd.get(), buf);
  users::AssignParser parser;
  Str line, key, data;
  for (;;) {
    line.clear();
    if (in.getline(line, '\n', users::kMaxLine) < 0) {
      if (errno == E2BIG) fatal("bad format in users/assign");
      fatal("unable to read users/assign");
    }
    users::AssignParser::Result r = parser.line(line.view(), key, data);
    if (r == users::AssignParser::Result::kEnd) break;
    if (r == users::AssignParser::Result::kFormat) fatal("bad format in users/assign");
    if (cdb.add(key.view(), data.view()) != 0) fatal("unable to write users/cdb.tmp");
  }
  if (cdb.add("", parser.wildchars()) != 0) fatal("unable to write users/cdb.tmp");
  if (cdb.finish() != 0) {
    if (std::string_view(cdb.failed_step()) == "rename")
      fatal("unable to move users/cdb.tmp to users/cdb");
    fatal("unable to write users/cdb.tmp");
  }
  return 0;
}

}  // namespace

extern const AppletInfo applet_qmail_newu = {"compile users/assign into users/cdb", "qmail-newu",
                                             qmail_newu_main};
