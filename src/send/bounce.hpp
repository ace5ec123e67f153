// qmail-send's pure parts, apart so they can be tested: the retry schedule
// and the QSBMF bounce message (qmail-send.c's nextretry and injectbounce).
#pragma once
#include <cstdint>
#include <string_view>

#include "base/str.hpp"

namespace qbox::send {

// chanskip: 10 for the local channel (0), 20 for the remote one (1).
inline constexpr std::int64_t kChanSkip[2] = {10, 20};

// The next retry of a message born at `birth`, seen at `now`:
// birth + (floor(sqrt(now - birth)) + chanskip)^2.
std::int64_t next_retry(std::int64_t birth, std::int64_t now, int chan);

// One paragraph of bounce/ID for a failed recipient: "<recip>:\n", the
// report text (without its leading D) ending with a newline, and an empty
// line.
void append_bounce_paragraph(Str& out, std::string_view recip, std::string_view text);

struct BounceHeader {
  std::string_view date;        // date822 text
  std::string_view from_local;  // control/bouncefrom (MAILER-DAEMON)
  std::string_view from_host;   // control/bouncehost (me)
  std::string_view to;          // the bounce's recipient
  std::string_view me;
  bool double_bounce;           // the bounced message was itself a bounce
};
// The bounce message up to and including the Return-Path line of the
// copied message; the caller appends the original message after it.
void compose_bounce(Str& out, const BounceHeader& h, std::string_view paragraphs,
                    std::string_view orig_sender);

}  // namespace qbox::send
