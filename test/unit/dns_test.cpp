// src/dns without a network: names, queries, replies made by hand, and
// resolv.conf. test/unit/dns_resolver_test.cpp runs the resolver against a
// scripted server.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "base/fd.hpp"
#include "dns/conf.hpp"
#include "dns/name.hpp"
#include "dns/packet.hpp"

using namespace qbox;
using namespace qbox::dns;
using namespace std::literals;

namespace {

Name name(std::string_view text) {
  Name n;
  REQUIRE(name_from_text(text, n));
  return n;
}

Str wire(std::string_view text) { return Str(name(text).view()); }

Str text(const Name& n) {
  Str s;
  name_to_text(n, s);
  return s;
}

// A reply under construction: header, the question, then records.
struct Packet {
  Str b;
  Packet(uint16_t id, std::string_view qname, uint16_t qtype, unsigned rcode = 0) {
    u16(id);
    b.push(static_cast<char>(0x81));  // QR, RD
    b.push(static_cast<char>(0x80 | rcode));
    u16(1);
    u16(0);
    u16(0);
    u16(0);
    b.append(wire(qname));
    u16(qtype);
    u16(kClassIn);
  }
  void u16(unsigned v) {
    b.push(static_cast<char>(v >> 8));
    b.push(static_cast<char>(v & 0xff));
  }
  void set16(std::size_t at, unsigned v) {
    b[at] = static_cast<char>(v >> 8);
    b[at + 1] = static_cast<char>(v & 0xff);
  }
  // A record with a wire owner ("\xc0\x0c" for the question name).
  Packet& rr(std::string_view owner, uint16_t type, std::string_view data, uint16_t cls = kClassIn) {
    b.append(owner);
    u16(type);
    u16(cls);
    u16(0);
    u16(300);
    u16(static_cast<unsigned>(data.size()));
    b.append(data);
    unsigned n = static_cast<unsigned char>(b[6]) << 8 | static_cast<unsigned char>(b[7]);
    set16(6, n + 1);
    return *this;
  }
  std::string_view view() const { return b.view(); }
};

const std::string_view kQ = "\xc0\x0c"sv;  // pointer to the question name

Status parse(const Packet& p, std::string_view qname, uint16_t type, std::vector<Record>& out,
             Name* canon = nullptr) {
  return parse_answer(p.view(), name(qname), type, out, canon);
}

}  // namespace

TEST_CASE("dns names: text to wire form and back") {
  CHECK(wire("www.Example.com") == "\3www\7Example\3com\0"sv);
  CHECK(wire("www.example.com.") == "\3www\7example\3com\0"sv);
  CHECK(wire("") == "\0"sv);
  CHECK(wire(".") == "\0"sv);
  CHECK(wire("a\\.b.c") == "\3a.b\1c\0"sv);
  CHECK(wire("\\101\\0.x") == "\2A\0\1x\0"sv);
  Name n;
  CHECK_FALSE(name_from_text("a..b", n));
  CHECK_FALSE(name_from_text(".a", n));
  CHECK_FALSE(name_from_text("a..", n));
  CHECK_FALSE(name_from_text("a\\", n));
  CHECK_FALSE(name_from_text("\\777", n));

  Str l63(std::string_view("0123456789012345678901234567890123456789012345678901234567890123").substr(0, 63));
  CHECK(name_from_text(l63, n));
  Str l64 = l63;
  l64 += 'x';
  CHECK_FALSE(name_from_text(l64, n));
  // 255 wire bytes at most: 3 labels of 63 and one of 61 fit, 62 does not.
  Str longest;
  for (int i = 0; i < 3; ++i) { longest += l63; longest += '.'; }
  longest += l63.view().substr(0, 61);
  CHECK(name_from_text(longest, n));
  CHECK(n.n == 255);
  longest += 'x';
  CHECK_FALSE(name_from_text(longest, n));

  CHECK(text(name("WWW.Example.COM.")) == "www.example.com");
  CHECK(text(name(".")) == ".");
  CHECK(text(name("a\\.b_c\\200.d")) == "a\\056b\\137c\\200.d");
  CHECK(name_equal(name("ExAmple.COM"), name("example.com.")));
  CHECK_FALSE(name_equal(name("example.com"), name("example.co")));
}

TEST_CASE("dns names: djb's lax reading (name_from_dot)") {
  auto dot = [](std::string_view t) {
    Name n;
    REQUIRE(name_from_dot(t, n));
    return Str(n.view());
  };
  CHECK(dot("www.example.com") == "\3www\7example\3com\0"sv);
  CHECK(dot("a..b") == "\1a\1b\0"sv);
  CHECK(dot(".a") == "\1a\0"sv);
  CHECK(dot("a..") == "\1a\0"sv);
  CHECK(dot("..") == "\0"sv);
  CHECK(dot("") == "\0"sv);
  CHECK(dot("4.3.2.1..rbl.test.") == "\0014\0013\0012\0011\3rbl\4test\0"sv);
  CHECK(dot("a\\") == "\1a\0"sv);         // a backslash at the end is dropped
  CHECK(dot("\\777") == "\1\377\0"sv);     // the low 8 bits of 0777
  CHECK(dot("\\101\\.b") == "\3A.b\0"sv);
  Name n;
  Str l64(std::string_view("0123456789012345678901234567890123456789012345678901234567890123"));
  CHECK_FALSE(name_from_dot(l64, n));
  Str big;
  for (int i = 0; i < 4; ++i) { big += l64.view().substr(0, 63); big += ".."; }
  CHECK_FALSE(name_from_dot(big, n));  // 4 labels of 63: over 255 bytes
}

TEST_CASE("dns names: reverse lookup names") {
  Name n;
  const uint8_t ip4[4] = {192, 0, 2, 10};
  reverse_name4(ip4, n);
  CHECK(text(n) == "10.2.0.192.in-addr.arpa");
  uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8};
  ip6[15] = 0x1f;
  reverse_name6(ip6, n);
  CHECK(text(n) == "f.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

TEST_CASE("dns query: header, question, RD") {
  Str q;
  build_query(q, 0x1234, name("www.example.com"), kTypeMx);
  CHECK(q == "\x12\x34\x01\x00\0\1\0\0\0\0\0\0\3www\7example\3com\0\0\x0f\0\1"sv);
}

TEST_CASE("dns reply: A and AAAA records, owner compressed") {
  Packet p(7, "host.test", kTypeA);
  p.rr(kQ, kTypeA, "\xc0\x00\x02\x01"sv).rr(kQ, kTypeA, "\xc0\x00\x02\x02"sv);
  p.rr(wire("other.test"), kTypeA, "\1\1\1\1");   // another owner: ignored
  p.rr(kQ, kTypeA, "\1\1\1\1", 3);                 // class CHAOS: ignored
  p.rr(kQ, kTypeA, "\1\1\1\1\1");                  // 5 bytes: skipped
  CHECK(check_reply(p.view(), 7, name("HOST.test"), kTypeA) == Reply::ok);
  std::vector<Record> out;
  Name canon;
  REQUIRE(parse(p, "host.test", kTypeA, out, &canon) == Status::ok);
  REQUIRE(out.size() == 2);
  CHECK(out[0].data == "\xc0\x00\x02\x01"sv);
  CHECK(out[1].data == "\xc0\x00\x02\x02"sv);
  CHECK(text(canon) == "host.test");

  Packet p6(8, "host.test", kTypeAaaa);
  p6.rr(kQ, kTypeAaaa, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1"sv);
  REQUIRE(parse(p6, "host.test", kTypeAaaa, out) == Status::ok);
  REQUIRE(out.size() == 1);
  CHECK(out[0].data.size() == 16);
}

TEST_CASE("dns reply: MX with compressed names, TXT strings, PTR") {
  Packet p(1, "example.test", kTypeMx);
  // "mx1" + pointer to the question name; then a name with a pointer to
  // a name that itself ends with a pointer.
  std::size_t first = p.b.size() + 12 + 2;  // where the first MX name starts
  p.rr(kQ, kTypeMx, "\0\x14\3mx1\xc0\x0c"sv);
  Str second("\0\x0a\3mx2"sv);
  second.push(static_cast<char>(0xc0));
  second.push(static_cast<char>(first));
  p.rr(kQ, kTypeMx, second);
  std::vector<Record> out;
  REQUIRE(parse(p, "example.test", kTypeMx, out) == Status::ok);
  REQUIRE(out.size() == 2);
  CHECK(out[0].data == "\0\x14\3mx1\7example\4test\0"sv);
  CHECK(out[1].data == "\0\x0a\3mx2\3mx1\7example\4test\0"sv);

  Packet t(2, "txt.test", kTypeTxt);
  t.rr(kQ, kTypeTxt, "\5hello\1 \5world"sv).rr(kQ, kTypeTxt, "\0\3two"sv).rr(kQ, kTypeTxt, ""sv);
  t.rr(kQ, kTypeTxt, "\7short"sv);  // a string longer than the data: skipped
  REQUIRE(parse(t, "txt.test", kTypeTxt, out) == Status::ok);
  REQUIRE(out.size() == 3);
  CHECK(out[0].data == "hello world");
  CHECK(out[1].data == "two");
  CHECK(out[2].data == "");

  Packet r(3, "4.3.2.1.in-addr.arpa", kTypePtr);
  r.rr(kQ, kTypePtr, wire("Host.Example.test"));
  REQUIRE(parse(r, "4.3.2.1.in-addr.arpa", kTypePtr, out) == Status::ok);
  REQUIRE(out.size() == 1);
  CHECK(out[0].data == "\4Host\7Example\4test\0"sv);
}

TEST_CASE("dns reply: CNAME chains") {
  std::vector<Record> out;
  Name canon;
  // a -> b -> c, in any order in the packet.
  Packet p(1, "a.test", kTypeA);
  p.rr(wire("c.test"), kTypeA, "\1\2\3\4");
  p.rr(wire("b.test"), kTypeCname, wire("C.test"));
  p.rr(kQ, kTypeCname, wire("b.test"));
  REQUIRE(parse(p, "a.test", kTypeA, out, &canon) == Status::ok);
  REQUIRE(out.size() == 1);
  CHECK(out[0].data == "\1\2\3\4");
  CHECK(text(canon) == "c.test");
  // Asking for the CNAME itself does not follow it.
  REQUIRE(parse(p, "a.test", kTypeCname, out) == Status::ok);
  CHECK(out[0].data == wire("b.test"));
  // A chain to a name without the records: nodata.
  Packet d(1, "a.test", kTypeA);
  d.rr(kQ, kTypeCname, wire("b.test"));
  CHECK(parse(d, "a.test", kTypeA, out) == Status::nodata);
  // A loop, and chains of 8 and 9 links.
  Packet l(1, "a.test", kTypeA);
  l.rr(kQ, kTypeCname, wire("b.test")).rr(wire("b.test"), kTypeCname, wire("a.test"));
  CHECK(parse(l, "a.test", kTypeA, out) == Status::temporary);
  for (int links : {8, 9}) {
    Packet c(1, "n0.test", kTypeA);
    for (int i = 0; i < links; ++i) {
      Str from("n"), to("n");
      from.append_num(i);
      to.append_num(i + 1);
      from += ".test";
      to += ".test";
      c.rr(wire(from), kTypeCname, wire(to));
    }
    Str last("n");
    last.append_num(links);
    last += ".test";
    c.rr(wire(last), kTypeA, "\1\2\3\4");
    CHECK(parse(c, "n0.test", kTypeA, out) == (links == 8 ? Status::ok : Status::temporary));
  }
}

TEST_CASE("dns reply: rcodes, nodata, and checks against the question") {
  Name q = name("host.test");
  std::vector<Record> out;
  Packet ok(0x4242, "host.test", kTypeA);
  CHECK(check_reply(ok.view(), 0x4242, q, kTypeA) == Reply::ok);
  CHECK(parse(ok, "host.test", kTypeA, out) == Status::nodata);
  CHECK(check_reply(ok.view(), 0x4243, q, kTypeA) == Reply::mismatch);           // wrong ID
  CHECK(check_reply(ok.view(), 0x4242, name("hos.test"), kTypeA) == Reply::mismatch);
  CHECK(check_reply(ok.view(), 0x4242, name("Host.TEST"), kTypeA) == Reply::ok);
  CHECK(check_reply(ok.view(), 0x4242, q, kTypeAaaa) == Reply::mismatch);        // wrong type

  Packet noqr = ok;
  noqr.b[2] = 0x01;
  CHECK(check_reply(noqr.view(), 0x4242, q, kTypeA) == Reply::mismatch);
  Packet opcode = ok;
  opcode.b[2] = static_cast<char>(0x81 | 2 << 3);
  CHECK(check_reply(opcode.view(), 0x4242, q, kTypeA) == Reply::mismatch);
  Packet twoq = ok;
  twoq.set16(4, 2);
  CHECK(check_reply(twoq.view(), 0x4242, q, kTypeA) == Reply::mismatch);
  Packet chaos = ok;
  chaos.set16(chaos.b.size() - 2, 3);
  CHECK(check_reply(chaos.view(), 0x4242, q, kTypeA) == Reply::mismatch);
  Packet tc = ok;
  tc.b[2] = static_cast<char>(0x83);
  CHECK(check_reply(tc.view(), 0x4242, q, kTypeA) == Reply::truncated);

  Packet nx(1, "host.test", kTypeA, 3);
  CHECK(check_reply(nx.view(), 1, q, kTypeA) == Reply::ok);
  CHECK(parse(nx, "host.test", kTypeA, out) == Status::nxdomain);
  for (unsigned rcode : {1u, 2u, 4u, 5u, 9u}) {
    Packet f(1, "host.test", kTypeA, rcode);
    CHECK(check_reply(f.view(), 1, q, kTypeA) == Reply::failed);
    CHECK(parse(f, "host.test", kTypeA, out) == Status::temporary);
  }
  CHECK(check_reply("", 0, q, kTypeA) == Reply::mismatch);
  CHECK(parse_answer("\0\0\x81\x80"sv, q, kTypeA, out) == Status::temporary);
}

TEST_CASE("dns reply: compression pointers that loop or point out of bounds") {
  Name q = name("host.test");
  std::vector<Record> out;
  Name n;
  auto bad_owner = [&](std::string_view owner) {
    Packet p(0x4142, "host.test", kTypeA);
    p.rr(kQ, kTypeA, "\1\2\3\4");
    std::size_t at = p.b.size();
    p.rr(owner, kTypeA, "\1\2\3\4");
    CHECK(read_name(p.view(), at, n) == 0);
    CHECK(check_reply(p.view(), 0x4142, q, kTypeA) == Reply::failed);
    CHECK(parse_answer(p.view(), q, kTypeA, out) == Status::temporary);
    CHECK(out.empty());
  };
  bad_owner("\xc0\x00"sv);  // into the header, where 0x41 is no label length
  bad_owner("\xff\xff"sv);  // past the end
  bad_owner("\x01" "a\xc0\x13"sv);  // into the middle of a label
  // A pointer to itself.
  Packet self(1, "host.test", kTypeA);
  std::size_t at = self.b.size();
  Str loop;
  loop.push(static_cast<char>(0xc0));
  loop.push(static_cast<char>(at));
  self.rr(loop, kTypeA, "\1\2\3\4");
  CHECK(read_name(self.view(), at, n) == 0);
  CHECK(parse_answer(self.view(), q, kTypeA, out) == Status::temporary);
  // Two pointers to each other; a label then a pointer back to that label.
  std::string_view two = "\0\0\0\0\0\0\0\0\0\0\0\0\xc0\x0e\xc0\x0c"sv;
  CHECK(read_name(two, 12, n) == 0);
  CHECK(read_name(two, 14, n) == 0);
  CHECK(read_name("\0\0\0\0\0\0\0\0\0\0\0\0\1a\xc0\x0c"sv, 12, n) == 0);
  // A pointer cut in half at the end of the packet; a label running past it.
  CHECK(read_name("\0\0\0\0\0\0\0\0\0\0\0\0\1a\xc0"sv, 12, n) == 0);
  CHECK(read_name("\0\0\0\0\0\0\0\0\0\0\0\0\5ab"sv, 12, n) == 0);
  // Pointers followed: the result is the position after the first pointer.
  CHECK(read_name("\0\0\0\0\0\0\0\0\0\0\0\0\1a\0\1b\xc0\x0c"sv, 15, n) == 19);
  CHECK(n.view() == "\1b\1a\0"sv);
  // Pointers only go backwards, even to a good name.
  CHECK(read_name("\xc0\x02\1a\0"sv, 0, n) == 0);
  CHECK(read_name("\1a\0\xc0\x00"sv, 3, n) == 5);
  // Label types 0x40 and 0x80 are refused.
  CHECK(read_name("\x41x\0"sv, 0, n) == 0);
  CHECK(read_name("\x81x\0"sv, 0, n) == 0);
  // A record whose owner is fine but whose fixed part runs past the end.
  Packet shifted(1, "host.test", kTypeA);
  shifted.rr("\x01" "a\xc0\x0c\x01"sv, kTypeA, "\1\2\3\4");
  CHECK(check_reply(shifted.view(), 1, q, kTypeA) == Reply::failed);
}

// n labels of `len` bytes each, in wire form without the root.
static Str labels(int n, std::size_t len) {
  Str s;
  for (int i = 0; i < n; ++i) {
    s.push(static_cast<char>(len));
    for (std::size_t k = 0; k < len; ++k) s.push('a');
  }
  return s;
}

TEST_CASE("dns reply: names over 255 bytes, in place or through pointers") {
  Name q = name("host.test");
  Name n;
  std::vector<Record> out;
  Str fits = labels(3, 63);
  fits += labels(1, 61);
  fits += "\0"sv;
  Str over = labels(4, 63);
  over += "\0"sv;
  CHECK(read_name(fits, 0, n) == 255);
  CHECK(n.n == 255);
  CHECK(read_name(over, 0, n) == 0);

  Packet p(1, "host.test", kTypeA);
  p.rr(over, kTypeA, "\1\2\3\4");
  CHECK(check_reply(p.view(), 1, q, kTypeA) == Reply::failed);
  CHECK(parse_answer(p.view(), q, kTypeA, out) == Status::temporary);

  // 193 bytes in a first record's owner; then 62 + a pointer to it is 256.
  for (std::size_t len : {61u, 62u}) {
    Packet c(1, "host.test", kTypeA);
    std::size_t at = c.b.size();
    Str first = labels(3, 63);
    first += "\0"sv;
    c.rr(first, kTypeA, "\1\2\3\4");
    std::size_t second = c.b.size();
    Str owner = labels(1, len);
    owner.push(static_cast<char>(0xc0 | at >> 8));
    owner.push(static_cast<char>(at & 0xff));
    c.rr(owner, kTypeA, "\1\2\3\4");
    CHECK((read_name(c.view(), second, n) != 0) == (len == 61));
    CHECK(check_reply(c.view(), 1, q, kTypeA) == (len == 61 ? Reply::ok : Reply::failed));
  }
}

TEST_CASE("dns reply: every truncation of a good reply is refused") {
  Packet p(9, "example.test", kTypeMx);
  p.rr(kQ, kTypeMx, "\0\x0a\4mail\xc0\x0c"sv);
  p.rr(kQ, kTypeMx, "\0\x14\4mx-2\xc0\x0c"sv);
  Name q = name("example.test");
  std::vector<Record> out;
  REQUIRE(check_reply(p.view(), 9, q, kTypeMx) == Reply::ok);
  for (std::size_t len = 0; len < p.b.size(); ++len) {
    std::string_view cut = p.view().substr(0, len);
    CAPTURE(len);
    CHECK(check_reply(cut, 9, q, kTypeMx) != Reply::ok);
    CHECK(parse_answer(cut, q, kTypeMx, out) == Status::temporary);
    CHECK(out.empty());
  }
}

TEST_CASE("dns reply: at most kMaxRecords records are kept") {
  Packet p(1, "many.test", kTypeA);
  for (unsigned i = 0; i < 300; ++i) {
    char ip[4] = {10, 0, static_cast<char>(i >> 8), static_cast<char>(i & 0xff)};
    p.rr(kQ, kTypeA, {ip, 4});
  }
  std::vector<Record> out;
  REQUIRE(parse(p, "many.test", kTypeA, out) == Status::ok);
  CHECK(out.size() == kMaxRecords);
  CHECK(out.back().data == "\12\0\0\x7f"sv);
}

// ---- resolv.conf -----------------------------------------------------------

static Str addr_text(const Server& s) {
  char buf[INET6_ADDRSTRLEN];
  REQUIRE(inet_ntop(s.family, s.addr, buf, sizeof buf));
  return Str(buf);
}

TEST_CASE("resolv.conf: every keyword, comments and junk") {
  Config c;
  parse_resolv_conf(
      "# comment\n"
      "; another comment\n"
      "nameserver 192.0.2.1\n"
      "nameserver\t2001:db8::53   # trailing words are ignored\n"
      "nameserver not-an-address\n"
      "nameserver fe80::1%7\n"
      "nameserver 192.0.2.4\n"  // a fourth: ignored
      "nameserver1.2.3.4\n"     // no blank after the keyword
      " nameserver 192.0.2.5\n" // not at the start of the line
      "domain first.test\n"
      "search one.test two.test.\tthree.test\r\n"
      "options ndots:3 timeout:2 attempts:4 rotate debug port:5353 inet6\n"
      "garbage line\n"
      "sortlist 10.0.0.0/8\n",
      c);
  REQUIRE(c.servers.size() == 3);
  CHECK(c.servers[0].family == AF_INET);
  CHECK(addr_text(c.servers[0]) == "192.0.2.1");
  CHECK(c.servers[1].family == AF_INET6);
  CHECK(addr_text(c.servers[1]) == "2001:db8::53");
  CHECK(addr_text(c.servers[2]) == "fe80::1");
  CHECK(c.servers[2].scope == 7);
  CHECK(c.servers[0].port == 0);
  REQUIRE(c.search.size() == 3);
  CHECK(c.search[0] == "one.test");
  CHECK(c.search[1] == "two.test");
  CHECK(c.search[2] == "three.test");
  CHECK(c.ndots == 3);
  CHECK(c.timeout == 2);
  CHECK(c.attempts == 4);
  CHECK(c.rotate);
  CHECK(c.port == 5353);
}

TEST_CASE("resolv.conf: defaults, the last of domain and search, caps") {
  Config c;
  CHECK(c.servers.empty());
  CHECK(c.ndots == 1);
  CHECK(c.timeout == 5);
  CHECK(c.attempts == 2);
  CHECK_FALSE(c.rotate);
  CHECK(c.port == 53);
  parse_resolv_conf("search a.test b.test\ndomain c.test\n", c);
  REQUIRE(c.search.size() == 1);
  CHECK(c.search[0] == "c.test");
  parse_resolv_conf("search 1.test 2.test 3.test 4.test 5.test 6.test 7.test bad..name\n", c);
  CHECK(c.search.size() == kMaxSearch);
  parse_resolv_conf("search bad..name .\n", c);
  CHECK(c.search.empty());
  parse_options("ndots:99 timeout:1000 attempts:99999999999999999999999", c);
  CHECK(c.ndots == 15);
  CHECK(c.timeout == 30);
  CHECK(c.attempts == 5);
  parse_options("timeout:0 attempts:0 ndots:0 port:0", c);
  CHECK(c.timeout == 1);
  CHECK(c.attempts == 1);
  CHECK(c.ndots == 0);
  CHECK(c.port == 53);
  parse_options("ndots:x timeout:-1 attempts: ndots:2junk", c);
  CHECK(c.ndots == 0);
  CHECK(c.timeout == 1);
}

namespace {
// A temporary resolv.conf, and the variables load_config reads, restored.
struct ConfFile {
  char path[32] = "/tmp/qbox-resolv-XXXXXX";
  explicit ConfFile(std::string_view text) {
    Fd fd(::mkstemp(path));
    REQUIRE(fd.ok());
    REQUIRE(write_all(fd.get(), text) == 0);
    for (const char* v : {"QBOX_RESOLV_CONF", "LOCALDOMAIN", "RES_OPTIONS"}) ::unsetenv(v);
  }
  ~ConfFile() {
    ::unlink(path);
    for (const char* v : {"QBOX_RESOLV_CONF", "LOCALDOMAIN", "RES_OPTIONS"}) ::unsetenv(v);
  }
};
}  // namespace

TEST_CASE("resolv.conf: $DNSCACHEIP as djb's dns_rcip reads it") {
  Config c;
  parse_resolv_conf("nameserver 192.0.2.1\noptions port:5353\n", c);
  CHECK_FALSE(parse_dnscacheip("", c));
  CHECK_FALSE(parse_dnscacheip("x127.0.0.1", c));
  CHECK_FALSE(parse_dnscacheip("127.0.0", c));
  REQUIRE(c.servers.size() == 1);
  CHECK(addr_text(c.servers[0]) == "192.0.2.1");

  CHECK(parse_dnscacheip("127.0.0.77", c));
  REQUIRE(c.servers.size() == 1);
  CHECK(addr_text(c.servers[0]) == "127.0.0.77");
  CHECK(c.servers[0].port == 0);
  CHECK(c.port == 5353);

  CHECK(parse_dnscacheip("..10.0.0.1.10.0.0.2 10.0.0.3", c));
  REQUIRE(c.servers.size() == 2);
  CHECK(addr_text(c.servers[0]) == "10.0.0.1");
  CHECK(addr_text(c.servers[1]) == "10.0.0.2");

  Str many;
  for (int i = 0; i < 20; ++i) many += "10.0.0.9.";
  CHECK(parse_dnscacheip(many, c));
  CHECK(c.servers.size() == 16);

  ::setenv("DNSCACHEIP", "192.0.2.53", 1);
  Config d;
  CHECK(apply_dnscacheip(d));
  REQUIRE(d.servers.size() == 1);
  CHECK(addr_text(d.servers[0]) == "192.0.2.53");
  ::unsetenv("DNSCACHEIP");
  CHECK_FALSE(apply_dnscacheip(d));
}

TEST_CASE("resolv.conf: load_config, a missing file, and the environment") {
  ConfFile f("nameserver 192.0.2.7\nsearch file.test\noptions ndots:2\n");
  Config c = load_config(f.path);
  REQUIRE(c.servers.size() == 1);
  CHECK(addr_text(c.servers[0]) == "192.0.2.7");
  REQUIRE(c.search.size() == 1);
  CHECK(c.ndots == 2);

  c = load_config("/nonexistent/resolv.conf");
  REQUIRE(c.servers.size() == 1);
  CHECK(addr_text(c.servers[0]) == "127.0.0.1");
  CHECK(c.search.empty());
  CHECK(c.timeout == 5);

  ::setenv("QBOX_RESOLV_CONF", f.path, 1);
  ::setenv("LOCALDOMAIN", "env1.test  env2.test", 1);
  ::setenv("RES_OPTIONS", "attempts:3 ndots:4", 1);
  c = load_config();
  REQUIRE(c.servers.size() == 1);
  CHECK(addr_text(c.servers[0]) == "192.0.2.7");
  REQUIRE(c.search.size() == 2);
  CHECK(c.search[0] == "env1.test");
  CHECK(c.search[1] == "env2.test");
  CHECK(c.attempts == 3);
  CHECK(c.ndots == 4);
}
