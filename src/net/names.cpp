#include "net/names.hpp"

#include <cerrno>
#include <utility>
#include <vector>

#include "dns/resolver.hpp"
#include "net/ip.hpp"

namespace qbox::net {
namespace {

// The servers of /etc/resolv.conf, or those of $DNSCACHEIP, as the
// classic programs (djb's dns library) find them.
dns::Resolver resolver() {
  dns::Config c = dns::load_config();
  dns::apply_dnscacheip(c);
  return dns::Resolver(std::move(c));
}

}  // namespace

int host_name(const uint8_t ip[16], Str& out) {
  out.clear();
  switch (resolver().lookup_ptr6(ip, out)) {
    case dns::Status::ok: return 1;
    case dns::Status::temporary: out.clear(); errno = EAGAIN; return -1;
    default: out.clear(); return 0;
  }
}

int host_addresses(std::string_view name, Str& out, bool qualify) {
  uint8_t ip[16];
  if (parse_ip(name, ip)) {
    out.append(reinterpret_cast<const char*>(ip), 16);
    return 0;
  }
  dns::Resolver res = resolver();
  // IPv4 first, as the classic programs only knew A records; then AAAA.
  for (uint16_t type : {dns::kTypeA, dns::kTypeAaaa}) {
    std::vector<dns::Record> records;
    dns::Status s = res.query(name, type, records, qualify);
    if (s == dns::Status::temporary) {
      errno = EAGAIN;
      return -1;
    }
    for (const dns::Record& r : records) {
      if (type == dns::kTypeA && r.data.size() == 4) {
        static constexpr char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\xff', '\xff'};
        out.append(kMapped, 12);
        out.append(r.data.view());
      } else if (type == dns::kTypeAaaa && r.data.size() == 16) {
        out.append(r.data.view());
      }
    }
  }
  return 0;
}

}  // namespace qbox::net
