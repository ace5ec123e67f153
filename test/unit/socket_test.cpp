#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string_view>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fd.hpp"
#include "base/str.hpp"
#include "net/ident.hpp"
#include "net/socket.hpp"

using namespace qbox;
using namespace qbox::net;

namespace {

Endpoint ep(std::string_view text, uint16_t port = 0) {
  Endpoint e;
  REQUIRE(parse_ip(text, e.ip));
  e.port = port;
  return e;
}

std::string_view ip_text(const Endpoint& e) {
  static char b[kIpFmt];
  return {b, fmt_ip(b, e.ip)};
}

// A listening socket on addr, port chosen by the kernel; -1 when the
// address family is not there (no IPv6 on this machine).
int listener(const Endpoint& addr, Endpoint& bound, int backlog = 16) {
  int s = tcp_socket(addr);
  if (s < 0) return -1;
  if (bind_reuse(s, addr) != 0 || net::listen(s, backlog) != 0 || local_endpoint(s, bound) != 0) {
    ::close(s);
    return -1;
  }
  return s;
}

bool have_ipv6() {
  Endpoint bound;
  int s = listener(ep("::1"), bound);
  if (s < 0) return false;
  ::close(s);
  return true;
}

bool is_cloexec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }
bool is_nonblock(int fd) { return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

}  // namespace

TEST_CASE("Endpoint: IPv4 kept v4-mapped, any, formatting") {
  Endpoint a = ep("127.0.0.1", 25);
  CHECK(a.is_v4());
  CHECK_FALSE(a.is_any());
  CHECK(ip_text(a) == "127.0.0.1");
  CHECK(a.ip4()[0] == 127);
  Endpoint b = ep("2001:db8::1");
  CHECK_FALSE(b.is_v4());
  CHECK(ip_text(b) == "2001:db8::1");
  CHECK(Endpoint().is_any());
  CHECK(ep("0.0.0.0").is_any());
  CHECK(ep("::").is_any());
  const uint8_t four[4] = {10, 1, 2, 3};
  Endpoint c = Endpoint::from_ip4(four, 7);
  CHECK(ip_text(c) == "10.1.2.3");
  CHECK(c.port == 7);
}

TEST_CASE("IPv4 loopback: bind, listen, connect, accept, addresses") {
  Endpoint bound;
  Fd s(listener(ep("127.0.0.1"), bound));
  REQUIRE(s.ok());
  CHECK(bound.port != 0);
  CHECK(ip_text(bound) == "127.0.0.1");
  CHECK(is_cloexec(s.get()));

  Fd c(tcp_socket(ep("127.0.0.1")));
  REQUIRE(c.ok());
  REQUIRE(connect_timeout(c.get(), bound, 5000) == 0);
  CHECK_FALSE(is_nonblock(c.get()));
  Endpoint client_local;
  REQUIRE(local_endpoint(c.get(), client_local) == 0);

  Endpoint peer;
  Fd t(net::accept(s.get(), peer));
  REQUIRE(t.ok());
  CHECK(is_cloexec(t.get()));
  CHECK_FALSE(is_nonblock(t.get()));
  CHECK(peer.is_v4());
  CHECK(ip_text(peer) == "127.0.0.1");
  CHECK(peer.port == client_local.port);

  Endpoint here, there;
  REQUIRE(local_endpoint(t.get(), here) == 0);
  REQUIRE(remote_endpoint(t.get(), there) == 0);
  CHECK(here.port == bound.port);
  CHECK(there.port == client_local.port);

  CHECK(set_nodelay(t.get()) == 0);
  int v = 0;
  socklen_t len = sizeof v;
  REQUIRE(::getsockopt(t.get(), IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0);
  CHECK(v != 0);
  CHECK(kill_ip_options(t.get()) == 0);

  REQUIRE(write_all(c.get(), "ping") == 0);
  char buf[8];
  CHECK(::read(t.get(), buf, sizeof buf) == 4);
  CHECK(std::string_view(buf, 4) == "ping");
}

TEST_CASE("connect_timeout: refused, and an IPv6 address on an IPv4 socket") {
  Endpoint bound;
  int s = listener(ep("127.0.0.1"), bound);
  REQUIRE(s >= 0);
  ::close(s);  // nothing listens on that port now
  Fd c(tcp_socket(bound));
  REQUIRE(c.ok());
  CHECK(connect_timeout(c.get(), bound, 5000) == -1);
  CHECK(errno == ECONNREFUSED);

  Fd d(tcp_socket_family(false));
  CHECK(connect_timeout(d.get(), ep("::1", 1), 1000) == -1);
  CHECK(errno == EAFNOSUPPORT);
  CHECK(net::bind(d.get(), ep("::1")) == -1);
  CHECK(errno == EAFNOSUPPORT);
  // "::" on an IPv4 socket is 0.0.0.0.
  CHECK(net::bind(d.get(), Endpoint()) == 0);
}

TEST_CASE("connect_timeout gives up after its time") {
  // A listener whose queue is full and that never accepts: further SYNs
  // are dropped, so a connect can only time out.
  Endpoint bound;
  Fd s(listener(ep("127.0.0.1"), bound, 0));
  REQUIRE(s.ok());
  Fd fill[4];
  bool timed_out = false;
  for (Fd& f : fill) {
    f.reset(tcp_socket(bound));
    timespec a, b;
    ::clock_gettime(CLOCK_MONOTONIC, &a);
    int r = connect_timeout(f.get(), bound, 200);
    ::clock_gettime(CLOCK_MONOTONIC, &b);
    if (r == -1) {
      CHECK(errno == ETIMEDOUT);
      long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
      CHECK(ms >= 150);
      CHECK(ms < 3000);
      timed_out = true;
      break;
    }
  }
  CHECK(timed_out);
}

TEST_CASE("IPv6 loopback and a dual-stack listener") {
  if (!have_ipv6()) {
    MESSAGE("no IPv6 loopback here; skipped");
    return;
  }
  Endpoint bound;
  Fd s(listener(ep("::1"), bound));
  REQUIRE(s.ok());
  CHECK(ip_text(bound) == "::1");
  Fd c(tcp_socket(bound));
  REQUIRE(connect_timeout(c.get(), bound, 5000) == 0);
  Endpoint peer;
  Fd t(net::accept(s.get(), peer));
  REQUIRE(t.ok());
  CHECK_FALSE(peer.is_v4());
  CHECK(ip_text(peer) == "::1");

  // "::" takes IPv4 clients too, and they show as IPv4.
  Endpoint any_bound;
  Fd d(listener(Endpoint(), any_bound));
  REQUIRE(d.ok());
  Endpoint to = ep("127.0.0.1", any_bound.port);
  Fd c4(tcp_socket(to));
  REQUIRE(connect_timeout(c4.get(), to, 5000) == 0);
  Endpoint p4;
  Fd t4(net::accept(d.get(), p4));
  REQUIRE(t4.ok());
  CHECK(p4.is_v4());
  CHECK(ip_text(p4) == "127.0.0.1");
  Endpoint l4;
  REQUIRE(local_endpoint(t4.get(), l4) == 0);
  CHECK(ip_text(l4) == "127.0.0.1");

  to = ep("::1", any_bound.port);
  Fd c6(tcp_socket(to));
  REQUIRE(connect_timeout(c6.get(), to, 5000) == 0);
  Endpoint p6;
  Fd t6(net::accept(d.get(), p6));
  REQUIRE(t6.ok());
  CHECK(ip_text(p6) == "::1");
}

namespace {

// A one-shot identd on a loopback port: reads the question, answers with
// `reply`, and reports the question through a pipe.
struct FakeIdentd {
  pid_t pid = -1;
  Endpoint where;
  int question_fd = -1;

  FakeIdentd(std::string_view reply, bool hang = false) {
    Endpoint bound;
    int s = listener(ep("127.0.0.1"), bound);
    REQUIRE(s >= 0);
    where = bound;
    int p[2];
    REQUIRE(::pipe(p) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(p[0]);
      Endpoint peer;
      int t = net::accept(s, peer);
      if (t < 0) _exit(1);
      char buf[256];
      std::size_t n = 0;
      while (n < sizeof buf) {
        ssize_t r = ::read(t, buf + n, sizeof buf - n);
        if (r <= 0) break;
        n += static_cast<std::size_t>(r);
        if (std::memchr(buf, '\n', n)) break;
      }
      write_all(p[1], std::string_view(buf, n));
      ::close(p[1]);
      if (hang) ::pause();
      write_all(t, reply);
      _exit(0);
    }
    ::close(p[1]);
    ::close(s);
    question_fd = p[0];
  }
  Str question() {
    Str q;
    read_all(question_fd, q);
    return q;
  }
  ~FakeIdentd() {
    ::kill(pid, SIGKILL);
    int st;
    ::waitpid(pid, &st, 0);
    ::close(question_fd);
  }
};

}  // namespace

TEST_CASE("remote_info: the RFC 1413 exchange as ucspi-tcp's remoteinfo") {
  Endpoint remote = ep("127.0.0.1", 4321);
  Endpoint local = ep("127.0.0.1", 25);
  Str out;
  {
    FakeIdentd d("4321 , 25 : USERID : UNIX : j o\tr\rd:an\r\nignored\n");
    REQUIRE(remote_info(out, remote, local, 10, d.where.port) == 0);
    CHECK(out == "jord:an");
    CHECK(d.question() == "4321 , 25\r\n");
  }
  {
    FakeIdentd d("4321 , 25 : ERROR : NO-USER\r\n");
    REQUIRE(remote_info(out, remote, local, 10, d.where.port) == 0);
    CHECK(out.empty());
  }
  {
    // Cut after 257 bytes, with or without the end of the line.
    Str reply("1 , 2 : USERID : UNIX : ");
    for (int i = 0; i < 300; ++i) reply.push('x');
    FakeIdentd d(reply);
    REQUIRE(remote_info(out, remote, local, 10, d.where.port) == 0);
    CHECK(out.size() == 257);
  }
  {
    FakeIdentd d("1 , 2 : USERID : UNIX : nobody");  // no newline, then EOF
    CHECK(remote_info(out, remote, local, 10, d.where.port) == -1);
  }
  {
    FakeIdentd d("", true);  // never answers
    timespec a, b;
    ::clock_gettime(CLOCK_MONOTONIC, &a);
    CHECK(remote_info(out, remote, local, 1, d.where.port) == -1);
    CHECK(errno == ETIMEDOUT);
    ::clock_gettime(CLOCK_MONOTONIC, &b);
    CHECK(b.tv_sec - a.tv_sec < 4);
  }
  // Nobody there.
  Endpoint bound;
  int s = listener(ep("127.0.0.1"), bound);
  ::close(s);
  CHECK(remote_info(out, remote, local, 10, bound.port) == -1);
  CHECK(errno == ECONNREFUSED);
}
