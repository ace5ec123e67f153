#include "smtp/quote.hpp"

namespace qbox::smtp {

static bool atom_char(unsigned char c) {
  if (c >= 128 || c <= 32 || c == 127) return false;
  switch (c) {
    case '"': case '(': case ')': case ',': case ':': case ';': case '<': case '>':
    case '@': case '[': case '\\': case ']':
      return false;
    default:
      return true;
  }
}

bool quote_needed(std::string_view s) {
  if (s.empty()) return true;
  for (char c : s)
    if (!atom_char(static_cast<unsigned char>(c))) return true;
  if (s.front() == '.' || s.back() == '.') return true;
  return s.find("..") != std::string_view::npos;
}

void append_quoted(Str& out, std::string_view s) {
  if (!quote_needed(s)) {
    out.append(s);
    return;
  }
  out.push('"');
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '"' || c == '\\') out.push('\\');
    out.push(c);
  }
  out.push('"');
}

void append_quoted_address(Str& out, std::string_view addr) {
  if (addr.empty()) return;
  std::size_t at = addr.rfind('@');
  if (at == std::string_view::npos) {
    append_quoted(out, addr);
    return;
  }
  append_quoted(out, addr.substr(0, at));
  out.append(addr.substr(at));
}

}  // namespace qbox::smtp
