// qmail-pw2u: build users/assign from a passwd file (qmail-pw2u(8)).
//
//   qmail-pw2u [ -/ohHuUC ] [ -c char ] < /etc/passwd > users/assign
//
// Every account with a uid other than 0 (and, unless -u, no upper case in
// its name) gets "=name" for its address and "+name-" for its extensions;
// the alias account gets "+" for everything else. QMAILHOME/users/include
// and users/exclude choose accounts, users/mailnames gives an account other
// mail names ("user:name1:name2"), users/subusers adds "sub:user:pre:"
// addresses handled by user's .qmail-pre files, and users/append is copied
// to the end, before the final ".".
//   -o  skip accounts whose home directory is missing or not theirs (default)
//   -h  stop when a home directory is missing; skip those not theirs
//   -H  do not look at home directories
//   -u  allow upper case in names; -U do not (default)
//   -c  the user-extension delimiter (default '-'); -C none
//   -/  use "-/" as the dash ("+name-" files are .qmail-/...)
#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/getopt.hpp"
#include "base/num.hpp"
#include "io/buffer.hpp"
#include "qmail/constmap.hpp"
#include "qmail/control.hpp"

using namespace qbox;

namespace {

constexpr std::size_t kMaxLine = 1u << 20;

[[noreturn]] void fatal(std::string_view a, std::string_view b = "", std::string_view c = "") {
  die(kExitTemp, "qmail-pw2u: fatal: ", a, b, c);
}
[[noreturn]] void die_write() { fatal("unable to write output"); }
[[noreturn]] void die_read() { fatal("unable to read input"); }
[[noreturn]] void die_control() { fatal("unable to read controls"); }

struct Pw2u {
  const char* dashcolon = "-:";
  char brk = '-';  // the user-ext delimiter, 0 for none
  int homestrategy = 2;
  bool noupper = true;
  bool alias_seen = false;
  bool incl = false, excl = false, mana = false;
  qmail::ConstMap mapincl, mapexcl, mapmana, mapuser;
  Str allusers;  // "user:UUGH\0" for each account written, for subusers
  char obuf[8192];
  Writer out{1, obuf};

  void put(std::string_view s) {
    if (out.put(s) < 0) die_write();
  }
  void put_break() {
    if (brk) put(std::string_view(&brk, 1));
  }

  // Splits off the field before the next ':'; false when there is none.
  static bool field(std::string_view& rest, std::string_view& f) {
    std::size_t c = rest.find(':');
    if (c == std::string_view::npos) return false;
    f = rest.substr(0, c);
    rest.remove_prefix(c + 1);
    return true;
  }

  void account(std::string_view line) {
    if (line.find('\0') != std::string_view::npos) return;
    std::string_view rest = line, user, pw, uidstr, gidstr, gecos, home;
    if (!field(rest, user) || !field(rest, pw) || !field(rest, uidstr) ||
        !field(rest, gidstr) || !field(rest, gecos) || !field(rest, home))
      return;
    unsigned long long uid = scan_num(uidstr).value;
    if (!uid) return;
    if (noupper)
      for (char c : user)
        if (c >= 'A' && c <= 'Z') return;
    if (incl && !mapincl.contains(user)) return;
    if (excl && mapexcl.contains(user)) return;
    Str homez(home);
    if (homestrategy) {
      struct stat st;
      if (::stat(homez.c_str(), &st) != 0) {
        if (errno != ENOENT || homestrategy == 1) fatal("unable to stat ", home);
        return;
      }
      if (st.st_uid != uid) return;
    }

    Str uugh(":");
    for (std::string_view f : {user, uidstr, gidstr, home}) {
      uugh.append(f);
      uugh.push(':');
    }
    allusers.append(user);
    allusers.push(':');
    allusers.append(uugh.view());
    allusers.push('\0');

    if (user == "alias") {
      put("+");
      put(uugh.view());
      put(dashcolon);
      put(":\n");
      alias_seen = true;
    }

    std::string_view names = user;
    if (mana)
      if (auto m = mapmana.find(user)) names = *m;
    while (!names.empty()) {
      std::size_t c = names.find(':');
      std::string_view name = names.substr(0, c);
      names.remove_prefix(c == std::string_view::npos ? names.size() : c + 1);
      if (name.empty()) continue;
      put("=");
      put(name);
      put(uugh.view());
      put("::\n");
      if (brk) {
        put("+");
        put(name);
        put_break();
        put(uugh.view());
        put(dashcolon);
        put(":\n");
      }
    }
  }

  void subuser(std::string_view line) {
    std::string_view rest = line, sub, user, pre;
    if (!field(rest, sub) || !field(rest, user)) return;
    auto uugh = mapuser.find(user);
    if (!uugh) fatal("unable to find ", user, " user for subuser");
    if (!field(rest, pre)) return;
    put("=");
    put(sub);
    put(*uugh);
    put(dashcolon);
    put(pre);
    put(":\n");
    if (brk) {
      put("+");
      put(sub);
      put_break();
      put(*uugh);
      put(dashcolon);
      put(pre);
      put("-:\n");
    }
  }
};

// Calls each(line) for every line of fd (without its LF), the last one
// even without LF.
template <class F>
void each_line(int fd, F&& each) {
  char buf[8192];
  Reader in(fd, buf);
  Str line;
  for (;;) {
    line.clear();
    int r = in.getline(line, '\n', kMaxLine);
    if (r < 0) die_read();
    std::string_view l = line.view();
    if (r == 1) l.remove_suffix(1);
    each(l);
    if (r == 0) return;
  }
}

int qmail_pw2u_main(int argc, char** argv) {
  Pw2u p;
  GetOpt opt(argc, argv, "/ohHuUc:C");
  for (int c; (c = opt.next()) != -1;) {
    switch (c) {
      case '/': p.dashcolon = "-/:"; break;
      case 'o': p.homestrategy = 2; break;
      case 'h': p.homestrategy = 1; break;
      case 'H': p.homestrategy = 0; break;
      case 'u': p.noupper = false; break;
      case 'U': p.noupper = true; break;
      case 'c': p.brk = opt.arg()[0]; break;
      case 'C': p.brk = 0; break;
      default: ::_exit(kExitPerm);
    }
  }
  if (::chdir(qmail_home()) != 0) fatal("unable to chdir");

  qmail::Control control;
  Str text;
  struct {
    const char* fn;
    bool* ok;
    qmail::ConstMap* map;
    bool colon;
  } files[] = {{"users/include", &p.incl, &p.mapincl, false},
               {"users/exclude", &p.excl, &p.mapexcl, false},
               {"users/mailnames", &p.mana, &p.mapmana, true}};
  for (auto& f : files) {
    int r = control.readfile(text, f.fn, false);
    if (r < 0) die_control();
    *f.ok = r == 1;
    if (*f.ok) f.map->init(text.view(), f.colon);
  }

  each_line(0, [&](std::string_view l) { p.account(l); });
  if (!p.alias_seen) fatal("unable to find alias user");

  Fd fd(open_read("users/subusers"));
  if (!fd) {
    if (errno != ENOENT) die_control();
  } else {
    p.mapuser.init(p.allusers.view(), true);
    each_line(fd.get(), [&](std::string_view l) { p.subuser(l); });
  }
  fd.reset(open_read("users/append"));
  if (!fd) {
    if (errno != ENOENT) die_control();
  } else {
    char buf[8192];
    for (;;) {
      ssize_t r = ::read(fd.get(), buf, sizeof buf);
      if (r < 0) {
        if (errno == EINTR) continue;
        die_read();
      }
      if (r == 0) break;
      p.put(std::string_view(buf, static_cast<std::size_t>(r)));
    }
  }
  p.put(".\n");
  if (p.out.flush() < 0) die_write();
  return 0;
}

}  // namespace

extern const AppletInfo applet_qmail_pw2u = {"build users/assign from a passwd file",
                                             "qmail-pw2u [ -/ohHuUC ] [ -c char ]",
                                             qmail_pw2u_main};
