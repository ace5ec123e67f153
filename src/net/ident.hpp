// The "remote info" of tcpserver -r and tcpclient -r: an RFC 1413 (ident)
// query to the peer's port 113, made exactly as ucspi-tcp's remoteinfo().
//
// It connects from the local address of the connection (port 0) to the
// peer's port 113, sends "REMOTEPORT , LOCALPORT\r\n" and reads one line.
// The answer is what follows the third ':' of that line, with spaces, tabs
// and CRs dropped, cut after 257 bytes. A reply with fewer than three
// colons (an ERROR reply) gives an empty answer, not a failure. The whole
// exchange shares one deadline of timeout_s seconds.
#pragma once

#include "base/str.hpp"
#include "net/socket.hpp"

namespace qbox::net {

// 0 with the answer in out; -1 with errno when there is none (refused,
// timed out, closed before the end of the line...). ident_port is for
// tests; the protocol's port is 113.
int remote_info(Str& out, const Endpoint& remote, const Endpoint& local, unsigned long timeout_s,
                uint16_t ident_port = 113);

}  // namespace qbox::net
