// The resolver against a real server on loopback: test/system/dnsserver.py,
// started for each case and stopped (and reaped) when the case ends.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <ctime>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "base/fd.hpp"
#include "base/num.hpp"
#include "dns/resolver.hpp"

using namespace qbox;
using namespace qbox::dns;
using namespace std::literals;

namespace {

// The scripted DNS server, running while this object lives. Its stdout
// gives the port, then one line per query it received.
class DnsServer {
 public:
  explicit DnsServer(const char* zone, bool ipv6 = false) : ipv6_(ipv6) {
    int out[2], in[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      const char* v6 = ipv6 ? "--ipv6" : nullptr;
      if (v6)
        ::execl("/usr/bin/python3", "python3", "test/system/dnsserver.py", v6, zone, nullptr);
      else
        ::execl("/usr/bin/python3", "python3", "test/system/dnsserver.py", zone, nullptr);
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_.reset(in[1]);
    stdout_.reset(out[0]);
    Str line = read_line(10000);
    auto port = parse_num(line.view().substr(0, line.size() ? line.size() - 1 : 0), 65535);
    REQUIRE(port);
    port_ = static_cast<uint16_t>(*port);
  }
  ~DnsServer() {
    stdin_.reset();  // the server stops at the end of its input
    ::kill(pid_, SIGTERM);
    int st;
    ::waitpid(pid_, &st, 0);
  }

  uint16_t port() const { return port_; }
  Server server() const {
    Server s;
    s.family = ipv6_ ? AF_INET6 : AF_INET;
    REQUIRE(inet_pton(s.family, ipv6_ ? "::1" : "127.0.0.1", s.addr) == 1);
    s.port = port_;
    return s;
  }
  Config config(unsigned timeout = 1, unsigned attempts = 1) const {
    Config c;
    c.servers.push_back(server());
    c.timeout = timeout;
    c.attempts = attempts;
    return c;
  }
  // The query lines logged so far ("udp a.test A ID PORT").
  std::vector<Str> queries() {
    for (;;) {
      Str line = read_line(0);
      if (line.empty()) break;
      line.truncate(line.size() - 1);
      log_.push_back(line);
    }
    return log_;
  }

 private:
  // One line from the server's stdout, waiting up to timeout_ms for it.
  Str read_line(int timeout_ms) {
    Str line;
    char c;
    while (line.empty() || line.back() != '\n') {
      pollfd p{stdout_.get(), POLLIN, 0};
      if (::poll(&p, 1, line.empty() ? timeout_ms : 1000) <= 0) break;
      if (::read(stdout_.get(), &c, 1) != 1) break;
      line.push(c);
    }
    return line;
  }

  bool ipv6_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  Fd stdin_, stdout_;
  std::vector<Str> log_;
};

// A port with nobody listening on it (bound, then closed).
uint16_t closed_port() {
  Fd s(::socket(AF_INET, SOCK_DGRAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
  return ntohs(a.sin_port);
}

double now_s() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

Str ip_text(const uint8_t* ip, int family) {
  char buf[INET6_ADDRSTRLEN];
  REQUIRE(inet_ntop(family, ip, buf, sizeof buf));
  return Str(buf);
}

const char* const kZone = R"({
  "host.test":   {"A": ["192.0.2.1", "192.0.2.2"], "AAAA": ["2001:db8::1"]},
  "mail.test":   {"MX": [[20, "mx-b.test"], [10, "MX-A.test"], [30, "mx-c.test"], [10, "mx-a2.test"]]},
  "txt.test":    {"TXT": [["v=spf1 ", "-all"], ["second"]]},
  "alias.test":  {"CNAME": "alias2.test"},
  "alias2.test": {"CNAME": "host.test"},
  "dangling.test": {"CNAME": "nowhere.test"},
  "empty.test":  {},
  "1.2.0.192.in-addr.arpa": {"PTR": ["Host.Test"]},
  "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa": {"PTR": ["v6.test"]},
  "big.test":    {"A": ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6",
                        "10.0.0.7", "10.0.0.8", "10.0.0.9", "10.0.0.10", "10.0.0.11", "10.0.0.12",
                        "10.0.0.13", "10.0.0.14", "10.0.0.15", "10.0.0.16", "10.0.0.17", "10.0.0.18",
                        "10.0.0.19", "10.0.0.20", "10.0.0.21", "10.0.0.22", "10.0.0.23", "10.0.0.24",
                        "10.0.0.25", "10.0.0.26", "10.0.0.27", "10.0.0.28", "10.0.0.29", "10.0.0.30",
                        "10.0.0.31", "10.0.0.32"]},
  "trunc.test":  {"mode": "truncate", "A": ["192.0.2.9"]},
  "wrongid.test": {"mode": "wrongid", "A": ["192.0.2.10"]},
  "wrongname.test": {"mode": "wrongname", "A": ["192.0.2.11"]},
  "otherport.test": {"mode": "otherport", "A": ["192.0.2.12"]},
  "servfail.test": {"mode": "servfail"},
  "refused.test": {"mode": "refused"},
  "loop.test":   {"mode": "loop"},
  "drop.test":   {"mode": "drop"},
  "short.sub.test": {"A": ["192.0.2.20"]},
  "short":       {"A": ["192.0.2.21"]},
  "nodata.one.test": {"AAAA": ["2001:db8::2"]}
})";

}  // namespace

TEST_CASE("resolver: A, AAAA, MX sorted, TXT, PTR, CNAME chains") {
  DnsServer srv(kZone);
  Resolver r(srv.config());
  std::vector<Ip4> a;
  REQUIRE(r.lookup_a("host.test", a) == Status::ok);
  REQUIRE(a.size() == 2);
  CHECK(ip_text(a[0].data(), AF_INET) == "192.0.2.1");
  CHECK(ip_text(a[1].data(), AF_INET) == "192.0.2.2");
  CHECK(r.lookup_a("HOST.TEST.", a) == Status::ok);

  std::vector<Ip6> aaaa;
  REQUIRE(r.lookup_aaaa("host.test", aaaa) == Status::ok);
  REQUIRE(aaaa.size() == 1);
  CHECK(ip_text(aaaa[0].data(), AF_INET6) == "2001:db8::1");

  std::vector<Mx> mx;
  REQUIRE(r.lookup_mx("mail.test", mx) == Status::ok);
  REQUIRE(mx.size() == 4);
  CHECK(mx[0].pref == 10);
  CHECK(mx[0].name == "mx-a.test");  // lowercased, as djb's library writes names
  CHECK(mx[1].pref == 10);
  CHECK(mx[1].name == "mx-a2.test");
  CHECK(mx[2].pref == 20);
  CHECK(mx[3].name == "mx-c.test");

  std::vector<Str> txt;
  REQUIRE(r.lookup_txt("txt.test", txt) == Status::ok);
  REQUIRE(txt.size() == 2);
  CHECK(txt[0] == "v=spf1 -all");
  CHECK(txt[1] == "second");

  Str host;
  const uint8_t ip4[4] = {192, 0, 2, 1};
  REQUIRE(r.lookup_ptr4(ip4, host) == Status::ok);
  CHECK(host == "host.test");
  uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
  host.clear();
  REQUIRE(r.lookup_ptr6(mapped, host) == Status::ok);
  CHECK(host == "host.test");
  uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8};
  ip6[15] = 1;
  REQUIRE(r.lookup_ptr6(ip6, host) == Status::ok);
  CHECK(host == "v6.test");
  const uint8_t unknown[4] = {192, 0, 2, 99};
  CHECK(r.lookup_ptr4(unknown, host) == Status::nxdomain);
  CHECK(host.empty());

  // alias.test -> alias2.test -> host.test
  REQUIRE(r.lookup_a("alias.test", a) == Status::ok);
  CHECK(a.size() == 2);
  std::vector<Record> rr;
  Str canon;
  REQUIRE(r.query("alias.test", kTypeAaaa, rr, false, &canon) == Status::ok);
  CHECK(canon == "host.test");
  CHECK(r.lookup_a("dangling.test", a) == Status::nxdomain);
}

TEST_CASE("resolver: nxdomain, nodata and temporary are told apart") {
  DnsServer srv(kZone);
  Resolver r(srv.config());
  std::vector<Ip4> a;
  std::vector<Mx> mx;
  CHECK(r.lookup_a("nonexistent.test", a) == Status::nxdomain);
  CHECK(r.lookup_a("empty.test", a) == Status::nodata);
  CHECK(r.lookup_mx("host.test", mx) == Status::nodata);
  CHECK(r.lookup_a("servfail.test", a) == Status::temporary);
  CHECK(r.lookup_a("refused.test", a) == Status::temporary);
  CHECK(r.lookup_a("loop.test", a) == Status::temporary);  // a malformed answer
  CHECK(a.empty());
  CHECK(r.lookup_a("bad..name", a) == Status::nxdomain);   // asks nobody
  CHECK(r.lookup_a("", a) == Status::nxdomain);
  bool asked_bad = false;
  for (const Str& q : srv.queries()) asked_bad |= q.view().find("bad") != std::string_view::npos;
  CHECK_FALSE(asked_bad);
}

TEST_CASE("resolver: truncated answers are asked again over TCP") {
  DnsServer srv(kZone);
  Resolver r(srv.config());
  std::vector<Ip4> a;
  REQUIRE(r.lookup_a("trunc.test", a) == Status::ok);
  REQUIRE(a.size() == 1);
  CHECK(ip_text(a[0].data(), AF_INET) == "192.0.2.9");
  REQUIRE(r.lookup_a("big.test", a) == Status::ok);  // over 512 bytes: TC from the server
  CHECK(a.size() == 32);
  auto q = srv.queries();
  REQUIRE(q.size() == 4);
  CHECK(q[0].view().starts_with("udp trunc.test A "));
  CHECK(q[1].view().starts_with("tcp trunc.test A "));
  CHECK(q[2].view().starts_with("udp big.test A "));
  CHECK(q[3].view().starts_with("tcp big.test A "));
}

TEST_CASE("resolver: replies with a wrong ID, question or source are ignored") {
  DnsServer srv(kZone);
  Resolver r(srv.config());
  std::vector<Ip4> a;
  REQUIRE(r.lookup_a("wrongid.test", a) == Status::ok);
  REQUIRE(a.size() == 1);
  CHECK(ip_text(a[0].data(), AF_INET) == "192.0.2.10");  // not the fake 203.0.113.66
  double t0 = now_s();
  CHECK(r.lookup_a("wrongname.test", a) == Status::temporary);
  CHECK(r.lookup_a("otherport.test", a) == Status::temporary);
  double took = now_s() - t0;
  CHECK(took >= 1.9);  // each waited its one-second try out
  CHECK(took < 4.0);
}

TEST_CASE("resolver: timeouts are bounded: attempts x servers x timeout") {
  DnsServer srv(kZone);
  Resolver r(srv.config(1, 2));
  std::vector<Ip4> a;
  double t0 = now_s();
  CHECK(r.lookup_a("drop.test", a) == Status::temporary);
  double took = now_s() - t0;
  CHECK(took >= 1.9);
  CHECK(took < 3.5);
  CHECK(srv.queries().size() == 2);
}

TEST_CASE("resolver: the next server after a failure, fresh IDs and ports") {
  DnsServer bad(R"({"*": {"mode": "servfail"}})");
  DnsServer good(kZone);
  Config c;
  Server dead = good.server();
  dead.port = closed_port();  // ECONNREFUSED: moves on at once
  c.servers = {dead, bad.server(), good.server()};
  c.timeout = 5;
  Resolver r(c);
  std::vector<Ip4> a;
  double t0 = now_s();
  for (int i = 0; i < 4; ++i) REQUIRE(r.lookup_a("host.test", a) == Status::ok);
  CHECK(now_s() - t0 < 2.0);
  CHECK(bad.queries().size() == 4);
  auto q = good.queries();
  REQUIRE(q.size() == 4);
  // "udp host.test A ID PORT": the IDs and the source ports vary.
  auto field = [](const Str& line, int n) {
    std::string_view v = line.view();
    for (int i = 0; i < n; ++i) v.remove_prefix(v.find(' ') + 1);
    return Str(v.substr(0, v.find(' ')));
  };
  bool ids_differ = false, ports_differ = false;
  for (std::size_t i = 1; i < q.size(); ++i) {
    ids_differ |= !(field(q[i], 3) == field(q[0], 3));
    ports_differ |= !(field(q[i], 4) == field(q[0], 4));
  }
  CHECK(ids_differ);
  CHECK(ports_differ);

  // All of them failing: temporary, not nxdomain.
  c.servers = {dead, bad.server()};
  Resolver r2(c);
  CHECK(r2.lookup_a("host.test", a) == Status::temporary);
}

TEST_CASE("resolver: search list and ndots") {
  DnsServer srv(kZone);
  Config c = srv.config();
  c.search = {Str("one.test"), Str("sub.test")};
  Resolver r(c);
  std::vector<Ip4> a;
  // "short" has no dot: short.one.test (nxdomain), short.sub.test (found).
  REQUIRE(r.lookup_a("short", a) == Status::ok);
  CHECK(ip_text(a[0].data(), AF_INET) == "192.0.2.20");
  // With a trailing dot the name is taken as it is.
  REQUIRE(r.lookup_a("short.", a) == Status::ok);
  CHECK(ip_text(a[0].data(), AF_INET) == "192.0.2.21");
  // As many dots as ndots: as it is, no search.
  CHECK(r.lookup_a("host.test", a) == Status::ok);
  // nodata for one candidate, nxdomain for the others: nodata.
  CHECK(r.lookup_a("nodata", a) == Status::nodata);
  // MX, TXT and PTR never use the search list.
  std::vector<Mx> mx;
  CHECK(r.lookup_mx("short", mx) == Status::nodata);
  auto q = srv.queries();
  REQUIRE(q.size() == 8);
  CHECK(q[0].view().starts_with("udp short.one.test A "));
  CHECK(q[1].view().starts_with("udp short.sub.test A "));
  CHECK(q[2].view().starts_with("udp short A "));
  CHECK(q[3].view().starts_with("udp host.test A "));
  CHECK(q[7].view().starts_with("udp short MX "));

  // A temporary failure stops the search at once.
  c.search = {Str("test")};
  Resolver r2(c);
  CHECK(r2.lookup_a("servfail", a) == Status::temporary);
  CHECK(srv.queries().size() == 9);
}

TEST_CASE("resolver: an IPv6 name server") {
  DnsServer srv(kZone, true);
  Resolver r(srv.config());
  std::vector<Ip4> a;
  REQUIRE(r.lookup_a("host.test", a) == Status::ok);
  CHECK(a.size() == 2);
  REQUIRE(r.lookup_a("trunc.test", a) == Status::ok);  // and TCP over IPv6
  CHECK(a.size() == 1);
}
