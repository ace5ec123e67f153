// RFC 822 header fields as qmail's token822 reads and writes them: a field
// is split into tokens (atoms, quoted strings, domain literals, comments and
// the specials , @ . < > ; :), address lists are walked right to left so
// that each address can be rewritten, and the tokens are written back with
// qmail's spacing and its folding of long lists after commas.
//
// Token texts are views: into the buffer given to parse (escapes removed),
// or into any string the caller keeps alive.
#pragma once
#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

#include "base/str.hpp"

namespace qbox::qmail {

enum class Tok : unsigned char {
  kNone = 0,
  kAtom,
  kQuote,    // "text"
  kLiteral,  // [text]
  kComment,  // (text)
  kComma,
  kAt,
  kDot,
  kLeft,   // <
  kRight,  // >
  kSemi,
  kColon,
};

struct Token {
  Tok type = Tok::kNone;
  std::string_view text;  // for atoms, quotes, literals and comments
};
using Tokens = std::vector<Token>;

// Tokenizes s. The texts are written to buf (cleared first; it must not
// change while the tokens are used). false: unbalanced ) or ], or a quote,
// literal or comment without its end. An atom holding bytes outside 32..126
// or ) ] \ becomes a quoted string.
bool token822_parse(std::string_view s, Tokens& out, Str& buf);
// Writes the tokens back: quotes, brackets, parentheses and backslashes
// restored, qmail's spaces between tokens, a comma followed by a line break
// and a space unless the line (counted as qmail counts it) stays within
// linelen (0: never break), and a final newline.
void token822_unparse(const Tokens& t, Str& out, unsigned linelen);
// The address text: tokens concatenated without quoting; comments dropped.
void token822_unquote(const Tokens& t, Str& out);
void token822_reverse(Tokens& t);

// qmail's token822_addrlist: walks the address list of a header field (the
// tokens after the field name and colon, i.e. from index 2) right to left;
// each address is handed to `rewrite` reversed (its last token first), may
// be changed in place, and is put back. Groups, route-addrs in <>, and
// comments are kept. 1 ok, 0 syntax error or refused by rewrite.
using AddrRewrite = std::function<bool(Tokens& reversed_address)>;
int token822_addrlist(const Tokens& in, Tokens& out, const AddrRewrite& rewrite);

}  // namespace qbox::qmail
