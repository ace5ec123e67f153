// Sending a query to the configured servers and waiting for its answer.
#pragma once
#include <cstdint>

#include "base/str.hpp"
#include "dns/conf.hpp"
#include "dns/name.hpp"

namespace qbox::dns {

// Asks the servers of `c` for `name`/`type`, the way glibc does: `attempts`
// rounds over the servers in order (from a random one with "rotate"), each
// try waiting up to `timeout` seconds, and the whole exchange bounded by
// attempts x servers x timeout. Each try uses a fresh UDP socket (so a
// kernel-chosen random source port) and a fresh random ID; replies from
// elsewhere, with another ID or for another question are ignored. A
// truncated reply is asked again over TCP from the same server; SERVFAIL,
// REFUSED, a malformed answer or a network error moves on to the next
// server. true: `reply` holds an answer that passed check_reply (rcode
// NOERROR or NXDOMAIN). false: no server answered (a temporary failure).
bool exchange(const Config& c, const Name& name, uint16_t type, Str& reply);

}  // namespace qbox::dns
