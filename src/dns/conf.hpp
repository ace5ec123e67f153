// The resolver's configuration: /etc/resolv.conf read as glibc and musl
// read it, with their defaults, and the environment overrides
// $LOCALDOMAIN and $RES_OPTIONS.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/str.hpp"

namespace qbox::dns {

inline constexpr std::size_t kMaxServers = 3;  // glibc's MAXNS
inline constexpr std::size_t kMaxSearch = 6;   // glibc's historical MAXDNSRCH

struct Server {
  int family = 0;        // AF_INET or AF_INET6
  uint8_t addr[16] = {}; // 4 bytes for AF_INET
  uint16_t port = 0;     // 0: Config::port
  uint32_t scope = 0;    // IPv6 scope (interface index), from "fe80::1%eth0"
};

struct Config {
  std::vector<Server> servers;  // empty means 127.0.0.1 (see load_config)
  std::vector<Str> search;      // domains tried for names with few dots
  unsigned ndots = 1;           // at most 15
  unsigned timeout = 5;         // seconds per try, 1..30
  unsigned attempts = 2;        // rounds over the servers, 1..5
  bool rotate = false;          // start with a different server each query
  uint16_t port = 53;           // qbox's "options port:N", for tests
};

// Applies the lines of a resolv.conf. Keywords start the line and are
// followed by blanks: "nameserver ADDR" (IPv4, or IPv6 with an optional
// %scope; at most 3, more and unparsable ones are ignored), "domain NAME"
// and "search NAME..." (the last of them wins), "options OPT...". Lines
// starting with '#' or ';' and unknown lines are ignored.
void parse_resolv_conf(std::string_view text, Config& c);
// Applies options as on an "options" line or in $RES_OPTIONS: ndots:N,
// timeout:N, attempts:N (capped as glibc caps them), rotate, port:N (a
// qbox addition: the port of every server). Unknown options are ignored.
void parse_options(std::string_view opts, Config& c);
// Replaces the search list with the names in `list` (blank-separated), as
// a "search" line or $LOCALDOMAIN does; at most 6, invalid names skipped.
void parse_search(std::string_view list, Config& c);

// djb's $DNSCACHEIP, which the programs built on his dns library (ucspi-tcp's
// rblsmtpd among them) honour before /etc/resolv.conf: IPv4 addresses, read
// as dns_rcip reads them (dots between them are skipped, so
// "10.0.0.1.10.0.0.2" is two; the first byte that starts no address ends
// the list; at most 16). When it names at least one, they replace the
// servers of `c` (the port stays c.port) and the result is true.
bool parse_dnscacheip(std::string_view list, Config& c);
// parse_dnscacheip() with $DNSCACHEIP, if set and not running setuid.
bool apply_dnscacheip(Config& c);

// The system's configuration: the file `path`, else $QBOX_RESOLV_CONF,
// else /etc/resolv.conf (a missing or unreadable file leaves the defaults),
// then $LOCALDOMAIN and $RES_OPTIONS. None of the variables is honoured when
// running setuid. Without a nameserver, 127.0.0.1, as glibc and musl.
Config load_config(const char* path = nullptr);

}  // namespace qbox::dns
