#include "qmail/quote.hpp"

namespace qbox::qmail {

namespace {

// The bytes that may stand unquoted: letters, digits and !#$%&'*+-/=?^_`{|}~ and '.'.
bool plain(unsigned char c) {
  if (c >= 128) return false;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
    case '|': case '}': case '~': case '.':
      return true;
  }
  return false;
}

}  // namespace

bool quote_need(std::string_view box) {
  if (box.empty()) return true;
  for (char c : box)
    if (!plain(static_cast<unsigned char>(c))) return true;
  if (box.front() == '.' || box.back() == '.') return true;
  return box.find("..") != std::string_view::npos;
}

void quote(Str& out, std::string_view box) {
  if (!quote_need(box)) {
    out.append(box);
    return;
  }
  out.push('"');
  for (char c : box) {
    if (c == '\r' || c == '\n' || c == '"' || c == '\\') out.push('\\');
    out.push(c);
  }
  out.push('"');
}

void quote2(Str& out, std::string_view addr) {
  if (addr.empty()) return;
  std::size_t at = addr.rfind('@');
  if (at == std::string_view::npos) return quote(out, addr);
  quote(out, addr.substr(0, at));
  out.append(addr.substr(at));
}

}  // namespace qbox::qmail
