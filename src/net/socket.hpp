// TCP sockets over IPv4 and IPv6, with one address type for both.
//
// An Endpoint keeps every address in 16 bytes: an IPv4 address is stored
// v4-mapped (::ffff:a.b.c.d). So an IPv4 peer looks the same whether it
// arrived on an IPv4 socket or on a dual-stack IPv6 one, and callers never
// deal with sockaddr. The socket decides the family: bind and connect
// write the Endpoint as the socket's own family wants it (an AF_INET
// socket takes v4-mapped addresses and "::" as 0.0.0.0; an AF_INET6
// socket takes anything), and accept/getsockname/getpeername read either
// family back into an Endpoint.
//
// Every descriptor made here is close-on-exec and blocking. Functions
// return -1 with errno on failure, as the system calls do.
#pragma once
#include <cstddef>
#include <cstdint>

#include "net/ip.hpp"

namespace qbox::net {

struct Endpoint {
  uint8_t ip[16] = {};    // IPv4 as ::ffff:a.b.c.d; all zero is "::" (any)
  uint16_t port = 0;
  uint32_t scope_id = 0;  // IPv6 interface index (link-local addresses)

  bool is_v4() const { return is_v4mapped(ip); }
  const uint8_t* ip4() const { return ip + 12; }
  bool is_any() const;  // "::" or 0.0.0.0

  static Endpoint from_ip4(const uint8_t ip4[4], uint16_t port);
  static Endpoint from_ip6(const uint8_t ip6[16], uint16_t port, uint32_t scope_id = 0);
};

// The address as the ucspi-tcp programs print it: a dotted quad for IPv4
// (also v4-mapped), ip6_fmt for IPv6. kIpFmt bytes are enough for either.
inline constexpr std::size_t kIpFmt = kIp6Fmt;
std::size_t fmt_ip(char* out, const uint8_t ip[16]);

// A TCP socket for talking to or listening on e: AF_INET for an IPv4
// address, AF_INET6 otherwise. For "::" the socket is dual-stack
// (IPV6_V6ONLY off, whatever the system default), and where the kernel
// has no IPv6 at all it falls back to an IPv4 socket (then "::" binds
// 0.0.0.0).
int tcp_socket(const Endpoint& e);
// A socket of one family: AF_INET (v6 false) or AF_INET6.
int tcp_socket_family(bool v6);

int bind(int s, const Endpoint& e);
// With SO_REUSEADDR first, as servers bind.
int bind_reuse(int s, const Endpoint& e);
int listen(int s, int backlog);
// Accepts one connection: the new descriptor (close-on-exec unless
// `cloexec` is false, blocking) and the peer. Not retried on EINTR, so a
// signal can end the wait.
int accept(int s, Endpoint& peer, bool cloexec = true);
// Connects, waiting at most timeout_ms (negative: the system's own limit).
// ETIMEDOUT when the time runs out; the socket is blocking again on return.
int connect_timeout(int s, const Endpoint& e, int timeout_ms);

// getsockname and getpeername.
int local_endpoint(int s, Endpoint& out);
int remote_endpoint(int s, Endpoint& out);

// TCP_NODELAY on (Nagle off), as tcpserver -D does.
int set_nodelay(int s);
// Drops any IP options the peer sent (source routes), as tcpserver does
// unless -o. IPv6 sockets may refuse it; callers ignore the result.
int kill_ip_options(int s);
// SO_BINDTODEVICE: the socket sends and receives only through the named
// network interface.
int bind_to_device(int s, const char* interface);
// IPV6_V6ONLY for an AF_INET6 socket.
int set_v6only(int s, bool on);

}  // namespace qbox::net
