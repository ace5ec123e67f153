// Host names for the ucspi-tcp programs: the one place where they meet
// DNS. tcpserver's -h (the remote host name), -p (paranoid: the name must
// lead back to the address), the local host name (without -l), and the
// address of a host name given on the command line all come through here.
//
// Lookups go through the resolver of src/dns: the servers of
// /etc/resolv.conf, or those of $DNSCACHEIP, as in djb's dns library.
#pragma once
#include <string_view>

#include "base/str.hpp"

namespace qbox::net {

// The name of an address (PTR; for IPv4 also v4-mapped), lowercased, as
// djb's dns_name4/dns_name6 give it: 1 with the name in out, 0 when there
// is none, -1 with errno for a temporary failure.
int host_name(const uint8_t ip[16], Str& out);

// The addresses of a host: 16-byte records (IPv4 v4-mapped) appended to
// out, in the resolver's order. A literal IPv4 or IPv6 address is its own
// answer, without DNS. `qualify` applies the resolver's search list to a
// name without dots, as dns_ip4_qualify does for the address tcpserver
// and tcpclient are given. 0 (out may stay empty: no address), or -1 with
// errno for a temporary failure.
int host_addresses(std::string_view name, Str& out, bool qualify);

}  // namespace qbox::net
