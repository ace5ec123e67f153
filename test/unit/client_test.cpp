#include <doctest/doctest.h>

#include <cstring>

#include "base/getopt.hpp"
#include "net/client.hpp"

using namespace qbox;
using namespace qbox::net;

namespace {

// Applies tcpclient's options in argv (after a program name).
bool parse(ClientOptions& o, std::initializer_list<const char*> args) {
  char* argv[16] = {const_cast<char*>("tcpclient")};
  int argc = 1;
  for (const char* a : args) argv[argc++] = const_cast<char*>(a);
  GetOpt g(argc, argv, kClientOptions);
  g.quiet();
  int opt;
  while ((opt = g.next()) != -1)
    if (!client_option(o, opt, g.arg())) return false;
  return true;
}

}  // namespace

TEST_CASE("tcpclient -T as 0.88 reads it") {
  struct Case {
    const char* arg;
    unsigned long first, second;
  };
  for (Case c : {Case{"5", 5, 0}, Case{"5+10", 5, 10}, Case{"+7", 0, 7}, Case{"x", 0, 0},
                 Case{"3x4", 3, 0}, Case{"3++4", 3, 0}, Case{"", 0, 0}}) {
    CAPTURE(c.arg);
    ClientOptions o;
    REQUIRE(parse(o, {"-T", c.arg}));
    CHECK(o.conn_timeout[0] == c.first);
    CHECK(o.conn_timeout[1] == c.second);
  }
  ClientOptions o;
  CHECK(o.conn_timeout[0] == 2);
  CHECK(o.conn_timeout[1] == 58);
}

TEST_CASE("tcpclient -i and -p") {
  ClientOptions o;
  REQUIRE(parse(o, {"-i", "127.0.0.5", "-p", "65537"}));
  CHECK(o.local_ip);
  CHECK(o.local.is_v4());
  CHECK(std::memcmp(o.local.ip4(), "\x7f\x00\x00\x05", 4) == 0);
  CHECK(o.local.port == 1);  // wraps as a uint16

  ClientOptions six;
  REQUIRE(parse(six, {"-i", "::1"}));
  CHECK(six.local_ip);
  CHECK_FALSE(six.local.is_v4());

  // The address at the start of the text is enough, as for ip4_scan.
  ClientOptions lax;
  REQUIRE(parse(lax, {"-i", "10.0.0.1junk"}));
  CHECK(lax.local_ip);

  // 0.0.0.0 and :: are no local address at all.
  for (const char* any : {"0.0.0.0", "::"}) {
    ClientOptions a;
    REQUIRE(parse(a, {"-i", any}));
    CHECK_FALSE(a.local_ip);
  }

  ClientOptions bad;
  CHECK_FALSE(parse(bad, {"-i", "junk"}));
  CHECK_FALSE(parse(bad, {"-i", "1.2.3"}));
  CHECK_FALSE(parse(bad, {"-Z"}));
}

TEST_CASE("tcpclient flags") {
  ClientOptions o;
  REQUIRE(parse(o, {"-vDHR", "-t", "9", "-l", "name", "-6"}));
  CHECK(o.verbosity == 2);
  CHECK_FALSE(o.delay);
  CHECK_FALSE(o.remote_host);
  CHECK_FALSE(o.remote_info);
  CHECK(o.info_timeout == 9);
  CHECK(std::strcmp(o.localname, "name") == 0);
  CHECK(o.family == 6);
  REQUIRE(parse(o, {"-qdhr4"}));
  CHECK(o.verbosity == 0);
  CHECK(o.delay);
  CHECK(o.remote_host);
  CHECK(o.remote_info);
  CHECK(o.family == 4);
}
