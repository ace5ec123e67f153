// qmail-getpw: find the user that controls a local address (qmail-getpw(8)),
// for qmail-lspawn when users/cdb has no assignment for it.
//
//   qmail-getpw local
//
// The longest prefix of `local` that ends before a '-' (or at the end) and
// names an account (lower-cased, at most 31 bytes) wins, if that account is
// not root and owns its home directory; the rest after the '-' is the
// extension. Otherwise the address belongs to the user `alias`, with all of
// `local` as the extension. Prints user, uid, gid, home, dash and extension,
// each followed by a NUL. Exit codes are qmail-lspawn's: 115 when a home
// directory cannot be checked now, 116 when there is no alias user, 118 for
// a temporary failure of the account lookup.
//
// In single-uid mode (see qmail/ids.hpp) only the account of the user
// running it can own addresses, and `alias` is that user with the home
// directory QMAILHOME/alias: nobody else's mailbox could be written.
#include <cerrno>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/num.hpp"
#include "qmail/ids.hpp"

using namespace qbox;

namespace {

constexpr std::size_t kUserLen = 32;  // qmail's GETPW_USERLEN, NUL included
constexpr int kQlxNfs = 115, kQlxNoAlias = 116, kQlxSys = 118;

struct Found {
  Str user, home;
  unsigned long long uid = 0, gid = 0;
  std::string_view dash, ext;
};

bool userext(std::string_view local, const qmail::Ids& ids, Found& f) {
  for (std::size_t n = local.size() + 1; n-- > 0;) {
    if (n < local.size() && local[n] != '-') continue;
    if (n >= kUserLen) continue;
    Str name(local.substr(0, n));
    for (std::size_t i = 0; i < name.size(); ++i)
      if (name[i] >= 'A' && name[i] <= 'Z') name[i] = static_cast<char>(name[i] - 'A' + 'a');
    errno = 0;
    struct passwd* pw = ::getpwnam(name.c_str());
    if (errno == ETXTBSY) ::_exit(kQlxSys);
    if (!pw || pw->pw_uid == 0) continue;
    if (!ids.system && pw->pw_uid != ids.alias) continue;
    struct stat st;
    if (::stat(pw->pw_dir, &st) != 0) {
      if (error_temp(errno)) ::_exit(kQlxNfs);
      continue;
    }
    if (st.st_uid != pw->pw_uid) continue;
    f.user = std::string_view(pw->pw_name);
    f.uid = pw->pw_uid;
    f.gid = pw->pw_gid;
    f.home = std::string_view(pw->pw_dir);
    f.dash = n < local.size() ? "-" : "";
    f.ext = n < local.size() ? local.substr(n + 1) : local.substr(n);
    return true;
  }
  return false;
}

int qmail_getpw_main(int, char** argv) {
  if (!argv[1]) ::_exit(kExitPerm);
  std::string_view local = argv[1];
  qmail::Ids ids;
  qmail::load_ids_or_die(ids, "qmail-getpw: fatal: ");

  Found f;
  if (!userext(local, ids, f)) {
    f.dash = "-";
    f.ext = local;
    if (ids.system) {
      struct passwd* pw = ::getpwnam("alias");
      if (!pw) ::_exit(kQlxNoAlias);
      f.user = std::string_view(pw->pw_name);
      f.uid = pw->pw_uid;
      f.gid = pw->pw_gid;
      f.home = std::string_view(pw->pw_dir);
    } else {
      f.user = "alias";
      f.uid = ids.alias;
      f.gid = ids.qmail;
      f.home = std::string_view(qmail_home());
      f.home.append("/alias");
    }
  }
  char uid[kNumDigits], gid[kNumDigits];
  Str out;
  for (std::string_view field : {f.user.view(), fmt_num(uid, f.uid), fmt_num(gid, f.gid),
                                 f.home.view(), f.dash, f.ext}) {
    out.append(field);
    out.push('\0');
  }
  (void)write_all(1, out.view());
  return 0;
}

}  // namespace

extern const AppletInfo applet_qmail_getpw = {"find the user that controls a local address",
                                              "qmail-getpw local", qmail_getpw_main};
