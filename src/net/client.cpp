#include "net/client.hpp"

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include "base/die.hpp"
#include "base/env.hpp"
#include "base/fd.hpp"
#include "base/num.hpp"
#include "base/str.hpp"
#include "io/buffer.hpp"
#include "io/filter.hpp"
#include "io/text.hpp"
#include "net/ident.hpp"
#include "net/names.hpp"
#include "proc/child.hpp"

namespace qbox::net {
namespace {

constexpr char kFatal[] = "tcpclient: fatal: ";

// "IP port N" as tcpclient prints an address.
void append_where(Str& s, const Endpoint& e) {
  char ip[kIpFmt];
  s.append(std::string_view(ip, fmt_ip(ip, e.ip)));
  s.append(" port ");
  s.append_num(e.port);
}

int timeout_ms(unsigned long seconds) {
  return seconds > static_cast<unsigned long>(INT_MAX / 1000) ? INT_MAX
                                                              : static_cast<int>(seconds * 1000);
}

bool wanted(const ClientOptions& o, const uint8_t ip[16]) {
  bool v4 = is_v4mapped(ip);
  if (o.family == 4 && !v4) return false;
  if (o.family == 6 && v4) return false;
  if (o.local_ip && o.local.is_v4() != v4) return false;
  return true;
}

// One try: 0 with the socket in s, or -1 with errno (ETIMEDOUT when the
// time ran out). Failing to make or bind the socket is fatal.
int try_connect(const ClientOptions& o, const Endpoint& to, unsigned long seconds, int& s) {
  s = tcp_socket_family(!to.is_v4());
  if (s < 0) client_fatal_sys(o, "unable to create socket: ");
  if (o.interface && bind_to_device(s, o.interface) != 0)
    client_fatal_sys(o, "unable to bind socket to interface ", o.interface, ": ");
  if (o.local_ip || o.local.port) {
    Endpoint from = o.local;
    if (!o.local_ip) std::memset(from.ip, 0, sizeof from.ip);
    if (bind(s, from) != 0) client_fatal_sys(o, "unable to bind socket: ");
  }
  if (connect_timeout(s, to, timeout_ms(seconds)) == 0) return 0;
  int e = errno;
  ::close(s);
  s = -1;
  errno = e;
  return -1;
}

// PROTO-style variable: TCP + suffix, and for IPv6 also TCP6 + suffix.
void set_var(bool v6, const char* suffix, const char* value) {
  Str name("TCP");
  name.append(suffix);
  env::set(name, value);
  if (v6) {
    name = "TCP6";
    name.append(suffix);
    env::set(name, value);
  }
}

// The name DNS has for ip: as 0.88's dns_name4 gives it, empty when the
// address has none, nullptr when the lookup failed.
const char* dns_name(const uint8_t ip[16], Str& out) {
  int r = host_name(ip, out);
  if (r < 0) return nullptr;
  if (r == 0) out.clear();
  return out.c_str();
}

}  // namespace

bool client_option(ClientOptions& o, int opt, const char* arg) {
  unsigned long u;
  switch (opt) {
    case '4': o.family = 4; break;
    case '6': o.family = 6; break;
    case 'd': o.delay = true; break;
    case 'D': o.delay = false; break;
    case 'v': o.verbosity = 2; break;
    case 'q': o.verbosity = 0; break;
    case 'Q': o.verbosity = 1; break;
    case 'l': o.localname = arg; break;
    case 'H': o.remote_host = false; break;
    case 'h': o.remote_host = true; break;
    case 'R': o.remote_info = false; break;
    case 'r': o.remote_info = true; break;
    case 't': scan_ulong(arg, o.info_timeout); break;
    case 'T': {
      // "first+second" or "first"; as 0.88 reads it, anything but a '+'
      // after the first number leaves the second at 0.
      std::string_view a(arg);
      std::size_t j = scan_ulong(a, o.conn_timeout[0]);
      if (j < a.size() && a[j] == '+') ++j;
      scan_ulong(a.substr(j), o.conn_timeout[1]);
      break;
    }
    case 'i': {
      // An address at the start of the text, as ip4_scan reads it.
      std::string_view a(arg);
      uint8_t ip4[4], ip6[16];
      if (scan_ip4(a, ip4)) v4mapped(ip4, o.local.ip);
      else if (scan_ip6(a, ip6)) std::memcpy(o.local.ip, ip6, 16);
      else return false;
      o.local_ip = !o.local.is_any();
      if (!o.local_ip) std::memset(o.local.ip, 0, sizeof o.local.ip);
      break;
    }
    case 'p': scan_ulong(arg, u); o.local.port = static_cast<uint16_t>(u); break;
    case 'I': o.interface = arg; break;
    default: return false;
  }
  return true;
}

void client_fatal_sys(const ClientOptions& o, const char* what, const char* arg, const char* tail) {
  if (o.verbosity) die_sys(kExitTemp, kFatal, what, arg, tail);
  _exit(kExitTemp);
}

bool client_port(const ClientOptions& o, const char* name, uint16_t& port) {
  unsigned long u;
  if (!name[scan_ulong(name, u)]) {
    port = static_cast<uint16_t>(u);
    return true;
  }
  struct servent* se = ::getservbyname(name, "tcp");
  if (!se) {
    if (o.verbosity) warn(kFatal, "unable to figure out port number for ", name);
    return false;
  }
  port = ntohs(static_cast<uint16_t>(se->s_port));
  return true;
}

int client_connect(const ClientOptions& o, const char* host, uint16_t port) {
  if (!*host || !std::strcmp(host, "0")) host = o.family == 6 ? "::1" : "127.0.0.1";

  // "fe80::1%eth0": an address on an interface.
  std::string_view name(host);
  uint32_t scope = 0;
  std::size_t pct = name.find('%');
  if (pct != std::string_view::npos) {
    scope = ::if_nametoindex(host + pct + 1);
    if (!scope) {
      if (o.verbosity) warn(kFatal, "no IP address for ", host);
      return -1;
    }
    name = name.substr(0, pct);
  }

  // -I: its index is the scope of a link-local address that has none.
  uint32_t interface = 0;
  if (o.interface) {
    interface = ::if_nametoindex(o.interface);
    if (!interface) {
      if (o.verbosity) warn(kFatal, "no network interface named ", o.interface);
      return -1;
    }
  }
  ClientOptions opts = o;
  if (!opts.local.is_v4() && is_link_local(opts.local.ip) && !opts.local.scope_id)
    opts.local.scope_id = interface;

  Str found;
  if (host_addresses(name, found, true) != 0) {
    if (o.verbosity) warn_sys(kFatal, "temporarily unable to figure out IP address for ", host, ": ");
    return -1;
  }
  Str addrs;
  for (std::size_t i = 0; i + 16 <= found.size(); i += 16) {
    const auto* ip = reinterpret_cast<const uint8_t*>(found.data() + i);
    if (wanted(o, ip)) addrs.append(found.data() + i, 16);
  }
  if (addrs.empty()) {
    if (o.verbosity) warn(kFatal, "no IP address for ", host);
    return -1;
  }

  unsigned long timeout[2] = {o.conn_timeout[0], o.conn_timeout[1]};
  if (addrs.size() == 16) {
    timeout[0] += timeout[1];
    timeout[1] = 0;
  }
  for (int round = 0; round < 2; ++round) {
    Str again;  // the addresses that timed out in the first round
    for (std::size_t i = 0; i + 16 <= addrs.size(); i += 16) {
      Endpoint to = Endpoint::from_ip6(reinterpret_cast<const uint8_t*>(addrs.data() + i), port);
      if (!to.is_v4()) to.scope_id = scope ? scope : is_link_local(to.ip) ? interface : 0;
      int s;
      if (try_connect(opts, to, timeout[round], s) == 0) return s;
      if (round == 0 && timeout[1] && errno == ETIMEDOUT) {
        again.append(addrs.data() + i, 16);
      } else if (o.verbosity) {
        Str msg("tcpclient: unable to connect to ");
        append_where(msg, to);
        msg.append(": ");
        warn_sys(msg);
      }
    }
    addrs = again;
  }
  return -1;
}

void client_environment(const ClientOptions& o, int s) {
  if (!o.delay) set_nodelay(s);  // if it fails, so be it (as 0.88)

  Endpoint local, remote;
  if (local_endpoint(s, local) != 0) client_fatal_sys(o, "unable to get local address: ");
  bool v6 = !local.is_v4();
  env::set("PROTO", v6 ? "TCP6" : "TCP");

  char num[kNumDigits + 1], ip[kIpFmt];
  std::string_view n = fmt_num(num, local.port);
  std::memmove(num, n.data(), n.size());
  num[n.size()] = 0;
  set_var(v6, "LOCALPORT", num);
  ip[fmt_ip(ip, local.ip)] = 0;
  set_var(v6, "LOCALIP", ip);

  Str name;
  const char* x = o.localname;
  if (!x) x = dns_name(local.ip, name);
  set_var(v6, "LOCALHOST", x);
  if (v6 && local.scope_id) {
    char ifname[IF_NAMESIZE];
    if (::if_indextoname(local.scope_id, ifname)) env::set("TCP6INTERFACE", ifname);
  }

  if (remote_endpoint(s, remote) != 0) client_fatal_sys(o, "unable to get remote address: ");
  n = fmt_num(num, remote.port);
  std::memmove(num, n.data(), n.size());
  num[n.size()] = 0;
  set_var(v6, "REMOTEPORT", num);
  ip[fmt_ip(ip, remote.ip)] = 0;
  set_var(v6, "REMOTEIP", ip);
  if (o.verbosity >= 2) warn("tcpclient: connected to ", ip, " port ", num);

  x = nullptr;
  if (o.remote_host) x = dns_name(remote.ip, name);
  set_var(v6, "REMOTEHOST", x);

  Str info;
  x = nullptr;
  if (o.remote_info && remote_info(info, remote, local, o.info_timeout) == 0) x = info.c_str();
  set_var(v6, "REMOTEINFO", x);
}

// ---- the scripts ----------------------------------------------------------------

int script_connect(const char* host, const char* port) {
  ClientOptions o;
  o.remote_host = false;
  o.remote_info = false;
  o.localname = "0";
  uint16_t p;
  if (!client_port(o, port, p)) return -1;
  return client_connect(o, host, p);
}

void die_output(const char* prog, int code, bool pipeline) {
  if (errno == EPIPE) {
    if (pipeline) _exit(128 + SIGPIPE);
    sig_default(SIGPIPE);
    ::raise(SIGPIPE);
  }
  die_sys(code, prog, ": fatal: unable to write output: ");
}

void show_text(int s, const char* prog) {
  char obuf[4096];
  Writer out(1, obuf);
  ShowNonprinting<Writer> vis(out);
  DelCr<ShowNonprinting<Writer>> del(vis);
  // A failed read ends delcr, and cat -v sees the end of its input.
  if (pump(s, del, out) == -2) die_output(prog, 1, true);
}

int script_show(const char* host, const char* port, const char* prog) {
  sig_ignore(SIGPIPE);
  int s = script_connect(host, port);
  if (s >= 0) show_text(s, prog);
  return 0;
}

void mconnect_io(int net_in, int net_out) {
  sig_ignore(SIGPIPE);
  char buf[512];
  pid_t pid = ::fork();
  if (pid < 0) die_sys(kExitTemp, "mconnect-io: fatal: ", "unable to fork: ");
  if (pid == 0) {
    // Standard input to the network, CR before LF; each chunk written
    // before the next read, errors ignored.
    Str chunk;
    StrSink sink{chunk};
    AddCr<StrSink> add(sink);
    for (;;) {
      ssize_t r = ::read(0, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) _exit(0);
      chunk.clear();
      add.put(std::string_view(buf, static_cast<std::size_t>(r)));
      write_all(net_out, chunk);
    }
  }
  for (;;) {
    ssize_t r = ::read(net_in, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    write_all(1, std::string_view(buf, static_cast<std::size_t>(r)));
  }
  ::kill(pid, SIGTERM);
  int wstat;
  wait_pid(pid, &wstat);
  _exit(0);
}

}  // namespace qbox::net
