#include <doctest/doctest.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <unistd.h>
#include <vector>

#include "base/str.hpp"
#include "cdb/cdb.hpp"
#include "net/rules.hpp"

using namespace qbox;
using namespace qbox::rules;
using namespace std::string_view_literals;

namespace {

struct Rec {
  Str key, value;
};

class VecSink final : public Sink {
 public:
  std::vector<Rec> recs;
  int fail_after = -1;
  int add(std::string_view key, std::string_view value) override {
    if (fail_after == 0) {
      errno = ENOSPC;
      return -1;
    }
    if (fail_after > 0) --fail_after;
    recs.push_back({Str(key), Str(value)});
    return 0;
  }
};

// Compiles a whole source text; "BAD: line" at the first parse error.
std::vector<Rec> compile(std::string_view src, Str* bad = nullptr) {
  VecSink sink;
  while (!src.empty()) {
    std::size_t nl = src.find('\n');
    std::string_view line = src.substr(0, nl == std::string_view::npos ? src.size() : nl + 1);
    src.remove_prefix(line.size());
    if (compile_line(line, sink) == LineStatus::kBad) {
      if (bad) *bad = shown_line(line);
      return {};
    }
  }
  return sink.recs;
}

// One line that must compile: its records as "key=>value" strings.
std::vector<Str> recs(std::string_view line) {
  VecSink sink;
  LineStatus st = compile_line(line, sink);
  CHECK(st == LineStatus::kRule);
  std::vector<Str> out;
  for (auto& r : sink.recs) {
    Str s(r.key);
    s.append("=>");
    s.append(r.value);
    out.push_back(s);
  }
  return out;
}

std::vector<Str> keys(std::string_view line) {
  VecSink sink;
  CHECK(compile_line(line, sink) == LineStatus::kRule);
  std::vector<Str> out;
  for (auto& r : sink.recs) out.push_back(r.key);
  return out;
}

LineStatus status(std::string_view line) {
  VecSink sink;
  return compile_line(line, sink);
}

int collect(void* ctx, std::string_view key) {
  static_cast<std::vector<Str>*>(ctx)->push_back(Str(key));
  return 0;
}

std::vector<Str> order(const Peer& p) {
  std::vector<Str> v;
  CHECK(for_each_key(p, collect, &v) == 0);
  return v;
}

bool same(const std::vector<Str>& got, std::initializer_list<std::string_view> want) {
  if (got.size() != want.size()) return false;
  std::size_t i = 0;
  for (auto w : want)
    if (got[i++].view() != w) return false;
  return true;
}

}  // namespace

TEST_CASE("classic encoding: allow, deny, variables, any quote") {
  CHECK(same(recs("1.2.3.4:allow\n"), {"1.2.3.4=>"}));
  CHECK(same(recs("1.2.3.4:deny\n"), {"1.2.3.4=>D\0"sv}));
  CHECK(same(recs("1.2.3.4:allow,RELAYCLIENT=\"\"\n"), {"1.2.3.4=>+RELAYCLIENT=\0"sv}));
  CHECK(same(recs(":allow,A=\"x\",B=/y/,C=|a\"b|,D=aba\n"),
             {"=>+A=x\0+B=y\0+C=a\"b\0+D=b\0"sv}));
  CHECK(same(recs("=host.example:deny,X=\"1\"\n"), {"=host.example=>D\0+X=1\0"sv}));
  CHECK(same(recs("joe@1.2.3.4:allow\n"), {"joe@1.2.3.4=>"}));
  CHECK(same(recs("=:allow\n"), {"==>"}));
  // The name runs to the first '='; the value may hold '=' and ','.
  CHECK(same(recs("1.:allow,X=\"a=b,c\"\n"), {"1.=>+X=a=b,c\0"sv}));
  CHECK(same(recs("1.:allow,,=\"v\"\n"), {"1.=>+,=v\0"sv}));
  CHECK(same(recs("1.:allow,=\"v\"\n"), {"1.=>+=v\0"sv}));
  // Trailing blanks go; a last line without newline counts.
  CHECK(same(recs("1.2.3.4:allow \t \n"), {"1.2.3.4=>"}));
  CHECK(same(recs("1.2.3.4:deny"), {"1.2.3.4=>D\0"sv}));
  // What follows "allow"/"deny" must be variables; a CR is not a blank.
  CHECK(status("1.2.3.4:allow\r\n") == LineStatus::kBad);
  // Bytes are bytes.
  CHECK(same(recs("a\0b:allow,X=\"\xff\"\n"sv), {"a\0b=>+X=\xff\0"sv}));
}

TEST_CASE("lines that are no rules") {
  for (auto line : {"# comment:allow\n", "\n", "", "   \n", "\t\n", "no colon here\n",
                    "#\n"}) {
    CAPTURE(line);
    CHECK(status(line) == LineStatus::kSkip);
  }
}

TEST_CASE("parse errors") {
  for (auto line : {"1.2.3.4:allowx\n", "1.2.3.4: allow\n", "1.2.3.4:Allow\n", "1.2.3.4:\n",
                    "1.2.3.4:permit\n", "1.2.3.4:allow,X\n", "1.2.3.4:allow,X=\n",
                    "1.2.3.4:allow,X=\"y\n", "1.2.3.4:allow,X=\"y\"junk\n",
                    "1.2.3.4:allow X=\"y\"\n", "1.2.3.4:deny,\n", " #x:y\n", "a-b:allow\n",
                    "1.2.3.x-5:allow\n", "1.2.3.4-5x:allow\n", "=host:x:allow\n"}) {
    CAPTURE(line);
    CHECK(status(line) == LineStatus::kBad);
  }
  // What tcprules shows of a bad line.
  CHECK(shown_line("1.2.3.4:oops  \t\n") == "1.2.3.4:oops");
  CHECK(shown_line("x\0y:z\n"sv) == "x");
  CHECK(shown_line("bad\r\n") == "bad\r");
  Str bad;
  CHECK(compile("1.2.3.4:allow\n\n2.3.4.5:nope\n3.4.5.6:allow\n", &bad).empty());
  CHECK(bad == "2.3.4.5:nope");
}

TEST_CASE("ranges, as tcprules.c expands them") {
  CHECK(same(keys("1.2.3.4-7:allow\n"), {"1.2.3.4", "1.2.3.5", "1.2.3.6", "1.2.3.7"}));
  CHECK(same(keys("1.2.3-5.:deny\n"), {"1.2.3.", "1.2.4.", "1.2.5."}));
  CHECK(same(keys("1.2.3-4.9:deny\n"), {"1.2.3.9", "1.2.4.9"}));
  CHECK(same(keys("7-8:allow\n"), {"7", "8"}));
  CHECK(keys("1.2.3.250-999:allow\n").size() == 6);  // the top is cut at 255
  CHECK(keys("1.2.3.7-4:allow\n").empty());          // an empty range is fine
  CHECK(keys("1.2.3.300-400:allow\n").empty());
  CHECK(same(keys("1.2.3.-1:allow\n"), {"1.2.3.0", "1.2.3.1"}));  // empty numbers are 0
  CHECK(same(keys("-:allow\n"), {"0"}));
  CHECK(same(keys("1.2.3.4-:allow\n"), {}));
  CHECK(same(keys("18446744073709551617-1:allow\n"), {"1"}));  // unsigned long wraps
  CHECK(same(keys("1.2.3.04-05:allow\n"), {"1.2.3.4", "1.2.3.5"}));
  // With '=' or '@' a '-' is just a byte.
  CHECK(same(keys("=a-b.example:allow\n"), {"=a-b.example"}));
  CHECK(same(keys("x-y@1.2.3.4:allow\n"), {"x-y@1.2.3.4"}));
}

TEST_CASE("IPv4 CIDR becomes classic keys") {
  CHECK(same(keys("10.0.0.0/8:allow\n"), {"10."}));
  CHECK(same(keys("10./8:allow\n"), {"10."}));
  CHECK(same(keys("192.168./16:allow\n"), {"192.168."}));
  CHECK(same(keys("192.168.7.0/24:allow\n"), {"192.168.7."}));
  CHECK(same(keys("192.168.7.9/32:allow\n"), {"192.168.7.9"}));
  CHECK(same(keys("192.168.7.9/24:allow\n"), {"192.168.7."}));  // host bits cleared
  auto k = keys("10.1.2.3/12:deny\n");
  REQUIRE(k.size() == 16);
  CHECK(k[0] == "10.0.");
  CHECK(k[15] == "10.15.");
  k = keys("172.16.0.0/12:deny\n");
  CHECK(k[0] == "172.16.");
  CHECK(k[15] == "172.31.");
  k = keys("1.2.3.128/25:allow\n");
  REQUIRE(k.size() == 128);
  CHECK(k[0] == "1.2.3.128");
  CHECK(k[127] == "1.2.3.255");
  CHECK(same(keys("1.2.3.4/31:allow\n"), {"1.2.3.4", "1.2.3.5"}));
  k = keys("0.0.0.0/0:allow\n");
  REQUIRE(k.size() == 256);
  CHECK(k[0] == "0.");
  CHECK(k[255] == "255.");
  CHECK(keys("128.0.0.0/1:allow\n").size() == 128);
  CHECK(same(recs("10.0.0.0/8:deny,X=\"y\"\n"), {"10.=>D\0+X=y\0"sv}));
  for (auto line : {"10.0.0.0/33:allow\n", "10.0.0.0/:allow\n", "1.2.3/8:allow\n",
                    "300.0.0.0/8:allow\n", "1.2.3.4/8/9:allow\n", "1.2.3.4.5/8:allow\n",
                    "/8:allow\n", "1..2./16:allow\n", "1.2.3.4./8:allow\n"}) {
    CAPTURE(line);
    CHECK(status(line) == LineStatus::kBad);
  }
  // Not CIDR-shaped: the classic literal key.
  CHECK(same(keys("=host/x:allow\n"), {"=host/x"}));
  CHECK(same(keys("a/b:allow\n"), {"a/b"}));
}

TEST_CASE("IPv6 rules") {
  CHECK(same(recs("2001:db8::1:allow\n"), {"2001:0db8:0000:0000:0000:0000:0000:0001=>"}));
  CHECK(same(recs("::1:deny,X=\":\"\n"),
             {"0000:0000:0000:0000:0000:0000:0000:0001=>D\0+X=:\0"sv}));
  CHECK(same(keys("fe80:::allow\n"), {"fe80:0000:0000:0000:0000:0000:0000:0000"}));
  CHECK(same(keys("::ffff:1.2.3.4:allow\n"), {"1.2.3.4"}));
  CHECK(same(keys("joe@2001:db8::1:allow\n"), {"joe@2001:0db8:0000:0000:0000:0000:0000:0001"}));
  CHECK(same(keys("joe@::ffff:10.0.0.1:allow\n"), {"joe@10.0.0.1"}));
  CHECK(same(keys("2001:db8::/32:deny\n"), {"2001:0db8:"}));
  CHECK(same(keys("2001:db8:a000::/36:deny\n"), {"2001:0db8:a:"}));
  CHECK(same(keys("2001:db8::1/128:deny\n"), {"2001:0db8:0000:0000:0000:0000:0000:0001"}));
  CHECK(same(keys("2001:db8::1/124:deny\n"), {"2001:0db8:0000:0000:0000:0000:0000:000:"}));
  CHECK(same(keys("2001:db8:ffff::/35:deny\n"), {"2001:0db8:e:", "2001:0db8:f:"}));
  CHECK(same(keys("fe80::/10:allow\n"), {"fe8:", "fe9:", "fea:", "feb:"}));
  CHECK(same(keys("2000::/3:allow\n"), {"2:", "3:"}));
  CHECK(keys("2001:db8::/33:allow\n").size() == 8);
  auto k = keys("::/0:allow\n");
  REQUIRE(k.size() == 16);
  CHECK(k[0] == "0:");
  CHECK(k[15] == "f:");
  // ucspi-tcp6 style prefixes in whole groups.
  CHECK(same(keys("2001:db8::allow\n"), {"2001:0db8:"}));
  CHECK(same(keys("2001::deny\n"), {"2001:"}));
  CHECK(same(keys("1:2:3:4:5:6:7::allow\n"), {"0001:0002:0003:0004:0005:0006:0007:"}));
  // v4-mapped CIDR is the IPv4 rule.
  CHECK(same(keys("::ffff:10.0.0.0/104:allow\n"), {"10."}));
  CHECK(same(keys("::ffff:1.2.3.4/128:allow\n"), {"1.2.3.4"}));
  CHECK(keys("::ffff:0:0/96:allow\n").size() == 256);
  for (auto line : {"2001:db8::1-5:allow\n", "zz::1:allow\n", "2001:db8::/129:allow\n",
                    "2001:db8::/:allow\n", "2001:db8:::/32:allow\n", "::allow\n",
                    "1:2:3:4:5:6:7:8::allow\n", "12345::allow\n", "=host::1:allow\n",
                    "joe@2001:db8::/32:allow\n", "2001:db8::1:allow,X\n", "::1:permit\n",
                    "::1:allow,X=\"a\":allow\n"}) {
    CAPTURE(line);
    CHECK(status(line) == LineStatus::kBad);
  }
}

TEST_CASE("a failing sink stops the line") {
  VecSink sink;
  sink.fail_after = 2;
  CHECK(compile_line("1.2.3.1-9:allow\n", sink) == LineStatus::kSinkFailed);
  CHECK(sink.recs.size() == 2);
  VecSink sink2;
  sink2.fail_after = 0;
  CHECK(compile_line("::/0:allow\n", sink2) == LineStatus::kSinkFailed);
  CHECK(compile_line("1.2.3.4:allow\n", sink2) == LineStatus::kSinkFailed);
}

TEST_CASE("lookup order, as rules.c") {
  CHECK(same(order({"1.2.3.4", std::nullopt, std::nullopt}),
             {"1.2.3.4", "1.2.3.", "1.2.", "1.", ""}));
  CHECK(same(order({"1.2.3.4", "a.b.example", "joe"}),
             {"joe@1.2.3.4", "joe@=a.b.example", "1.2.3.4", "=a.b.example", "1.2.3.", "1.2.",
              "1.", "=.b.example", "=.example", "=", ""}));
  CHECK(same(order({"1.2.3.4", std::nullopt, "joe"}),
             {"joe@1.2.3.4", "1.2.3.4", "1.2.3.", "1.2.", "1.", ""}));
  // Empty values are values; odd IPs are used literally.
  CHECK(same(order({"", "", ""}), {"@", "@=", "", "=", "=", ""}));
  CHECK(same(order({"x.y.", "h.", std::nullopt}),
             {"x.y.", "=h.", "x.y.", "x.", "=.", "=", ""}));
  CHECK(same(order({"garbage", std::nullopt, std::nullopt}), {"garbage", ""}));
  CHECK(same(order({"1:2", std::nullopt, std::nullopt}), {"1:2", ""}));
  // A v4-mapped peer is its IPv4 address.
  CHECK(same(order({"::ffff:10.0.0.1", "h", std::nullopt}),
             {"10.0.0.1", "=h", "10.0.0.", "10.0.", "10.", "=", ""}));
}

TEST_CASE("lookup order for an IPv6 peer") {
  auto v = order({"2001:db8::1", "h.example", "joe"});
  REQUIRE(v.size() == 4 + 31 + 3);
  CHECK(v[0] == "joe@2001:0db8:0000:0000:0000:0000:0000:0001");
  CHECK(v[1] == "joe@=h.example");
  CHECK(v[2] == "2001:0db8:0000:0000:0000:0000:0000:0001");
  CHECK(v[3] == "=h.example");
  CHECK(v[4] == "2001:0db8:0000:0000:0000:0000:0000:000:");
  CHECK(v[5] == "2001:0db8:0000:0000:0000:0000:0000:00:");
  CHECK(v[7] == "2001:0db8:0000:0000:0000:0000:0000:");
  CHECK(v[4 + 23] == "2001:0db8:");
  CHECK(v[4 + 27] == "2001:");
  CHECK(v[4 + 30] == "2:");
  CHECK(v[35] == "=.example");
  CHECK(v[36] == "=");
  CHECK(v[37] == "");
  // Any spelling of the address gives the same keys.
  CHECK(order({"2001:DB8:0:0::1", std::nullopt, std::nullopt})[0] ==
        "2001:0db8:0000:0000:0000:0000:0000:0001");
}

namespace {

struct TmpCdb {
  char dir[32] = "/tmp/qbox-rules-XXXXXX";
  Str path, tmp;
  explicit TmpCdb(std::string_view src) {
    REQUIRE(::mkdtemp(dir));
    path = dir;
    path += "/r.cdb";
    tmp = dir;
    tmp += "/r.tmp";
    CdbMaker mk;
    REQUIRE(mk.start(path.c_str(), tmp.c_str()) == 0);
    for (auto& r : compile(src)) REQUIRE(mk.add(r.key, r.value) == 0);
    REQUIRE(mk.finish() == 0);
  }
  ~TmpCdb() {
    ::unlink(path.c_str());
    ::rmdir(dir);
  }
  // "KEY|VALUE" of the rule found, or "-" for none.
  Str look(std::string_view ip, std::optional<std::string_view> host = std::nullopt,
           std::optional<std::string_view> info = std::nullopt) {
    Match m;
    int r = find_file(path.c_str(), {ip, host, info}, m);
    REQUIRE(r >= 0);
    if (r == 0) return Str("-");
    Str s(m.key);
    s += '|';
    s += m.value;
    return s;
  }
};

}  // namespace

TEST_CASE("find in a cdb: first rule wins, most specific key first") {
  TmpCdb db(
      "1.2.3.4:allow,WHO=\"first\"\n"
      "1.2.3.4:deny\n"
      "1.2.3.:deny\n"
      "=good.example:allow,HOST=\"yes\"\n"
      "joe@1.2.3.9:allow,JOE=\"1\"\n"
      "10.0.0.0/8:allow,NET=\"10\"\n"
      "10.1.0.0/16:deny\n"
      "172.16.0.0/12:allow,NET=\"172\"\n"
      "2001:db8::/32:allow,NET=\"db8\"\n"
      "2001:db8::1:deny\n"
      "2001:db8:8000::/33:deny\n"
      "fe80::/10:allow,LL=\"1\"\n"
      "=.example:allow,DOMAIN=\"1\"\n"
      ":deny\n");
  CHECK(db.look("1.2.3.4") == "1.2.3.4|+WHO=first\0"sv);
  CHECK(db.look("1.2.3.5") == "1.2.3.|D\0"sv);
  CHECK(db.look("1.2.3.5", "good.example") == "=good.example|+HOST=yes\0"sv);
  CHECK(db.look("1.2.3.4", "good.example") == "1.2.3.4|+WHO=first\0"sv);
  CHECK(db.look("1.2.3.9", std::nullopt, "joe") == "joe@1.2.3.9|+JOE=1\0"sv);
  CHECK(db.look("1.2.3.9", std::nullopt, "bob") == "1.2.3.|D\0"sv);
  CHECK(db.look("10.9.9.9") == "10.|+NET=10\0"sv);
  CHECK(db.look("10.1.9.9") == "10.1.|D\0"sv);
  CHECK(db.look("172.20.1.1") == "172.20.|+NET=172\0"sv);
  CHECK(db.look("172.32.1.1") == "|D\0"sv);
  CHECK(db.look("9.9.9.9", "x.example") == "=.example|+DOMAIN=1\0"sv);
  CHECK(db.look("2001:db8::2") == "2001:0db8:|+NET=db8\0"sv);
  CHECK(db.look("2001:db8::1") == "2001:0db8:0000:0000:0000:0000:0000:0001|D\0"sv);
  CHECK(db.look("2001:db8:8123::5") == "2001:0db8:8:|D\0"sv);
  CHECK(db.look("2001:db9::1") == "|D\0"sv);
  CHECK(db.look("fe80::1234") == "fe8:|+LL=1\0"sv);
  CHECK(db.look("febf::1") == "feb:|+LL=1\0"sv);
  CHECK(db.look("fec0::1") == "|D\0"sv);
  CHECK(db.look("::ffff:10.2.3.4") == "10.|+NET=10\0"sv);
}

TEST_CASE("find without a default rule, and errors") {
  TmpCdb db("1.2.3.4:deny\n");
  CHECK(db.look("1.2.3.5") == "-");
  Match m;
  CHECK(find_file("/nonexistent/rules.cdb", {"1.2.3.4", std::nullopt, std::nullopt}, m) == -1);
  CHECK(errno == ENOENT);
}

TEST_CASE("instructions of a rule") {
  std::string_view v = "D\0+A=1\0+NOEQ\0\0x\0+B=\0trailing"sv;
  Instructions ins(v);
  Instruction i;
  REQUIRE(ins.next(i));
  CHECK(i.kind == 'D');
  CHECK(i.body.empty());
  REQUIRE(ins.next(i));
  CHECK(i.kind == '+');
  std::string_view name, value;
  REQUIRE(split_env(i.body, name, value));
  CHECK(name == "A");
  CHECK(value == "1");
  REQUIRE(ins.next(i));
  CHECK(i.body == "NOEQ");
  CHECK_FALSE(split_env(i.body, name, value));
  REQUIRE(ins.next(i));
  CHECK(i.kind == '\0');
  REQUIRE(ins.next(i));
  CHECK(i.kind == 'x');
  REQUIRE(ins.next(i));
  REQUIRE(split_env(i.body, name, value));
  CHECK(name == "B");
  CHECK(value.empty());
  CHECK_FALSE(ins.next(i));  // bytes after the last NUL
  Instructions none("");
  CHECK_FALSE(none.next(i));
}
