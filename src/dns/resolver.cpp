#include "dns/resolver.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "dns/transport.hpp"

namespace qbox::dns {

Resolver::Resolver(Config c) : conf_(std::move(c)) {}

Status Resolver::query_name(const Name& name, uint16_t type, std::vector<Record>& out, Name* canonical) {
  out.clear();
  Str reply;
  if (!exchange(conf_, name, type, reply)) return Status::temporary;
  return parse_answer(reply, name, type, out, canonical);
}

Status Resolver::query(std::string_view text, uint16_t type, std::vector<Record>& out, bool search,
                       Str* canonical) {
  out.clear();
  if (text.empty()) return Status::nxdomain;
  Name name, canon;
  bool absolute = text.back() == '.';
  std::size_t dots = static_cast<std::size_t>(std::count(text.begin(), text.end(), '.'));
  bool any_nodata = false;
  auto done = [&](Status st) {
    if (canonical && st == Status::ok) {
      canonical->clear();
      name_to_text(canon, *canonical);
    }
    return st;
  };
  if (search && !absolute && dots < conf_.ndots) {
    Str full;
    for (const Str& domain : conf_.search) {
      full = text;
      full += '.';
      full += domain;
      if (!name_from_text(full, name)) continue;
      Status st = query_name(name, type, out, &canon);
      if (st == Status::ok || st == Status::temporary) return done(st);
      if (st == Status::nodata) any_nodata = true;
    }
  }
  if (!name_from_text(text, name)) return any_nodata ? Status::nodata : Status::nxdomain;
  Status st = query_name(name, type, out, &canon);
  if (st == Status::nxdomain && any_nodata) st = Status::nodata;
  return done(st);
}

// The addresses in A or AAAA records (parse_answer checked their sizes).
template <class Ip>
static Status lookup_addr(Resolver& r, std::string_view name, uint16_t type, std::vector<Ip>& out) {
  out.clear();
  std::vector<Record> rr;
  Status st = r.query(name, type, rr, true);
  for (const Record& rec : rr) {
    Ip ip;
    std::memcpy(ip.data(), rec.data.data(), ip.size());
    out.push_back(ip);
  }
  return st;
}

Status Resolver::lookup_a(std::string_view name, std::vector<Ip4>& out) {
  return lookup_addr(*this, name, kTypeA, out);
}

Status Resolver::lookup_aaaa(std::string_view name, std::vector<Ip6>& out) {
  return lookup_addr(*this, name, kTypeAaaa, out);
}

// The text of a wire name held in a record's data from byte `at` on.
static void data_name(const Record& r, std::size_t at, Str& out) {
  Name n;
  n.n = r.data.size() - at;
  std::memcpy(n.b, r.data.data() + at, n.n);
  name_to_text(n, out);
}

Status Resolver::lookup_mx(std::string_view domain, std::vector<Mx>& out) {
  out.clear();
  std::vector<Record> rr;
  Status st = query(domain, kTypeMx, rr);
  for (const Record& r : rr) {
    Mx mx;
    mx.pref = static_cast<unsigned>(static_cast<unsigned char>(r.data[0])) << 8 |
              static_cast<unsigned char>(r.data[1]);
    data_name(r, 2, mx.name);
    out.push_back(std::move(mx));
  }
  std::stable_sort(out.begin(), out.end(), [](const Mx& a, const Mx& b) { return a.pref < b.pref; });
  return st;
}

Status Resolver::lookup_txt(std::string_view name, std::vector<Str>& out) {
  out.clear();
  std::vector<Record> rr;
  Status st = query(name, kTypeTxt, rr);
  for (Record& r : rr) out.push_back(std::move(r.data));
  return st;
}

static Status first_ptr(Resolver& r, const Name& name, Str& out) {
  out.clear();
  std::vector<Record> rr;
  Status st = r.query_name(name, kTypePtr, rr);
  if (st == Status::ok) data_name(rr[0], 0, out);
  return st;
}

Status Resolver::lookup_ptr4(const uint8_t ip[4], Str& out) {
  Name name;
  reverse_name4(ip, name);
  return first_ptr(*this, name, out);
}

Status Resolver::lookup_ptr6(const uint8_t ip[16], Str& out) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!std::memcmp(ip, mapped, 12)) return lookup_ptr4(ip + 12, out);
  Name name;
  reverse_name6(ip, name);
  return first_ptr(*this, name, out);
}

}  // namespace qbox::dns
