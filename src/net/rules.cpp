#include "net/rules.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fd.hpp"
#include "base/num.hpp"
#include "net/ip.hpp"

namespace qbox::rules {

namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool is_verb(std::string_view s) { return starts_with(s, "deny") || starts_with(s, "allow"); }

std::string_view trimmed(std::string_view line) {
  while (!line.empty()) {
    char c = line.back();
    if (c != '\n' && c != ' ' && c != '\t') break;
    line.remove_suffix(1);
  }
  return line;
}

// The instructions after the address: "allow" or "deny", then
// ",VAR=XvalueX"... Appends the encoded value to data.
bool compile_instructions(std::string_view x, Str& data) {
  if (starts_with(x, "deny")) {
    data.append("D", 2);
    x.remove_prefix(4);
  } else if (starts_with(x, "allow")) {
    x.remove_prefix(5);
  } else {
    return false;
  }
  while (!x.empty()) {
    if (x[0] != ',') return false;
    std::size_t eq = x.find('=');
    if (eq == std::string_view::npos) return false;
    data += '+';
    data += x.substr(1, eq);  // VAR=
    x.remove_prefix(eq + 1);
    if (x.empty()) return false;
    char quote = x[0];
    x.remove_prefix(1);
    std::size_t end = x.find(quote);
    if (end == std::string_view::npos) return false;
    data += x.substr(0, end);
    data += '\0';
    x.remove_prefix(end + 1);
  }
  return true;
}

// tcprules' getnum: scan_ulong over a NUL-terminated copy, which must be
// used up. Digits wrap around as an unsigned long does.
bool range_number(std::string_view s, uint64_t& out) {
  uint64_t v = 0;
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + static_cast<uint64_t>(s[i++] - '0');
  if (i < s.size() && s[i] != '\0') return false;
  out = v;
  return true;
}

LineStatus add(Sink& out, std::string_view key, std::string_view value) {
  return out.add(key, value) == 0 ? LineStatus::kRule : LineStatus::kSinkFailed;
}

// "1.2.3.4-7": one key per number of the range (tcprules.c doaddressdata).
LineStatus add_range(std::string_view addr, std::size_t dash, std::string_view data, Sink& out) {
  std::size_t left = addr.substr(0, dash).rfind('.');
  left = left == std::string_view::npos ? 0 : left + 1;
  std::size_t top_at = dash + 1;
  std::size_t right = addr.find('.', top_at);
  if (right == std::string_view::npos) right = addr.size();
  uint64_t bot, top;
  if (!range_number(addr.substr(left, dash - left), bot)) return LineStatus::kBad;
  if (!range_number(addr.substr(top_at, right - top_at), top)) return LineStatus::kBad;
  if (top > 255) top = 255;
  Str key;
  char num[kNumDigits];
  for (; bot <= top; ++bot) {
    key = addr.substr(0, left);
    key += fmt_num(num, bot);
    key += addr.substr(right);
    if (out.add(key, data) != 0) return LineStatus::kSinkFailed;
  }
  return LineStatus::kRule;
}

// IPv4 CIDR: the keys of the octet boundary at or after the prefix.
LineStatus add_cidr4(const uint8_t net[4], unsigned bits, std::string_view data, Sink& out) {
  uint8_t ip[4];
  std::memcpy(ip, net, 4);
  net::mask_bits(ip, 4, bits);
  unsigned octets = bits == 0 ? 1 : (bits + 7) / 8;
  unsigned count = 1u << (8 * octets - bits);
  Str key;
  char num[kNumDigits];
  for (unsigned v = 0; v < count; ++v) {
    key.clear();
    for (unsigned i = 0; i < octets; ++i) {
      unsigned octet = ip[i];
      if (i == octets - 1) octet |= v;
      key += fmt_num(num, octet);
      if (i < 3) key += '.';
    }
    if (out.add(key, data) != 0) return LineStatus::kSinkFailed;
  }
  return LineStatus::kRule;
}

// "10.0.0.0/8", "10./8", "192.168./16".
bool parse_cidr4(std::string_view addr, uint8_t ip[4], unsigned& bits) {
  std::size_t slash = addr.find('/');
  auto len = parse_num(addr.substr(slash + 1), 32);
  if (!len) return false;
  bits = static_cast<unsigned>(*len);
  std::string_view a = addr.substr(0, slash);
  if (net::parse_ip4(a, ip)) return true;
  // A classic prefix: one to three parts, each followed by a dot.
  std::memset(ip, 0, 4);
  unsigned parts = 0;
  while (!a.empty()) {
    std::size_t dot = a.find('.');
    if (dot == std::string_view::npos || parts == 3) return false;
    auto v = parse_num(a.substr(0, dot), 255);
    if (!v) return false;
    ip[parts++] = static_cast<uint8_t>(*v);
    a.remove_prefix(dot + 1);
  }
  return parts > 0;
}

bool looks_like_cidr4(std::string_view addr) {
  std::size_t slashes = 0;
  for (char c : addr) {
    if (c == '/') ++slashes;
    else if (c != '.' && (c < '0' || c > '9')) return false;
  }
  return slashes > 0;
}

LineStatus add_classic(std::string_view addr, std::string_view data, Sink& out) {
  if (addr.find('=') == std::string_view::npos && addr.find('@') == std::string_view::npos) {
    std::size_t dash = addr.find('-');
    if (dash != std::string_view::npos) return add_range(addr, dash, data, out);
    if (looks_like_cidr4(addr)) {
      uint8_t ip[4];
      unsigned bits;
      if (!parse_cidr4(addr, ip, bits)) return LineStatus::kBad;
      return add_cidr4(ip, bits, data, out);
    }
  }
  return add(out, addr, data);
}

// The key of an exact IPv6 address: the full form, or the dotted quad of
// a v4-mapped one.
void ip6_key(const uint8_t ip[16], Str& key) {
  char buf[net::kIp6FullFmt];
  if (net::is_v4mapped(ip)) key.append(buf, net::fmt_ip4(buf, ip + 12));
  else key.append(buf, net::fmt_ip6_full(buf, ip));
}

// The first `nibbles` hex digits of the full form, and a ':'.
void ip6_prefix_key(const char full[net::kIp6FullFmt], unsigned nibbles, Str& key) {
  key.append(full, nibbles + (nibbles - 1) / 4);
  key += ':';
}

LineStatus add_cidr6(const uint8_t net_ip[16], unsigned bits, std::string_view data, Sink& out) {
  if (net::is_v4mapped(net_ip) && bits >= 96) return add_cidr4(net_ip + 12, bits - 96, data, out);
  uint8_t ip[16];
  std::memcpy(ip, net_ip, 16);
  net::mask_bits(ip, 16, bits);
  Str key;
  if (bits == 128) {
    ip6_key(ip, key);
    return add(out, key, data);
  }
  unsigned nibbles = bits == 0 ? 1 : (bits + 3) / 4;
  unsigned count = 1u << (4 * nibbles - bits);
  unsigned byte = (nibbles - 1) / 2;
  bool high = (nibbles - 1) % 2 == 0;
  for (unsigned v = 0; v < count; ++v) {
    uint8_t cur[16];
    std::memcpy(cur, ip, 16);
    cur[byte] = static_cast<uint8_t>(cur[byte] | (high ? v << 4 : v));
    char full[net::kIp6FullFmt];
    net::fmt_ip6_full(full, cur);
    key.clear();
    ip6_prefix_key(full, nibbles, key);
    if (out.add(key, data) != 0) return LineStatus::kSinkFailed;
  }
  return LineStatus::kRule;
}

// "2001:db8:": whole groups, each followed by ':'.
bool parse_group_prefix(std::string_view a, uint8_t ip[16], unsigned& bits) {
  std::memset(ip, 0, 16);
  unsigned groups = 0;
  while (!a.empty()) {
    std::size_t colon = a.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 4 || groups == 7) return false;
    auto v = parse_num(a.substr(0, colon), 0xffff, 16);
    if (!v) return false;
    ip[2 * groups] = static_cast<uint8_t>(*v >> 8);
    ip[2 * groups + 1] = static_cast<uint8_t>(*v);
    ++groups;
    a.remove_prefix(colon + 1);
  }
  bits = 16 * groups;
  return groups > 0;
}

LineStatus add_ipv6(std::string_view addr, std::string_view data, Sink& out) {
  uint8_t ip[16];
  std::size_t at = addr.rfind('@');
  if (at != std::string_view::npos) {
    if (!net::parse_ip6(addr.substr(at + 1), ip)) return LineStatus::kBad;
    Str key(addr.substr(0, at + 1));
    ip6_key(ip, key);
    return add(out, key, data);
  }
  std::size_t slash = addr.find('/');
  if (slash != std::string_view::npos) {
    auto bits = parse_num(addr.substr(slash + 1), 128);
    if (!bits || !net::parse_ip6(addr.substr(0, slash), ip)) return LineStatus::kBad;
    return add_cidr6(ip, static_cast<unsigned>(*bits), data, out);
  }
  if (net::parse_ip6(addr, ip)) {
    Str key;
    ip6_key(ip, key);
    return add(out, key, data);
  }
  unsigned bits;
  if (parse_group_prefix(addr, ip, bits)) return add_cidr6(ip, bits, data, out);
  return LineStatus::kBad;
}

}  // namespace

std::string_view shown_line(std::string_view line) {
  line = trimmed(line);
  return line.substr(0, line.find('\0'));
}

LineStatus compile_line(std::string_view line, Sink& out) {
  if (line.empty() || line[0] == '#' || line[0] == '\n') return LineStatus::kSkip;
  std::string_view x = trimmed(line);
  std::size_t colon = x.find(':');
  if (colon == std::string_view::npos) return LineStatus::kSkip;
  bool ipv6 = false;
  if (!is_verb(x.substr(colon + 1))) {
    // Not a classic rule; an IPv6 address runs to the ':' before the verb.
    do {
      colon = x.find(':', colon + 1);
      if (colon == std::string_view::npos) return LineStatus::kBad;
    } while (!is_verb(x.substr(colon + 1)));
    ipv6 = true;
  }
  std::string_view addr = x.substr(0, colon);
  Str data;
  if (!compile_instructions(x.substr(colon + 1), data)) return LineStatus::kBad;
  return ipv6 ? add_ipv6(addr, data, out) : add_classic(addr, data, out);
}

// ---- the lookup ----------------------------------------------------------

int for_each_key(const Peer& peer, int (*fn)(void* ctx, std::string_view key), void* ctx) {
  std::string_view ip = peer.ip;
  char buf[net::kIp6FullFmt];
  bool ipv6 = false;
  uint8_t ip6[16];
  if (net::parse_ip6(ip, ip6)) {
    if (net::is_v4mapped(ip6)) {
      ip = std::string_view(buf, net::fmt_ip4(buf, ip6 + 12));
    } else {
      ip = std::string_view(buf, net::fmt_ip6_full(buf, ip6));
      ipv6 = true;
    }
  }

  Str key;
  int r;
  auto try_key = [&](std::string_view k) { return fn(ctx, k); };
  if (peer.info) {
    key = *peer.info;
    key += '@';
    key += ip;
    if ((r = try_key(key))) return r;
    if (peer.host) {
      key = *peer.info;
      key += "@=";
      key += *peer.host;
      if ((r = try_key(key))) return r;
    }
  }
  if ((r = try_key(ip))) return r;
  if (peer.host) {
    key = "=";
    key += *peer.host;
    if ((r = try_key(key))) return r;
  }
  if (ipv6) {
    for (unsigned nibbles = 31; nibbles > 0; --nibbles) {
      key.clear();
      ip6_prefix_key(buf, nibbles, key);
      if ((r = try_key(key))) return r;
    }
  } else {
    for (std::size_t len = ip.size(); len > 0; --len)
      if (ip[len - 1] == '.' && (r = try_key(ip.substr(0, len)))) return r;
  }
  if (peer.host) {
    std::string_view host = *peer.host;
    for (std::size_t i = 0; i < host.size(); ++i) {
      if (host[i] != '.') continue;
      key = "=";
      key += host.substr(i);
      if ((r = try_key(key))) return r;
    }
    if ((r = try_key("="))) return r;
  }
  return try_key("");
}

namespace {
struct FindCtx {
  CdbReader* db;
  Match* out;
};

int find_one(void* ctx, std::string_view key) {
  auto* c = static_cast<FindCtx*>(ctx);
  int r = c->db->find(key);
  if (r <= 0) return r;
  c->out->key = key;
  c->out->value = c->db->value();
  return 1;
}
}  // namespace

int find(CdbReader& db, const Peer& peer, Match& out) {
  FindCtx ctx{&db, &out};
  return for_each_key(peer, find_one, &ctx);
}

int find_file(const char* path, const Peer& peer, Match& out) {
  int fd = open_read(path);
  if (fd < 0) return -1;
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
    // ucspi-tcp's cdb_init cannot map an empty file, and the error that
    // tcpserver and tcprulescheck report is that of mmap.
    ::close(fd);
    errno = EINVAL;
    return -1;
  }
  CdbReader db;
  if (db.open_fd(fd) != 0) return -1;
  return find(db, peer, out);
}

bool Instructions::next(Instruction& out) {
  std::size_t z = rest_.find('\0');
  if (z == std::string_view::npos) return false;
  out.kind = z ? rest_[0] : '\0';
  out.body = z ? rest_.substr(1, z - 1) : std::string_view();
  rest_.remove_prefix(z + 1);
  return true;
}

bool split_env(std::string_view body, std::string_view& name, std::string_view& value) {
  std::size_t eq = body.find('=');
  if (eq == std::string_view::npos) return false;
  name = body.substr(0, eq);
  value = body.substr(eq + 1);
  return true;
}

}  // namespace qbox::rules
