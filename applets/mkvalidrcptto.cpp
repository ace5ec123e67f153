// mkvalidrcptto: list every address this qmail installation delivers, for
// the validrcptto.cdb of John Simpson's combined patch (keys: see
// src/smtp/validrcptto.hpp), as his mkvalidrcptto script does.
//
//   mkvalidrcptto [ -c cdbfile ]
//
// Without -c the keys go to standard output, one a line (for cdbmake-12 or
// an editor); with -c they are written into cdbfile (through cdbfile.tmp,
// fsynced and renamed over it).
//
// What it reads, in QMAILHOME: control/locals (or control/me), control/
// virtualdomains, control/rcpthosts and control/morercpthosts.cdb,
// users/assign, and the .qmail files in the home directories it names; the
// accounts qmail-getpw would find (in system mode every account but root's
// that owns its home directory, in single-uid mode only our own) with the
// .qmail files in their homes; and the alias user's .qmail files
// (QMAILHOME/alias in single-uid mode). From them, as qmail-send,
// qmail-lspawn and qmail-local would decide:
//   - a local domain gets every local address: each "=" line of
//     users/assign (when its .qmail file exists or it has no extension),
//     each account name, and account-EXT for each .qmail-EXT;
//   - a .qmail-EXT-default file stands for every address starting with the
//     same prefix (key PREFIX-EXT-default@domain), a .qmail-default of the
//     alias user (or of a "+" assignment with an empty prefix) for every
//     address (key @domain);
//   - a virtual domain "domain:prefix" gets the local addresses that start
//     with "prefix-", without that; a single address "user@domain:prefix"
//     is listed as it is;
//   - a domain in rcpthosts or morercpthosts that is neither local nor
//     virtual gets @domain: mail for it is relayed, not checked here.
// Not covered (a warning says so where it applies): wildcard domains
// (".domain" lines), "+" prefixes that do not end in '-' (their domain is
// accepted whole), and vpopmail's own user databases (a vpopmail domain's
// .qmail-default makes it a catch-all, @domain).
#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <pwd.h>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/getopt.hpp"
#include "cdb/cdb.hpp"
#include "dotqmail/dotqmail.hpp"
#include "io/buffer.hpp"
#include "qmail/control.hpp"
#include "qmail/ids.hpp"
#include "users/assign.hpp"

using namespace qbox;

#define FATAL "mkvalidrcptto: fatal: "
#define WARNING "mkvalidrcptto: warning: "

namespace {

constexpr char kUsage[] = "mkvalidrcptto [ -c cdbfile ]";
constexpr std::size_t kUserLen = 32;  // qmail-getpw's limit, NUL included

Str lower(std::string_view s) {
  Str out(s);
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i] >= 'A' && out[i] <= 'Z') out[i] = static_cast<char>(out[i] - 'A' + 'a');
  return out;
}

bool has_upper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// An extension as a file name has it back as an address has it: safe_ext
// turned '.' into ':'.
Str unsafe_ext(std::string_view e) {
  Str out(e);
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i] == ':') out[i] = '.';
  return out;
}

// The local parts qmail delivers: exact ones, and prefixes that stand for
// every local part starting with them ("" for all).
struct Locals {
  std::vector<Str> exact, prefixes;
};

// The extensions of the .qmail files in home: for dash "-", "foo" for
// .qmail-foo. A name with upper case can never be found (qmail-local
// folds the extension to lower case) and is left out.
std::vector<Str> dotqmail_exts(std::string_view home, std::string_view dash) {
  std::vector<Str> out;
  Str dir(home);
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    warn_sys(WARNING "unable to read ", home, ": ");
    return out;
  }
  Str start(".qmail");
  start.append(dash);
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (!name.starts_with(start.view()) || has_upper(name)) continue;
    out.emplace_back(name.substr(start.size()));
  }
  ::closedir(d);
  return out;
}

// The addresses `prefix` + R that an assignment (home, dash, pre) serves,
// given that the extension is pre + R (qmail-lspawn's "+" lines; an
// account's "user-" and the alias user's "" are the same with pre "").
void serve_prefix(Locals& l, std::string_view prefix, std::string_view home, std::string_view dash,
                  std::string_view pre) {
  Str spre;
  dotqmail::safe_ext(spre, pre);
  for (const Str& e : dotqmail_exts(home, dash)) {
    std::string_view ext = e.view();
    bool is_default = ext == "default" || ext.ends_with("-default");
    if (is_default) {
      // .qmail-B-default serves every extension starting with B.
      std::string_view base = ext.substr(0, ext.size() - 7);
      Str a(prefix);
      if (base.starts_with(spre.view())) {
        a.append(unsafe_ext(base.substr(spre.size())).view());
        l.prefixes.push_back(a);
      } else if (spre.view().starts_with(base)) {
        l.prefixes.push_back(a);
      }
    } else if (!ext.empty() && ext.starts_with(spre.view())) {
      Str a(prefix);
      a.append(unsafe_ext(ext.substr(spre.size())).view());
      if (!a.empty()) l.exact.push_back(a);
    }
  }
}

// Whether qmail-local finds a .qmail file for an exact assignment.
bool has_dotqmail(std::string_view home, std::string_view dash, std::string_view ext) {
  Str safe;
  dotqmail::safe_ext(safe, ext);
  std::vector<dotqmail::Candidate> cands;
  dotqmail::search_order(dash, safe.view(), cands);
  for (const auto& c : cands) {
    Str path(home);
    path.push('/');
    path.append(c.name.view());
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) return true;
  }
  return false;
}

void read_assign(Locals& l) {
  Str text;
  if (read_file("users/assign", text, users::kMaxLine * 64) != 0) {
    if (errno == ENOENT) return;
    die_sys(kExitTemp, FATAL "unable to read users/assign: ");
  }
  users::AssignParser parser;
  Str key, data;
  std::string_view rest = text.view();
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    std::string_view line = nl == std::string_view::npos ? rest : rest.substr(0, nl + 1);
    rest.remove_prefix(line.size());
    users::AssignParser::Result r = parser.line(line, key, data);
    if (r == users::AssignParser::Result::kEnd) break;
    if (r == users::AssignParser::Result::kFormat) die(kExitPerm, FATAL "bad format in users/assign");
    users::Assignment a;
    if (!users::parse_assignment(data.view(), a)) die(kExitPerm, FATAL "bad format in users/assign");
    std::string_view k = key.view().substr(1);  // after "!"
    if (k.ends_with('\0')) {
      k.remove_suffix(1);
      if (k.empty()) continue;
      if (a.ext.empty() || has_dotqmail(a.home.view(), a.dash.view(), a.ext.view())) l.exact.emplace_back(k);
    } else {
      // "+k": k itself when that is delivered by .qmail (no dash, no
      // extension), and what the .qmail files under pre serve.
      if (!k.empty() && a.ext.empty() && a.dash.empty()) l.exact.emplace_back(k);
      serve_prefix(l, k, a.home.view(), a.dash.view(), a.ext.view());
    }
  }
}

// The accounts qmail-getpw accepts, and the alias user.
void read_accounts(Locals& l, const qmail::Ids& ids) {
  ::setpwent();
  while (struct passwd* pw = ::getpwent()) {
    std::string_view name = pw->pw_name;
    if (pw->pw_uid == 0 || name.empty() || name.size() >= kUserLen || has_upper(name)) continue;
    if (!ids.system && pw->pw_uid != ids.alias) continue;
    struct stat st;
    if (::stat(pw->pw_dir, &st) != 0 || st.st_uid != pw->pw_uid) continue;
    l.exact.emplace_back(name);
    Str prefix(name);
    prefix.push('-');
    serve_prefix(l, prefix.view(), pw->pw_dir, "-", "");
  }
  ::endpwent();
  Str alias_home;
  if (ids.system) {
    struct passwd* pw = ::getpwnam("alias");
    if (!pw) return;
    alias_home = pw->pw_dir;
  } else {
    alias_home = qmail_home();
    alias_home.append("/alias");
  }
  struct stat st;
  if (::stat(alias_home.c_str(), &st) == 0) serve_prefix(l, "", alias_home.view(), "-", "");
}

// The keys of one domain whose local parts are those starting with
// `vprefix` ("" for a local domain), without it.
void domain_keys(const Locals& l, std::string_view vprefix, std::string_view domain,
                 std::vector<Str>& keys) {
  for (const Str& e : l.exact) {
    if (e.size() <= vprefix.size() || !e.view().starts_with(vprefix)) continue;
    Str k(e.view().substr(vprefix.size()));
    k.push('@');
    k.append(domain);
    keys.push_back(k);
  }
  Str whole("@");
  whole.append(domain);
  for (const Str& x : l.prefixes) {
    if (x.view().starts_with(vprefix)) {
      std::string_view r = x.view().substr(vprefix.size());
      if (r.empty()) {
        keys.push_back(whole);
      } else if (r.ends_with('-')) {
        Str k(r);
        k.append("default@");
        k.append(domain);
        keys.push_back(k);
      } else {
        warn(WARNING "addresses starting with ", r, " at ", domain,
             " cannot be listed; accepting every address there");
        keys.push_back(whole);
      }
    } else if (vprefix.starts_with(x.view())) {
      keys.push_back(whole);
    }
  }
}

// The lines of a control file (readfile rules), lower-cased.
std::vector<Str> control_lines(const qmail::Control& ctl, const char* fn, bool flagme) {
  Str text;
  if (ctl.readfile(text, fn, flagme) < 0) die_sys(kExitTemp, FATAL "unable to read ", fn, ": ");
  std::vector<Str> out;
  std::string_view rest = text.view();
  while (!rest.empty()) {
    std::size_t nul = rest.find('\0');
    out.push_back(lower(rest.substr(0, nul)));
    rest.remove_prefix(nul == std::string_view::npos ? rest.size() : nul + 1);
  }
  return out;
}

int mkvalidrcptto_main(int argc, char** argv) {
  const char* cdbfile = nullptr;
  GetOpt opt(argc, argv, "c:");
  for (int c; (c = opt.next()) != -1;) {
    if (c == 'c') cdbfile = opt.arg();
    else die_usage(kUsage);
  }
  if (*opt.rest()) die_usage(kUsage);

  // A relative cdbfile names a file from where we were started.
  Str out_path;
  if (cdbfile) {
    if (cdbfile[0] != '/') {
      char cwd[4096];
      if (!::getcwd(cwd, sizeof cwd)) die_sys(kExitTemp, FATAL "unable to get the current directory: ");
      out_path = cwd;
      out_path.push('/');
    }
    out_path.append(cdbfile);
  }
  if (::chdir(qmail_home()) != 0) die_sys(kExitTemp, FATAL "unable to chdir to ", qmail_home(), ": ");
  qmail::Ids ids;
  qmail::load_ids_or_die(ids, FATAL);
  qmail::Control ctl;
  if (ctl.init() < 0) die_sys(kExitTemp, FATAL "unable to read control/me: ");

  Locals l;
  read_assign(l);
  read_accounts(l, ids);

  std::vector<Str> keys, handled;
  for (const Str& d : control_lines(ctl, "control/locals", true)) {
    domain_keys(l, "", d.view(), keys);
    handled.push_back(d);
  }
  for (const Str& line : control_lines(ctl, "control/virtualdomains", false)) {
    std::size_t colon = line.view().rfind(':');
    if (colon == std::string_view::npos) continue;
    std::string_view target = line.view().substr(0, colon), prefix = line.view().substr(colon + 1);
    if (target.empty() || prefix.empty()) continue;  // "domain:" is an exception, not virtual
    if (target.find('@') != std::string_view::npos) {
      keys.emplace_back(target);
      continue;
    }
    if (target.front() == '.') {
      warn(WARNING "wildcard virtual domain ", target, " cannot be listed");
      continue;
    }
    Str vprefix(prefix);
    vprefix.push('-');
    domain_keys(l, vprefix.view(), target, keys);
    handled.emplace_back(target);
  }
  // Domains accepted only to be relayed: every address.
  std::vector<Str> relayed = control_lines(ctl, "control/rcpthosts", false);
  CdbReader more;
  if (more.open("control/morercpthosts.cdb") == 0) {
    unsigned pos = 0;
    std::string_view k, v;
    int r;
    while ((r = more.next_record(pos, k, v)) == 1) relayed.push_back(lower(k));
    if (r < 0) die(kExitTemp, FATAL "unable to read control/morercpthosts.cdb: format error");
  } else if (errno != ENOENT) {
    die_sys(kExitTemp, FATAL "unable to read control/morercpthosts.cdb: ");
  }
  for (const Str& d : relayed) {
    if (d.empty() || d[0] == '.') continue;
    if (std::find(handled.begin(), handled.end(), d) != handled.end()) continue;
    Str k("@");
    k.append(d.view());
    keys.push_back(k);
  }

  for (Str& k : keys) k = lower(k.view());
  std::sort(keys.begin(), keys.end(), [](const Str& a, const Str& b) { return a.view() < b.view(); });
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());

  if (!cdbfile) {
    char buf[8192];
    Writer w(1, buf);
    for (const Str& k : keys)
      if (w.put(k.view()) != 0 || w.put('\n') != 0) die_sys(kExitTemp, FATAL "unable to write output: ");
    if (w.flush() != 0) die_sys(kExitTemp, FATAL "unable to write output: ");
    return 0;
  }
  Str tmp(out_path);
  tmp.append(".tmp");
  CdbMaker cdb;
  if (cdb.start(out_path.c_str(), tmp.c_str()) != 0) die_sys(kExitTemp, FATAL "unable to create ", tmp.view(), ": ");
  for (const Str& k : keys)
    if (cdb.add(k.view(), "") != 0) die_sys(kExitTemp, FATAL "unable to write to ", tmp.view(), ": ");
  if (cdb.finish() != 0) {
    if (std::string_view(cdb.failed_step()) == "rename")
      die_sys(kExitTemp, FATAL "unable to move ", tmp.view(), " to ", out_path.view(), ": ");
    die_sys(kExitTemp, FATAL "unable to write to ", tmp.view(), ": ");
  }
  return 0;
}

}  // namespace

extern const AppletInfo applet_mkvalidrcptto = {
    "list the addresses qmail delivers, for validrcptto.cdb (text, or a cdb with -c)", kUsage,
    mkvalidrcptto_main};
