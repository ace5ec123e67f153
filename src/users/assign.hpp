// qmail's users database (qmail-users(5)): users/assign, compiled by
// qmail-newu into users/cdb, read by qmail-lspawn for every local delivery.
//
// users/assign has one assignment a line, and ends with a line ".":
//   =local:user:uid:gid:homedir:dash:ext:    the address `local` exactly
//   +loc:user:uid:gid:homedir:dash:pre:      every address starting with
//                                            `loc`; the rest of the address
//                                            is appended to `pre`
// In users/cdb the key is "!" and the lower-cased local part, followed by a
// NUL for "=" lines; the data is user NUL uid NUL gid NUL homedir NUL dash
// NUL ext. The record with the empty key lists the last characters of
// every "+" prefix (the "wildcard characters"), so a lookup only tries the
// prefixes that end in one of them.
#pragma once
#include <cstddef>
#include <string_view>

#include "base/str.hpp"

namespace qbox {
class CdbReader;
}

namespace qbox::users {

inline constexpr std::size_t kMaxLine = 1u << 20;  // of users/assign, LF included

class AssignParser {
 public:
  enum class Result { kRecord, kEnd, kFormat };
  // One line as read, with its LF (a last line without LF has none). A line
  // starting with '.' ends the file; a line that is not an assignment, or
  // an unterminated one, is kFormat. For kRecord, key and data are the cdb
  // record. As qmail-newu, any first character other than '+' is read as '='.
  Result line(std::string_view line, Str& key, Str& data);
  // The wildcard characters so far (the data of the empty key).
  std::string_view wildchars() const { return wild_.view(); }

 private:
  Str wild_;
};

// What a users/cdb record says about an address.
struct Assignment {
  Str user, uid, gid, home, dash, ext;
};
// Splits a record's data (plus, for a wildcard match, the rest of the
// address appended to ext). false when it has fewer than six fields.
bool parse_assignment(std::string_view data, Assignment& out);

// qmail-lspawn's lookup of `local` in users/cdb: the exact address first,
// then its prefixes from the longest, each only when its last character is
// a wildcard character (and last the empty prefix "+:"). For a prefix the
// rest of the address (as given, not lower-cased) is appended to ext.
// 1 found, 0 not there, -1 error (errno; EPROTO for a bad record).
int lookup(CdbReader& db, std::string_view local, Assignment& out);

}  // namespace qbox::users
