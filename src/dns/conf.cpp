#include "dns/conf.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <utility>

#include "base/applet.hpp"
#include "base/env.hpp"
#include "base/fd.hpp"
#include "base/num.hpp"
#include "dns/name.hpp"
#include "net/ip.hpp"

namespace qbox::dns {

static constexpr std::size_t kMaxConfFile = 65536;

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The next blank-separated word of s, removed from s; empty at the end.
static std::string_view next_word(std::string_view& s) {
  std::size_t i = 0;
  while (i < s.size() && blank(s[i])) ++i;
  std::size_t j = i;
  while (j < s.size() && !blank(s[j])) ++j;
  std::string_view w = s.substr(i, j - i);
  s.remove_prefix(j);
  return w;
}

// If line starts with `key` and a blank, the rest of the line.
static bool keyword(std::string_view line, std::string_view key, std::string_view& rest) {
  if (line.size() <= key.size() || line.substr(0, key.size()) != key) return false;
  if (line[key.size()] != ' ' && line[key.size()] != '\t') return false;
  rest = line.substr(key.size() + 1);
  return true;
}

static bool parse_server(std::string_view word, Server& s) {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  if (word.empty() || word.size() >= sizeof buf) return false;
  std::memcpy(buf, word.data(), word.size());
  buf[word.size()] = 0;
  s = Server();
  if (inet_pton(AF_INET, buf, s.addr) == 1) {
    s.family = AF_INET;
    return true;
  }
  char* scope = std::strchr(buf, '%');
  if (scope) *scope++ = 0;
  if (inet_pton(AF_INET6, buf, s.addr) != 1) return false;
  s.family = AF_INET6;
  if (scope) {
    if (auto n = parse_num(scope, UINT32_MAX)) s.scope = static_cast<uint32_t>(*n);
    else if (!(s.scope = if_nametoindex(scope))) return false;
  }
  return true;
}

// "name:N" in opts: N capped at `max`, or nothing when it is not a number.
static bool option_num(std::string_view opt, std::string_view name, unsigned max, unsigned& out) {
  if (opt.size() <= name.size() || opt.substr(0, name.size()) != name) return false;
  std::string_view digits = opt.substr(name.size());
  Scanned s = scan_num(digits, 10, max);
  if (!s.used || s.used != digits.size()) return false;
  out = static_cast<unsigned>(s.value > max ? max : s.value);
  return true;
}

void parse_options(std::string_view opts, Config& c) {
  unsigned port;
  for (std::string_view w; !(w = next_word(opts)).empty();) {
    if (w == "rotate") c.rotate = true;
    else if (option_num(w, "ndots:", 15, c.ndots)) {}
    else if (option_num(w, "timeout:", 30, c.timeout)) { if (!c.timeout) c.timeout = 1; }
    else if (option_num(w, "attempts:", 5, c.attempts)) { if (!c.attempts) c.attempts = 1; }
    else if (option_num(w, "port:", 65535, port) && port) c.port = static_cast<uint16_t>(port);
  }
}

void parse_search(std::string_view list, Config& c) {
  c.search.clear();
  Name name;
  for (std::string_view w; !(w = next_word(list)).empty();) {
    if (c.search.size() == kMaxSearch) break;
    if (w.size() > 1 && w.back() == '.') w.remove_suffix(1);
    if (!name_from_text(w, name) || name.n <= 1) continue;
    c.search.push_back(Str(w));
  }
}

void parse_resolv_conf(std::string_view text, Config& c) {
  while (!text.empty()) {
    std::string_view line = take_line(text);
    std::string_view rest;
    if (keyword(line, "nameserver", rest)) {
      Server s;
      if (c.servers.size() < kMaxServers && parse_server(next_word(rest), s)) c.servers.push_back(s);
    } else if (keyword(line, "domain", rest)) {
      parse_search(next_word(rest), c);
    } else if (keyword(line, "search", rest)) {
      parse_search(rest, c);
    } else if (keyword(line, "options", rest)) {
      parse_options(rest, c);
    }
  }
}

bool parse_dnscacheip(std::string_view list, Config& c) {
  static constexpr std::size_t kMaxCacheIps = 16;  // dns_rcip's 64 bytes
  std::vector<Server> found;
  while (found.size() < kMaxCacheIps) {
    if (!list.empty() && list[0] == '.') {
      list.remove_prefix(1);
      continue;
    }
    Server s;
    s.family = AF_INET;
    std::size_t n = net::scan_ip4(list, s.addr);
    if (!n) break;
    list.remove_prefix(n);
    found.push_back(s);
  }
  if (found.empty()) return false;
  c.servers = std::move(found);
  return true;
}

bool apply_dnscacheip(Config& c) {
  if (running_setuid()) return false;
  const char* x = env::get("DNSCACHEIP");
  return x && parse_dnscacheip(x, c);
}

Config load_config(const char* path) {
  Config c;
  bool trusted = !running_setuid();
  if (!path && trusted) {
    path = env::get("QBOX_RESOLV_CONF");
    if (path && !*path) path = nullptr;
  }
  if (!path) path = "/etc/resolv.conf";
  Str text;
  if (read_file(path, text, kMaxConfFile) == 0) {
    parse_resolv_conf(text, c);
  } else if (errno == EFBIG) {  // a huge file: its first lines
    std::string_view v = text.view().substr(0, kMaxConfFile);
    parse_resolv_conf(v.substr(0, v.rfind('\n') + 1), c);
  }
  if (trusted) {
    if (const char* d = env::get("LOCALDOMAIN")) parse_search(d, c);
    if (const char* o = env::get("RES_OPTIONS")) parse_options(o, c);
  }
  if (c.servers.empty()) {
    Server s;
    s.family = AF_INET;
    s.addr[0] = 127;
    s.addr[3] = 1;
    c.servers.push_back(s);
  }
  return c;
}

}  // namespace qbox::dns
