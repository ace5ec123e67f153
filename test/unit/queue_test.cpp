#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/env.hpp"
#include "base/fd.hpp"
#include "base/str.hpp"
#include "io/buffer.hpp"
#include "queue/clean.hpp"
#include "queue/envelope.hpp"
#include "queue/layout.hpp"
#include "queue/scan.hpp"
#include "queue/submit.hpp"
#include "test/unit/tempdir.hpp"

using namespace qbox;
using namespace qbox::queue;

namespace {

std::string_view sv(const char* s, std::size_t n) { return {s, n}; }

// Writes `data` into a pipe from a child process and returns the read end,
// so a Reader sees it exactly as a descriptor delivers it.
struct Feed {
  int fd = -1;
  pid_t pid = -1;
  explicit Feed(std::string_view data) : Feed(data, {}, 0) {}
  // Streams `n` copies of `chunk` (for envelopes too big to hold).
  Feed(std::string_view head, std::string_view chunk, std::size_t n) {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(p[0]);
      ::signal(SIGPIPE, SIG_DFL);
      write_all(p[1], head);
      for (std::size_t i = 0; i < n; ++i)
        if (write_all(p[1], chunk) < 0) ::_exit(0);
      ::_exit(0);
    }
    ::close(p[1]);
    fd = p[0];
  }
  ~Feed() {
    ::close(fd);
    int st;
    ::waitpid(pid, &st, 0);
  }
};

struct Read {
  Str sender;
  std::vector<Str> rcpts;
  EnvError err = EnvError::kNone;
};

Read read_envelope(std::string_view data) {
  Feed f(data);
  char buf[64];  // small, so addresses cross buffer boundaries
  Reader in(f.fd, buf);
  EnvelopeReader env(in);
  Read r;
  if (!env.sender(r.sender)) {
    r.err = env.error();
    return r;
  }
  Str a;
  for (;;) {
    int x = env.recipient(a);
    if (x == 0) break;
    if (x < 0) {
      r.err = env.error();
      break;
    }
    r.rcpts.push_back(a);
  }
  return r;
}

}  // namespace

TEST_CASE("ask_clean: one NUL-ended command, one byte of answer") {
  int cmd[2], ans[2];
  REQUIRE(::pipe(cmd) == 0);
  REQUIRE(::pipe(ans) == 0);
  Fd cmd_r(cmd[0]), cmd_w(cmd[1]), ans_r(ans[0]), ans_w(ans[1]);
  REQUIRE(write_all(ans_w.get(), "+!") == 0);
  CHECK(queue::ask_clean(cmd_w.get(), ans_r.get(), "foop/", 12345) == '+');
  CHECK(queue::ask_clean(cmd_w.get(), ans_r.get(), "todo/", 7) == '!');
  ans_w.reset();
  CHECK(queue::ask_clean(cmd_w.get(), ans_r.get(), "todo/", 8) == queue::kCleanNoAnswer);
  CHECK(queue::ask_clean(-1, ans_r.get(), "todo/", 9) == queue::kCleanUnsent);
  cmd_w.reset();
  Str sent;
  REQUIRE(read_all(cmd_r.get(), sent) == 0);
  CHECK(sent.view() == std::string_view("foop/12345\0todo/7\0todo/8\0", 25));
}

TEST_CASE("fmt_qfn names queue files as qmail's fmtqfn") {
  Str s;
  fmt_qfn(s, "mess/", 12345, 23);
  CHECK(s == "mess/17/12345");
  s.clear();
  fmt_qfn(s, "todo/", 12345, 0);
  CHECK(s == "todo/12345");
  s.clear();
  fmt_qfn(s, "info/", 0, 23);
  CHECK(s == "info/0/0");
  s.clear();
  fmt_qfn(s, "", 18446744073709551615UL, 23);
  CHECK(s == "5/18446744073709551615");
}

TEST_CASE("the queue layout is qmail's") {
  std::size_t splits = 0;
  for (const Entry& e : kEntries)
    if (e.kind == Kind::kSplitDir) ++splits;
  CHECK(splits == 4);
  CHECK(kEntries[0].mode == 0750);
  bool trigger = false;
  for (const Entry& e : kEntries)
    if (std::string_view(e.name) == "lock/trigger") {
      trigger = true;
      CHECK(e.kind == Kind::kFifo);
      CHECK(e.mode == 0622);
      CHECK(e.owner == Owner::kQmails);
    }
  CHECK(trigger);
}

TEST_CASE("conf_split reads control/conf-split") {
  char dir[] = "/tmp/qbox-split-test.XXXXXX";
  REQUIRE(::mkdtemp(dir));
  Str control(dir);
  control.append("/control");
  REQUIRE(::mkdir(control.c_str(), 0755) == 0);
  CHECK(conf_split(dir) == 23);
  Str fn = control;
  fn.append("/conf-split");
  auto put = [&](std::string_view s) {
    Fd fd(open_trunc(fn.c_str()));
    REQUIRE(write_all(fd.get(), s) == 0);
  };
  put("31\n");
  CHECK(conf_split(dir) == 31);
  put("0\n");
  CHECK(conf_split(dir) == 0);
  put("junk\n");
  CHECK(conf_split(dir) == 0);
  put("10001\n");
  CHECK(conf_split(dir) == 0);
  put("10000\n");
  CHECK(conf_split(dir) == 10000);
  ::unlink(fn.c_str());
  ::rmdir(control.c_str());
  ::rmdir(dir);
}

TEST_CASE("envelope: reading the descriptor-1 form") {
  Read r = read_envelope(sv("Fjoe@a.example\0Tx@b.example\0Ty@c.example\0\0", 42));
  CHECK(r.err == EnvError::kNone);
  CHECK(r.sender == "joe@a.example");
  REQUIRE(r.rcpts.size() == 2);
  CHECK(r.rcpts[0] == "x@b.example");
  CHECK(r.rcpts[1] == "y@c.example");

  // The null sender and no recipients at all are fine.
  r = read_envelope(sv("F\0\0", 3));
  CHECK(r.err == EnvError::kNone);
  CHECK(r.sender.empty());
  CHECK(r.rcpts.empty());

  // Format errors: 91.
  CHECK(read_envelope(sv("Tjoe\0\0", 6)).err == EnvError::kFormat);
  CHECK(read_envelope(sv("Fjoe\0Xx\0\0", 9)).err == EnvError::kFormat);
  CHECK(read_envelope(sv("Fjoe\0Fx\0\0", 9)).err == EnvError::kFormat);
  CHECK(qq_exit_code(EnvError::kFormat) == 91);
  // End of input before the final NUL: 54.
  CHECK(read_envelope("").err == EnvError::kTruncated);
  CHECK(read_envelope("Fjoe").err == EnvError::kTruncated);
  CHECK(read_envelope(sv("Fjoe\0", 5)).err == EnvError::kTruncated);
  CHECK(read_envelope(sv("Fjoe\0Tx", 7)).err == EnvError::kTruncated);
  CHECK(read_envelope(sv("Fjoe\0Tx\0", 8)).err == EnvError::kTruncated);
  CHECK(qq_exit_code(EnvError::kTruncated) == 54);
}

TEST_CASE("envelope: addresses of 1002 bytes pass, 1003 fail with 11") {
  Str ok("F");
  ok.append(Str().view());
  for (int i = 0; i < 1002; ++i) ok.push('s');
  ok.push('\0');
  ok.push('T');
  for (int i = 0; i < 1002; ++i) ok.push('r');
  ok.push('\0');
  ok.push('\0');
  Read r = read_envelope(ok.view());
  CHECK(r.err == EnvError::kNone);
  CHECK(r.sender.size() == 1002);
  REQUIRE(r.rcpts.size() == 1);
  CHECK(r.rcpts[0].size() == 1002);
  Envelope e;
  CHECK(parse_envelope(ok.view(), e) == EnvError::kNone);

  Str bad("F");
  for (int i = 0; i < 1003; ++i) bad.push('s');
  bad.push('\0');
  bad.push('\0');
  CHECK(read_envelope(bad.view()).err == EnvError::kTooLong);
  CHECK(parse_envelope(bad.view(), e) == EnvError::kTooLong);
  Str badr(sv("F\0T", 3));
  for (int i = 0; i < 1003; ++i) badr.push('r');
  badr.push('\0');
  badr.push('\0');
  CHECK(read_envelope(badr.view()).err == EnvError::kTooLong);
  CHECK(parse_envelope(badr.view(), e) == EnvError::kTooLong);
  CHECK(qq_exit_code(EnvError::kTooLong) == 11);
}

TEST_CASE("envelope: a giant address is refused after kMaxAddress bytes") {
  // 64 MiB of one address, streamed: the reader stops at 1003 bytes.
  Str chunk;
  chunk.resize(1 << 16);
  for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = 'a';
  Feed f("F", chunk.view(), 1024);
  char buf[4096];
  Reader in(f.fd, buf);
  EnvelopeReader env(in);
  Str s;
  CHECK_FALSE(env.sender(s));
  CHECK(env.error() == EnvError::kTooLong);
  CHECK(s.size() <= kMaxAddress);
}

// A sender, then the T record `rcpt` over and over (about `total` bytes),
// read back one recipient at a time until the reader stops.
static Str repeated(std::string_view s, std::size_t at_least) {
  Str out;
  while (out.size() < at_least) out.append(s);
  return out;
}
struct Giant {
  Str chunk;
  Feed feed;
  char buf[8192];
  Reader in;
  EnvelopeReader env;
  std::uint64_t count = 0;
  int last = 0;
  Giant(std::string_view rcpt, std::size_t total)
      : chunk(repeated(rcpt, 65536)),
        feed(sv("Fsender@example.org\0", 20), chunk.view(), total / chunk.size()),
        in(feed.fd, buf),
        env(in) {
    Str a;
    REQUIRE(env.sender(a));
    std::string_view want = rcpt.substr(1, rcpt.size() - 2);
    std::uint64_t odd = 0;
    while ((last = env.recipient(a)) == 1) {
      ++count;
      if (a.view() != want) ++odd;
    }
    CHECK(odd == 0);
  }
};

TEST_CASE("envelope: a giant envelope ends at kMaxEnvelope with bounded memory") {
  // 40 MiB of 1000-byte recipients: each read holds one address; the
  // total is refused once past kMaxEnvelope.
  Str rcpt("T");
  rcpt.append(repeated("u", 998));
  rcpt.push('\0');
  Giant g(rcpt.view(), 40u << 20);
  CHECK(g.last == -1);
  CHECK(g.env.error() == EnvError::kTooLong);
  CHECK(g.env.bytes() > kMaxEnvelope);
  CHECK(g.env.bytes() <= kMaxEnvelope + 1000);
  CHECK(g.count == kMaxEnvelope / 1000);
}

TEST_CASE("envelope: more than kMaxRecipients recipients are refused") {
  Giant g(sv("Tuser@example.org\0", 18), 4u << 20);
  CHECK(g.last == -1);
  CHECK(g.env.error() == EnvError::kTooLong);
  CHECK(g.count == kMaxRecipients);
  CHECK(g.env.recipients() == kMaxRecipients + 1);
  CHECK(g.env.bytes() < kMaxEnvelope);
  // The same in memory.
  Str s;
  std::vector<std::string_view> r(kMaxRecipients, "a@b");
  append_envelope(s, "", r);
  Envelope e;
  CHECK(parse_envelope(s.view(), e) == EnvError::kNone);
  CHECK(e.recipients.size() == kMaxRecipients);
  s.truncate(s.size() - 1);
  s.append(sv("Tone@more\0\0", 11));
  CHECK(parse_envelope(s.view(), e) == EnvError::kTooLong);
}

TEST_CASE("envelope: parse_envelope and append_envelope round trip") {
  Str s;
  append_envelope(s, "joe@a.example", {"x@b.example", "", "z@c"});
  CHECK(s.view() == sv("Fjoe@a.example\0Tx@b.example\0T\0Tz@c\0\0", 36));
  Envelope e;
  REQUIRE(parse_envelope(s.view(), e) == EnvError::kNone);
  CHECK(e.sender == "joe@a.example");
  REQUIRE(e.recipients.size() == 3);
  CHECK(e.recipients[1].empty());
  Str t;
  append_envelope(t, e);
  CHECK(t == s);
  // Trailing bytes after the final NUL are a format error.
  Str u = s;
  u.push('x');
  CHECK(parse_envelope(u.view(), e) == EnvError::kFormat);
  CHECK(parse_envelope("", e) == EnvError::kTruncated);
  CHECK(parse_envelope(sv("Fa\0Tb\0", 6), e) == EnvError::kTruncated);
  CHECK(parse_envelope("Fabc", e) == EnvError::kTruncated);
  CHECK(parse_envelope(sv("X\0\0", 3), e) == EnvError::kFormat);
}

TEST_CASE("todo files: the records qmail-queue writes") {
  Str s;
  append_todo(s, 1000, 4242, "joe@a.example", {"x@b.example", "y@c.example"});
  CHECK(s.view() == sv("u1000\0p4242\0Fjoe@a.example\0Tx@b.example\0Ty@c.example\0", 53));
  TodoFile t;
  REQUIRE(parse_todo(s.view(), t));
  CHECK(t.has_uid);
  CHECK(t.uid == 1000);
  CHECK(t.pid == 4242);
  CHECK(t.sender == "joe@a.example");
  REQUIRE(t.recipients.size() == 2);
  CHECK(t.recipients[1] == "y@c.example");

  CHECK(parse_todo(sv("F\0", 2), t));
  CHECK_FALSE(t.has_uid);
  CHECK(t.sender.empty());
  CHECK_FALSE(parse_todo("", t));                           // no F
  CHECK_FALSE(parse_todo(sv("Tx\0Fy\0", 6), t));            // T before F
  CHECK_FALSE(parse_todo(sv("Fx\0Fy\0", 6), t));            // two F
  CHECK_FALSE(parse_todo(sv("Fx\0Ty", 5), t));              // no NUL at the end
  CHECK_FALSE(parse_todo(sv("uabc\0Fx\0", 8), t));          // bad number
  CHECK_FALSE(parse_todo(sv("u99999999999999999999999\0Fx\0", 28), t));
  CHECK_FALSE(parse_todo(sv("Fx\0\0", 4), t));              // empty record
  CHECK_FALSE(parse_todo(sv("Fx\0Qy\0", 6), t));            // unknown type
}

TEST_CASE("todo files: limits") {
  TodoFile t;
  Str s;
  std::vector<std::string_view> r(kMaxRecipients, "x@y");
  append_todo(s, 1, 2, "a@b", r);
  REQUIRE(parse_todo(s.view(), t));
  CHECK(t.recipients.size() == kMaxRecipients);
  s.append(sv("Tx@y\0", 5));
  CHECK_FALSE(parse_todo(s.view(), t));  // one recipient too many
  Str rec("F");
  rec.append(repeated("x", kMaxRecord - 1));
  rec.push('\0');
  CHECK(parse_todo(rec.view(), t));  // a record of kMaxRecord bytes, type included
  rec.truncate(rec.size() - 1);
  rec.append(sv("x\0", 2));
  CHECK_FALSE(parse_todo(rec.view(), t));  // one above
  Str big;
  big.resize(kMaxTodoFile + 1);
  CHECK_FALSE(parse_todo(big.view(), t));
}

TEST_CASE("channel files: T and D records, bounded") {
  std::vector<ChannelRecord> todo;
  REQUIRE(parse_channel(sv("Ta@b\0Dc@d\0Te@f\0", 15), todo));
  REQUIRE(todo.size() == 2);
  CHECK(todo[0].addr == "a@b");
  CHECK(todo[0].pos == 0);
  CHECK(todo[1].addr == "e@f");
  CHECK(todo[1].pos == 10);
  todo.clear();
  CHECK(parse_channel("", todo));
  CHECK(todo.empty());
  // A last record without NUL is being written: left out.
  CHECK(parse_channel(sv("Ta@b\0Tc@", 8), todo));
  CHECK(todo.size() == 1);
  CHECK_FALSE(parse_channel(sv("Ta@b\0Xc@d\0", 10), todo));  // unknown type
  CHECK_FALSE(parse_channel(sv("Ta@b\0\0", 6), todo));        // empty record
  Str rec("T");
  rec.append(repeated("x", kMaxRecord));
  rec.push('\0');
  CHECK_FALSE(parse_channel(rec.view(), todo));  // one above kMaxRecord
  rec.truncate(kMaxRecord);
  rec.push('\0');
  todo.clear();
  CHECK(parse_channel(rec.view(), todo));
  CHECK(todo.size() == 1);
  Str many;
  for (std::uint64_t i = 0; i <= kMaxRecipients; ++i) many.append(sv("D\0", 2));
  CHECK_FALSE(parse_channel(many.view(), todo));
  Str big;
  big.resize(kMaxQueueFile + 1);
  CHECK_FALSE(parse_channel(big.view(), todo));
}

TEST_CASE("read_record: one NUL-terminated record at a time, bounded") {
  Feed f(sv("Tone\0Dtwo\0\0Tlast", 16));
  char buf[8];
  Reader in(f.fd, buf);
  Str r;
  CHECK(read_record(in, r) == 1);
  CHECK(r == "Tone");
  CHECK(read_record(in, r) == 1);
  CHECK(r == "Dtwo");
  CHECK(read_record(in, r) == 1);
  CHECK(r.empty());
  errno = 0;
  CHECK(read_record(in, r) == -1);
  CHECK(errno == EPROTO);

  Feed g(sv("T123456789\0T1\0", 14));
  Reader in2(g.fd, buf);
  CHECK(read_record(in2, r, 9) == -1);
  CHECK(errno == E2BIG);
  Feed h(sv("T12345678\0", 10));
  Reader in3(h.fd, buf);
  CHECK(read_record(in3, r, 9) == 1);
  CHECK(read_record(in3, r, 9) == 0);
}

TEST_CASE("qq_error_text is qmail.c's table") {
  CHECK(std::string_view(qq_error_text(0)).empty());
  CHECK(std::string_view(qq_error_text(11)) == "Denvelope address too long for qq (#5.1.3)");
  CHECK(std::string_view(qq_error_text(115)) == "Denvelope address too long for qq (#5.1.3)");
  CHECK(std::string_view(qq_error_text(31)) == "Dmail server permanently rejected message (#5.3.0)");
  CHECK(std::string_view(qq_error_text(40)) == "Dqq permanent problem (#5.3.0)");
  CHECK(std::string_view(qq_error_text(41)) == "Zqq temporary problem (#4.3.0)");
  CHECK(std::string_view(qq_error_text(53)) == "Zqq write error or disk full (#4.3.0)");
  CHECK(std::string_view(qq_error_text(54)) == "Zqq read error (#4.3.0)");
  CHECK(std::string_view(qq_error_text(64)) == "Zqq trouble creating files in queue (#4.3.0)");
  CHECK(std::string_view(qq_error_text(74)) == "Zcommunication with mail server failed (#4.4.2)");
  CHECK(std::string_view(qq_error_text(81)) == "Zqq internal bug (#4.3.0)");
  CHECK(std::string_view(qq_error_text(91)) == "Zqq internal bug (#4.3.0)");
  CHECK(std::string_view(qq_error_text(82)) == "Zqq temporary problem (#4.3.0)");
  CHECK(std::string_view(qq_error_text(120)) == "Zunable to exec qq (#4.3.0)");
  CHECK(std::string_view(qq_error_text(1)) == "Zqq temporary problem (#4.3.0)");
}

TEST_CASE("custom_error takes a D or Z line") {
  CHECK(custom_error("Dno spam here\n") == "Dno spam here");
  CHECK(custom_error("Ztry later\r\nmore") == "Ztry later");
  CHECK(custom_error("no prefix").empty());
  CHECK(custom_error("D").empty());
  CHECK(custom_error("D\n").empty());
  CHECK(custom_error("").empty());
  CHECK(custom_error(sv("Dab\0cd", 6)) == "Dab");
  Str big("D");
  for (int i = 0; i < 5000; ++i) big.push('x');
  CHECK(custom_error(big.view()).size() == kMaxCustomError);
}

namespace {

using test::TempDir;

// A queue program for Submit: a shell script in d.
Str script(const TempDir& d, std::string_view name, std::string_view body) {
  Str text("#!/bin/sh\n");
  text.append(body);
  return d.write(name, text.view(), 0755);
}

// Sets an environment variable for the life of the object.
struct SetEnv {
  Str name, old;
  bool had;
  SetEnv(const char* n, const char* v) : name(n) {
    const char* o = ::getenv(n);
    had = o != nullptr;
    if (o) old = std::string_view(o);
    if (v) ::setenv(n, v, 1);
    else ::unsetenv(n);
  }
  ~SetEnv() {
    if (had) ::setenv(name.c_str(), old.c_str(), 1);
    else ::unsetenv(name.c_str());
  }
};

}  // namespace

TEST_CASE("Submit: message on 0, envelope on 1, exit code to text") {
  TempDir d;
  SetEnv home("QMAILHOME", d.path);
  Str qq = script(d, "qq", "cat > msg\ncat <&1 > env\nexit 0\n");
  Submit s;
  REQUIRE(s.open(qq.c_str()) == 0);
  CHECK(s.pid() > 0);
  s.put("Subject: hi\n\n");
  s.put("body\n");
  s.from("joe@a.example");
  s.to("x@b.example");
  s.to("y@c.example");
  CHECK(s.close().empty());
  CHECK(d.slurp("msg") == "Subject: hi\n\nbody\n");
  CHECK(d.slurp("env").view() == sv("Fjoe@a.example\0Tx@b.example\0Ty@c.example\0\0", 42));
}

// Runs one submission through `program` (null: the default) and returns
// the verdict: the message `msg` (nothing when empty), sender a@b, one
// recipient; `failed` calls fail() first.
Str verdict(const char* program, std::string_view msg = "x\n", bool failed = false) {
  Submit s;
  REQUIRE(s.open(program) == 0);
  s.put(msg);
  if (failed) s.fail();
  s.from("a@b");
  s.to("c@d");
  return Str(s.close());
}

TEST_CASE("Submit: failures map to qmail's texts") {
  TempDir d;
  SetEnv home("QMAILHOME", d.path);
  struct Case {
    const char* body;
    const char* text;
  } cases[] = {
      {"cat >/dev/null; cat <&1 >/dev/null; exit 31\n",
       "Dmail server permanently rejected message (#5.3.0)"},
      {"cat >/dev/null; echo 'Dwe do not want this (#5.7.1)' >&6; exit 82\n",
       "Dwe do not want this (#5.7.1)"},
      {"printf 'Zbusy' >&6; exit 82\n", "Zbusy"},
      // Exit 82 without a usable text is a temporary problem.
      {"echo 'no prefix' >&6; exit 82\n", "Zqq temporary problem (#4.3.0)"},
      // The text on 6 is ignored unless the code is 82.
      {"cat >/dev/null; cat <&1 >/dev/null; echo Dignored >&6; exit 0\n", ""},
      {"kill -9 $$\n", "Zqq crashed (#4.3.0)"},
  };
  int n = 0;
  for (const Case& c : cases) {
    Str name("qq");
    name.append_num(static_cast<unsigned>(n++));
    Str qq = script(d, name.view(), c.body);
    CHECK(verdict(qq.c_str()) == c.text);
  }
  // The child dies before reading: our writes fail, we do not get SIGPIPE.
  Str early = script(d, "early", "exit 0\n");
  Str big;
  big.resize(1 << 20);
  CHECK(verdict(early.c_str(), big.view()) == "Zqq read error (#4.3.0)");
  CHECK(verdict(d.file("does-not-exist").c_str()) == "Zunable to exec qq (#4.3.0)");
  // fail() turns a success into a read error, as qmail_fail does.
  Str ok = script(d, "ok", "cat >/dev/null; cat <&1 >/dev/null; exit 0\n");
  CHECK(verdict(ok.c_str()).empty());
  CHECK(verdict(ok.c_str(), "x", true) == "Zqq read error (#4.3.0)");
}

TEST_CASE("Submit: $QMAILQUEUE, relative to QMAILHOME, else QMAILHOME/bin/qmail-queue") {
  TempDir d;
  d.mkdir("bin");
  script(d, "bin/qmail-queue", "cat >/dev/null; cat <&1 >/dev/null; exit 71\n");
  script(d, "filter", "cat >/dev/null; cat <&1 >/dev/null; exit 73\n");
  SetEnv home("QMAILHOME", d.path);
  SetEnv qq("QMAILQUEUE", nullptr);
  CHECK(verdict(nullptr) == "Zmail server temporarily rejected message (#4.3.0)");
  ::setenv("QMAILQUEUE", "filter", 1);  // relative: found in QMAILHOME
  CHECK(verdict(nullptr) == "Zconnection to mail server rejected (#4.4.1)");
  // A missing QMAILHOME is "trouble in home directory".
  SetEnv nohome("QMAILHOME", d.file("nonexistent").c_str());
  CHECK(verdict(nullptr) == "Zqq trouble in home directory (#4.3.0)");
}

TEST_CASE("parse_id takes decimal names only") {
  CHECK(parse_id("12345") == 12345UL);
  CHECK(parse_id("0") == 0UL);
  CHECK(parse_id("18446744073709551615") == 18446744073709551615UL);
  CHECK_FALSE(parse_id("18446744073709551616"));
  CHECK_FALSE(parse_id(""));
  CHECK_FALSE(parse_id("12a"));
  CHECK_FALSE(parse_id("-1"));
  CHECK_FALSE(parse_id("1.tmp"));
}

TEST_CASE("DirScan walks dir/0 .. dir/split-1 as readsubdir") {
  TempDir d;
  d.mkdir("info");
  for (const char* sub : {"info/0", "info/1", "info/2"}) d.mkdir(sub);
  d.write("info/0/23", "");
  d.write("info/2/5", "");
  d.write("info/2/junk", "");
  d.write("info/1/7", "");
  Str dir = d.file("info");
  DirScan scan(dir.view(), 3);
  std::vector<unsigned long> ids;
  std::vector<Str> odd;
  for (;;) {
    DirScan::Result r = scan.next();
    if (r == DirScan::kDone) break;
    REQUIRE(r != DirScan::kOpenError);
    if (r == DirScan::kId) ids.push_back(scan.id());
    if (r == DirScan::kOddName) odd.emplace_back(scan.name());
  }
  CHECK(ids == std::vector<unsigned long>{23, 7, 5});
  REQUIRE(odd.size() == 1);
  CHECK(odd[0] == "junk");

  // A missing subdirectory is reported, and the walk goes on.
  DirScan wide(dir.view(), 5);
  int errors = 0, found = 0;
  Str failed;
  for (DirScan::Result r; (r = wide.next()) != DirScan::kDone;) {
    if (r == DirScan::kOpenError) {
      ++errors;
      failed = wide.dir_name();
    }
    if (r == DirScan::kId) ++found;
  }
  CHECK(errors == 2);
  CHECK(found == 3);
  Str last = d.file("info/4");
  CHECK(failed == last);

  // Flat: the directory itself.
  d.mkdir("todo");
  d.write("todo/99", "");
  Str todo = d.file("todo");
  DirScan flat(todo.view(), 0);
  CHECK(flat.next() == DirScan::kId);
  CHECK(flat.id() == 99);
  CHECK(flat.next() == DirScan::kDone);
  CHECK(flat.next() == DirScan::kDone);
}
