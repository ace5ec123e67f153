// The addresses of this host's interfaces (qmail's ipme), for recognising
// "user@[1.2.3.4]" as local mail.
#pragma once
#include <cstdint>

namespace qbox::net {

// 1 when ip (16 bytes; IPv4 as ::ffff:a.b.c.d) belongs to an interface of
// this host, 0 when not, -1 when the interfaces cannot be listed (errno).
int is_local_ip(const uint8_t ip[16]);

}  // namespace qbox::net
