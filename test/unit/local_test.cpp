// Local delivery: .qmail lines, the extension search order, the sender of
// forwarded mail, the added header lines, maildir names
// and deliveries, and mbox quoting and deliveries.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <csignal>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/fd.hpp"
#include "cdb/cdb.hpp"
#include "base/str.hpp"
#include "dotqmail/dotqmail.hpp"
#include "io/buffer.hpp"
#include "maildir/maildir.hpp"
#include "mbox/mbox.hpp"
#include "qmail/constmap.hpp"
#include "tempdir.hpp"
#include "users/assign.hpp"

using namespace qbox;
using dotqmail::Kind;

TEST_CASE(".qmail lines: the five kinds, trailing blanks, forwards") {
  auto k = [](std::string_view s) { return dotqmail::parse_line(s).kind; };
  auto t = [](std::string_view s) { return dotqmail::parse_line(s).text; };
  CHECK(k("") == Kind::kBlank);
  CHECK(k(" \t ") == Kind::kBlank);
  CHECK(k("# a comment") == Kind::kComment);
  CHECK(k("|preline /usr/bin/vacation djb") == Kind::kProgram);
  CHECK(t("|preline /usr/bin/vacation djb  \t") == "preline /usr/bin/vacation djb");
  CHECK(k("&me@new.job.com") == Kind::kForward);
  CHECK(t("&me@new.job.com ") == "me@new.job.com");
  CHECK(k("me@new.job.com") == Kind::kForward);
  CHECK(t("me@new.job.com") == "me@new.job.com");
  CHECK(k("&") == Kind::kForward);
  CHECK(t("&") == "");
  CHECK(k(" me@x") == Kind::kForward);  // leading blanks are kept
  CHECK(t(" me@x") == " me@x");
  CHECK(k("/home/djb/Mailbox.sos") == Kind::kMbox);
  CHECK(k("./Mailbox") == Kind::kMbox);
  CHECK(t("./Mailbox \t") == "./Mailbox");
  CHECK(k("/home/djb/Maildir/") == Kind::kMaildir);
  CHECK(k("./Maildir/  ") == Kind::kMaildir);
  CHECK(t("./Maildir/  ") == "./Maildir/");
  CHECK(k(".") == Kind::kMbox);
  CHECK(k("+list") == Kind::kPlus);
  CHECK(t("+list") == "list");
  using namespace std::string_view_literals;
  CHECK(k("./a\0b/"sv) == Kind::kMaildir);
  CHECK(t("./a\0b/"sv) == "./a");
  CHECK(t("&x@y\0z"sv) == "x@y");
}

TEST_CASE(".qmail text splits into lines; a last line needs no LF") {
  std::vector<std::string_view> v;
  dotqmail::split_lines("", v);
  CHECK(v.empty());
  dotqmail::split_lines("a\n\nb", v);
  REQUIRE(v.size() == 3);
  CHECK(v[0] == "a");
  CHECK(v[1] == "");
  CHECK(v[2] == "b");
  dotqmail::split_lines("a\n", v);
  REQUIRE(v.size() == 1);
}

TEST_CASE("safe extensions: lower case, dots become colons") {
  Str s;
  dotqmail::safe_ext(s, "Foo.Bar-../X");
  CHECK(s == "foo:bar-::/x");
}

static std::vector<std::string> names(std::string_view dash, std::string_view ext) {
  std::vector<dotqmail::Candidate> c;
  dotqmail::search_order(dash, ext, c);
  std::vector<std::string> out;
  for (auto& x : c) {
    std::string n(x.name.view());
    if (x.default_at != static_cast<std::size_t>(-1)) n += " @" + std::to_string(x.default_at);
    out.push_back(n);
  }
  return out;
}

TEST_CASE("extension search order, most specific -default first") {
  using V = std::vector<std::string>;
  CHECK(names("", "") == V{".qmail", ".qmaildefault @0"});
  CHECK(names("-", "") == V{".qmail-", ".qmail-default @0"});
  CHECK(names("-", "a") == V{".qmail-a", ".qmail-default @0"});
  CHECK(names("-", "a-") == V{".qmail-a-", ".qmail-a-default @2", ".qmail-default @0"});
  CHECK(names("-", "a-b") == V{".qmail-a-b", ".qmail-a-default @2", ".qmail-default @0"});
  CHECK(names("-", "a-b-c") ==
        V{".qmail-a-b-c", ".qmail-a-b-default @4", ".qmail-a-default @2", ".qmail-default @0"});
  // A file named for the exact extension that ends in "default" sets it too.
  CHECK(names("-", "x-default") ==
        V{".qmail-x-default @2", ".qmail-x-default @2", ".qmail-default @0"});
}

TEST_CASE("NEWSENDER: kept, -owner, VERP, bounces kept") {
  Str s;
  dotqmail::new_sender(s, "a@b.c", "joe-list", "x.org", false, false);
  CHECK(s == "a@b.c");
  dotqmail::new_sender(s, "a@b.c", "joe-list", "x.org", true, false);
  CHECK(s == "joe-list-owner@x.org");
  dotqmail::new_sender(s, "a@b.c", "joe-list", "x.org", true, true);
  CHECK(s == "joe-list-owner-@x.org-@[]");
  dotqmail::new_sender(s, "a@b.c", "joe-list", "x.org", false, true);
  CHECK(s == "a@b.c");
  dotqmail::new_sender(s, "", "joe-list", "x.org", true, true);
  CHECK(s == "");
  dotqmail::new_sender(s, "#@[]", "joe-list", "x.org", true, true);
  CHECK(s == "#@[]");
}

TEST_CASE("Delivered-To and Return-Path lines") {
  Str s;
  dotqmail::dt_line(s, "joe-x", "example.com");
  CHECK(s == "Delivered-To: joe-x@example.com\n");
  dotqmail::dt_line(s, "a\nb", "h");
  CHECK(s == "Delivered-To: a_b@h\n");
  dotqmail::rp_line(s, "");
  CHECK(s == "Return-Path: <>\n");
  dotqmail::rp_line(s, "a@b.c");
  CHECK(s == "Return-Path: <a@b.c>\n");
  dotqmail::rp_line(s, "a b@c");
  CHECK(s == "Return-Path: <\"a b\"@c>\n");
  dotqmail::rp_line(s, "x\ny@c");
  CHECK(s == "Return-Path: <\"x\\_y\"@c>\n");
}

TEST_CASE("HOST2..4 and EXT2..4") {
  CHECK(dotqmail::host_part("a.b.c.d.e", 2) == "a.b.c.d");
  CHECK(dotqmail::host_part("a.b.c.d.e", 3) == "a.b.c");
  CHECK(dotqmail::host_part("a.b.c.d.e", 4) == "a.b");
  CHECK(dotqmail::host_part("a.b", 4) == "a");
  CHECK(dotqmail::host_part("local", 2) == "local");
  CHECK(dotqmail::ext_part("a-b-c-d", 2) == "b-c-d");
  CHECK(dotqmail::ext_part("a-b-c-d", 3) == "c-d");
  CHECK(dotqmail::ext_part("a-b-c-d", 4) == "d");
  CHECK(dotqmail::ext_part("a-b", 4) == "");
  CHECK(dotqmail::ext_part("", 2) == "");
}

TEST_CASE("program exit codes") {
  using R = dotqmail::ProgramResult;
  CHECK(dotqmail::program_result(0) == R::kOk);
  CHECK(dotqmail::program_result(99) == R::kStop);
  CHECK(dotqmail::program_result(100) == R::kPerm);
  CHECK(dotqmail::program_result(64) == R::kPerm);
  CHECK(dotqmail::program_result(112) == R::kPerm);
  CHECK(dotqmail::program_result(111) == R::kTemp);
  CHECK(dotqmail::program_result(1) == R::kTemp);
  CHECK(dotqmail::program_result(101) == R::kTemp);
}

TEST_CASE("maildir unique names") {
  Str s;
  maildir::append_unique_name(s, {1700000000, 123456, 4321, 7}, "mail.example.com");
  CHECK(s == "1700000000.M123456P4321Q7.mail.example.com");
  s.clear();
  maildir::append_safe_host(s, "a/b:c");
  CHECK(s == "a\\057b\\072c");
  s.clear();
  maildir::append_safe_host(s, std::string(100, 'h'));
  CHECK(s.size() == maildir::kMaxHost);
  // One process, many deliveries in one second: all names differ.
  std::vector<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    Str n;
    maildir::next_unique_name(n);
    CHECK(n.view().find('/') == std::string_view::npos);
    seen.emplace_back(n.view());
  }
  std::sort(seen.begin(), seen.end());
  CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
}

namespace {

using test::TempDir;

std::string at(const TempDir& d, std::string_view name) { return std::string(d.file(name).view()); }

// A message in a file, read from its start.
int message_fd(const TempDir& d, std::string_view text) {
  std::string fn = at(d, "msg");
  Fd w(open_trunc(fn.c_str()));
  REQUIRE(write_all(w.get(), text) == 0);
  int fd = open_read(fn.c_str());
  REQUIRE(fd >= 0);
  return fd;
}

std::vector<std::string> list(const std::string& dir) {
  std::vector<std::string> v;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return v;
  while (struct dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') v.emplace_back(e->d_name);
  ::closedir(d);
  return v;
}

std::string slurp(const std::string& fn) {
  Str s;
  REQUIRE(read_file(fn.c_str(), s) == 0);
  return std::string(s.view());
}

std::string quote_all(std::initializer_list<std::string_view> chunks) {
  char buf[4];  // a tiny buffer: many flushes
  char fn[] = "/tmp/qbox-quote-XXXXXX";
  int fd = ::mkstemp(fn);
  REQUIRE(fd >= 0);
  ::unlink(fn);
  {
    Writer w(fd, buf);
    mbox::FromQuoter q;
    for (auto c : chunks) REQUIRE(q.put(w, c) == 0);
    REQUIRE(q.finish(w) == 0);
    REQUIRE(w.flush() == 0);
  }
  REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);
  Str s;
  REQUIRE(read_all(fd, s) == 0);
  ::close(fd);
  return std::string(s.view());
}

}  // namespace

TEST_CASE("mbox From quoting") {
  CHECK(mbox::needs_quote("From x"));
  CHECK(mbox::needs_quote(">>From "));
  CHECK(!mbox::needs_quote("From"));
  CHECK(!mbox::needs_quote(" From x"));
  CHECK(!mbox::needs_quote("from x"));
  CHECK(quote_all({"From me\nhi\n"}) == ">From me\nhi\n");
  CHECK(quote_all({"a\nFrom b\n>From c\n>>From d\n"}) == "a\n>From b\n>>From c\n>>>From d\n");
  CHECK(quote_all({"Fro\nFrom\n>From\n"}) == "Fro\nFrom\n>From\n");
  CHECK(quote_all({">>\n>\n"}) == ">>\n>\n");
  // Split anywhere.
  CHECK(quote_all({"x\n>", ">Fr", "om ", "y\nFrom", " z"}) == "x\n>>>From y\n>From z\n");
  // A last line without LF gets one; a partial "From" stays as it is.
  CHECK(quote_all({"abc"}) == "abc\n");
  CHECK(quote_all({">>Fro"}) == ">>Fro\n");
  CHECK(quote_all({""}) == "");
  CHECK(quote_all({"From "}) == ">From \n");
  // Long lines and long runs of '>' cost no memory.
  std::string gt(100000, '>');
  CHECK(quote_all({gt, "From x\n"}) == ">" + gt + "From x\n");
  std::string body(300000, 'x');
  CHECK(quote_all({"From ", body}) == ">From " + body + "\n");
}

TEST_CASE("maildir delivery: new/ gets the whole message, tmp/ stays empty") {
  TempDir d;
  std::string md = at(d, "Maildir");
  REQUIRE(::mkdir(md.c_str(), 0700) == 0);
  for (auto sub : {"tmp", "new", "cur"}) REQUIRE(::mkdir((md + "/" + sub).c_str(), 0700) == 0);
  Fd msg(message_fd(d, "Subject: x\n\nbody\n"));
  maildir::Delivery del;
  REQUIRE(maildir::deliver((md + "/").c_str(), "Delivered-To: a@b\n", msg.get(), del));
  auto fresh = list(md + "/new");
  REQUIRE(fresh.size() == 1);
  CHECK(fresh[0] == std::string(del.name.view()));
  CHECK(list(md + "/tmp").empty());
  CHECK(slurp(md + "/new/" + fresh[0]) == "Delivered-To: a@b\nSubject: x\n\nbody\n");

  // A second one, many in a row: distinct names.
  for (int i = 0; i < 20; ++i) {
    REQUIRE(::lseek(msg.get(), 0, SEEK_SET) == 0);
    REQUIRE(maildir::deliver(md.c_str(), "", msg.get(), del));
  }
  CHECK(list(md + "/new").size() == 21);

  // Missing directory: kNoDir. Missing tmp/: kTemp, and nothing in new/.
  CHECK(!maildir::deliver(at(d, "nothere").c_str(), "", msg.get(), del));
  CHECK(del.failure == maildir::Failure::kNoDir);
  CHECK(del.err == ENOENT);
  REQUIRE(::rmdir((md + "/tmp").c_str()) == 0);
  CHECK(!maildir::deliver(md.c_str(), "", msg.get(), del));
  CHECK(del.failure == maildir::Failure::kTemp);
  CHECK(list(md + "/new").size() == 21);

  // Unreadable message: kRead, and the tmp/ file is gone again.
  REQUIRE(::mkdir((md + "/tmp").c_str(), 0700) == 0);
  Fd wonly(open_write(at(d, "msg").c_str()));
  CHECK(!maildir::deliver(md.c_str(), "x", wonly.get(), del));
  CHECK(del.failure == maildir::Failure::kRead);
  CHECK(list(md + "/tmp").empty());
  CHECK(list(md + "/new").size() == 21);
}

TEST_CASE("maildir scan: new and cur, oldest first, nothing from now on") {
  TempDir d;
  std::string md = at(d, "M");
  for (auto sub : {"", "/tmp", "/new", "/cur"}) REQUIRE(::mkdir((md + sub).c_str(), 0700) == 0);
  auto make = [&](const std::string& rel, time_t mtime) {
    std::string fn = md + "/" + rel;
    Fd f(open_trunc(fn.c_str()));
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    REQUIRE(::utimensat(AT_FDCWD, fn.c_str(), ts, 0) == 0);
  };
  make("new/b", 300);
  make("cur/a:2,S", 100);
  make("new/c", 200);
  make("new/.hidden", 50);
  make("new/future", 1000);
  make("tmp/old", 10);
  char cwd[4096];
  REQUIRE(::getcwd(cwd, sizeof cwd));
  REQUIRE(::chdir(md.c_str()) == 0);
  std::vector<maildir::Message> v;
  maildir::ScanError err;
  REQUIRE(maildir::scan(v, true, true, 1000, err) == 0);
  REQUIRE(v.size() == 3);
  CHECK(v[0].path == "cur/a:2,S");
  CHECK(v[1].path == "new/c");
  CHECK(v[2].path == "new/b");
  REQUIRE(maildir::scan(v, true, false, 1000, err) == 0);
  CHECK(v.size() == 2);
  // tmp/ files are old by their access time.
  maildir::clean_tmp(10 + maildir::kTmpLifetime);
  CHECK(list(md + "/tmp").size() == 1);
  maildir::clean_tmp(11 + maildir::kTmpLifetime);
  CHECK(list(md + "/tmp").empty());
  REQUIRE(::unlink("cur/a:2,S") == 0);
  REQUIRE(::rmdir("cur") == 0);
  CHECK(maildir::scan(v, true, true, 1000, err) == -1);
  CHECK(std::string_view(err.subdir) == "cur");
  CHECK(err.opening);
  CHECK(err.err == ENOENT);
  REQUIRE(::chdir(cwd) == 0);
}

TEST_CASE("mbox delivery: appended, quoted, blank line, locked") {
  TempDir d;
  std::string box = at(d, "Mailbox");
  {
    Fd f(open_trunc(box.c_str()));
    REQUIRE(write_all(f.get(), "old\n") == 0);
  }
  Fd msg(message_fd(d, "Subject: x\n\nFrom here\nlast"));
  mbox::Delivery del;
  REQUIRE(mbox::deliver(box.c_str(), "From a@b Thu Jan 01 00:00:00 1970\n", msg.get(), 30, del));
  CHECK(del.locked);
  CHECK(slurp(box) ==
        "old\nFrom a@b Thu Jan 01 00:00:00 1970\nSubject: x\n\n>From here\nlast\n\n");

  // A new file is made with mode 0600.
  std::string fresh = at(d, "New");
  REQUIRE(::lseek(msg.get(), 0, SEEK_SET) == 0);
  REQUIRE(mbox::deliver(fresh.c_str(), "", msg.get(), 30, del));
  struct stat st;
  REQUIRE(::stat(fresh.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  // Someone else holds the lock: give up after the timeout, file unchanged.
  Fd holder(open_read(box.c_str()));
  REQUIRE(::flock(holder.get(), LOCK_EX) == 0);
  REQUIRE(::lseek(msg.get(), 0, SEEK_SET) == 0);
  std::string before = slurp(box);
  CHECK(!mbox::deliver(box.c_str(), "", msg.get(), 1, del));
  CHECK(del.failure == mbox::Failure::kSlowLock);
  CHECK(slurp(box) == before);
  holder.reset();

  // A read error after the lock: the file is cut back to its old length.
  Fd wonly(open_write(at(d, "msg").c_str()));
  CHECK(!mbox::deliver(box.c_str(), "From x\n", wonly.get(), 30, del));
  CHECK(del.failure == mbox::Failure::kRead);
  CHECK(slurp(box) == before);

  // Cannot open.
  CHECK(!mbox::deliver(at(d, "no/such").c_str(), "", msg.get(), 30, del));
  CHECK(del.failure == mbox::Failure::kOpen);
  CHECK(del.err == ENOENT);
}

TEST_CASE("mbox delivery: a write error cuts the file back") {
  TempDir d;
  std::string box = at(d, "Mailbox");
  {
    Fd f(open_trunc(box.c_str()));
    REQUIRE(write_all(f.get(), "old message\n\n") == 0);
  }
  Fd msg(message_fd(d, std::string(200000, 'x') + "\n"));
  // In a child limited to 100000-byte files, where writing past that fails
  // with EFBIG instead of killing it.
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {100000, 100000};
    ::setrlimit(RLIMIT_FSIZE, &rl);
    mbox::Delivery del;
    bool ok = mbox::deliver(box.c_str(), "From x\n", msg.get(), 30, del);
    ::_exit(!ok && del.failure == mbox::Failure::kWrite && del.err == EFBIG ? 0 : 1);
  }
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
  CHECK(slurp(box) == "old message\n\n");
}

TEST_CASE("mbox From lines as qmail's myctime writes them") {
  Str s;
  mbox::append_from_line(s, "", 0);
  CHECK(s == "From MAILER-DAEMON Thu Jan 01 00:00:00 1970\n");
  s.clear();
  mbox::append_from_line(s, "a b\tc\nd@e", 1136214245);
  CHECK(s == "From a-b-c-d@e Mon Jan 02 15:04:05 2006\n");
  s.clear();
  mbox::append_ctime(s, 951782400);  // a leap day
  CHECK(s == "Tue Feb 29 00:00:00 2000\n");
}

// ---- users/assign ----------------------------------------------------------

namespace {

std::string rec(std::string_view key, std::string_view data) {
  return std::string(key) + "|" + std::string(data);
}

}  // namespace

TEST_CASE("users/assign lines become users/cdb records") {
  using R = users::AssignParser::Result;
  using namespace std::string_view_literals;
  users::AssignParser p;
  Str k, d;
  CHECK(p.line("=Joe:joe:1001:1001:/home/joe:::\n", k, d) == R::kRecord);
  CHECK(rec(k, d) == rec("!joe\0"sv, "joe\0" "1001\0" "1001\0/home/joe\0\0"sv));
  CHECK(p.line("+Joe-:joe:1001:1001:/home/joe:-::\n", k, d) == R::kRecord);
  CHECK(rec(k, d) == rec("!joe-"sv, "joe\0" "1001\0" "1001\0/home/joe\0-\0"sv));
  CHECK(p.line("+:alias:7790:2108:/var/qmail/alias:-::\n", k, d) == R::kRecord);
  CHECK(rec(k, d) == rec("!"sv, "alias\0" "7790\0" "2108\0/var/qmail/alias\0-\0"sv));
  CHECK(p.line("+list.:ml:1:1:/h:-:pre:ignored:too\n", k, d) == R::kRecord);
  CHECK(rec(k, d) == rec("!list."sv, "ml\0" "1\0" "1\0/h\0-\0pre"sv));
  CHECK(p.line("+a-:x:1:1:/h:-::\n", k, d) == R::kRecord);  // '-' only once
  CHECK(p.wildchars() == "-.");
  // Any first character but '+' means '='.
  CHECK(p.line("xbob:b:2:2:/b:::\n", k, d) == R::kRecord);
  CHECK(rec(k, d) == rec("!bob\0"sv, "b\0" "2\0" "2\0/b\0\0"sv));
  // Errors: no colon, colon first, too few fields, NUL, no LF.
  CHECK(p.line("=joe\n", k, d) == R::kFormat);
  CHECK(p.line(":joe:1:1:/h:::\n", k, d) == R::kFormat);
  CHECK(p.line("=joe:joe:1:1:/h::\n", k, d) == R::kFormat);
  CHECK(p.line("=j\0e:joe:1:1:/h:::\n"sv, k, d) == R::kFormat);
  CHECK(p.line("=joe:joe:1:1:/h:::", k, d) == R::kFormat);
  CHECK(p.line("", k, d) == R::kFormat);
  CHECK(p.line("\n", k, d) == R::kFormat);
  // The end.
  CHECK(p.line(".\n", k, d) == R::kEnd);
  CHECK(p.line(".", k, d) == R::kEnd);
  CHECK(p.line(".anything", k, d) == R::kEnd);
}

TEST_CASE("users/cdb lookups: exact, then wildcard prefixes") {
  test::TempDir d;
  Str fn = d.file("cdb");
  {
    CdbMaker mk;
    REQUIRE(mk.start(fn.c_str(), d.file("cdb.tmp").c_str()) == 0);
    users::AssignParser p;
    Str k, v;
    for (std::string_view l : {"=joe:joe:1001:100:/home/joe:::\n",
                               "+joe-:joe:1001:100:/home/joe:-::\n",
                               "+list.:ml:1002:100:/home/ml:-:x-:\n",
                               "+:alias:7790:2108:/var/qmail/alias:-::\n"}) {
      REQUIRE(p.line(l, k, v) == users::AssignParser::Result::kRecord);
      REQUIRE(mk.add(k, v) == 0);
    }
    REQUIRE(mk.add("", p.wildchars()) == 0);
    REQUIRE(mk.finish() == 0);
  }
  CdbReader db;
  REQUIRE(db.open(fn.c_str()) == 0);
  users::Assignment a;
  REQUIRE(users::lookup(db, "JOE", a) == 1);
  CHECK(a.user == "joe");
  CHECK(a.uid == "1001");
  CHECK(a.gid == "100");
  CHECK(a.home == "/home/joe");
  CHECK(a.dash == "");
  CHECK(a.ext == "");
  REQUIRE(users::lookup(db, "joe-Foo-bar", a) == 1);
  CHECK(a.dash == "-");
  CHECK(a.ext == "Foo-bar");
  REQUIRE(users::lookup(db, "list.Sub", a) == 1);
  CHECK(a.user == "ml");
  CHECK(a.ext == "x-Sub");
  // No prefix ending in a wildcard character: the catch-all "+:".
  REQUIRE(users::lookup(db, "joex", a) == 1);
  CHECK(a.user == "alias");
  CHECK(a.ext == "joex");
  REQUIRE(users::lookup(db, "", a) == 1);
  CHECK(a.user == "alias");
}

TEST_CASE("users/cdb lookups without a catch-all, and damaged data") {
  test::TempDir d;
  Str fn = d.file("cdb");
  {
    CdbMaker mk;
    REQUIRE(mk.start(fn.c_str(), d.file("cdb.tmp").c_str()) == 0);
    REQUIRE(mk.add(std::string_view("!joe\0", 5), "joe") == 0);  // too few fields
    REQUIRE(mk.add("", "") == 0);
    REQUIRE(mk.finish() == 0);
  }
  CdbReader db;
  REQUIRE(db.open(fn.c_str()) == 0);
  users::Assignment a;
  CHECK(users::lookup(db, "bob", a) == 0);
  errno = 0;
  CHECK(users::lookup(db, "joe", a) == -1);
  CHECK(errno == EPROTO);
}

TEST_CASE("constmap: case-insensitive sets and key:value maps, later lines win") {
  using namespace std::string_view_literals;
  qmail::ConstMap set;
  set.init("Joe\0bob\0\0"sv, false);
  CHECK(set.contains("joe"));
  CHECK(set.contains("BOB"));
  CHECK(set.contains(""));
  CHECK(!set.contains("jo"));
  CHECK(!set.contains("joey"));
  qmail::ConstMap map;
  map.init("joe:a:b\0nocolon\0JOE:c\0ann:\0"sv, true);
  CHECK(map.size() == 3);
  CHECK(map.find("Joe") == "c");
  CHECK(map.find("ann") == "");
  CHECK(!map.find("nocolon"));
  CHECK(!map.find("x"));
  qmail::ConstMap empty;
  empty.init("", true);
  CHECK(!empty.find(""));
  CHECK(qmail::case_compare("abc", "ABD") < 0);
  CHECK(qmail::case_compare("[", "a") < 0);  // folding is ASCII letters only
}
