// Domain names in DNS wire form: a sequence of labels, each a length byte
// (1..63) and its bytes, ended by the empty root label. A Name holds one
// uncompressed name of at most 255 bytes in place, so reading names from a
// packet never allocates.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/str.hpp"

namespace qbox::dns {

inline constexpr std::size_t kMaxName = 255;  // wire bytes, root label included
inline constexpr std::size_t kMaxLabel = 63;

struct Name {
  char b[kMaxName];
  std::size_t n = 0;  // 0: no name yet; the root name is one byte, 0
  std::string_view view() const { return {b, n}; }
};

// Text to wire form. The trailing dot is optional; "" and "." are the root.
// An empty label ("a..b", ".a") is refused, as are labels over 63 bytes and
// names over 255 wire bytes. Escapes as djb's dns library reads them: "\ooo"
// (one to three octal digits) is that byte, "\c" is c.
bool name_from_text(std::string_view text, Name& out);
// The same, but as lax as djb's dns_domain_fromdot, for the programs that
// used it (rblsmtpd): empty labels are skipped ("a..b" is "a.b", ".a" and
// "a.." are "a"), "\ooo" keeps the low 8 bits of its value, and a
// backslash at the very end is dropped. Long labels and names still fail.
bool name_from_dot(std::string_view text, Name& out);

// Appends the text form, as djb's dns_domain_todot writes it (and so as
// ucspi-tcp's TCPREMOTEHOST shows names): letters lowercased, a-z 0-9 and
// '-' as they are, any other byte as "\ooo"; labels joined by '.', no
// trailing dot; the root is ".".
void name_to_text(const Name& name, Str& out);

// Same name, ignoring ASCII case (DNS compares names that way).
bool name_equal(const Name& a, const Name& b);

// Reads the name at `pos` of a packet into `out`, following compression
// pointers. A pointer must point before the start of the labels it is read
// from, so every jump goes strictly backwards and a loop cannot occur; the
// name must stay within the packet and within 255 bytes, and at most 127
// pointers are followed (a name has no more labels). Returns the
// position after the name as it sits at `pos` (after its first pointer),
// or 0 when the name is malformed.
std::size_t read_name(std::string_view pkt, std::size_t pos, Name& out);

// The names for reverse lookups: "4.3.2.1.in-addr.arpa" for 1.2.3.4, and
// the 32 reversed nibbles under "ip6.arpa" for an IPv6 address.
void reverse_name4(const uint8_t ip[4], Name& out);
void reverse_name6(const uint8_t ip[16], Name& out);

}  // namespace qbox::dns
