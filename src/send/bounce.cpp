#include "send/bounce.hpp"

namespace qbox::send {

std::int64_t next_retry(std::int64_t birth, std::int64_t now, int chan) {
  std::int64_t n = 0;
  if (now > birth) {
    std::int64_t age = now - birth;
    while ((n + 1) * (n + 1) <= age) ++n;  // floor(sqrt(age)); ages are small
  }
  n += kChanSkip[chan ? 1 : 0];
  return birth + n * n;
}

void append_bounce_paragraph(Str& out, std::string_view recip, std::string_view text) {
  out.push('<');
  out.append(recip);
  out.append(">:\n");
  out.append(text);
  if (text.empty() || text.back() != '\n') out.push('\n');
  out.push('\n');
}

void compose_bounce(Str& out, const BounceHeader& h, std::string_view paragraphs,
                    std::string_view orig_sender) {
  out.append("Date: ");
  out.append(h.date);
  out.append("\nFrom: ");
  out.append(h.from_local);
  out.push('@');
  out.append(h.from_host);
  out.append("\nTo: ");
  out.append(h.to);
  out.append("\nSubject: failure notice\n\nHi. This is the qmail-send program at ");
  out.append(h.me);
  out.append(".\n");
  if (!h.double_bounce)
    out.append("I'm afraid I wasn't able to deliver your message to the following addresses.\n"
               "This is a permanent error; I've given up. Sorry it didn't work out.\n\n");
  else
    out.append("I tried to deliver a bounce message to this address, but the bounce bounced!\n\n");
  out.append(paragraphs);
  out.append(!h.double_bounce ? "--- Below this line is a copy of the message.\n\n"
                              : "--- Below this line is the original bounce.\n\n");
  out.append("Return-Path: <");
  out.append(orig_sender);
  out.append(">\n");
}

}  // namespace qbox::send
