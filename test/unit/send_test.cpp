#include <doctest/doctest.h>

#include "send/bounce.hpp"

using namespace qbox;

TEST_CASE("next_retry follows qmail's quadratic schedule with chanskip") {
  // A new message: (0 + 10)^2 locally, (0 + 20)^2 remotely.
  CHECK(send::next_retry(1000, 1000, 0) == 1000 + 100);
  CHECK(send::next_retry(1000, 1000, 1) == 1000 + 400);
  CHECK(send::next_retry(1000, 900, 0) == 1000 + 100);  // clock went back
  // floor(sqrt(age)) + skip, squared.
  CHECK(send::next_retry(0, 99, 0) == 19 * 19);
  CHECK(send::next_retry(0, 100, 0) == 20 * 20);
  CHECK(send::next_retry(0, 3600, 1) == 80 * 80);
  CHECK(send::next_retry(0, 7 * 86400, 0) == (777 + 10) * (777 + 10));
}

TEST_CASE("bounce paragraphs end with one empty line") {
  Str p;
  send::append_bounce_paragraph(p, "a@b", "Sorry. (#5.1.1)\n");
  send::append_bounce_paragraph(p, "c@d", "no newline");
  CHECK(p == std::string_view("<a@b>:\nSorry. (#5.1.1)\n\n<c@d>:\nno newline\n\n"));
}

TEST_CASE("compose_bounce writes qmail's QSBMF text") {
  Str out;
  send::BounceHeader h{"1 Jan 2026 00:00:00 -0000", "MAILER-DAEMON", "b.example",
                       "joe@c.example", "a.example", false};
  send::compose_bounce(out, h, "<x@a.example>:\nSorry.\n\n", "joe@c.example");
  CHECK(out == std::string_view(
                   "Date: 1 Jan 2026 00:00:00 -0000\n"
                   "From: MAILER-DAEMON@b.example\n"
                   "To: joe@c.example\n"
                   "Subject: failure notice\n\n"
                   "Hi. This is the qmail-send program at a.example.\n"
                   "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
                   "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
                   "<x@a.example>:\nSorry.\n\n"
                   "--- Below this line is a copy of the message.\n\n"
                   "Return-Path: <joe@c.example>\n"));
  Str dbl;
  h.double_bounce = true;
  h.to = "postmaster@a.example";
  send::compose_bounce(dbl, h, "<joe@c.example>:\nSorry.\n\n", "");
  CHECK(dbl.view().find("To: postmaster@a.example\n") != std::string_view::npos);
  CHECK(dbl.view().find("I tried to deliver a bounce message to this address, but the bounce "
                        "bounced!\n\n<joe@c.example>:\n") != std::string_view::npos);
  CHECK(dbl.view().ends_with("--- Below this line is the original bounce.\n\nReturn-Path: <>\n"));
}
