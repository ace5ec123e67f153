// Who is who in a qmail installation, in both runtime modes:
//   - system mode (started as root, or as one of qmail's users, e.g.
//     qmail-queue setuid qmailq or qmail-send as qmails): qmail's users
//     alias qmaild qmaill qmailp qmailq qmailr qmails and groups qmail and
//     nofiles, looked up by name in /etc/passwd and /etc/group, and privilege
//     separation exactly as qmail has it;
//   - single-uid mode (started as any other user, e.g. in a container or for
//     the demo): every one of those ids is the current user and group, so
//     every uid switch is a no-op and every file belongs to that user.
#pragma once
#include <string_view>
#include <sys/types.h>

namespace qbox::qmail {

struct Ids {
  bool system = false;  // false: single-uid mode
  uid_t alias = 0, qmaild = 0, qmaill = 0, qmailp = 0, qmailq = 0, qmailr = 0, qmails = 0;
  uid_t owner = 0;  // owner of the installation (qmail's auto_uido): root, or the user
  gid_t qmail = 0, nofiles = 0;

  // True when uid is one of qmail's seven users.
  bool is_qmail_user(uid_t uid) const;
};

// qmail's users in the order of the classic documentation, and its groups.
inline constexpr const char* kQmailUsers[] = {"alias",  "qmaild", "qmaill", "qmailp",
                                              "qmailq", "qmailr", "qmails"};
inline constexpr const char* kQmailGroups[] = {"qmail", "nofiles"};

// Field 3 of the passwd(5) or group(5) line for `name` in `text`.
bool find_uid(std::string_view passwd, std::string_view name, uid_t& uid);
bool find_gid(std::string_view group, std::string_view name, gid_t& gid);

// Decides the mode from the account files' text and the process's ids:
// system mode when ruid or euid is 0, or when all the accounts exist and
// ruid or euid is one of the users. Fails (false, *missing = the first
// account or group not found) only when root asks for system mode and an
// account is missing.
bool resolve_ids(Ids& ids, std::string_view passwd, std::string_view group, uid_t ruid,
                 uid_t euid, gid_t egid, const char** missing);

// resolve_ids over /etc/passwd and /etc/group and this process's ids.
// 0 ok; -1 with errno set when a file could not be read (*missing is the
// file), or errno 0 when system mode lacks an account (*missing names it).
int load_ids(Ids& ids, const char** missing);
// load_ids, or "FATAL unknown account NAME" / "FATAL unable to read FILE: ..."
// and exit 111.
void load_ids_or_die(Ids& ids, std::string_view fatal);

// Switches to uid and gid with gid as the only group (setgroups, setgid,
// setuid, as qmail's prot_gid/prot_uid); a no-op in single-uid mode.
// 0 ok, -1 errno.
int become(const Ids& ids, uid_t uid, gid_t gid);

}  // namespace qbox::qmail
