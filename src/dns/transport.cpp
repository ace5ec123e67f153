#include "dns/transport.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fd.hpp"
#include "dns/packet.hpp"
#include "dns/random.hpp"
#include "io/buffer.hpp"
#include "time/tai.hpp"

namespace qbox::dns {

namespace {

constexpr std::size_t kMaxPacket = 65535;

// Waits for fd until the deadline; false on timeout or error.
bool wait_until(int fd, bool for_write, long long deadline) {
  long long left = deadline - monotonic_ms();
  if (left <= 0) return false;
  return wait_fd(fd, for_write, static_cast<int>(std::min(left, 3600000LL)));
}

struct Peer {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

Peer peer_of(const Config& c, const Server& s) {
  Peer p;
  uint16_t port = htons(s.port ? s.port : c.port);
  if (s.family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&p.ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = port;
    std::memcpy(&a->sin6_addr, s.addr, 16);
    a->sin6_scope_id = s.scope;
    p.len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&p.ss);
    a->sin_family = AF_INET;
    a->sin_port = port;
    std::memcpy(&a->sin_addr, s.addr, 4);
    p.len = sizeof *a;
  }
  return p;
}

bool same_peer(const sockaddr_storage& from, const Peer& want) {
  if (from.ss_family != want.ss.ss_family) return false;
  if (from.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&from);
    auto* b = reinterpret_cast<const sockaddr_in6*>(&want.ss);
    return a->sin6_port == b->sin6_port && !std::memcmp(&a->sin6_addr, &b->sin6_addr, 16);
  }
  auto* a = reinterpret_cast<const sockaddr_in*>(&from);
  auto* b = reinterpret_cast<const sockaddr_in*>(&want.ss);
  return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
}

// What one try at one server gave.
enum class Try { answer, truncated, failed };

// The question a try is about.
struct Ask {
  const Name& name;
  uint16_t type;
  uint16_t id;
  std::string_view query;
};

Try udp_try(const Peer& to, const Ask& q, long long deadline, Str& reply) {
  Fd s(::socket(to.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s) return Try::failed;
  // connect() binds a random ephemeral port and makes the kernel drop
  // datagrams from other peers; the source is checked again below.
  if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&to.ss), to.len) < 0) return Try::failed;
  if (::send(s.get(), q.query.data(), q.query.size(), 0) != static_cast<ssize_t>(q.query.size()))
    return Try::failed;
  for (;;) {
    if (!wait_until(s.get(), false, deadline)) return Try::failed;
    reply.clear();
    char* buf = reply.tail(kMaxPacket);
    sockaddr_storage from{};
    socklen_t fromlen = sizeof from;
    ssize_t n = ::recvfrom(s.get(), buf, kMaxPacket, MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &fromlen);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Try::failed;  // ECONNREFUSED: nobody listens there
    }
    if (!same_peer(from, to)) continue;
    if (static_cast<std::size_t>(n) > kMaxPacket) return Try::truncated;
    reply.commit(static_cast<std::size_t>(n));
    switch (check_reply(reply, q.id, q.name, q.type)) {
      case Reply::ok: return Try::answer;
      case Reply::truncated: return Try::truncated;
      case Reply::failed: return Try::failed;
      case Reply::mismatch: continue;
    }
  }
}

bool send_all(int fd, std::string_view data, long long deadline) {
  while (!data.empty()) {
    ssize_t w = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN || !wait_until(fd, true, deadline)) return false;
      continue;
    }
    data.remove_prefix(static_cast<std::size_t>(w));
  }
  return true;
}

bool recv_exact(int fd, char* p, std::size_t n, long long deadline) {
  while (n) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN || !wait_until(fd, false, deadline)) return false;
      continue;
    }
    if (r == 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

Try tcp_try(const Peer& to, const Ask& q, long long deadline, Str& reply) {
  Fd s(::socket(to.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s) return Try::failed;
  if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&to.ss), to.len) < 0) {
    if (errno != EINPROGRESS || !wait_until(s.get(), true, deadline)) return Try::failed;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) return Try::failed;
  }
  char len2[2] = {static_cast<char>(q.query.size() >> 8), static_cast<char>(q.query.size() & 0xff)};
  if (!send_all(s.get(), {len2, 2}, deadline) || !send_all(s.get(), q.query, deadline)) return Try::failed;
  if (!recv_exact(s.get(), len2, 2, deadline)) return Try::failed;
  std::size_t n = static_cast<std::size_t>(static_cast<unsigned char>(len2[0])) << 8 | static_cast<unsigned char>(len2[1]);
  reply.clear();
  if (!recv_exact(s.get(), reply.tail(n), n, deadline)) return Try::failed;
  reply.commit(n);
  // Over TCP a reply still marked truncated is all there is: take it.
  Reply r = check_reply(reply, q.id, q.name, q.type);
  return r == Reply::ok || r == Reply::truncated ? Try::answer : Try::failed;
}

}  // namespace

bool exchange(const Config& c, const Name& name, uint16_t type, Str& reply) {
  std::size_t n = c.servers.size();
  if (!n) return false;
  long long per_try = static_cast<long long>(c.timeout ? c.timeout : 1) * 1000;
  unsigned attempts = c.attempts ? c.attempts : 1;
  long long end = monotonic_ms() + per_try * attempts * static_cast<long long>(n);
  std::size_t first = 0;
  if (c.rotate) {
    unsigned char r;
    if (!random_bytes(&r, 1)) return false;
    first = r % n;
  }
  Str query;
  for (unsigned round = 0; round < attempts; ++round) {
    for (std::size_t k = 0; k < n; ++k) {
      long long now = monotonic_ms();
      if (now >= end) return false;
      unsigned char idb[2];
      if (!random_bytes(idb, 2)) return false;
      uint16_t id = static_cast<uint16_t>(idb[0] << 8 | idb[1]);
      query.clear();
      build_query(query, id, name, type);
      Ask q{name, type, id, query};
      Peer to = peer_of(c, c.servers[(first + k) % n]);
      Try t = udp_try(to, q, std::min(now + per_try, end), reply);
      if (t == Try::truncated) t = tcp_try(to, q, std::min(monotonic_ms() + per_try, end), reply);
      if (t == Try::answer) return true;
    }
  }
  return false;
}

}  // namespace qbox::dns
