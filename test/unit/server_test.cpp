#include <doctest/doctest.h>

#include <string_view>

#include "base/str.hpp"
#include "net/names.hpp"
#include "net/server.hpp"

using namespace qbox;
using namespace qbox::net;

namespace {

Str safe(std::string_view s, bool keep_colons = false) {
  Str out;
  append_safe(out, s, keep_colons);
  return out;
}

}  // namespace

TEST_CASE("append_safe: tcpserver's safecats") {
  CHECK(safe("mail.example.com") == "mail.example.com");
  CHECK(safe("a b:c%d\x7f\x01") == "a?b?c?d??");
  CHECK(safe("\xc3\xa9") == "??");
  CHECK(safe("::1") == "??1");
  CHECK(safe("::1", true) == "::1");
  CHECK(safe(std::string_view("ab\0cd", 5)) == "ab");
  CHECK(safe("") == "");
  Str s99, s100, s101;
  for (int i = 0; i < 99; ++i) s99.push('x');
  s100 = s99;
  s100.push('x');
  s101 = s100;
  s101.push('y');
  CHECK(safe(s99) == s99);
  // 100 bytes or more: the first 100, then "..." (even at exactly 100).
  CHECK(safe(s100) == Str(s100).append("..."));
  CHECK(safe(s101) == Str(s100).append("..."));
}

TEST_CASE("parse_loadavg: the limits patch's reading, x100") {
  CHECK(parse_loadavg("0.00 0.01 0.05 1/123 4567\n") == 0);
  CHECK(parse_loadavg("1.50 0.01 0.05 1/123 4567\n") == 150);
  CHECK(parse_loadavg("13.08 3.04 1.00 34/170 14190\n") == 1308);
  CHECK(parse_loadavg("1234.56 1 1 1/1 1\n") == 123456);
  CHECK(parse_loadavg("12345.67 1 1 1/1 1\n") == 0);  // five digits: refused
  CHECK(parse_loadavg("2.5 x") == 200);                // not two decimals
  CHECK(parse_loadavg("7") == 0);
  CHECK(parse_loadavg("") == 0);
  CHECK(load_average_x100() < 100000000);
}

TEST_CASE("server_option: tcpserver's option letters") {
  ServerOptions o;
  CHECK(server_option(o, 'c', "100"));
  CHECK(o.limit == 100);
  CHECK(server_option(o, 'b', "7x"));
  CHECK(o.backlog == 7);
  CHECK(server_option(o, 't', "abc"));
  CHECK(o.timeout == 0);
  CHECK(server_option(o, 'q', nullptr));
  CHECK(o.verbosity == 0);
  CHECK(server_option(o, 'v', nullptr));
  CHECK(o.verbosity == 2);
  CHECK(server_option(o, 'D', nullptr));
  CHECK_FALSE(o.delay);
  CHECK(server_option(o, 'H', nullptr));
  CHECK_FALSE(o.remote_host);
  CHECK(server_option(o, 'p', nullptr));
  CHECK(o.paranoid);
  CHECK(server_option(o, 'R', nullptr));
  CHECK_FALSE(o.remote_info);
  CHECK(server_option(o, 'o', nullptr));
  CHECK_FALSE(o.kill_ip_options);
  CHECK(server_option(o, 'x', "rules.cdb"));
  CHECK(std::string_view(o.rules) == "rules.cdb");
  CHECK(server_option(o, 'X', nullptr));
  CHECK(o.allow_no_rules);
  CHECK(server_option(o, 'u', "65534"));
  CHECK(o.uid == 65534);
  CHECK(server_option(o, '1', nullptr));
  CHECK(o.print_port);
  CHECK(server_option(o, 'l', "0"));
  CHECK(std::string_view(o.localname) == "0");
  CHECK_FALSE(server_option(o, 'Z', nullptr));
  CHECK_FALSE(server_option(o, '4', nullptr));
}

TEST_CASE("host_addresses: literal addresses need no DNS") {
  Str out;
  REQUIRE(host_addresses("127.0.0.1", out, true) == 0);
  REQUIRE(out.size() == 16);
  CHECK(is_v4mapped(reinterpret_cast<const uint8_t*>(out.data())));
  CHECK(static_cast<uint8_t>(out[12]) == 127);
  CHECK(static_cast<uint8_t>(out[15]) == 1);
  out.clear();
  REQUIRE(host_addresses("::1", out, false) == 0);
  REQUIRE(out.size() == 16);
  CHECK(static_cast<uint8_t>(out[15]) == 1);
  CHECK_FALSE(is_v4mapped(reinterpret_cast<const uint8_t*>(out.data())));
}
