#include "net/names.hpp"

#include "net/ip.hpp"

namespace qbox::net {

int host_name(const uint8_t ip[16], Str& out) {
  (void)ip;
  out.clear();
  // DNS HOOK: the PTR lookup (dns_name4/dns_name6) goes here.
  return 0;
}

int host_addresses(std::string_view name, Str& out, bool qualify) {
  (void)qualify;
  uint8_t ip[16];
  if (parse_ip(name, ip)) {
    out.append(reinterpret_cast<const char*>(ip), 16);
    return 0;
  }
  // DNS HOOK: the A/AAAA lookup (dns_ip4_qualify/dns_ip6_qualify) goes here.
  return 0;
}

}  // namespace qbox::net
