// Quoting the local part of an address as qmail's quote.c does, for SMTP
// and header fields alike: as little as possible, "..." with \ before CR,
// LF, " and \ when needed (empty, bytes above 127, specials, a leading,
// trailing or doubled dot).
#pragma once
#include <string_view>

#include "base/str.hpp"

namespace qbox::qmail {

bool quote_need(std::string_view box);
// Appends box, quoted when quote_need says so.
void quote(Str& out, std::string_view box);
// Appends addr with its local part (before the last '@') quoted as needed;
// an empty address stays empty.
void quote2(Str& out, std::string_view addr);

}  // namespace qbox::qmail
