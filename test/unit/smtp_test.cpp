#include <doctest/doctest.h>

#include <cstring>
#include <unistd.h>

#include "base/str.hpp"
#include "cdb/cdb.hpp"
#include "qmail/constmap.hpp"
#include "qmail/control.hpp"
#include "smtp/command.hpp"
#include "smtp/data.hpp"
#include "smtp/policy.hpp"
#include "smtp/received.hpp"
#include "smtp/validrcptto.hpp"
#include "test/unit/tempdir.hpp"

using namespace qbox;
using namespace qbox::smtp;
using namespace std::literals;

namespace {

std::string_view V(const char* s, std::size_t n) { return {s, n}; }

Str addr_of(std::string_view arg, bool* ok = nullptr, std::string_view* params = nullptr) {
  Str a("junk");
  ParsedAddress p = parse_address(arg, a);
  if (ok) *ok = p.ok;
  if (params) *params = p.params;
  return a;
}

struct Decoded {
  DataReader::Status status;
  Str message;
  std::size_t used = 0;
};

// Feeds the whole input at once, then again a byte at a time: the result
// must not depend on how the bytes arrive.
Decoded decode(std::string_view in, std::uint64_t databytes = 0, bool strip = false) {
  Decoded d;
  DataReader r(databytes, strip);
  d.status = r.feed(in, d.used, d.message);
  DataReader r2(databytes, strip);
  Str out2;
  std::size_t total = 0;
  DataReader::Status st = DataReader::Status::kMore;
  for (std::size_t i = 0; i < in.size() && st == DataReader::Status::kMore; ++i) {
    std::size_t used = 0;
    st = r2.feed(in.substr(i, 1), used, out2);
    total += used;
  }
  CHECK(st == d.status);
  CHECK(out2 == d.message);
  CHECK(total == d.used);
  return d;
}

}  // namespace

TEST_CASE("smtp: commands split as qmail's commands.c splits them") {
  Command c = parse_command("MAIL FROM:<a@b>");
  CHECK(c.verb == Verb::kMail);
  CHECK(c.name == "MAIL");
  CHECK(c.arg == "FROM:<a@b>");
  c = parse_command("rcpt    TO:<x@y> ");
  CHECK(c.verb == Verb::kRcpt);
  CHECK(c.arg == "TO:<x@y> ");
  CHECK(parse_command("eHlO host").verb == Verb::kEhlo);
  CHECK(parse_command("DATA").verb == Verb::kData);
  CHECK(parse_command("DATA").arg.empty());
  CHECK(parse_command("StartTLS").verb == Verb::kStarttls);
  CHECK(parse_command("AUTH PLAIN dGVzdA==").verb == Verb::kAuth);
  CHECK(parse_command("AUTH PLAIN dGVzdA==").arg == "PLAIN dGVzdA==");
  for (const char* v : {"helo", "ehlo", "mail", "rcpt", "data", "rset", "noop", "vrfy", "help", "quit"})
    CHECK(parse_command(v).verb != Verb::kUnknown);
  // Unknown verbs, a tab instead of a space, a NUL in the verb, nothing.
  CHECK(parse_command("XYZZY").verb == Verb::kUnknown);
  CHECK(parse_command("MAIL\tFROM:<a>").verb == Verb::kUnknown);
  CHECK(parse_command(V("DA\0TA", 5)).verb == Verb::kUnknown);
  CHECK(parse_command("").verb == Verb::kUnknown);
  CHECK(parse_command(" MAIL").verb == Verb::kUnknown);
  CHECK(parse_command("MAILFROM:<a@b>").verb == Verb::kUnknown);
}

TEST_CASE("smtp: addresses as qmail's addrparse reads them") {
  CHECK(addr_of("FROM:<joe@example.org>") == "joe@example.org");
  CHECK(addr_of("TO:<>") == "");
  CHECK(addr_of("FROM:<>").empty());
  // Source routes are dropped.
  CHECK(addr_of("TO:<@relay.example,@other.example:joe@example.org>") == "joe@example.org");
  CHECK(addr_of("TO:<@relay.example>") == "");
  // Quotes go, escapes are taken literally, a quoted '>' does not end it.
  CHECK(addr_of("TO:<\"joe smith\"@example.org>") == "joe smith@example.org");
  CHECK(addr_of("TO:<\"a>b\"@example.org>") == "a>b@example.org");
  CHECK(addr_of("TO:<a\\>b@example.org>") == "a>b@example.org");
  CHECK(addr_of("TO:<a\\\"b@c>") == "a\"b@c");
  // No brackets: the word after the colon (spaces skipped).
  CHECK(addr_of("FROM:joe@example.org") == "joe@example.org");
  CHECK(addr_of("FROM: joe@example.org SIZE=10") == "joe@example.org");
  CHECK(addr_of("FROM:").empty());
  CHECK(addr_of("joe@example.org").empty());  // no colon, no bracket: nothing
  // Text before the bracket is ignored; a missing '>' ends at the end.
  CHECK(addr_of("FROM:Joe <joe@example.org>") == "joe@example.org");
  CHECK(addr_of("FROM:<joe@example.org") == "joe@example.org");
  // A NUL ends the argument as it ends a C string.
  CHECK(addr_of(V("TO:<a@b\0c>", 10)) == "a@b");
  // Parameters after the address.
  std::string_view params;
  addr_of("FROM:<a@b> SIZE=1000 BODY=8BITMIME", nullptr, &params);
  CHECK(params == "SIZE=1000 BODY=8BITMIME");
  addr_of("FROM:a@b  SIZE=5", nullptr, &params);
  CHECK(params == "SIZE=5");
  // The length limit: 899 bytes pass, 900 do not.
  bool ok = false;
  Str longest(std::string_view("TO:<"));
  for (int i = 0; i < 899; ++i) longest.push('a');
  longest.push('>');
  CHECK(addr_of(longest.view(), &ok).size() == 899);
  CHECK(ok);
  Str too_long(std::string_view("TO:<"));
  for (int i = 0; i < 900; ++i) too_long.push('a');
  addr_of(too_long.view(), &ok);
  CHECK_FALSE(ok);
  CHECK(address_domain("a@b@example.org") == "example.org");
  CHECK(address_domain("joe") == "");
}

TEST_CASE("smtp: the SIZE parameter") {
  CHECK(size_param("SIZE=1000") == 1000u);
  CHECK(size_param("BODY=8BITMIME size=42") == 42u);
  CHECK(size_param("SIZE=12x") == 12u);
  CHECK_FALSE(size_param("BODY=7BIT").has_value());
  CHECK_FALSE(size_param("").has_value());
  CHECK(size_param("SIZE=99999999999999999999999") == UINT64_MAX);
}

TEST_CASE("smtp: DATA ends at CR LF . CR LF only") {
  Decoded d = decode("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  CHECK(d.status == DataReader::Status::kEnd);
  CHECK(d.message == "Subject: x\n\nbody\n");
  CHECK(d.used == std::strlen("Subject: x\r\n\r\nbody\r\n.\r\n"));
  // At once: an empty message.
  d = decode(".\r\n");
  CHECK(d.status == DataReader::Status::kEnd);
  CHECK(d.message == "");
  // Dot stuffing removed; a dot inside a line kept.
  d = decode("..x\r\na.b\r\n...\r\n.\r\n");
  CHECK(d.message == ".x\na.b\n..\n");
  CHECK(d.status == DataReader::Status::kEnd);
}

TEST_CASE("smtp: every smuggling variant of end-of-data is refused or kept as data") {
  // Each starts after a proper line; none may end the data.
  struct Case {
    std::string_view in;
    DataReader::Status want;
  };
  const Case cases[] = {
      {"a\r\n\n.\n"sv, DataReader::Status::kBareLf},           // <LF>.<LF>
      {"a\n.\r\n"sv, DataReader::Status::kBareLf},             // <LF>.<CR><LF>
      {"a\r\n.\n"sv, DataReader::Status::kBareLf},             // <CR><LF>.<LF>
      {"a\r\n.\nMAIL"sv, DataReader::Status::kBareLf},
      {"a\r.\r"sv, DataReader::Status::kMore},                 // <CR>.<CR>
      {"a\r.\r\n"sv, DataReader::Status::kMore},               // <CR>.<CR><LF>
      {"a\r\n.\r"sv, DataReader::Status::kMore},               // <CR><LF>.<CR>
      {"a\r\n.\rMAIL FROM"sv, DataReader::Status::kMore},
      {"a\r\n.\r\r\n"sv, DataReader::Status::kMore},           // <CR><LF>.<CR><CR><LF>
      {"a\r\r\n.\r\r\n"sv, DataReader::Status::kMore},
      {"a\n"sv, DataReader::Status::kBareLf},                  // any bare LF
      {"\n"sv, DataReader::Status::kBareLf},
      {"a\r\n \n"sv, DataReader::Status::kBareLf},
      {"a\r\n.a\n"sv, DataReader::Status::kBareLf},
      {"a\r\r.\r\r"sv, DataReader::Status::kMore},             // bare CRs
      {"a\r\n\r.\r\n"sv, DataReader::Status::kMore},
      {"a\r\n. \r\n"sv, DataReader::Status::kMore},
      {"a\r\n.\0\r\n"sv, DataReader::Status::kMore},
  };
  for (const Case& c : cases) {
    CAPTURE(c.in);
    Decoded d = decode(c.in);
    CHECK(d.status == c.want);
  }
  // Bare CRs stay in the message; CR CR LF keeps one CR.
  Decoded d = decode("a\rb\r\nc\r\r\n.\r\n");
  CHECK(d.status == DataReader::Status::kEnd);
  CHECK(d.message == "a\rb\nc\r\n");
  // <CR><LF>.<CR> and something else: qmail keeps ".\r" and goes on.
  d = decode("a\r\n.\rx\r\n.\r\n");
  CHECK(d.status == DataReader::Status::kEnd);
  CHECK(d.message == "a\n.\rx\n");
  // A bare LF is reported where it is.
  d = decode("abc\ndef");
  CHECK(d.status == DataReader::Status::kBareLf);
  CHECK(d.used == 3);
}

TEST_CASE("smtp: DATA hops, databytes, header line limit") {
  Str msg;
  for (int i = 0; i < 99; ++i) msg.append("Received: x\r\n");
  msg.append("\r\nReceived: in the body\r\n.\r\n");
  DataReader r;
  Str out;
  std::size_t used = 0;
  CHECK(r.feed(msg.view(), used, out) == DataReader::Status::kEnd);
  CHECK(r.hops() == 99);
  CHECK_FALSE(r.too_many_hops());
  DataReader r2;
  Str msg2("delivered-to: a\r\nDELIVERED-TO: b\r\nreceivedx\r\n");
  for (int i = 0; i < 97; ++i) msg2.append("Received: x\r\n");
  msg2.append(".\r\n");
  out.clear();
  CHECK(r2.feed(msg2.view(), used, out) == DataReader::Status::kEnd);
  CHECK(r2.hops() == 100);
  CHECK(r2.too_many_hops());

  // databytes counts the decoded message; the data is read to its end.
  Decoded d = decode("12345\r\n.\r\n", 6);
  CHECK(d.status == DataReader::Status::kEnd);
  CHECK(d.message == "12345\n");
  DataReader small(6);
  out.clear();
  CHECK(small.feed("12345\r\n.\r\n", used, out) == DataReader::Status::kEnd);
  CHECK_FALSE(small.too_big());
  DataReader smaller(5);
  out.clear();
  CHECK(smaller.feed("12345\r\n.\r\n", used, out) == DataReader::Status::kEnd);
  CHECK(smaller.too_big());
  CHECK(smaller.bytes() == 6);

  Str big("X-Long: ");
  for (std::size_t i = 0; i < kMaxHeaderLine; ++i) big.push('a');
  big.append("\r\n\r\nbody\r\n.\r\n");
  DataReader lim;
  out.clear();
  CHECK(lim.feed(big.view(), used, out) == DataReader::Status::kEnd);
  CHECK(lim.header_line_too_long());
  // The same line in the body is fine.
  Str body("Subject: x\r\n\r\n");
  body.append(big.view());
  DataReader ok;
  out.clear();
  CHECK(ok.feed(body.view(), used, out) == DataReader::Status::kEnd);
  CHECK_FALSE(ok.header_line_too_long());
}

TEST_CASE("smtp: the client's X-AuthUser fields are dropped when asked") {
  Decoded d = decode(
      "X-AuthUser: forged\r\nSubject: s\r\nx-authuser : also\r\n folded\r\nX-AuthUserX: kept\r\n"
      "X-Auth: kept\r\n\r\nX-AuthUser: body\r\n.\r\n",
      0, true);
  CHECK(d.status == DataReader::Status::kEnd);
  CHECK(d.message == "Subject: s\nX-AuthUserX: kept\nX-Auth: kept\n\nX-AuthUser: body\n");
  d = decode("X-AuthUser: forged\r\n\r\n.\r\n", 0, false);
  CHECK(d.message == "X-AuthUser: forged\n\n");
  // A message that ends inside a held-back field name keeps it.
  d = decode("X-Auth\r\n.\r\n", 0, true);
  CHECK(d.message == "X-Auth\n");
  d = decode("X-Auth.\r\n", 0, true);
  CHECK(d.status == DataReader::Status::kMore);
}

TEST_CASE("smtp: the Received line is qmail's") {
  Str out;
  ReceivedInfo r;
  r.remotehost = "relay1.uu.net";
  r.remoteip = "192.48.96.5";
  r.remoteinfo = std::string_view("7");
  r.helo = std::string_view("uunet.uu.net");
  r.local = "silverton.berkeley.edu";
  r.protocol = "SMTP";
  received_line(out, r, 812090814);
  CHECK(out == "Received: from relay1.uu.net (HELO uunet.uu.net) (7@192.48.96.5)\n"
               "  by silverton.berkeley.edu with SMTP; 26 Sep 1995 04:46:54 -0000\n");
  out.clear();
  ReceivedInfo bad;
  bad.remotehost = "unknown";
  bad.remoteip = "1.2.3.4";
  bad.helo = std::string_view("evil\r\nX-Injected: yes (x)");
  bad.local = "mx.example";
  bad.protocol = "(ECDHE-RSA-AES128-GCM-SHA256 encrypted) SMTP";
  received_line(out, bad, 0);
  CHECK(out == "Received: from unknown (HELO evil??X-Injected:?yes??x?) (1.2.3.4)\n"
               "  by mx.example with (ECDHE-RSA-AES128-GCM-SHA256 encrypted) SMTP; 1 Jan 1970 00:00:00 -0000\n");
}

TEST_CASE("smtp: rcpthosts, morercpthosts.cdb, badmailfrom, validrcptto with refusing values") {
  test::TempDir t;
  t.mkdir("control");
  char cwd[4096];
  REQUIRE(::getcwd(cwd, sizeof cwd));
  REQUIRE(::chdir(t.path) == 0);
  qmail::Control ctl;
  RcptHosts open;
  const char* failed = nullptr;
  REQUIRE(open.init(ctl, &failed) == 0);
  CHECK(open.allowed("a@anywhere.example") == 1);  // no rcpthosts: everything
  t.write("control/rcpthosts", "example.org\n.sub.example\n# comment\n");
  {
    CdbMaker mk;
    REQUIRE(mk.start("control/morercpthosts.cdb", "control/morercpthosts.tmp") == 0);
    REQUIRE(mk.add("more.example", "") == 0);
    REQUIRE(mk.add(".wild.example", "") == 0);
    REQUIRE(mk.finish() == 0);
  }
  RcptHosts rh;
  REQUIRE(rh.init(ctl, &failed) == 0);
  CHECK(rh.restricted());
  CHECK(rh.allowed("joe@example.org") == 1);
  CHECK(rh.allowed("joe@EXAMPLE.ORG") == 1);
  CHECK(rh.allowed("joe@x.example.org") == 0);
  CHECK(rh.allowed("joe@a.b.sub.example") == 1);
  CHECK(rh.allowed("joe@sub.example") == 0);
  CHECK(rh.allowed("joe@More.Example") == 1);
  CHECK(rh.allowed("joe@x.wild.example") == 1);
  CHECK(rh.allowed("joe@other.example") == 0);
  CHECK(rh.allowed("joe") == 1);
  CHECK(rh.allowed("joe@") == 0);

  qmail::ConstMap bmf;
  Str lines;
  qmail::control_lines("spam@example.com\n@bad.example\n", lines);
  bmf.init(lines.view(), false);
  CHECK(address_listed(bmf, "spam@example.com"));
  CHECK(address_listed(bmf, "SPAM@Example.COM"));
  CHECK(address_listed(bmf, "anyone@bad.example"));
  CHECK(address_listed(bmf, "a@b@bad.example"));
  CHECK_FALSE(address_listed(bmf, "anyone@sub.bad.example"));
  CHECK_FALSE(address_listed(bmf, "ham@example.com"));
  CHECK_FALSE(address_listed(bmf, ""));

  {
    CdbMaker mk;
    REQUIRE(mk.start("control/validrcptto.cdb", "control/validrcptto.tmp") == 0);
    REQUIRE(mk.add("joe@example.org", "") == 0);
    REQUIRE(mk.add("list-default@example.org", "") == 0);
    REQUIRE(mk.add("@catchall.example", "") == 0);
    REQUIRE(mk.add("gone@example.org", "-") == 0);
    REQUIRE(mk.add("gone@catchall.example", "-") == 0);
    REQUIRE(mk.finish() == 0);
  }
  CdbReader db;
  REQUIRE(db.open("control/validrcptto.cdb") == 0);
  Str key;
  CHECK(validrcptto_check(db, "joe@example.org", &key) == 1);
  CHECK(key == "joe@example.org");
  CHECK(validrcptto_check(db, "Joe@Example.ORG", &key) == 1);
  CHECK(validrcptto_check(db, "bob@example.org", &key) == 0);
  CHECK(validrcptto_check(db, "list-x-y@example.org", &key) == 1);
  CHECK(key == "list-default@example.org");
  CHECK(validrcptto_check(db, "list@example.org", &key) == 0);
  CHECK(validrcptto_check(db, "anyone@catchall.example", &key) == 1);
  CHECK(key == "@catchall.example");
  CHECK(validrcptto_check(db, "gone@example.org", &key) == 0);
  CHECK(validrcptto_check(db, "gone@catchall.example", &key) == 0);
  CHECK(validrcptto_check(db, "nodomain", &key) == 0);
  REQUIRE(::chdir(cwd) == 0);
}
