// Addresses written the way qmail writes them into headers and SMTP
// commands (qmail's quote.c): the local part is left alone when RFC 821 and
// RFC 822 both take it as an atom string (letters, digits and
// !#$%&'*+-/=?^_`{|}~, dots only between characters), and is otherwise put
// in double quotes with CR, LF, '"' and '\' escaped by a backslash. Bytes
// above 127 always need quoting. The domain is never changed.
#pragma once
#include <string_view>

#include "base/str.hpp"

namespace qbox::smtp {

// Whether a local part (or any box) must be quoted; an empty one must.
bool quote_needed(std::string_view box);
// Appends box, quoted if needed.
void append_quoted(Str& out, std::string_view box);
// Appends an address: the part before the last '@' quoted if needed, then
// the '@' and the rest unchanged; an address without '@' is quoted as a
// whole, and the empty address stays empty (qmail's quote2).
void append_quoted_address(Str& out, std::string_view addr);

}  // namespace qbox::smtp
