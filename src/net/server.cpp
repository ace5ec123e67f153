#include "net/server.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <grp.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "base/die.hpp"
#include "base/env.hpp"
#include "base/fd.hpp"
#include "base/num.hpp"
#include "net/ident.hpp"
#include "net/names.hpp"
#include "net/rules.hpp"
#include "proc/child.hpp"
#include "proc/exec.hpp"

namespace qbox::net {
namespace {

// ---- messages -------------------------------------------------------------
// All of them are silenced by -q, fatal ones included, as tcpserver does it
// by pointing buffer_2 at descriptor -1.

const ServerOptions* g_opt;

template <class... A>
[[noreturn]] void fatal(int code, const A&... a) {
  if (g_opt->verbosity) die(code, g_opt->prog, a...);
  _exit(code);
}
template <class... A>
[[noreturn]] void fatal_sys(int code, const A&... a) {
  if (g_opt->verbosity) die_sys(code, g_opt->prog, a...);
  _exit(code);
}
template <class... A>
void note(const A&... a) {  // -v only
  if (g_opt->verbosity >= 2) warn(g_opt->prog, a...);
}

[[noreturn]] void usage() { fatal(kExitPerm, ": usage: ", g_opt->usage); }

constexpr char kFatal[] = ": fatal: ";
constexpr char kDrop[] = ": warning: dropping connection, ";

// ---- the limits patch -------------------------------------------------------

struct Limits {
  unsigned long maxload = 0;  // 0: no check
  bool has_maxconnip = false;
  bool has_maxconnc = false;
  unsigned long maxconnip = 0;
  unsigned long maxconnc = 0;
  Str diemsg, diemsg_maxload, diemsg_maxconnip, diemsg_maxconnc;  // empty: none
};
Limits g_limits;

// One limit variable, from the environment or a rule; false for other names.
bool set_limit(std::string_view name, std::string_view value) {
  unsigned long u;
  if (name == "MAXLOAD") {
    scan_ulong(value, g_limits.maxload);
  } else if (name == "MAXCONNIP") {
    scan_ulong(value, u);
    g_limits.maxconnip = u;
    g_limits.has_maxconnip = true;
  } else if (name == "MAXCONNC") {
    scan_ulong(value, u);
    g_limits.maxconnc = u;
    g_limits.has_maxconnc = true;
  } else if (name == "DIEMSG") {
    g_limits.diemsg = value;
  } else if (name == "DIEMSG_MAXLOAD") {
    g_limits.diemsg_maxload = value;
  } else if (name == "DIEMSG_MAXCONNIP") {
    g_limits.diemsg_maxconnip = value;
  } else if (name == "DIEMSG_MAXCONNC") {
    g_limits.diemsg_maxconnc = value;
  } else {
    return false;
  }
  return true;
}

void limits_from_env() {
  static constexpr const char* kNames[] = {"MAXLOAD", "MAXCONNIP", "MAXCONNC", "DIEMSG",
                                           "DIEMSG_MAXLOAD", "DIEMSG_MAXCONNIP", "DIEMSG_MAXCONNC"};
  for (const char* n : kNames)
    if (const char* v = env::get(n)) set_limit(n, v);
}

// ---- the children -----------------------------------------------------------
// The table of running children and their peers (for MAXCONNIP/MAXCONNC).
// The main loop changes it only with SIGCHLD blocked; the handler only
// clears the pid of a child that ended.

struct Kid {
  pid_t pid;
  uint8_t ip[16];
};
std::vector<Kid> g_kids;
volatile unsigned long g_children = 0;

void print_status() {
  if (g_opt->verbosity < 2) return;
  char a[kNumDigits], b[kNumDigits];
  warn(g_opt->prog, ": status: ", fmt_num(a, g_children), "/", fmt_num(b, g_opt->limit));
}

void on_child(int) {
  int e = errno;
  int wstat;
  pid_t pid;
  while ((pid = wait_nohang(&wstat)) > 0) {
    if (g_opt->verbosity >= 2) {
      char a[kNumDigits], b[kNumDigits];
      warn(g_opt->prog, ": end ", fmt_num(a, static_cast<unsigned long>(pid)), " status ",
           fmt_num(b, static_cast<unsigned>(wstat)));
    }
    if (g_children) g_children = g_children - 1;
    print_status();
    for (Kid& k : g_kids)
      if (k.pid == pid) {
        k.pid = 0;
        break;
      }
  }
  errno = e;
}

void on_term(int) { _exit(0); }

void remember_kid(pid_t pid, const uint8_t ip[16]) {
  for (Kid& k : g_kids)
    if (k.pid == 0) {
      k.pid = pid;
      std::memcpy(k.ip, ip, 16);
      return;
    }
  Kid k;
  k.pid = pid;
  std::memcpy(k.ip, ip, 16);
  g_kids.push_back(k);
}

// ---- the child ----------------------------------------------------------------

struct Child {
  int t;
  Endpoint local, remote;
  bool v6;  // an IPv6 peer (not v4-mapped)
  char local_ip[kIpFmt];
  char remote_ip[kIpFmt];
  char local_port[kNumDigits];
  char remote_port[kNumDigits];
  const char* local_host = nullptr;
  const char* remote_host = nullptr;
  bool have_info = false;
  Str local_host_s, remote_host_s, info;
  int deny = 0;  // 1 rule, 2 MAXLOAD, 3 MAXCONNIP, 4 MAXCONNC
  unsigned long load = 0;
};

[[noreturn]] void drop_sys(const char* what, const char* arg = "", const char* tail = "") {
  fatal_sys(kExitTemp, kDrop, what, arg, tail);
}

// prefix + suffix, and with `twin` also prefix + "6" + suffix right after.
void set_prefixed(const char* prefix, bool twin, const char* suffix, const char* value) {
  Str name(prefix);
  name.append(suffix);
  env::set(name, value);
  if (twin) {
    name = prefix;
    name.push('6');
    name.append(suffix);
    env::set(name, value);
  }
}

// PROTO-style variable: "TCP" + suffix, and for an IPv6 peer also the
// "TCP6" + suffix twin right after it; the same under also_proto.
void set_var(const Child& c, const char* suffix, const char* value) {
  set_prefixed(g_opt->proto, c.v6 && g_opt->v6_names, suffix, value);
  if (g_opt->also_proto) set_prefixed(g_opt->also_proto, c.v6, suffix, value);
}

// The name of ip, when DNS has one.
const char* lookup_name(const uint8_t ip[16], Str& out) {
  if (host_name(ip, out) != 1 || out.empty()) return nullptr;
  return out.c_str();
}

// -p: the name must lead back to the address.
bool name_has_address(const Str& name, const uint8_t ip[16]) {
  Str addrs;
  if (host_addresses(name, addrs, false) != 0) return false;
  for (std::size_t i = 0; i + 16 <= addrs.size(); i += 16)
    if (std::memcmp(addrs.data() + i, ip, 16) == 0) return true;
  return false;
}

void apply_rule(Child& c, std::string_view value) {
  rules::Instructions ins(value);
  rules::Instruction i;
  while (ins.next(i)) {
    if (i.kind == 'D') {
      c.deny = 1;
    } else if (i.kind == '+') {
      std::string_view name, val;
      if (!rules::split_env(i.body, name, val)) continue;
      Str v(val);  // NUL-terminated copy
      env::set(name, v.c_str());
      set_limit(name, val);
    }
  }
}

void check_rules(Child& c) {
  if (!g_opt->rules) return;
  rules::Peer peer;
  peer.ip = c.remote_ip;
  if (c.remote_host) peer.host = std::string_view(c.remote_host);
  if (c.have_info) peer.info = std::string_view(c.info.c_str());
  rules::Match m;
  int r = rules::find_file(g_opt->rules, peer, m);
  if (r < 0) {
    if (errno == ENOENT && g_opt->allow_no_rules) return;
    drop_sys("unable to read ", g_opt->rules, ": ");
  }
  if (r > 0) apply_rule(c, m.value);
}

bool same_prefix(const uint8_t a[16], const uint8_t b[16], std::size_t n) {
  return std::memcmp(a, b, n) == 0;
}

void check_limits(Child& c) {
  if (g_limits.maxload) {
    c.load = load_average_x100();
    if (c.load > g_limits.maxload) c.deny = 2;
  }
  if (c.deny || !(g_limits.has_maxconnip || g_limits.has_maxconnc)) return;
  // The same /24 for IPv4 (the v4-mapped prefix and three octets), the
  // same /64 for IPv6.
  std::size_t net = c.v6 ? 8 : 15;
  unsigned long same_ip = 0, same_net = 0;
  for (const Kid& k : g_kids) {
    if (k.pid == 0 || is_v4mapped(k.ip) == c.v6) continue;
    if (!same_prefix(k.ip, c.remote.ip, net)) continue;
    ++same_net;
    if (same_prefix(k.ip, c.remote.ip, 16)) ++same_ip;
  }
  if (g_limits.has_maxconnc && same_net >= g_limits.maxconnc) c.deny = 4;
  if (g_limits.has_maxconnip && same_ip >= g_limits.maxconnip) c.deny = 3;
}

void log_verdict(const Child& c) {
  char pid[kNumDigits];
  Str line(g_opt->prog);
  line.append(": ");
  append_safe(line, c.deny ? "deny" : "ok");
  line.append(" ");
  append_safe(line, fmt_num(pid, static_cast<unsigned long>(::getpid())));
  line.append(" ");
  if (c.local_host) append_safe(line, c.local_host);
  line.append(":");
  append_safe(line, c.local_ip, c.v6);
  line.append(":");
  append_safe(line, c.local_port);
  line.append(" ");
  if (c.remote_host) append_safe(line, c.remote_host);
  line.append(":");
  append_safe(line, c.remote_ip, c.v6);
  line.append(":");
  if (c.have_info) append_safe(line, c.info.c_str());
  line.append(":");
  append_safe(line, c.remote_port);
  char num[kNumDigits];
  switch (c.deny) {
    case 2: line.append(" MAXLOAD:"); line.append(fmt_num(num, c.load)); break;
    case 3: line.append(" MAXCONNIP:"); line.append(fmt_num(num, g_limits.maxconnip)); break;
    case 4: line.append(" MAXCONNC:"); line.append(fmt_num(num, g_limits.maxconnc)); break;
  }
  line.push('\n');
  write_all(2, line);
}

[[noreturn]] void refuse(const Child& c) {
  const Str* msg = &g_limits.diemsg;
  if (c.deny == 2 && !g_limits.diemsg_maxload.empty()) msg = &g_limits.diemsg_maxload;
  if (c.deny == 3 && !g_limits.diemsg_maxconnip.empty()) msg = &g_limits.diemsg_maxconnip;
  if (c.deny == 4 && !g_limits.diemsg_maxconnc.empty()) msg = &g_limits.diemsg_maxconnc;
  // The message is a C string in the patch: it ends at a NUL.
  std::string_view text(msg->c_str());
  if (!text.empty()) {
    Str out(text);
    out.append("\r\n");
    if (write_all(c.t, out) != 0) drop_sys("unable to print diemsg: ");
  }
  // As the patch does for a limit: a second's pause before the close. A
  // connection denied by a rule alone closes at once, as in ucspi-tcp,
  // unless it was given a message to read.
  if (c.deny != 1 || !text.empty()) ::sleep(1);
  _exit(kExitPerm);
}

void restore_signals() {
  sig_default(SIGCHLD);
  sig_unblock(SIGCHLD);
  sig_default(SIGTERM);
  sig_default(SIGPIPE);
}

[[noreturn]] void child_main(int t, const Endpoint& remote, const char* local_port, char** argv,
                             ChildHook hook, void* ctx) {
  Child c;
  c.t = t;
  c.remote = remote;
  c.v6 = !remote.is_v4();
  c.remote_ip[fmt_ip(c.remote_ip, remote.ip)] = 0;

  char num[kNumDigits];
  note(": pid ", fmt_num(num, static_cast<unsigned long>(::getpid())), " from ", c.remote_ip);

  if (g_opt->kill_ip_options) kill_ip_options(t);
  if (!g_opt->delay) set_nodelay(t);
  if (g_opt->banner && *g_opt->banner)
    if (write_all(t, g_opt->banner) != 0) drop_sys("unable to print banner: ");

  if (local_endpoint(t, c.local) != 0) drop_sys("unable to get local address: ");
  c.local_ip[fmt_ip(c.local_ip, c.local.ip)] = 0;
  std::strcpy(c.local_port, local_port);
  std::string_view rp = fmt_num(num, remote.port);
  std::memcpy(c.remote_port, rp.data(), rp.size());
  c.remote_port[rp.size()] = 0;

  c.local_host = g_opt->localname;
  if (!c.local_host) c.local_host = lookup_name(c.local.ip, c.local_host_s);

  Str proto(g_opt->proto);
  if (c.v6 && g_opt->v6_names) proto.push('6');
  env::set("PROTO", proto.c_str());
  set_var(c, "LOCALIP", c.local_ip);
  set_var(c, "LOCALPORT", c.local_port);
  set_var(c, "LOCALHOST", c.local_host);
  if (c.v6 && c.local.scope_id) {
    char ifname[IF_NAMESIZE];
    if (::if_indextoname(c.local.scope_id, ifname)) {
      if (g_opt->v6_names) env::set(Str(g_opt->proto).append("6INTERFACE"), ifname);
      if (g_opt->also_proto) env::set(Str(g_opt->also_proto).append("6INTERFACE"), ifname);
    }
  }

  if (g_opt->remote_host) {
    const char* name = lookup_name(remote.ip, c.remote_host_s);
    if (name && (!g_opt->paranoid || name_has_address(c.remote_host_s, remote.ip)))
      c.remote_host = name;
  }
  set_var(c, "REMOTEIP", c.remote_ip);
  set_var(c, "REMOTEPORT", c.remote_port);
  set_var(c, "REMOTEHOST", c.remote_host);

  if (g_opt->remote_info) c.have_info = remote_info(c.info, remote, c.local, g_opt->timeout) == 0;
  set_var(c, "REMOTEINFO", c.have_info ? c.info.c_str() : nullptr);

  check_rules(c);
  check_limits(c);
  if (g_opt->verbosity >= 2) log_verdict(c);
  if (c.deny) refuse(c);

  if (hook) {
    restore_signals();
    Connection conn = {t, c.local, c.remote, c.local_ip, c.remote_ip, c.local_port, c.remote_port,
                       c.local_host, c.remote_host, c.have_info ? c.info.c_str() : nullptr};
    hook(ctx, conn, argv);
    _exit(kExitTemp);
  }
  if (fd_move(0, t) != 0 || fd_copy(1, 0) != 0 || set_cloexec(0, false) != 0)
    drop_sys("unable to set up descriptors: ");
  restore_signals();
  pathexec(argv);
  drop_sys("unable to run ", argv[0], ": ");
}

// ---- the parent ---------------------------------------------------------------

uint16_t parse_port(const char* x) {
  unsigned long u;
  if (!x[scan_ulong(x, u)]) return static_cast<uint16_t>(u);
  struct servent* se = ::getservbyname(x, "tcp");
  if (!se) fatal(kExitTemp, kFatal, "unable to figure out port number for ", x);
  return ntohs(static_cast<uint16_t>(se->s_port));
}

// "0" (and ""): "::", dual-stack where there is IPv6. An address may name
// its interface ("fe80::1%eth0"), which a link-local address needs.
Endpoint listen_address(const char* host) {
  Endpoint e;
  if (!std::strcmp(host, "0") || !*host) return e;
  std::string_view name(host);
  std::size_t pct = name.find('%');
  if (pct != std::string_view::npos) {
    e.scope_id = ::if_nametoindex(host + pct + 1);
    if (!e.scope_id) fatal(kExitTemp, kFatal, "no IP address for ", host);
    name = name.substr(0, pct);
  }
  Str addrs;
  if (host_addresses(name, addrs, true) != 0)
    fatal_sys(kExitTemp, kFatal, "temporarily unable to figure out IP address for ", host, ": ");
  if (addrs.size() < 16) fatal(kExitTemp, kFatal, "no IP address for ", host);
  std::memcpy(e.ip, addrs.data(), 16);
  return e;
}

}  // namespace

bool server_option(ServerOptions& o, int opt, const char* arg) {
  switch (opt) {
    case 'b': scan_ulong(arg, o.backlog); break;
    case 'c': scan_ulong(arg, o.limit); break;
    case 'X': o.allow_no_rules = true; break;
    case 'x': o.rules = arg; break;
    case 'B': o.banner = arg; break;
    case 'd': o.delay = true; break;
    case 'D': o.delay = false; break;
    case 'v': o.verbosity = 2; break;
    case 'q': o.verbosity = 0; break;
    case 'Q': o.verbosity = 1; break;
    case 'P': o.paranoid = false; break;
    case 'p': o.paranoid = true; break;
    case 'O': o.kill_ip_options = true; break;
    case 'o': o.kill_ip_options = false; break;
    case 'H': o.remote_host = false; break;
    case 'h': o.remote_host = true; break;
    case 'R': o.remote_info = false; break;
    case 'r': o.remote_info = true; break;
    case 't': scan_ulong(arg, o.timeout); break;
    case 'U':
      if (const char* x = env::get("UID")) scan_ulong(x, o.uid);
      if (const char* x = env::get("GID")) scan_ulong(x, o.gid);
      break;
    case 'u': scan_ulong(arg, o.uid); break;
    case 'g': scan_ulong(arg, o.gid); break;
    case '1': o.print_port = true; break;
    case 'l': o.localname = arg; break;
    default: return false;
  }
  return true;
}

void serve_usage(const ServerOptions& o) { die(kExitPerm, o.prog, ": usage: ", o.usage); }

void serve(const ServerOptions& o, char** args, ChildHook hook, void* ctx) {
  g_opt = &o;
  limits_from_env();

  const char* host = args[0];
  if (!host) usage();
  const char* portname = args[1];
  if (!portname) usage();
  Endpoint where = listen_address(host);
  where.port = parse_port(portname);
  char** argv = args + 2;
  if (!*argv) usage();

  sig_block(SIGCHLD);
  sig_catch(SIGCHLD, on_child);
  sig_catch(SIGTERM, on_term);
  sig_ignore(SIGPIPE);

  int s = tcp_socket(where);
  if (s < 0) fatal_sys(kExitTemp, kFatal, "unable to create socket: ");
  if (bind_reuse(s, where) != 0) fatal_sys(kExitTemp, kFatal, "unable to bind: ");
  Endpoint bound;
  if (local_endpoint(s, bound) != 0) fatal_sys(kExitTemp, kFatal, "unable to get local address: ");
  // An int, as listen() takes it in tcpserver.c (the kernel caps it).
  if (listen(s, static_cast<int>(o.backlog)) != 0) fatal_sys(kExitTemp, kFatal, "unable to listen: ");

  if (o.gid) {
    gid_t g = static_cast<gid_t>(o.gid);
    if (::setgroups(1, &g) != 0 || ::setgid(g) != 0) fatal_sys(kExitTemp, kFatal, "unable to set gid: ");
  }
  if (o.uid && ::setuid(static_cast<uid_t>(o.uid)) != 0) fatal_sys(kExitTemp, kFatal, "unable to set uid: ");

  char local_port[kNumDigits + 1];
  std::string_view lp = fmt_num(local_port, bound.port);
  std::memmove(local_port, lp.data(), lp.size());
  local_port[lp.size()] = 0;
  if (o.print_port) {
    Str line(local_port);
    line.push('\n');
    write_all(1, line);
  }
  ::close(0);
  ::close(1);
  print_status();

  sigset_t none;
  sigemptyset(&none);
  for (;;) {
    while (g_children >= o.limit) ::sigsuspend(&none);

    Endpoint peer;
    sig_unblock(SIGCHLD);
    int t = accept(s, peer);
    sig_block(SIGCHLD);
    if (t < 0) continue;
    g_children = g_children + 1;
    print_status();

    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(s);
      child_main(t, peer, local_port, argv, hook, ctx);
    }
    if (pid < 0) {
      if (o.verbosity) warn_sys(o.prog, kDrop, "unable to fork: ");
      g_children = g_children - 1;
      print_status();
    } else {
      remember_kid(pid, peer.ip);
    }
    ::close(t);
  }
}

void drop_connection_sys(const char* what, const char* arg) { drop_sys(what, arg); }

void append_safe(Str& out, std::string_view s, bool keep_colons) {
  std::size_t i = 0;
  for (; i < 100; ++i) {
    if (i == s.size() || s[i] == '\0') return;
    char ch = s[i];
    if (ch < 33 || ch > 126 || ch == '%' || (ch == ':' && !keep_colons)) ch = '?';
    out.push(ch);
  }
  out.append("...");
}

unsigned long parse_loadavg(std::string_view text) {
  // "13.08 3.04 1.00 34/170 14190": the first field, two decimals.
  unsigned long whole, frac;
  std::size_t i = scan_ulong(text, whole);
  if (i == 0 || i >= 5 || i >= text.size() || text[i] != '.') return 0;
  std::size_t j = scan_ulong(text.substr(i + 1), frac);
  if (j == 2) return whole * 100 + frac;
  return whole * 100;
}

unsigned long load_average_x100() {
  Str text;
  if (read_file("/proc/loadavg", text, 4096) != 0) return 0;
  return parse_loadavg(text);
}

}  // namespace qbox::net
