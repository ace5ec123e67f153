// Base64 (RFC 4648, the standard alphabet), as SMTP AUTH (RFC 4954) uses it
// for its 334 challenges and the client's responses.
#pragma once
#include <string_view>

#include "base/str.hpp"

namespace qbox {

// Appends the encoding of `in`, with '=' padding.
void base64_encode(std::string_view in, Str& out);

// Appends the bytes `in` encodes. The padding may be left out (some SMTP
// clients do), but anything else outside the alphabet (spaces too), a
// lone leftover character, or '=' before the end is refused: false, and
// `out` holds whatever was appended before the bad character.
bool base64_decode(std::string_view in, Str& out);

}  // namespace qbox
