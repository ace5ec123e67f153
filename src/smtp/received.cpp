#include "smtp/received.hpp"

#include "time/date822.hpp"

namespace qbox::smtp {

namespace {

bool safe(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view(".@%+/=:-[]").find(c) != std::string_view::npos;
}

}  // namespace

void append_safe(Str& out, std::string_view s) {
  for (char c : s) out.push(safe(c) ? c : '?');
}

void received_line(Str& out, const ReceivedInfo& r, std::int64_t unix_sec) {
  out.append("Received: from ");
  append_safe(out, r.remotehost);
  if (r.helo) {
    out.append(" (HELO ");
    append_safe(out, *r.helo);
    out.push(')');
  }
  out.append(" (");
  if (r.remoteinfo) {
    append_safe(out, *r.remoteinfo);
    out.push('@');
  }
  append_safe(out, r.remoteip);
  out.append(")\n  by ");
  append_safe(out, r.local);
  out.append(" with ");
  out.append(r.protocol);
  out.append("; ");
  char date[kDate822Len];
  out.append(fmt_date822(date, unix_sec));
  out.push('\n');
}

}  // namespace qbox::smtp
