#include <doctest/doctest.h>

#include <cstring>
#include <string_view>

#include "net/ip.hpp"

using namespace qbox::net;

namespace {

std::string_view f4(const uint8_t ip[4]) {
  static char b[kIp4Fmt];
  return {b, fmt_ip4(b, ip)};
}
std::string_view f6(const uint8_t ip[16]) {
  static char b[kIp6Fmt];
  return {b, fmt_ip6(b, ip)};
}
std::string_view full(const uint8_t ip[16]) {
  static char b[kIp6FullFmt];
  return {b, fmt_ip6_full(b, ip)};
}
// parse_ip6 then ip6_fmt; "BAD" when it does not parse.
std::string_view round6(std::string_view s) {
  uint8_t ip[16];
  if (!parse_ip6(s, ip)) return "BAD";
  return f6(ip);
}

}  // namespace

TEST_CASE("IPv4: scan, parse, format") {
  uint8_t ip[4];
  CHECK(scan_ip4("1.2.3.4", ip) == 7);
  CHECK(f4(ip) == "1.2.3.4");
  CHECK(scan_ip4("255.255.255.255", ip) == 15);
  CHECK(f4(ip) == "255.255.255.255");
  CHECK(scan_ip4("0.0.0.0", ip) == 7);
  CHECK(f4(ip) == "0.0.0.0");
  // Leading zeros are decimal, as in ip4_scan.
  CHECK(scan_ip4("010.001.0.9", ip) == 11);
  CHECK(f4(ip) == "10.1.0.9");
  // The scanner stops after the fourth part; parse wants all of it.
  CHECK(scan_ip4("1.2.3.4:25", ip) == 7);
  CHECK(scan_ip4("1.2.3.4.5", ip) == 7);
  CHECK_FALSE(parse_ip4("1.2.3.4.5", ip));
  CHECK_FALSE(parse_ip4("1.2.3.4 ", ip));
  CHECK(parse_ip4("127.0.0.1", ip));
  CHECK(f4(ip) == "127.0.0.1");
}

TEST_CASE("IPv4: malformed input") {
  uint8_t ip[4] = {9, 9, 9, 9};
  for (const char* bad : {"", ".", "1", "1.2", "1.2.3", "1.2.3.", "1..2.3", ".1.2.3",
                          "1.2.3.256", "256.1.1.1", "1.2.3.4444", "1.2.3.-4", "a.b.c.d",
                          "1,2,3,4", " 1.2.3.4", "1.2.3.99999999999999999999"}) {
    CAPTURE(bad);
    CHECK(scan_ip4(bad, ip) == 0);
    CHECK_FALSE(parse_ip4(bad, ip));
  }
  // A failed scan leaves the output alone.
  CHECK(ip[0] == 9);
}

TEST_CASE("IPv6: the forms of the notation") {
  uint8_t ip[16];
  REQUIRE(parse_ip6("2001:db8::1", ip));
  CHECK(full(ip) == "2001:0db8:0000:0000:0000:0000:0000:0001");
  REQUIRE(parse_ip6("2001:DB8:0:0:0:0:0:1", ip));
  CHECK(f6(ip) == "2001:db8::1");
  REQUIRE(parse_ip6("::", ip));
  CHECK(full(ip) == "0000:0000:0000:0000:0000:0000:0000:0000");
  REQUIRE(parse_ip6("::1", ip));
  CHECK(ip[15] == 1);
  REQUIRE(parse_ip6("1::", ip));
  CHECK(ip[1] == 1);
  REQUIRE(parse_ip6("1:2:3:4:5:6:7::", ip));  // "::" for one group
  CHECK(full(ip) == "0001:0002:0003:0004:0005:0006:0007:0000");
  REQUIRE(parse_ip6("::2:3:4:5:6:7:8", ip));
  CHECK(full(ip) == "0000:0002:0003:0004:0005:0006:0007:0008");
  REQUIRE(parse_ip6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ip));
  CHECK(f6(ip) == "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  // An IPv4 tail.
  REQUIRE(parse_ip6("::ffff:1.2.3.4", ip));
  CHECK(is_v4mapped(ip));
  CHECK(full(ip) == "0000:0000:0000:0000:0000:ffff:0102:0304");
  REQUIRE(parse_ip6("1:2:3:4:5:6:1.2.3.4", ip));
  CHECK(full(ip) == "0001:0002:0003:0004:0005:0006:0102:0304");
  REQUIRE(parse_ip6("::1.2.3.4", ip));
  CHECK_FALSE(is_v4mapped(ip));
  CHECK(f6(ip) == "::102:304");
}

TEST_CASE("IPv6: link-local is fe80::/10") {
  uint8_t ip[16];
  for (const char* a : {"fe80::1", "fe80::", "febf:ffff::1"}) {
    REQUIRE(parse_ip6(a, ip));
    CHECK(is_link_local(ip));
  }
  for (const char* a : {"fec0::1", "fe7f::1", "::1", "2001:db8::1", "::ffff:169.254.1.1"}) {
    REQUIRE(parse_ip6(a, ip));
    CHECK_FALSE(is_link_local(ip));
  }
}

TEST_CASE("IPv6: scanning stops where the address does") {
  uint8_t ip[16];
  CHECK(scan_ip6("2001:db8::/32", ip) == 10);
  CHECK(scan_ip6("fe80::1%eth0", ip) == 7);
  CHECK(scan_ip6("::1]:25", ip) == 3);
  CHECK(scan_ip6("1::2:", ip) == 4);
  CHECK(scan_ip6("1:2:3:4:5:6:7:8:9", ip) == 15);
  CHECK(scan_ip6("1::2::3", ip) == 4);
  CHECK(scan_ip6(":::", ip) == 2);
}

TEST_CASE("IPv6: malformed input") {
  uint8_t ip[16];
  for (const char* bad : {"", ":", ":1", "1:", "1:2", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9",
                          ":::", "1::2::3", "12345::", "::12345", "g::1", "1:2:3:4:5:6:7:8::",
                          "::1:2:3:4:5:6:7:8", "1.2.3.4", "::1.2.3", "::1.2.3.256",
                          "1:2:3:4:5:6:7:1.2.3.4", "::ffff:1.2.3.4:5", "1:2:3:4:5:6:7:8 ",
                          "[::1]", "::1%eth0", "2001:db8::/32", "fe80:::1"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_ip6(bad, ip));
  }
}

TEST_CASE("parse_ip takes both, IPv4 as v4-mapped") {
  uint8_t ip[16];
  REQUIRE(parse_ip("10.1.2.3", ip));
  CHECK(is_v4mapped(ip));
  CHECK(f6(ip) == "::ffff:10.1.2.3");
  REQUIRE(parse_ip("::1", ip));
  CHECK_FALSE(is_v4mapped(ip));
  CHECK_FALSE(parse_ip("10.1.2", ip));
  CHECK_FALSE(parse_ip("", ip));
  uint8_t v4[4] = {192, 168, 1, 2};
  v4mapped(v4, ip);
  CHECK(f6(ip) == "::ffff:192.168.1.2");
}

TEST_CASE("ip6_fmt: the run of zeros it compresses") {
  CHECK(round6("0:0:0:0:0:0:0:0") == "::");
  CHECK(round6("0:0:0:0:0:0:0:1") == "::1");
  CHECK(round6("1:0:0:0:0:0:0:0") == "1::");
  CHECK(round6("2001:db8:0:0:1:0:0:1") == "2001:db8::1:0:0:1");  // first of equals
  CHECK(round6("2001:0:0:1:0:0:0:1") == "2001:0:0:1::1");        // the longest
  CHECK(round6("1:0:2:3:4:5:6:7") == "1::2:3:4:5:6:7");          // even one group
  CHECK(round6("1:2:3:4:5:6:7:8") == "1:2:3:4:5:6:7:8");
  CHECK(round6("1:2:3:4:5:6:0:0") == "1:2:3:4:5:6::");
  CHECK(round6("0:0:1:2:3:4:5:6") == "::1:2:3:4:5:6");
  CHECK(round6("fe80::0abc:0001") == "fe80::abc:1");
  CHECK(round6("::ffff:0:0") == "::ffff:0.0.0.0");
  CHECK(round6("::ffff:7f00:1") == "::ffff:127.0.0.1");
  CHECK(round6("::fffe:7f00:1") == "::fffe:7f00:1");
  CHECK(round6("1::ffff:7f00:1") == "1::ffff:7f00:1");
}

TEST_CASE("mask_bits clears the host part") {
  uint8_t ip[4] = {10, 255, 255, 255};
  mask_bits(ip, 4, 12);
  CHECK(f4(ip) == "10.240.0.0");
  uint8_t all[4] = {1, 2, 3, 4};
  mask_bits(all, 4, 32);
  CHECK(f4(all) == "1.2.3.4");
  mask_bits(all, 4, 0);
  CHECK(f4(all) == "0.0.0.0");
  uint8_t ip6[16];
  REQUIRE(parse_ip6("2001:db8:ffff::ffff", ip6));
  mask_bits(ip6, 16, 36);
  CHECK(full(ip6) == "2001:0db8:f000:0000:0000:0000:0000:0000");
}
