#include "net/socket.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "time/tai.hpp"

namespace qbox::net {

bool Endpoint::is_any() const {
  static constexpr uint8_t kZero[16] = {};
  if (std::memcmp(ip, kZero, 16) == 0) return true;
  return is_v4() && std::memcmp(ip + 12, kZero, 4) == 0;
}

Endpoint Endpoint::from_ip4(const uint8_t ip4[4], uint16_t port) {
  Endpoint e;
  v4mapped(ip4, e.ip);
  e.port = port;
  return e;
}

Endpoint Endpoint::from_ip6(const uint8_t ip6[16], uint16_t port, uint32_t scope_id) {
  Endpoint e;
  std::memcpy(e.ip, ip6, 16);
  e.port = port;
  e.scope_id = scope_id;
  return e;
}

std::size_t fmt_ip(char* out, const uint8_t ip[16]) {
  if (is_v4mapped(ip)) return fmt_ip4(out, ip + 12);
  return fmt_ip6(out, ip);
}

namespace {

union SockAddr {
  sockaddr sa;
  sockaddr_in in4;
  sockaddr_in6 in6;
  sockaddr_storage any;
};

bool socket_is_v6(int s, bool& v6) {
  int domain = 0;
  socklen_t len = sizeof domain;
  if (::getsockopt(s, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) return false;
  v6 = domain == AF_INET6;
  return true;
}

// e as the socket's family wants it; false (EAFNOSUPPORT) when an IPv4
// socket is given an IPv6 address.
bool to_sockaddr(int s, const Endpoint& e, SockAddr& out, socklen_t& len) {
  bool v6;
  if (!socket_is_v6(s, v6)) return false;
  std::memset(&out, 0, sizeof out);
  if (v6) {
    out.in6.sin6_family = AF_INET6;
    out.in6.sin6_port = htons(e.port);
    std::memcpy(&out.in6.sin6_addr, e.ip, 16);
    out.in6.sin6_scope_id = e.scope_id;
    len = sizeof out.in6;
    return true;
  }
  static constexpr uint8_t kZero[16] = {};
  out.in4.sin_family = AF_INET;
  out.in4.sin_port = htons(e.port);
  if (e.is_v4()) {
    std::memcpy(&out.in4.sin_addr, e.ip4(), 4);
  } else if (std::memcmp(e.ip, kZero, 16) != 0) {
    errno = EAFNOSUPPORT;
    return false;
  }
  len = sizeof out.in4;
  return true;
}

int from_sockaddr(const SockAddr& a, Endpoint& out) {
  out = Endpoint();
  if (a.sa.sa_family == AF_INET) {
    out = Endpoint::from_ip4(reinterpret_cast<const uint8_t*>(&a.in4.sin_addr), ntohs(a.in4.sin_port));
    return 0;
  }
  if (a.sa.sa_family == AF_INET6) {
    out = Endpoint::from_ip6(reinterpret_cast<const uint8_t*>(&a.in6.sin6_addr), ntohs(a.in6.sin6_port),
                             a.in6.sin6_scope_id);
    return 0;
  }
  errno = EAFNOSUPPORT;
  return -1;
}

}  // namespace

int tcp_socket_family(bool v6) {
  return ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

int tcp_socket(const Endpoint& e) {
  if (e.is_v4()) return tcp_socket_family(false);
  int s = tcp_socket_family(true);
  static constexpr uint8_t kZero[16] = {};
  bool any = std::memcmp(e.ip, kZero, 16) == 0;
  if (s < 0) {
    if (any && errno == EAFNOSUPPORT) return tcp_socket_family(false);
    return -1;
  }
  if (any && set_v6only(s, false) != 0) {
    int err = errno;
    ::close(s);
    errno = err;
    return -1;
  }
  return s;
}

int bind(int s, const Endpoint& e) {
  SockAddr a;
  socklen_t len;
  if (!to_sockaddr(s, e, a, len)) return -1;
  return ::bind(s, &a.sa, len);
}

int bind_reuse(int s, const Endpoint& e) {
  int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  return bind(s, e);
}

int listen(int s, int backlog) { return ::listen(s, backlog); }

int accept(int s, Endpoint& peer, bool cloexec) {
  SockAddr a;
  socklen_t len = sizeof a;
  int fd = ::accept4(s, &a.sa, &len, cloexec ? SOCK_CLOEXEC : 0);
  if (fd < 0) return -1;
  if (from_sockaddr(a, peer) != 0) peer = Endpoint();
  return fd;
}

int connect_timeout(int s, const Endpoint& e, int timeout_ms) {
  SockAddr a;
  socklen_t len;
  if (!to_sockaddr(s, e, a, len)) return -1;
  int flags = ::fcntl(s, F_GETFL);
  if (flags < 0 || ::fcntl(s, F_SETFL, flags | O_NONBLOCK) < 0) return -1;
  auto finish = [&](int r) {
    int err = errno;
    ::fcntl(s, F_SETFL, flags & ~O_NONBLOCK);
    errno = err;
    return r;
  };
  if (::connect(s, &a.sa, len) == 0) return finish(0);
  if (errno != EINPROGRESS && errno != EINTR) return finish(-1);
  long long start = monotonic_ms();
  for (;;) {
    int wait = -1;
    if (timeout_ms >= 0) {
      wait = timeout_ms - static_cast<int>(monotonic_ms() - start);
      if (wait <= 0) {
        errno = ETIMEDOUT;
        return finish(-1);
      }
    }
    pollfd p = {s, POLLOUT, 0};
    int r = ::poll(&p, 1, wait);
    if (r < 0 && errno != EINTR) return finish(-1);
    if (r > 0) break;
  }
  int err = 0;
  socklen_t elen = sizeof err;
  if (::getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen) != 0) return finish(-1);
  if (err) {
    errno = err;
    return finish(-1);
  }
  return finish(0);
}

int local_endpoint(int s, Endpoint& out) {
  SockAddr a;
  socklen_t len = sizeof a;
  if (::getsockname(s, &a.sa, &len) != 0) return -1;
  return from_sockaddr(a, out);
}

int remote_endpoint(int s, Endpoint& out) {
  SockAddr a;
  socklen_t len = sizeof a;
  if (::getpeername(s, &a.sa, &len) != 0) return -1;
  return from_sockaddr(a, out);
}

int set_nodelay(int s) {
  int one = 1;
  return ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int kill_ip_options(int s) { return ::setsockopt(s, IPPROTO_IP, IP_OPTIONS, nullptr, 0); }

int bind_to_device(int s, const char* interface) {
  return ::setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, interface,
                      static_cast<socklen_t>(std::strlen(interface)));
}

int set_v6only(int s, bool on) {
  int v = on ? 1 : 0;
  return ::setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v);
}

}  // namespace qbox::net
