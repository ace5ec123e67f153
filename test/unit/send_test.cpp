#include <doctest/doctest.h>

#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>

#include "send/bounce.hpp"
#include "queue/envelope.hpp"
#include "send/todo.hpp"
#include "tempdir.hpp"

using namespace qbox;
using namespace std::string_view_literals;

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

namespace {
// Runs the test in a fresh QMAILHOME-like directory, back to the old cwd after.
struct InDir {
  test::TempDir dir;
  int orig = ::open(".", O_RDONLY | O_DIRECTORY);
  InDir() { REQUIRE(::chdir(dir.path) == 0); }
  ~InDir() {
    if (::fchdir(orig) != 0) std::abort();
    ::close(orig);
  }
};
bool clean_ok(unsigned long) { return true; }
bool clean_fails(unsigned long) { return false; }
}  // namespace

TEST_CASE("Router sorts recipients as qmail-send does") {
  InDir d;
  d.dir.mkdir("control");
  d.dir.write("control/me", "me.example\n");
  d.dir.write("control/locals", "a.example\n");
  d.dir.write("control/virtualdomains", "v.example:vuser\n.w.example:wuser\nx.v.example:\n");
  d.dir.write("control/percenthack", "p.example\n");
  send::Router r;
  REQUIRE(r.load());
  Str out;
  CHECK(r.rewrite("joe@a.example", out) == 0);
  CHECK(out == std::string_view("joe@a.example"));
  CHECK(r.rewrite("joe@A.EXAMPLE", out) == 0);  // case is ignored
  CHECK(r.rewrite("joe@v.example", out) == 0);
  CHECK(out == std::string_view("vuser-joe@v.example"));
  CHECK(r.rewrite("joe@deep.w.example", out) == 0);
  CHECK(out == std::string_view("wuser-joe@deep.w.example"));
  CHECK(r.rewrite("joe@x.v.example", out) == 1);  // an empty user: not virtual
  CHECK(r.rewrite("joe@r.example", out) == 1);
  CHECK(out == std::string_view("joe@r.example"));
  CHECK(r.rewrite("joe", out) == 1);  // envnoathost falls back to control/me
  CHECK(out == std::string_view("joe@me.example"));
  CHECK(r.rewrite("joe%a.example@p.example", out) == 0);
  CHECK(out == std::string_view("joe@a.example"));
  // HUP: locals changed.
  d.dir.write("control/locals", "r.example\n");
  REQUIRE(r.reload());
  CHECK(r.rewrite("joe@r.example", out) == 0);
}

TEST_CASE("take_todo writes info, local and remote and asks for the clean-up") {
  InDir d;
  d.dir.mkdir("control");
  d.dir.write("control/locals", "a.example\n");
  for (const char* dir : {"todo", "mess", "mess/7", "info", "info/7", "local", "local/7",
                          "remote", "remote/7"})
    d.dir.mkdir(dir);
  send::Router r;
  REQUIRE(r.load());
  d.dir.write("mess/7/30", "Subject: x\n\nbody\n");
  Str todo("u42\0p99\0Fjoe@b.example\0Tx@a.example\0Ty@r.example\0Tz@a.example\0"sv);
  d.dir.write("todo/30", todo.view());
  send::TodoDone done;
  REQUIRE(send::take_todo(30, 23, r, clean_ok, done));
  CHECK(done.chan[0]);
  CHECK(done.chan[1]);
  CHECK(done.log == std::string_view("new msg 30\ninfo msg 30: bytes 17 from <joe@b.example> qp 99 uid 42\n"));
  CHECK(d.dir.slurp("info/7/30") == std::string_view("Fjoe@b.example\0"sv));
  CHECK(d.dir.slurp("local/7/30") == std::string_view("Tx@a.example\0Tz@a.example\0"sv));
  CHECK(d.dir.slurp("remote/7/30") == std::string_view("Ty@r.example\0"sv));

  // A second try (the clean-up failed) starts afresh; a failed clean-up
  // leaves the message for later.
  d.dir.write("todo/30", "u1\0p2\0Fs@b.example\0Tonly@a.example\0"sv);
  CHECK_FALSE(send::take_todo(30, 23, r, clean_fails, done));
  CHECK(done.log.view().find("qmail-clean unable to clean up todo/30") != std::string_view::npos);
  CHECK(d.dir.slurp("local/7/30") == std::string_view("Tonly@a.example\0"sv));
  CHECK(::access("remote/7/30", F_OK) != 0);

  // A damaged todo file: a warning, nothing taken.
  d.dir.write("todo/30", "u1\0Qodd\0"sv);
  CHECK_FALSE(send::take_todo(30, 23, r, clean_ok, done));
  CHECK(done.log == std::string_view("warning: unknown record type in todo/30\n"));
  // No todo file at all: nothing to say.
  CHECK_FALSE(send::take_todo(31, 23, r, clean_ok, done));
  CHECK(done.log.empty());

  // Beyond the limits qmail-send reads local/ and remote/ with: a
  // warning, nothing taken, nothing left behind.
  Str many("u1\0p2\0Fs@b.example\0"sv);
  for (std::uint64_t i = 0; i < queue::kMaxRecipients; ++i) many.append("Tx@a.example\0"sv);
  d.dir.write("todo/30", many.view());
  REQUIRE(send::take_todo(30, 23, r, clean_ok, done));
  many.append("Ty@r.example\0"sv);
  d.dir.write("todo/30", many.view());
  CHECK_FALSE(send::take_todo(30, 23, r, clean_ok, done));
  CHECK(done.log == std::string_view("warning: too many recipients in todo/30\n"));
  CHECK_FALSE(done.chan[0]);
  for (const char* f : {"info/7/30", "local/7/30", "remote/7/30"})
    CHECK_MESSAGE(::access(f, F_OK) != 0, f);
}
