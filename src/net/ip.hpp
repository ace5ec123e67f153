// IP addresses as text: IPv4 dotted quads and IPv6 in the usual notation,
// read and written the way ucspi-tcp (ip4_scan, ip4_fmt) and the IPv6
// ucspi-tcp (scan_ip6, ip6_fmt) do it.
//
// Addresses are raw bytes in network order: uint8_t[4] and uint8_t[16].
// The scanners read an address at the start of the text and return how many
// bytes they used (0: no address there), so a caller can go on with what
// follows ("/24", "%eth0", ":25"); parse_* want the whole text.
//
// Where the classic code was lax the scanners are strict: an IPv4 part
// above 255 is refused (ip4_scan kept its low 8 bits), and an IPv6 group
// has at most 4 hex digits (scan_xlong took any number).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace qbox::net {

inline constexpr std::size_t kIp4Fmt = 16;      // "255.255.255.255" + slack
inline constexpr std::size_t kIp6Fmt = 40;      // as IP6_FMT: 39 bytes at most
inline constexpr std::size_t kIp6FullFmt = 39;  // 8 groups of 4 digits, 7 colons

// Reads "a.b.c.d", each part decimal 0..255 (leading zeros allowed, as
// ip4_scan reads them: decimal, not octal). Stops after the fourth part.
std::size_t scan_ip4(std::string_view s, uint8_t ip[4]);
bool parse_ip4(std::string_view s, uint8_t ip[4]);
// "a.b.c.d"; returns the length written (at most 15).
std::size_t fmt_ip4(char* out, const uint8_t ip[4]);

// Reads IPv6 text: up to 8 groups of 1-4 hex digits (either case), one "::"
// standing for one or more zero groups, and optionally the last 32 bits as
// a dotted quad ("::ffff:1.2.3.4"). Stops before what cannot continue the
// address (a '%', '/', ']' or a lone ':').
std::size_t scan_ip6(std::string_view s, uint8_t ip[16]);
bool parse_ip6(std::string_view s, uint8_t ip[16]);
// Either form, as ucspi-tcp6's scan_ip6 reads it: an IPv4 dotted quad
// becomes the v4-mapped address ::ffff:a.b.c.d.
bool parse_ip(std::string_view s, uint8_t ip[16]);

// ip6_fmt: lowercase hex without leading zeros, the longest run of zero
// groups (the first of equals, even a single group) written as "::", and a
// v4-mapped address as "::ffff:a.b.c.d". Returns the length written.
std::size_t fmt_ip6(char* out, const uint8_t ip[16]);
// The full form: "2001:0db8:0000:0000:0000:0000:0000:0001" (39 bytes).
std::size_t fmt_ip6_full(char* out, const uint8_t ip[16]);

// ::ffff:0:0/96, the IPv4 addresses as an IPv6 socket sees them.
bool is_v4mapped(const uint8_t ip[16]);
// fe80::/10, which means nothing without an interface (a scope id).
bool is_link_local(const uint8_t ip[16]);
void v4mapped(const uint8_t ip4[4], uint8_t ip6[16]);

// Clears the bits of ip past the first `bits` (a network address).
void mask_bits(uint8_t* ip, std::size_t len, unsigned bits);

}  // namespace qbox::net
