// mkauth: build control/auth.cdb, the password database of qmail-smtpd's
// AUTH (records: see src/smtp/authdb.hpp), from a text file.
//
//   mkauth [ -f source ] [ -o cdb ]    (default QMAILHOME/control/auth and
//                                       QMAILHOME/control/auth.cdb)
//   mkauth -p                          hash the password on standard input
//   mkauth -P                          the same, with its CRAM-MD5 secret
//
// The source has one user a line; empty lines and lines starting with '#'
// are skipped, a CR before the LF is dropped:
//   user:password                    a plain password: stored as a new
//                                    SHA-512-crypt hash ($6$, random 16-character
//                                    salt) with its CRAM-MD5 secret
//   user:$6$salt$hash                already hashed ($1$, $5$ or $6$): stored
//                                    as it is, for LOGIN and PLAIN only
//   user:$6$salt$hash:cram-md5:HEX   a hash with its CRAM-MD5 secret (what
//                                    mkauth -P prints)
// Everything after the first ':' is the password, spaces and colons
// included; one that starts like a hash ("$" letters or digits "$") is
// read as a hash. A user name has no spaces, tabs or NULs, and appears once.
//
// The cdb is written to CDB.tmp, fsynced and renamed over CDB. It keeps the
// owner, group and mode of the file it replaces; a new one is mode 0600
// (its CRAM-MD5 secrets work like passwords): give it to qmail-smtpd's user.
// Bad input: exit 100 naming the file and line; trouble writing: 111.
#include <algorithm>
#include <cerrno>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/getopt.hpp"
#include "base/num.hpp"
#include "base/str.hpp"
#include "cdb/cdb.hpp"
#include "smtp/authdb.hpp"

using namespace qbox;

#define FATAL "mkauth: fatal: "

namespace {

constexpr char kUsage[] = "mkauth [ -f source ] [ -o cdb ] | mkauth -p | mkauth -P";
constexpr std::size_t kMaxSource = 64u << 20;

struct Entry {
  std::string_view user;
  Str value;
  unsigned long line;
};

[[noreturn]] void bad_line(std::string_view file, unsigned long line, std::string_view what) {
  char num[kNumDigits];
  die(kExitPerm, FATAL, file, " line ", fmt_num(num, line), ": ", what);
}

// "$" letters or digits "$": something that means to be a crypt hash.
bool looks_hashed(std::string_view s) {
  if (s.size() < 3 || s[0] != '$') return false;
  std::size_t i = 1;
  while (i < s.size() && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))) ++i;
  return i > 1 && i < s.size() && s[i] == '$';
}

// The record value for a password field; false with `why` set.
bool make_value(std::string_view field, Str& value, const char*& why) {
  if (field.empty()) {
    why = "empty password";
    return false;
  }
  if (!looks_hashed(field)) {
    if (!smtp::crypt_sha512(field, value)) die_sys(kExitTemp, FATAL "unable to hash a password: ");
    value.push('\n');
    smtp::cram_secret(field, value);
    return true;
  }
  std::size_t colon = field.find(':');
  std::string_view hash = field.substr(0, colon);
  if (!hash.starts_with("$1$") && !hash.starts_with("$5$") && !hash.starts_with("$6$")) {
    why = "unsupported hash (only $1$, $5$ and $6$)";
    return false;
  }
  if (!smtp::is_crypt_hash(hash)) {
    why = "malformed hash";
    return false;
  }
  value.append(hash);
  if (colon != std::string_view::npos) {
    std::string_view cram = field.substr(colon + 1);
    if (!smtp::is_cram_secret(cram)) {
      why = "malformed CRAM-MD5 secret (cram-md5: and 64 lower-case hex digits)";
      return false;
    }
    value.push('\n');
    value.append(cram);
  }
  return true;
}

int hash_stdin(bool with_cram) {
  Str pw;
  if (read_all(0, pw, 1 << 16) != 0) die_sys(kExitTemp, FATAL "unable to read standard input: ");
  std::string_view v = pw.view();
  v = v.substr(0, v.find('\n'));
  if (v.ends_with('\r')) v.remove_suffix(1);
  if (v.empty()) die(kExitPerm, FATAL "empty password");
  Str out;
  if (!smtp::crypt_sha512(v, out)) die_sys(kExitTemp, FATAL "unable to hash the password: ");
  if (with_cram) {
    out.push(':');
    smtp::cram_secret(v, out);
  }
  out.push('\n');
  if (write_all(1, out.view()) != 0) die_sys(kExitTemp, FATAL "unable to write output: ");
  return 0;
}

int mkauth_main(int argc, char** argv) {
  Str source(qmail_home()), output(qmail_home());
  source.append("/control/auth");
  output.append("/control/auth.cdb");
  int hash_mode = 0;
  GetOpt opt(argc, argv, "f:o:pP");
  for (int c; (c = opt.next()) != -1;) {
    switch (c) {
      case 'f': source = opt.arg(); break;
      case 'o': output = opt.arg(); break;
      case 'p': hash_mode = 'p'; break;
      case 'P': hash_mode = 'P'; break;
      default: die_usage(kUsage);
    }
  }
  if (*opt.rest()) die_usage(kUsage);
  if (hash_mode) return hash_stdin(hash_mode == 'P');

  ::umask(077);
  Str text;
  if (read_file(source.c_str(), text, kMaxSource) != 0)
    die_sys(kExitTemp, FATAL "unable to read ", source.view(), ": ");

  std::vector<Entry> entries;
  unsigned long lineno = 0;
  std::string_view rest = text.view();
  while (!rest.empty()) {
    ++lineno;
    std::string_view line = take_line(rest);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) bad_line(source.view(), lineno, "no colon after the user name");
    std::string_view user = line.substr(0, colon);
    if (user.empty()) bad_line(source.view(), lineno, "empty user name");
    if (user.find_first_of(std::string_view(" \t\0", 3)) != std::string_view::npos)
      bad_line(source.view(), lineno, "space, tab or NUL in the user name");
    Entry e{user, Str(), lineno};
    const char* why = "";
    if (!make_value(line.substr(colon + 1), e.value, why)) bad_line(source.view(), lineno, why);
    entries.push_back(static_cast<Entry&&>(e));
  }

  std::vector<const Entry*> sorted;
  for (const Entry& e : entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](const Entry* a, const Entry* b) {
    return a->user != b->user ? a->user < b->user : a->line < b->line;
  });
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i]->user == sorted[i - 1]->user) {
      char num[kNumDigits];
      Str what("user ");
      what.append(sorted[i]->user);
      what.append(" already on line ");
      what.append(fmt_num(num, sorted[i - 1]->line));
      bad_line(source.view(), sorted[i]->line, what.view());
    }
  }

  Str tmp(output);
  tmp.append(".tmp");
  struct stat old;
  bool replacing = ::stat(output.c_str(), &old) == 0;
  CdbMaker cdb;
  if (cdb.start(output.c_str(), tmp.c_str()) != 0) die_sys(kExitTemp, FATAL "unable to create ", tmp.view(), ": ");
  if (replacing) {
    // The new file is what the old one was: its owner (when we may), its mode.
    if (::chown(tmp.c_str(), old.st_uid, old.st_gid) != 0 && errno != EPERM)
      die_sys(kExitTemp, FATAL "unable to chown ", tmp.view(), ": ");
    if (::chmod(tmp.c_str(), old.st_mode & 07777) != 0) die_sys(kExitTemp, FATAL "unable to chmod ", tmp.view(), ": ");
  }
  for (const Entry& e : entries)
    if (cdb.add(e.user, e.value.view()) != 0) die_sys(kExitTemp, FATAL "unable to write to ", tmp.view(), ": ");
  if (cdb.finish() != 0) {
    if (std::string_view(cdb.failed_step()) == "rename")
      die_sys(kExitTemp, FATAL "unable to move ", tmp.view(), " to ", output.view(), ": ");
    die_sys(kExitTemp, FATAL "unable to write to ", tmp.view(), ": ");
  }
  return 0;
}

}  // namespace

extern const AppletInfo applet_mkauth = {
    "build control/auth.cdb (SMTP AUTH users, crypt hashes and CRAM-MD5 secrets) from a text file",
    kUsage, mkauth_main};
