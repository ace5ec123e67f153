#include <doctest/doctest.h>

#include <cstring>
#include <ctime>
#include <string_view>

#include "time/tai.hpp"

using namespace qbox;

namespace {

std::string_view fmt(const Tai64n& t, char (&buf)[kTai64nHexLen]) {
  fmt_tai64n(buf, t);
  return {buf, sizeof buf};
}

// Feeds s to a Tai64nDigits; returns how many bytes it took.
std::size_t feed(Tai64nDigits& d, std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && d.push(s[i])) ++i;
  return i;
}

}  // namespace

TEST_CASE("TAI64 labels: unix time 0 is 2^62 + 10") {
  CHECK(Tai64n::from_unix(0).sec == 0x400000000000000aULL);
  CHECK(Tai64n::from_unix(-10).sec == 0x4000000000000000ULL);
  CHECK(Tai64n::from_unix(1700000000, 7).unix_sec() == 1700000000);
  CHECK(Tai64n::from_unix(-5).unix_sec() == -5);
  // Labels far below 2^62 wrap to very negative unix times, as in C.
  CHECK(Tai64n{0, 0}.unix_sec() == -4611686018427387914LL);
}

TEST_CASE("pack and unpack are big-endian and inverse") {
  Tai64n t{0x0123456789abcdefULL, 0x3b9ac9ffU};
  char p[12];
  t.pack(p);
  const unsigned char want[12] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x3b, 0x9a, 0xc9, 0xff};
  CHECK(std::memcmp(p, want, 12) == 0);
  CHECK(Tai64n::unpack(p) == t);

  char s[8];
  pack_tai64(s, 0xfedcba9876543210ULL);
  CHECK(static_cast<unsigned char>(s[0]) == 0xfe);
  CHECK(static_cast<unsigned char>(s[7]) == 0x10);
  CHECK(unpack_tai64(s) == 0xfedcba9876543210ULL);

  Tai64n zero{};
  zero.pack(p);
  for (char c : p) CHECK(c == 0);
  CHECK(Tai64n::unpack(p) == zero);
}

TEST_CASE("fmt_tai64n writes @ and 24 lower-case hex digits") {
  char b[kTai64nHexLen];
  CHECK(fmt(Tai64n{0x400000005f5e1000ULL, 0x1dcd6500U}, b) == "@400000005f5e10001dcd6500");
  CHECK(fmt(Tai64n{0, 0}, b) == "@000000000000000000000000");
  CHECK(fmt(Tai64n{~0ULL, ~0U}, b) == "@ffffffffffffffffffffffff");
}

TEST_CASE("scan_tai64n reads what fmt_tai64n writes, in either case") {
  char b[kTai64nHexLen];
  Tai64n t{0x400000006b02374fULL, 123456789};
  auto r = scan_tai64n(fmt(t, b));
  REQUIRE(r);
  CHECK(*r == t);
  auto u = scan_tai64n("@400000006B02374F075BCD15 trailing bytes are ignored");
  REQUIRE(u);
  CHECK(*u == t);
}

TEST_CASE("scan_tai64n refuses short input, a missing @ and bad digits") {
  CHECK_FALSE(scan_tai64n(""));
  CHECK_FALSE(scan_tai64n("@"));
  CHECK_FALSE(scan_tai64n("@400000006b02374f075bcd1"));   // 23 digits
  CHECK_FALSE(scan_tai64n("400000006b02374f075bcd15x"));  // no @
  CHECK_FALSE(scan_tai64n("@400000006b02374f075bcd1g"));  // not hex
  CHECK_FALSE(scan_tai64n("@400000006b02374f 75bcd15"));
  CHECK_FALSE(scan_tai64n("@-00000006b02374f075bcd15"));
  CHECK_FALSE(scan_tai64n(std::string_view("@400000006b02374f\0" "75bcd15", 25)));
  CHECK_FALSE(scan_tai64n("@\xc0" "00000006b02374f075bcd15"));
}

TEST_CASE("now() and now_usec() read the clock as TAI64N") {
  std::int64_t before = std::time(nullptr);
  Tai64n a = Tai64n::now();
  Tai64n b = Tai64n::now_usec();
  std::int64_t after = std::time(nullptr);
  CHECK(a.unix_sec() >= before);
  CHECK(a.unix_sec() <= after);
  CHECK(a.nano < 1000000000U);
  CHECK(b.unix_sec() >= before);
  CHECK(b.unix_sec() <= after);
  CHECK(b.nano % 1000 == 500);  // as daemontools' taia_now
  CHECK(b.nano < 1000000000U);
}

TEST_CASE("Tai64nDigits takes 0-9 and a-f only") {
  Tai64nDigits d;
  CHECK(feed(d, "400000006b02374f075bcd15 x") == 24);
  CHECK(d.sec == 0x400000006b02374fULL);
  CHECK(d.nano == 0x075bcd15U);

  for (char c : std::string_view("ABCDEFgG@ \n/:`\x80\xff", 15)) {
    Tai64nDigits e;
    CHECK_FALSE(e.push(c));
    CHECK(e.sec == 0);
    CHECK(e.nano == 0);
  }
  Tai64nDigits u;
  CHECK(feed(u, "4000000A") == 7);  // an upper-case digit ends the stamp
  CHECK(u.sec == 0);
  CHECK(u.nano == 0x4000000U);
}

TEST_CASE("Tai64nDigits: fewer digits fill from the low end, more keep the last 24") {
  Tai64nDigits d;
  CHECK(feed(d, "1f") == 2);
  CHECK(d.sec == 0);
  CHECK(d.nano == 0x1f);

  Tai64nDigits nine;
  CHECK(feed(nine, "123456789") == 9);
  CHECK(nine.sec == 1);
  CHECK(nine.nano == 0x23456789U);

  Tai64nDigits longer;
  CHECK(feed(longer, "abc" "400000006b02374f075bcd15") == 27);
  CHECK(longer.sec == 0x400000006b02374fULL);
  CHECK(longer.nano == 0x075bcd15U);

  Tai64nDigits none;
  CHECK(feed(none, "") == 0);
  CHECK(none.sec == 0);

  Tai64nDigits big;  // nanoseconds are not checked
  CHECK(feed(big, "4000000000000000ffffffff") == 24);
  CHECK(big.nano == 0xffffffffU);
}
