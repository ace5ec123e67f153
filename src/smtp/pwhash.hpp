// crypt(3) for the three hashes SMTP AUTH's auth.cdb stores, built on
// BearSSL's MD5 and SHA-2 so that the static binary needs no libcrypt
// (Debian's musl ships none): "$1$" MD5-crypt (Poul-Henning Kamp's
// algorithm), "$5$" SHA-256-crypt and "$6$" SHA-512-crypt (Ulrich
// Drepper's specification, with its optional "rounds=N$"). The output is
// what glibc's and musl's crypt() give for the same setting.
#pragma once
#include <string_view>

#include "base/str.hpp"

namespace qbox::smtp {

// Appends the hash of password under `setting` (a whole hash or just
// "$id$[rounds=N$]salt[$]"). false when the setting is none of the three.
bool pw_crypt(std::string_view password, std::string_view setting, Str& out);

}  // namespace qbox::smtp
