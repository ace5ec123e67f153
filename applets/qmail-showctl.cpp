// qmail-showctl: describe the qmail installation (qmail-showctl(8)): its
// compiled-in settings, then what each control file in QMAILHOME/control
// says, with the defaults of the missing ones, then the files it does not
// know. Unprintable bytes are shown as '?'.
//
// Differences from qmail's: the ids are those of the mode qbox runs in (see
// qmail/ids.hpp), the split is read from control/conf-split as the queue
// programs read it, the paternalism is qmail-local's (022: group- and
// other-writable), and the unknown files are listed in sorted order.
#include <algorithm>
#include <cerrno>
#include <climits>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/num.hpp"
#include "dotqmail/dotqmail.hpp"
#include "io/buffer.hpp"
#include "qmail/control.hpp"
#include "qmail/ids.hpp"
#include "queue/layout.hpp"

using namespace qbox;

namespace {

constexpr unsigned kSpawn = 120;  // qmail's conf-spawn

Writer* g_out;  // stdout, buffered on main's stack

void put(std::string_view s) { g_out->put(s); }
void put_num(unsigned long long n) { g_out->put_num(n); }

void safeput(std::string_view s) {
  for (char c : s) g_out->put(c < 32 || c > 126 ? '?' : c);
}

[[noreturn]] void oops(std::string_view a, std::string_view b = "", std::string_view c = "") {
  put("Oops! ");
  put(a);
  put(b);
  put(c);
  g_out->flush();
  ::_exit(kExitTemp);
}

struct Show {
  qmail::Control control;
  Str me;
  bool meok = false;

  void head(const char* fn) {
    put("\n");
    put(fn);
    put(": ");
  }

  void do_int(const char* fn, const char* def, const char* pre, const char* post) {
    head(fn);
    unsigned long v = 0;
    switch (qmail::Control::readint(v, fn, ULONG_MAX)) {
      case 0:
        put("(Default.) ");
        put(pre);
        put(def);
        break;
      case 1:
        put(pre);
        put_num(v);
        break;
      default:
        put("Oops! Trouble reading this file.\n");
        return;
    }
    put(post);
    put(".\n");
  }

  void do_str(const char* fn, bool flagme, const char* def, const char* pre) {
    head(fn);
    Str line;
    switch (qmail::Control::readline(line, fn)) {
      case 0:
        put("(Default.) ");
        line = std::string_view(def);
        if (flagme && meok) line = me.view();
        [[fallthrough]];
      case 1:
        put(pre);
        safeput(line.view());
        put(".\n");
        break;
      default:
        put("Oops! Trouble reading this file.\n");
        break;
    }
  }

  int do_lst(const char* fn, const char* def, const char* pre, const char* post) {
    head(fn);
    Str lines;
    switch (control.readfile(lines, fn, false)) {
      case 0:
        put("(Default.) ");
        put(def);
        put("\n");
        return 0;
      case 1: {
        put("\n");
        std::string_view s = lines.view();
        while (!s.empty()) {
          std::size_t nul = s.find('\0');
          put(pre);
          safeput(s.substr(0, nul));
          put(post);
          put("\n");
          s.remove_prefix(nul == std::string_view::npos ? s.size() : nul + 1);
        }
        return 1;
      }
      default:
        put("Oops! Trouble reading this file.\n");
        return -1;
    }
  }
};

constexpr const char* kKnown[] = {
    "badmailfrom", "bouncefrom", "bouncehost", "concurrencylocal", "concurrencyremote",
    "conf-split", "databytes", "defaultdomain", "defaulthost", "doublebouncehost",
    "doublebounceto", "envnoathost", "helohost", "idhost", "localiphost", "locals", "me",
    "morercpthosts", "morercpthosts.cdb", "percenthack", "plusdomain", "qmqpservers",
    "queuelifetime", "rcpthosts", "smtpgreeting", "smtproutes", "timeoutconnect",
    "timeoutremote", "timeoutsmtpd", "virtualdomains"};

int qmail_showctl_main(int, char**) {
  char obuf[8192];
  Writer out(1, obuf);
  g_out = &out;
  qmail::Ids ids;
  qmail::load_ids_or_die(ids, "qmail-showctl: fatal: ");
  const char* home = qmail_home();

  put("qmail home directory: ");
  put(home);
  put(".\nuser-ext delimiter: -.\npaternalism (in decimal): ");
  put_num(dotqmail::kPatrn);
  put(".\nsilent concurrency limit: ");
  put_num(kSpawn);
  put(".\nsubdirectory split: ");
  unsigned split = queue::conf_split(home);
  if (split) put_num(split);
  else put("Oops! Trouble reading control/conf-split");
  put(".\nuser ids: ");
  const uid_t uids[] = {ids.alias, ids.qmaild, ids.qmaill, ids.owner,
                        ids.qmailp, ids.qmailq, ids.qmailr, ids.qmails};
  for (std::size_t i = 0; i < std::size(uids); ++i) {
    if (i) put(", ");
    put_num(uids[i]);
  }
  put(".\ngroup ids: ");
  put_num(ids.nofiles);
  put(", ");
  put_num(ids.qmail);
  put(".\n");

  if (::chdir(home) != 0) oops("Unable to chdir to ", home, ".\n");
  if (::chdir("control") != 0) oops("Unable to chdir to control.\n");
  DIR* dir = ::opendir(".");
  if (!dir) oops("Unable to open current directory.\n");

  Show s;
  int r = qmail::Control::readline(s.me, "me");
  if (r < 0) oops("Trouble reading control/me.");
  s.meok = r == 1;

  s.do_lst("badmailfrom", "Any MAIL FROM is allowed.", "", " not accepted in MAIL FROM.");
  s.do_str("bouncefrom", false, "MAILER-DAEMON", "Bounce user name is ");
  s.do_str("bouncehost", true, "bouncehost", "Bounce host name is ");
  s.do_int("concurrencylocal", "10", "Local concurrency is ", "");
  s.do_int("concurrencyremote", "20", "Remote concurrency is ", "");
  s.do_int("databytes", "0", "SMTP DATA limit is ", " bytes");
  s.do_str("defaultdomain", true, "defaultdomain", "Default domain name is ");
  s.do_str("defaulthost", true, "defaulthost", "Default host name is ");
  s.do_str("doublebouncehost", true, "doublebouncehost", "2B recipient host: ");
  s.do_str("doublebounceto", false, "postmaster", "2B recipient user: ");
  s.do_str("envnoathost", true, "envnoathost", "Presumed domain name is ");
  s.do_str("helohost", true, "helohost", "SMTP client HELO host name is ");
  s.do_str("idhost", true, "idhost", "Message-ID host name is ");
  s.do_str("localiphost", true, "localiphost", "Local IP address becomes ");
  s.do_lst("locals", "Messages for me are delivered locally.", "Messages for ",
           " are delivered locally.");
  s.do_str("me", false, "undefined! Uh-oh", "My name is ");
  s.do_lst("percenthack", "The percent hack is not allowed.",
           "The percent hack is allowed for user%host@", ".");
  s.do_str("plusdomain", true, "plusdomain", "Plus domain name is ");
  s.do_lst("qmqpservers", "No QMQP servers.", "QMQP server: ", ".");
  s.do_int("queuelifetime", "604800", "Message lifetime in the queue is ", " seconds");

  if (s.do_lst("rcpthosts", "SMTP clients may send messages to any recipient.",
               "SMTP clients may send messages to recipients at ", "."))
    s.do_lst("morercpthosts", "No effect.", "SMTP clients may send messages to recipients at ",
             ".");
  else
    s.do_lst("morercpthosts", "No rcpthosts; morercpthosts is irrelevant.",
             "No rcpthosts; doesn't matter that morercpthosts has ", ".");
  put("\nmorercpthosts.cdb: ");
  struct stat mrh, mrhcdb;
  bool have_mrh = ::stat("morercpthosts", &mrh) == 0;
  bool have_cdb = ::stat("morercpthosts.cdb", &mrhcdb) == 0;
  if (!have_mrh)
    put(have_cdb ? "Oops! morercpthosts.cdb exists but morercpthosts doesn't.\n"
                 : "(Default.) No effect.\n");
  else if (!have_cdb)
    put("Oops! morercpthosts exists but morercpthosts.cdb doesn't.\n");
  else if (mrh.st_mtime > mrhcdb.st_mtime)
    put("Oops! morercpthosts.cdb is older than morercpthosts.\n");
  else
    put("Modified recently enough; hopefully up to date.\n");

  s.do_str("smtpgreeting", true, "smtpgreeting", "SMTP greeting: 220 ");
  s.do_lst("smtproutes", "No artificial SMTP routes.", "SMTP route: ", "");
  s.do_int("timeoutconnect", "60", "SMTP client connection timeout is ", " seconds");
  s.do_int("timeoutremote", "1200", "SMTP client data timeout is ", " seconds");
  s.do_int("timeoutsmtpd", "1200", "SMTP server data timeout is ", " seconds");
  s.do_lst("virtualdomains", "No virtual domains.", "Virtual domain: ", "");

  std::vector<Str> unknown;
  while (struct dirent* d = ::readdir(dir)) {
    std::string_view n = d->d_name;
    if (n == "." || n == "..") continue;
    if (std::find(std::begin(kKnown), std::end(kKnown), n) != std::end(kKnown)) continue;
    unknown.emplace_back(n);
  }
  ::closedir(dir);
  std::sort(unknown.begin(), unknown.end(),
            [](const Str& a, const Str& b) { return a.view() < b.view(); });
  for (const Str& n : unknown) {
    put("\n");
    put(n.view());
    put(": I have no idea what this file does.\n");
  }
  out.flush();
  return 0;
}

}  // namespace

extern const AppletInfo applet_qmail_showctl = {"describe the qmail installation",
                                                "qmail-showctl", qmail_showctl_main};
