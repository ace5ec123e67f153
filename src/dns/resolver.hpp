// The resolver every applet uses: A, AAAA, MX, TXT and PTR lookups over the
// servers of /etc/resolv.conf, each with a Status that tells a name that
// does not exist (nxdomain, permanent) from a failure to find out
// (temporary). Names are text ("mail.example.com", trailing dot optional);
// names found are text as djb's dns library writes them (see name_to_text).
//
//   dns::Resolver r;                       // reads /etc/resolv.conf
//   std::vector<dns::Ip4> ips;
//   switch (r.lookup_a("example.com", ips)) { ... }
#pragma once
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/str.hpp"
#include "dns/conf.hpp"
#include "dns/packet.hpp"

namespace qbox::dns {

using Ip4 = std::array<uint8_t, 4>;    // network order, as src/net uses
using Ip6 = std::array<uint8_t, 16>;

struct Mx {
  unsigned pref = 0;
  Str name;
};

class Resolver {
 public:
  Resolver() : conf_(load_config()) {}
  explicit Resolver(Config c);
  const Config& config() const { return conf_; }

  // Addresses of a host name. These two use the search list: a name with
  // fewer dots than ndots (and no trailing dot) is tried with each search
  // domain appended, then as it is; any other name only as it is. ok at the
  // first name that has addresses; temporary at once on a temporary
  // failure; else nodata if some name existed, else nxdomain.
  Status lookup_a(std::string_view name, std::vector<Ip4>& out);
  Status lookup_aaaa(std::string_view name, std::vector<Ip6>& out);
  // The mail exchangers of a domain, sorted by preference (equal ones keep
  // the server's order). The domain is taken as it is (no search list).
  Status lookup_mx(std::string_view domain, std::vector<Mx>& out);
  // The TXT records of a name (no search list), one string per record:
  // its character-strings concatenated, bytes as they are. rblsmtpd joins
  // them and replaces unprintable bytes itself.
  Status lookup_txt(std::string_view name, std::vector<Str>& out);
  // The host name of an address: the first PTR record of its in-addr.arpa
  // or ip6.arpa name. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what an
  // IPv6 socket reports for an IPv4 peer) is looked up under in-addr.arpa.
  Status lookup_ptr4(const uint8_t ip[4], Str& name);
  Status lookup_ptr6(const uint8_t ip[16], Str& name);

  // The general form: the records of `type` for `name` (with the search
  // list if `search`), data decoded as parse_answer describes. `canonical`
  // (if given) receives the name that owned them, after the search list
  // and the CNAME chain. A name that cannot exist (empty, an empty label,
  // a label over 63 bytes, over 255 bytes in all) is nxdomain.
  Status query(std::string_view name, uint16_t type, std::vector<Record>& out,
               bool search = false, Str* canonical = nullptr);
  // One exchange for a name already in wire form, no search list.
  Status query_name(const Name& name, uint16_t type, std::vector<Record>& out,
                    Name* canonical = nullptr);

 private:
  Config conf_;
};

}  // namespace qbox::dns
