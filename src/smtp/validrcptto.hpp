// control/validrcptto.cdb, the recipient list of John Simpson's combined
// qmail patch, as mkvalidrcptto writes it: every key has an empty value,
//   local@domain           that address (lower-cased) exists
//   @domain                every address at domain is accepted (a catch-all,
//                          or a domain mail is only relayed for)
//   prefix-default@domain  every address whose local part starts with
//                          "prefix-" (qmail-local's .qmail-prefix-default)
// validrcptto_check() is the lookup qmail-smtpd makes for a RCPT address.
// As in the JMS patch, a key whose value starts with '-' (written by hand)
// refuses the address instead.
#pragma once
#include <string_view>

#include "base/str.hpp"

namespace qbox {
class CdbReader;
}

namespace qbox::smtp {

// Whether the address is in the list: the lower-cased address itself, then
// for each '-' in the local part, from the last, the part up to it with
// "default@domain", then "@domain". 1 yes, 0 no (not there, or the first
// key found says '-'), -1 the cdb cannot be read. `found` (if given)
// receives the key that decided.
int validrcptto_check(CdbReader& db, std::string_view address, Str* found = nullptr);

}  // namespace qbox::smtp
