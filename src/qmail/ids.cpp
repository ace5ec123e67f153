#include "qmail/ids.hpp"

#include <cerrno>
#include <grp.h>
#include <unistd.h>

#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/num.hpp"
#include "base/str.hpp"

namespace qbox::qmail {

namespace {

constexpr std::size_t kMaxAccountFile = 64 << 20;

// The third colon-separated field of the line whose first field is name.
bool find_id(std::string_view text, std::string_view name, unsigned long long& id) {
  while (!text.empty()) {
    std::string_view line = take_line(text);
    if (line.size() <= name.size() || line.substr(0, name.size()) != name ||
        line[name.size()] != ':')
      continue;
    line.remove_prefix(name.size() + 1);
    std::size_t c = line.find(':');  // past the password field
    if (c == std::string_view::npos) continue;
    line.remove_prefix(c + 1);
    std::string_view field = line.substr(0, line.find(':'));
    auto v = parse_num(field, 0xfffffffeULL);  // (uid_t)-1 is never an id
    if (!v) continue;
    id = *v;
    return true;
  }
  return false;
}

}  // namespace

bool Ids::is_qmail_user(uid_t uid) const {
  for (uid_t u : {alias, qmaild, qmaill, qmailp, qmailq, qmailr, qmails})
    if (u == uid) return true;
  return false;
}

bool find_uid(std::string_view passwd, std::string_view name, uid_t& uid) {
  unsigned long long v;
  if (!find_id(passwd, name, v)) return false;
  uid = static_cast<uid_t>(v);
  return true;
}

bool find_gid(std::string_view group, std::string_view name, gid_t& gid) {
  unsigned long long v;
  if (!find_id(group, name, v)) return false;
  gid = static_cast<gid_t>(v);
  return true;
}

bool resolve_ids(Ids& ids, std::string_view passwd, std::string_view group, uid_t ruid,
                 uid_t euid, gid_t egid, const char** missing) {
  Ids sys;
  sys.system = true;
  sys.owner = 0;
  uid_t* users[] = {&sys.alias, &sys.qmaild, &sys.qmaill, &sys.qmailp,
                    &sys.qmailq, &sys.qmailr, &sys.qmails};
  const char* absent = nullptr;
  for (std::size_t i = 0; i < 7; ++i)
    if (!find_uid(passwd, kQmailUsers[i], *users[i]) && !absent) absent = kQmailUsers[i];
  if (!find_gid(group, kQmailGroups[0], sys.qmail) && !absent) absent = kQmailGroups[0];
  if (!find_gid(group, kQmailGroups[1], sys.nofiles) && !absent) absent = kQmailGroups[1];

  bool root = ruid == 0 || euid == 0;
  if (root || (!absent && (sys.is_qmail_user(ruid) || sys.is_qmail_user(euid)))) {
    if (absent) {
      *missing = absent;
      return false;
    }
    ids = sys;
    return true;
  }
  Ids one;
  one.system = false;
  one.alias = one.qmaild = one.qmaill = one.qmailp = one.qmailq = one.qmailr = one.qmails = euid;
  one.owner = euid;
  one.qmail = one.nofiles = egid;
  ids = one;
  return true;
}

int load_ids(Ids& ids, const char** missing) {
  Str passwd, group;
  if (read_file("/etc/passwd", passwd, kMaxAccountFile) < 0 && errno != ENOENT) {
    *missing = "/etc/passwd";
    return -1;
  }
  if (read_file("/etc/group", group, kMaxAccountFile) < 0 && errno != ENOENT) {
    *missing = "/etc/group";
    return -1;
  }
  if (!resolve_ids(ids, passwd.view(), group.view(), ::getuid(), ::geteuid(), ::getegid(),
                   missing)) {
    errno = 0;
    return -1;
  }
  return 0;
}

void load_ids_or_die(Ids& ids, std::string_view fatal) {
  const char* what = nullptr;
  if (load_ids(ids, &what) == 0) return;
  if (errno) die_sys(kExitTemp, fatal, "unable to read ", what, ": ");
  die(kExitTemp, fatal, "unknown account ", what);
}

int become(const Ids& ids, uid_t uid, gid_t gid) {
  if (!ids.system) return 0;
  if (::geteuid() != 0 && ::geteuid() == uid && ::getuid() == uid && ::getegid() == gid &&
      ::getgid() == gid)
    return 0;  // already there (a non-root process may not call setgroups)
  if (::setgroups(1, &gid) != 0) return -1;
  if (::setgid(gid) != 0) return -1;
  if (::setuid(uid) != 0) return -1;
  return 0;
}

}  // namespace qbox::qmail
