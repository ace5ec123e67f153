// token822, quote and header fields: expectations checked against qmail's
// own token822.c and quote.c.
#include <doctest/doctest.h>

#include "base/str.hpp"
#include "qmail/header.hpp"
#include "qmail/quote.hpp"
#include "qmail/token822.hpp"

using namespace qbox;
using namespace qbox::qmail;

namespace {

struct Result {
  bool parsed = false;
  int addrlist = -1;
  Str addrs;      // each address as the rewrite saw it, unquoted, then '|'
  Str rewritten;  // unparse of addrlist's output at 80 columns
  Str plain;      // unparse of the parsed tokens without folding
};

Result run(std::string_view field) {
  Result r;
  Tokens in, out;
  Str buf;
  r.parsed = token822_parse(field, in, buf);
  if (!r.parsed) return r;
  r.addrlist = token822_addrlist(in, out, [&](Tokens& a) {
    Str u;
    token822_reverse(a);
    token822_unquote(a, u);
    token822_reverse(a);
    r.addrs.append(u.view());
    r.addrs.push('|');
    return true;
  });
  if (r.addrlist == 1) token822_unparse(out, r.rewritten, 80);
  token822_unparse(in, r.plain, 0);
  return r;
}

}  // namespace

TEST_CASE("token822: address lists, right to left, and qmail's folding") {
  struct Case {
    const char* field;
    const char* addrs;      // what the rewrite saw, right to left
    const char* rewritten;  // addrlist's result written at 80 columns
  } cases[] = {
      {"To: a@b, c@d, eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee@ffffffffffffffffffffffff, "
       "gggggggggggggggggggggg@hhhhhhhhhhhhhhhhhhh, iiii@jjjj\n",
       "iiii@jjjj|gggggggggggggggggggggg@hhhhhhhhhhhhhhhhhhh|"
       "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee@ffffffffffffffffffffffff|c@d|a@b|",
       "To: a@b, c@d, eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee@ffffffffffffffffffffffff,\n"
       "  gggggggggggggggggggggg@hhhhhhhhhhhhhhhhhhh, iiii@jjjj\n"},
      {"To: list: a@b, c@d;, e@f\n", "e@f|c@d|a@b|", "To: list: a@b, c@d;, e@f\n"},
      {"From: \"Joe Q. Public\" <joe@example.org> (the man)\n", "joe@example.org|",
       "From: \"Joe Q. Public\" <joe@example.org>(the man)\n"},
      {"To: <>\n", "|", "To: <>\n"},
      {"To: a b c\n", "c|b|a|", "To: a, b, c\n"},
      {"To: (a (nested) b) x@y\n", "x@y|", "To: x@y (a nested b)\n"},
      {"To: \"e\\\"x\"@y, z\\)y@w\n", "z)y@w|e\"x@y|", "To: \"e\\\"x\"@y, \"z\\)y\"@w\n"},
      {"To: bad <x@y\n", "bad<x@y|", "To: bad <x@y\n"},
      {"To: a) b\n", "b|a)|", "To: \"a\\)\", b\n"},
      {"To: x@[1.2.3.4], \x01odd@y, caf\xe9@z\n", "caf\xe9@z|\x01odd@y|x@[1.2.3.4]|",
       "To: x@[1.2.3.4], \"\x01odd\"@y, \"caf\xe9\"@z\n"},
      {"To: g: ;\n", "", "To: g: ;\n"},
      // qmail takes a ; without a group, and a group in a group, as they come.
      {"To: a;\n", "a|", "To: a;\n"},
      {"To: g: a: b;\n", "b|", "To: g: a: b;\n"},
      {"To: Joe <joe>, bob@x, \"a b\"@c (comment)\n", "a b@c|bob@x|joe|",
       "To: Joe <joe>, bob@x, \"a b\"@c (comment)\n"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.field);
    Result r = run(c.field);
    CHECK(r.addrlist == 1);
    CHECK(r.addrs == c.addrs);
    CHECK(r.rewritten == c.rewritten);
  }
  // Without folding, as parsed.
  CHECK(run(cases[0].field).plain == cases[0].field);
  CHECK(run("To: (a (nested) b) x@y\n").plain == "To: (a nested b) x@y\n");
  // A route outside a group is a syntax error of the list.
  Result r = run("Cc: @a,@b:c@d\n");
  CHECK(r.addrlist == 0);
  CHECK(r.plain == "Cc: @a, @b: c@d\n");
  for (const char* bad : {"To: \"unterminated\n", "To: (open\n", "To: [1.2\n", "To: )x\n",
                          "To: ]x\n", "To: \"a\\"})
    CHECK_FALSE(run(bad).parsed);
}

TEST_CASE("token822: folding keeps lines within 80 columns where it can") {
  Str field("To: ");
  for (int i = 0; i < 40; ++i) {
    if (i) field.append(", ");
    field.append("user");
    field.append_num(static_cast<unsigned>(i));
    field.append("@example.org");
  }
  field.push('\n');
  Tokens in, out;
  Str buf, text;
  REQUIRE(token822_parse(field.view(), in, buf));
  REQUIRE(token822_addrlist(in, out, [](Tokens&) { return true; }) == 1);
  token822_unparse(out, text, 80);
  std::string_view v = text.view();
  int lines = 0;
  while (!v.empty()) {
    std::size_t nl = v.find('\n');
    CHECK(nl <= 80);
    v.remove_prefix(nl + 1);
    ++lines;
  }
  CHECK(lines > 8);
  token822_unparse(out, text, 0);  // 0: one line
  CHECK(text.view().find('\n') == text.size() - 1);
}

TEST_CASE("token822: rewriting an address in place") {
  Tokens in, out;
  Str buf, text;
  REQUIRE(token822_parse("To: joe, Bob <bob@x>\n", in, buf));
  Tokens host;
  Str hbuf;
  REQUIRE(token822_parse("@example.org", host, hbuf));
  REQUIRE(token822_addrlist(in, out, [&](Tokens& a) {
            bool at = false;
            for (const Token& t : a) at = at || t.type == Tok::kAt;
            if (!at) a.insert(a.begin(), host.rbegin(), host.rend());
            return true;
          }) == 1);
  token822_unparse(out, text, 80);
  CHECK(text == "To: joe@example.org, Bob <bob@x>\n");
  // A rewrite may refuse.
  CHECK(token822_addrlist(in, out, [](Tokens&) { return false; }) == 0);
}

TEST_CASE("quote: as little as possible, as qmail's quote") {
  Str s;
  quote(s, "joe.smith+tag");
  CHECK(s == "joe.smith+tag");
  for (std::string_view need : {"", "a b", ".joe", "joe.", "a..b", "a\"b", "a@b", "caf\xe9", "a,b"})
    CHECK(quote_need(need));
  CHECK_FALSE(quote_need("!#$%&'*+-/=?^_`{|}~"));
  s.clear();
  quote(s, "a \"b\"\\\r\n");
  CHECK(s == "\"a \\\"b\\\"\\\\\\\r\\\n\"");
  s.clear();
  quote2(s, "a b@c@d.example");
  CHECK(s == "\"a b@c\"@d.example");
  s.clear();
  quote2(s, "");
  CHECK(s.empty());
  s.clear();
  quote2(s, "no at");
  CHECK(s == "\"no at\"");
}

TEST_CASE("header fields as qmail's hfield") {
  CHECK(field_known("To: x\n") == Field::kTo);
  CHECK(field_known("tO \t: x\n") == Field::kTo);
  CHECK(field_known("RESENT-message-ID:<x>\n") == Field::kResentMessageId);
  CHECK(field_known("Reply_To: x\n") == Field::kUnknown);
  CHECK(field_known("Tox: x\n") == Field::kUnknown);
  CHECK(field_known("To x: y\n") == Field::kUnknown);
  CHECK(field_known("To") == Field::kUnknown);
  CHECK(field_known("Mail-Followup-To: a\n") == Field::kMailFollowupTo);
  CHECK(field_known("Content-Length: 5\n") == Field::kContentLength);
  CHECK(field_valid("X-Anything: y\n"));
  CHECK(field_valid("X \t: y\n"));
  CHECK_FALSE(field_valid(": y\n"));
  CHECK_FALSE(field_valid(" X: y\n"));
  CHECK_FALSE(field_valid("X Y: z\n"));
  CHECK_FALSE(field_valid("no colon\n"));
  CHECK_FALSE(field_valid("X\x7f: y\n"));
  CHECK(field_skip_name("Subject: \t\n hi\n") == 12);
  CHECK(field_skip_name("Subject") == 7);
}
