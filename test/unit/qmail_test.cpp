#include <doctest/doctest.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fd.hpp"
#include "base/str.hpp"
#include "qmail/control.hpp"
#include "qmail/ids.hpp"
#include "time/date822.hpp"
#include "test/unit/tempdir.hpp"

using namespace qbox;
using namespace qbox::qmail;

namespace {

// A temporary directory with a control/ inside.
struct TempControl : test::TempDir {
  TempControl() { mkdir("control"); }
  Str path(std::string_view rel) const { return file(rel); }
};

}  // namespace

TEST_CASE("control: strip_trailing_space and control_lines") {
  Str s("host.example \t\r\n\n");
  strip_trailing_space(s);
  CHECK(s == "host.example");
  Str all(" \t\r\n");
  strip_trailing_space(all);
  CHECK(all.empty());

  Str out;
  control_lines("a.example\n\n# comment\n  \nb.example  \r\n#x\nc.example", out);
  CHECK(out.view() == std::string_view("a.example\0b.example\0c.example\0", 30));
  out.clear();
  control_lines("", out);
  CHECK(out.empty());
  // Leading space is kept, as qmail keeps it; only '#' first is a comment.
  out.clear();
  control_lines(" x\n #y\n", out);
  CHECK(out.view() == std::string_view(" x\0 #y\0", 7));
}

TEST_CASE("control: readline, rldef, readint, readfile with me fallbacks") {
  TempControl t;
  Control c;
  Str missing_me = t.path("control/me");
  CHECK(c.init(missing_me.c_str()) == 0);
  CHECK_FALSE(c.me_ok());

  Str out("untouched");
  Str none = t.path("control/none");
  CHECK(Control::readline(out, none.c_str()) == 0);
  CHECK(out == "untouched");
  CHECK(c.rldef(out, none.c_str(), true, "deflt") == 1);
  CHECK(out == "deflt");
  out = std::string_view("x");
  CHECK(c.rldef(out, none.c_str(), true, nullptr) == 0);
  CHECK(c.readfile(out, none.c_str(), true) == 0);
  CHECK(out.empty());

  Str me = t.write("control/me", "mail.example.org  \r\nsecond line\n");
  CHECK(c.init(me.c_str()) == 1);
  CHECK(c.me() == "mail.example.org");
  CHECK(c.rldef(out, none.c_str(), true, "deflt") == 1);
  CHECK(out == "mail.example.org");
  CHECK(c.rldef(out, none.c_str(), false, "deflt") == 1);
  CHECK(out == "deflt");
  CHECK(c.readfile(out, none.c_str(), true) == 1);
  CHECK(out.view() == std::string_view("mail.example.org\0", 17));

  // A present file wins even when empty; readline takes comments literally.
  Str empty = t.write("control/empty", "");
  CHECK(c.rldef(out, empty.c_str(), true, "deflt") == 1);
  CHECK(out.empty());
  Str hash = t.write("control/hash", "# not a comment here\n");
  CHECK(Control::readline(out, hash.c_str()) == 1);
  CHECK(out == "# not a comment here");
  Str nonl = t.write("control/nonl", "no newline\t");
  CHECK(Control::readline(out, nonl.c_str()) == 1);
  CHECK(out == "no newline");

  Str locals = t.write("control/locals", "localhost\n# c\n\nexample.org \n");
  CHECK(c.readfile(out, locals.c_str(), true) == 1);
  CHECK(out.view() == std::string_view("localhost\0example.org\0", 22));
  Str emptylocals = t.write("control/emptylocals", "\n#only comments\n");
  CHECK(c.readfile(out, emptylocals.c_str(), true) == 1);
  CHECK(out.empty());

  unsigned long v = 7;
  CHECK(Control::readint(v, none.c_str()) == 0);
  CHECK(v == 7);
  Str n1 = t.write("control/n1", "604800\n");
  CHECK(Control::readint(v, n1.c_str()) == 1);
  CHECK(v == 604800);
  Str n2 = t.write("control/n2", "20 # twenty\n");
  CHECK(Control::readint(v, n2.c_str()) == 1);
  CHECK(v == 20);
  Str n3 = t.write("control/n3", "abc\n");
  v = 7;
  CHECK(Control::readint(v, n3.c_str()) == 0);
  CHECK(v == 7);
  Str n4 = t.write("control/n4", "99999999999999999999999\n");
  errno = 0;
  CHECK(Control::readint(v, n4.c_str()) == -1);
  CHECK(errno == ERANGE);
  CHECK(v == 7);
  Str n5 = t.write("control/n5", "2147483648\n");
  CHECK(Control::readint(v, n5.c_str()) == -1);
  CHECK(Control::readint(v, n5.c_str(), ULONG_MAX) == 1);
  CHECK(v == 2147483648UL);

  // A directory where a file should be is an error, not a default.
  Str dir = t.path("control");
  CHECK(Control::readline(out, dir.c_str()) == -1);
  CHECK(c.readfile(out, dir.c_str(), false) == -1);
}

TEST_CASE("control: a giant first line is refused with bounded memory") {
  TempControl t;
  Str p = t.path("control/big");
  Fd fd(open_trunc(p.c_str()));
  REQUIRE(fd.ok());
  Str chunk;
  chunk.resize(1 << 20);
  for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = 'x';
  for (std::size_t i = 0; i <= kMaxControlFile / chunk.size(); ++i)
    REQUIRE(write_all(fd.get(), chunk.view()) == 0);
  Str out;
  errno = 0;
  CHECK(Control::readline(out, p.c_str()) == -1);
  CHECK(errno == E2BIG);
  Control c;
  CHECK(c.readfile(out, p.c_str(), false) == -1);
  CHECK(errno == EFBIG);
}

TEST_CASE("ids: find_uid and find_gid read passwd and group lines") {
  std::string_view passwd =
      "root:x:0:0:root:/root:/bin/bash\n"
      "qmailqx:x:5:5::/:/bin/false\n"
      "qmailq:x:64011:2107::/var/qmail:/usr/sbin/nologin\n"
      "bad:x:notanumber:1::/:\n"
      "huge:x:99999999999:1::/:\n"
      "short:x\n"
      "last:x:42:42::/:";
  uid_t u = 1;
  CHECK(find_uid(passwd, "root", u));
  CHECK(u == 0);
  CHECK(find_uid(passwd, "qmailq", u));
  CHECK(u == 64011);
  CHECK(find_uid(passwd, "last", u));
  CHECK(u == 42);
  CHECK_FALSE(find_uid(passwd, "qmail", u));
  CHECK_FALSE(find_uid(passwd, "bad", u));
  CHECK_FALSE(find_uid(passwd, "huge", u));
  CHECK_FALSE(find_uid(passwd, "short", u));
  CHECK_FALSE(find_uid(passwd, "", u));
  gid_t g = 1;
  CHECK(find_gid("nofiles:x:2108:\nqmail:*:2107:a,b\n", "qmail", g));
  CHECK(g == 2107);
}

TEST_CASE("ids: system mode for root and qmail's users, single-uid mode otherwise") {
  std::string_view passwd =
      "alias:x:7790:2108::/var/qmail/alias:/bin/true\n"
      "qmaild:x:7791:2108::/var/qmail:/bin/true\n"
      "qmaill:x:7792:2108::/var/qmail:/bin/true\n"
      "qmailp:x:7793:2108::/var/qmail:/bin/true\n"
      "qmailq:x:7794:2107::/var/qmail:/bin/true\n"
      "qmailr:x:7795:2107::/var/qmail:/bin/true\n"
      "qmails:x:7796:2107::/var/qmail:/bin/true\n"
      "joe:x:1000:1000::/home/joe:/bin/sh\n";
  std::string_view group = "qmail:x:2107:\nnofiles:x:2108:\n";
  const char* missing = nullptr;
  Ids ids;

  REQUIRE(resolve_ids(ids, passwd, group, 0, 0, 0, &missing));
  CHECK(ids.system);
  CHECK(ids.alias == 7790);
  CHECK(ids.qmaild == 7791);
  CHECK(ids.qmaill == 7792);
  CHECK(ids.qmailp == 7793);
  CHECK(ids.qmailq == 7794);
  CHECK(ids.qmailr == 7795);
  CHECK(ids.qmails == 7796);
  CHECK(ids.owner == 0);
  CHECK(ids.qmail == 2107);
  CHECK(ids.nofiles == 2108);
  CHECK(ids.is_qmail_user(7796));
  CHECK_FALSE(ids.is_qmail_user(1000));

  // qmail-queue setuid qmailq, started by joe.
  REQUIRE(resolve_ids(ids, passwd, group, 1000, 7794, 1000, &missing));
  CHECK(ids.system);
  // qmail-send as qmails.
  REQUIRE(resolve_ids(ids, passwd, group, 7796, 7796, 2107, &missing));
  CHECK(ids.system);

  // joe on his own: single-uid mode, everything is joe.
  REQUIRE(resolve_ids(ids, passwd, group, 1000, 1000, 1001, &missing));
  CHECK_FALSE(ids.system);
  for (uid_t u : {ids.alias, ids.qmaild, ids.qmaill, ids.qmailp, ids.qmailq, ids.qmailr,
                  ids.qmails, ids.owner})
    CHECK(u == 1000);
  CHECK(ids.qmail == 1001);
  CHECK(ids.nofiles == 1001);
  CHECK(become(ids, 12345, 12345) == 0);  // a no-op

  // No qmail users at all: a user is in single-uid mode, root cannot run.
  REQUIRE(resolve_ids(ids, "joe:x:1000:1000::/:\n", "", 1000, 1000, 1000, &missing));
  CHECK_FALSE(ids.system);
  CHECK_FALSE(resolve_ids(ids, "joe:x:1000:1000::/:\n", "", 0, 0, 0, &missing));
  CHECK(std::string_view(missing) == "alias");
  // One group missing.
  CHECK_FALSE(resolve_ids(ids, passwd, "qmail:x:2107:\n", 0, 0, 0, &missing));
  CHECK(std::string_view(missing) == "nofiles");
  // Partial accounts make a qmail-named user single-uid, not half system.
  REQUIRE(resolve_ids(ids, passwd, "qmail:x:2107:\n", 7794, 7794, 2107, &missing));
  CHECK_FALSE(ids.system);
}

TEST_CASE("month_name and fmt_hms") {
  CHECK(month_name(0) == "Jan");
  CHECK(month_name(8) == "Sep");
  CHECK(month_name(11) == "Dec");
  char b[kHmsLen];
  CHECK(fmt_hms(b, 0, 0, 0) == "00:00:00");
  CHECK(fmt_hms(b, 4, 46, 54) == "04:46:54");
  CHECK(fmt_hms(b, 23, 59, 60) == "23:59:60");
  CHECK(fmt_hms(b, 123, 5, 6) == "123:05:06");
}

TEST_CASE("date822: qmail's UTC dates") {
  char b[kDate822Len];
  CHECK(fmt_date822(b, 0) == "1 Jan 1970 00:00:00 -0000");
  CHECK(fmt_date822(b, 812090814) == "26 Sep 1995 04:46:54 -0000");
  CHECK(fmt_date822(b, 951782400) == "29 Feb 2000 00:00:00 -0000");
  CHECK(fmt_date822(b, 4133980799LL) == "31 Dec 2100 23:59:59 -0000");
  CHECK(fmt_date822(b, -1) == "31 Dec 1969 23:59:59 -0000");
  CivilTime c = civil_utc(812090814);
  CHECK(c.year == 1995);
  CHECK(c.mon == 8);
  CHECK(c.wday == 2);  // a Tuesday
  // Extremes do not overflow.
  CHECK(!fmt_date822(b, INT64_MAX).empty());
  CHECK(!fmt_date822(b, INT64_MIN).empty());
}
