#include "net/server.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <grp.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
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
#include "proc/clone_exec.hpp"
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

// The values are views into tcpserver's environment or into the matching
// rule, which outlive the connection's preparation.
struct Limits {
  unsigned long maxload = 0;  // 0: no check
  bool has_maxconnip = false;
  bool has_maxconnc = false;
  unsigned long maxconnip = 0;
  unsigned long maxconnc = 0;
  std::string_view diemsg, diemsg_maxload, diemsg_maxconnip, diemsg_maxconnc;  // empty: none
};
Limits g_limits;  // from tcpserver's environment; a rule changes a copy

// One limit variable, from the environment or a rule; false for other names.
bool set_limit(Limits& l, std::string_view name, std::string_view value) {
  unsigned long u;
  if (name == "MAXLOAD") {
    scan_ulong(value, l.maxload);
  } else if (name == "MAXCONNIP") {
    scan_ulong(value, u);
    l.maxconnip = u;
    l.has_maxconnip = true;
  } else if (name == "MAXCONNC") {
    scan_ulong(value, u);
    l.maxconnc = u;
    l.has_maxconnc = true;
  } else if (name == "DIEMSG") {
    l.diemsg = value;
  } else if (name == "DIEMSG_MAXLOAD") {
    l.diemsg_maxload = value;
  } else if (name == "DIEMSG_MAXCONNIP") {
    l.diemsg_maxconnip = value;
  } else if (name == "DIEMSG_MAXCONNC") {
    l.diemsg_maxconnc = value;
  } else {
    return false;
  }
  return true;
}

void limits_from_env() {
  static constexpr const char* kNames[] = {"MAXLOAD", "MAXCONNIP", "MAXCONNC", "DIEMSG",
                                           "DIEMSG_MAXLOAD", "DIEMSG_MAXCONNIP", "DIEMSG_MAXCONNC"};
  for (const char* n : kNames)
    if (const char* v = env::get(n)) set_limit(g_limits, n, v);
}

// ---- the children -----------------------------------------------------------
// The table of running children and their peers (for MAXCONNIP/MAXCONNC).
// SIGCHLD stays blocked and arrives through a signalfd that the main loop
// polls next to the listening socket, so children are reaped before each
// accept (as the classic server does when it unblocks SIGCHLD around
// accept) without a signal frame on the stack or a mask change per
// connection.

struct Kid {
  pid_t pid;
  uint8_t ip[16];
};
std::vector<Kid> g_kids;
unsigned long g_children = 0;
int g_sigchld = -1;  // the signalfd
CloneExec g_clone;   // the fast path's children (see the accept loop)

void print_status() {
  if (g_opt->verbosity < 2) return;
  char a[kNumDigits], b[kNumDigits];
  warn(g_opt->prog, ": status: ", fmt_num(a, g_children), "/", fmt_num(b, g_opt->limit));
}

void reap() {
  signalfd_siginfo si;  // one is enough: SIGCHLD does not queue
  (void)!::read(g_sigchld, &si, sizeof si);
  int wstat;
  pid_t pid;
  while ((pid = wait_nohang(&wstat)) > 0) {
    if (g_opt->verbosity >= 2) {
      char a[kNumDigits], b[kNumDigits];
      warn(g_opt->prog, ": end ", fmt_num(a, static_cast<unsigned long>(pid)), " status ",
           fmt_num(b, static_cast<unsigned>(wstat)));
    }
    if (g_children) --g_children;
    print_status();
    for (Kid& k : g_kids)
      if (k.pid == pid) {
        k.pid = 0;
        break;
      }
  }
  if (!g_children) g_clone.idle();
}

void on_term(int) { _exit(0); }
// Caught rather than ignored: the parent gets EPIPE from its writes, and
// exec resets a caught signal, so the children need no system call for it.
void on_pipe(int) {}

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

// ---- a connection -------------------------------------------------------------
// prepare() does everything the child of ucspi-tcp does up to the exec
// (environment, rules, limits, the log line), and finish() the rest. On the
// fast path (nothing that can block: no -h, -r or local name lookup, no
// hook) the parent prepares and a vfork()ed child finishes (see Spawner
// for when it forks instead); otherwise a fork()ed child does both. Up to
// the exec, finish() allocates nothing and changes nothing the parent
// uses, as a vfork()ed child must.

struct Conn {
  int t = -1;
  Endpoint local, remote;
  bool v6 = false;  // an IPv6 peer (not v4-mapped)
  char local_ip[kIpFmt];
  char remote_ip[kIpFmt];
  char local_port[kNumDigits + 1];
  char remote_port[kNumDigits + 1];
  const char* local_host = nullptr;
  const char* remote_host = nullptr;
  bool have_info = false;
  Str local_host_s, remote_host_s, info;
  Limits lim;
  int deny = 0;  // 1 rule, 2 MAXLOAD, 3 MAXCONNIP, 4 MAXCONNC
  unsigned long load = 0;
  rules::Match rule;
  // What finish() needs:
  bool dropped = false;  // prepare failed; `drop_line` says why (empty with -q)
  Str drop_line;
  Str verdict;           // -v: the log line after "PROG: ok PID" / "deny PID"
  Str diemsg;            // sent to a refused client, with its CRLF
  char** envp = nullptr;
};

// Prepare failed: the warning finish() prints before it exits 111.
bool dropping(Conn& c, const char* what, const char* arg = "", const char* tail = "") {
  c.dropped = true;
  if (g_opt->verbosity) {
    c.drop_line = g_opt->prog;
    c.drop_line.append(kDrop).append(what).append(arg).append(tail).append(error_str(errno));
  }
  return false;
}

// prefix + suffix, and with `twin` also prefix + "6" + suffix right after.
void set_prefixed(const char* prefix, bool twin, const char* suffix, const char* value) {
  char name[64];
  std::size_t p = std::strlen(prefix), n = std::strlen(suffix);
  if (p + 1 + n > sizeof name) return;  // our own names are short
  std::memcpy(name, prefix, p);
  std::memcpy(name + p, suffix, n);
  env::set(std::string_view(name, p + n), value);
  if (twin) {
    name[p] = '6';
    std::memcpy(name + p + 1, suffix, n);
    env::set(std::string_view(name, p + 1 + n), value);
  }
}

// PROTO-style variable: "TCP" + suffix, and for an IPv6 peer also the
// "TCP6" + suffix twin right after it; the same under also_proto.
void set_var(const Conn& c, const char* suffix, const char* value) {
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

void apply_rule(Conn& c, std::string_view value) {
  rules::Instructions ins(value);
  rules::Instruction i;
  while (ins.next(i)) {
    if (i.kind == 'D') {
      c.deny = 1;
    } else if (i.kind == '+') {
      std::string_view name, val;
      if (!rules::split_env(i.body, name, val)) continue;
      // The value ends at the NUL that ends the instruction in the cdb.
      env::set(name, val.data());
      set_limit(c.lim, name, val);
    }
  }
}

bool check_rules(Conn& c) {
  if (!g_opt->rules) return true;
  rules::Peer peer;
  peer.ip = c.remote_ip;
  if (c.remote_host) peer.host = std::string_view(c.remote_host);
  if (c.have_info) peer.info = std::string_view(c.info.c_str());
  int r = rules::find_file(g_opt->rules, peer, c.rule);
  if (r < 0) {
    if (errno == ENOENT && g_opt->allow_no_rules) return true;
    return dropping(c, "unable to read ", g_opt->rules, ": ");
  }
  if (r > 0) apply_rule(c, c.rule.value);
  return true;
}

bool same_prefix(const uint8_t a[16], const uint8_t b[16], std::size_t n) {
  return std::memcmp(a, b, n) == 0;
}

void check_limits(Conn& c) {
  const Limits& l = c.lim;
  if (l.maxload) {
    c.load = load_average_x100();
    if (c.load > l.maxload) c.deny = 2;
  }
  if (c.deny || !(l.has_maxconnip || l.has_maxconnc)) return;
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
  if (l.has_maxconnc && same_net >= l.maxconnc) c.deny = 4;
  if (l.has_maxconnip && same_ip >= l.maxconnip) c.deny = 3;
}

// The -v line after "PROG: ok PID" (or deny), without its newline.
void format_verdict(Conn& c) {
  Str& line = c.verdict;
  line.clear();
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
  switch (c.deny) {
    case 2: line.append(" MAXLOAD:").append_num(c.load); break;
    case 3: line.append(" MAXCONNIP:").append_num(c.lim.maxconnip); break;
    case 4: line.append(" MAXCONNC:").append_num(c.lim.maxconnc); break;
  }
}

// What a refused client is sent: the specific DIEMSG_* or DIEMSG, and
// CRLF; nothing when neither is set.
void format_diemsg(Conn& c) {
  const Limits& l = c.lim;
  std::string_view msg = l.diemsg;
  if (c.deny == 2 && !l.diemsg_maxload.empty()) msg = l.diemsg_maxload;
  if (c.deny == 3 && !l.diemsg_maxconnip.empty()) msg = l.diemsg_maxconnip;
  if (c.deny == 4 && !l.diemsg_maxconnc.empty()) msg = l.diemsg_maxconnc;
  c.diemsg.clear();
  if (msg.empty()) return;
  c.diemsg.append(msg).append("\r\n");
}

// As the patch does for a limit: a second's pause before the close. A
// connection denied by a rule alone closes at once, as in ucspi-tcp,
// unless it was given a message to read.
bool refusal_pauses(const Conn& c) { return c.deny && (c.deny != 1 || !c.diemsg.empty()); }

// The child's work before the program: false (with c.dropped) when the
// connection is to be dropped.
bool prepare(Conn& c, const Endpoint* bound, const char* local_port) {
  int t = c.t;
  if (g_opt->kill_ip_options) kill_ip_options(t);
  if (!g_opt->delay) set_nodelay(t);
  if (g_opt->banner && *g_opt->banner)
    if (write_all(t, g_opt->banner) != 0) return dropping(c, "unable to print banner: ");

  // Bound to one address, every connection arrives on it.
  if (bound) c.local = *bound;
  else if (local_endpoint(t, c.local) != 0) return dropping(c, "unable to get local address: ");
  c.local_ip[fmt_ip(c.local_ip, c.local.ip)] = 0;
  std::strcpy(c.local_port, local_port);
  char num[kNumDigits];
  std::string_view rp = fmt_num(num, c.remote.port);
  std::memcpy(c.remote_port, rp.data(), rp.size());
  c.remote_port[rp.size()] = 0;

  c.local_host = g_opt->localname;
  if (!c.local_host) c.local_host = lookup_name(c.local.ip, c.local_host_s);

  char proto[16];
  std::size_t pn = std::strlen(g_opt->proto);
  if (pn + 2 > sizeof proto) pn = 0;
  std::memcpy(proto, g_opt->proto, pn);
  if (c.v6 && g_opt->v6_names) proto[pn++] = '6';
  proto[pn] = 0;
  env::set("PROTO", proto);
  set_var(c, "LOCALIP", c.local_ip);
  set_var(c, "LOCALPORT", c.local_port);
  set_var(c, "LOCALHOST", c.local_host);
  if (c.v6 && c.local.scope_id) {
    char ifname[IF_NAMESIZE];
    if (::if_indextoname(c.local.scope_id, ifname)) {
      if (g_opt->v6_names) set_prefixed(g_opt->proto, false, "6INTERFACE", ifname);
      if (g_opt->also_proto) set_prefixed(g_opt->also_proto, false, "6INTERFACE", ifname);
    }
  }

  if (g_opt->remote_host) {
    const char* name = lookup_name(c.remote.ip, c.remote_host_s);
    if (name && (!g_opt->paranoid || name_has_address(c.remote_host_s, c.remote.ip)))
      c.remote_host = name;
  }
  set_var(c, "REMOTEIP", c.remote_ip);
  set_var(c, "REMOTEPORT", c.remote_port);
  set_var(c, "REMOTEHOST", c.remote_host);

  if (g_opt->remote_info)
    c.have_info = remote_info(c.info, c.remote, c.local, g_opt->timeout) == 0;
  set_var(c, "REMOTEINFO", c.have_info ? c.info.c_str() : nullptr);

  if (!check_rules(c)) return false;
  check_limits(c);
  if (g_opt->verbosity >= 2) format_verdict(c);
  if (c.deny) format_diemsg(c);
  else c.envp = env::build();
  return true;
}

void restore_signals() {
  sig_unblock(SIGCHLD);
  sig_default(SIGTERM);
  sig_default(SIGPIPE);
}

Str g_paths;  // where the program is looked for (exec_paths)

// "PROG: WHAT PID" and the rest of the line; the pid is this process's.
template <class... A>
void log_with_pid(const char* what, const A&... rest) {
  char pid[kNumDigits];
  warn(g_opt->prog, what, fmt_num(pid, static_cast<unsigned long>(::getpid())), rest...);
}

[[noreturn]] void finish(const Conn& c, char** argv, ChildHook hook, void* ctx, bool pid_line) {
  bool verbose = g_opt->verbosity >= 2;
  if (pid_line && verbose) log_with_pid(": pid ", " from ", c.remote_ip);
  if (c.dropped) {
    if (!c.drop_line.empty()) warn(c.drop_line);
    _exit(kExitTemp);
  }
  if (verbose) log_with_pid(c.deny ? ": deny " : ": ok ", c.verdict);
  if (c.deny) {
    if (!c.diemsg.empty() && write_all(c.t, c.diemsg) != 0)
      fatal_sys(kExitTemp, kDrop, "unable to print diemsg: ");
    if (refusal_pauses(c)) ::sleep(1);
    _exit(kExitPerm);
  }
  if (hook) {
    restore_signals();
    Connection conn = {c.t, c.local, c.remote, c.local_ip, c.remote_ip, c.local_port, c.remote_port,
                       c.local_host, c.remote_host, c.have_info ? c.info.c_str() : nullptr};
    hook(ctx, conn, argv);
    _exit(kExitTemp);
  }
  // The socket onto 0 and 1. It was accepted without close-on-exec, and
  // descriptors 0 and 1 are closed in the parent, so it usually is 0.
  // exec resets the caught signals; SIGCHLD must be unblocked.
  sig_unblock(SIGCHLD);
  int t = c.t;
  if ((t != 0 && ::dup2(t, 0) != 0) || (t != 1 && ::dup2(t, 1) != 1))
    fatal_sys(kExitTemp, kDrop, "unable to set up descriptors: ");
  if (t > 1) ::close(t);
  exec_listed(g_paths, argv, c.envp);
  fatal_sys(kExitTemp, kDrop, "unable to run ", argv[0], ": ");
}

void reset(Conn& c, int t, const Endpoint& remote) {
  c.t = t;
  c.remote = remote;
  c.v6 = !remote.is_v4();
  c.remote_ip[fmt_ip(c.remote_ip, remote.ip)] = 0;
  c.local_host = c.remote_host = nullptr;
  c.have_info = false;
  c.lim = g_limits;
  c.deny = 0;
  c.load = 0;
  c.dropped = false;
  c.drop_line.clear();
  c.envp = nullptr;
}

// The slow path: the whole of ucspi-tcp's child.
[[noreturn]] void child_main(int t, const Endpoint& remote, const Endpoint* bound, const char* local_port,
                             char** argv, ChildHook hook, void* ctx) {
  Conn c;
  reset(c, t, remote);
  char num[kNumDigits];
  note(": pid ", fmt_num(num, static_cast<unsigned long>(::getpid())), " from ", c.remote_ip);
  prepare(c, bound, local_port);
  finish(c, argv, hook, ctx, false);
}

// vfork() keeps the parent waiting until the child has exec'd. When other
// processes keep the CPUs busy the new child may wait a scheduler slice
// (milliseconds) before it runs, and every connection waits with it; fork()
// then does better, as the parent accepts on and the children run side by
// side. So a vfork that took over kSlow makes the parent fork instead for
// kForkFor, then try again. The children do the same either way.
class Spawner {
 public:
  bool use_fork() {
    if (!forking_) return false;
    if (elapsed_ns(since_) < kForkFor) return true;
    forking_ = false;
    return false;
  }
  void before_vfork() { ::clock_gettime(CLOCK_MONOTONIC, &since_); }
  void after_vfork() {
    if (elapsed_ns(since_) <= kSlow) return;
    forking_ = true;
    ::clock_gettime(CLOCK_MONOTONIC, &since_);
  }

 private:
  static constexpr long long kSlow = 1000000;        // 1 ms
  static constexpr long long kForkFor = 1000000000;  // 1 s
  static long long elapsed_ns(const timespec& from) {
    timespec now;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - from.tv_sec) * 1000000000LL + (now.tv_nsec - from.tv_nsec);
  }
  bool forking_ = false;
  timespec since_{};
};

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
  {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    g_sigchld = ::signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (g_sigchld < 0) fatal_sys(kExitTemp, kFatal, "unable to create signalfd: ");
  }
  sig_catch(SIGTERM, on_term);
  sig_catch(SIGPIPE, on_pipe);

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

  // The fast path: nothing in the child's preparation can block (no name
  // or remote info lookups; a banner this short fits in any new socket's
  // send buffer), so the parent does it and the child only logs and execs.
  bool fast = !hook && !o.remote_host && !o.remote_info && o.localname && std::strlen(o.banner) <= 1024;
  const Endpoint* local = where.is_any() ? nullptr : &bound;
  if (!hook) exec_paths(argv[0], g_paths);
  std::size_t env_mark = env::mark();
  Conn fast_conn;  // reused: its buffers keep their memory
  Spawner spawner;
  Str pid_head(o.prog), ok_head(o.prog), fail_head(o.prog), from_tail;
  pid_head.append(": pid ");
  ok_head.append(": ok ");
  fail_head.append(kDrop);

  // Non-blocking, in case a connection polled as ready is gone when
  // accepted.
  if (set_nonblock(s) != 0) fatal_sys(kExitTemp, kFatal, "unable to set up socket: ");
  pollfd wait[2] = {{g_sigchld, POLLIN, 0}, {s, POLLIN, 0}};
  for (;;) {
    // At the limit only an ending child is waited for.
    nfds_t n = g_children >= o.limit ? 1 : 2;
    wait[1].revents = 0;
    if (::poll(wait, n, -1) < 0) continue;
    if (wait[0].revents) reap();
    if (!(wait[1].revents & POLLIN)) continue;

    Endpoint peer;
    // The program gets the socket on 0 and 1 without a dup2 and a
    // close-on-exec change when it arrives on 0; sslserver's relay keeps
    // it from its program.
    int t = accept(s, peer, hook != nullptr);
    if (t < 0) continue;
    ++g_children;
    print_status();

    pid_t pid;
    if (fast) {
      Conn& c = fast_conn;
      reset(c, t, peer);
      env::rewind(env_mark);
      prepare(c, local, local_port);
      // A child accepted as is starts on the parent's memory without
      // the parent waiting (CloneExec); else, or when its slots are all
      // taken, vfork: no copy of the page tables either, and the parent
      // waits only until the exec; a refusal that pauses must not hold
      // it up.
      pid = 0;
      if (!c.dropped && !c.deny) {
        CloneExec::Job job;
        job.fd = c.t;
        job.argv = argv;
        job.paths = &g_paths;
        job.envp = c.envp;
        if (o.verbosity >= 2) {
          from_tail.clear();
          from_tail.append(" from ").append(c.remote_ip);
          job.head[0] = pid_head;
          job.tail[0] = from_tail;
          job.head[1] = ok_head;
          job.tail[1] = c.verdict;
        }
        job.fail_head = fail_head;
        pid = g_clone.start(job);
      }
      if (pid != 0) {
        // started (or clone failed: -1, reported below)
      } else if (refusal_pauses(c) || spawner.use_fork()) {
        pid = ::fork();
      } else {
        spawner.before_vfork();
        pid = ::vfork();
        if (pid == 0) finish(c, argv, nullptr, nullptr, true);
        spawner.after_vfork();
      }
      if (pid == 0) finish(c, argv, nullptr, nullptr, true);
    } else {
      pid = ::fork();
      if (pid == 0) {
        ::close(s);
        child_main(t, peer, local, local_port, argv, hook, ctx);
      }
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

void drop_connection_sys(const char* what, const char* arg) { fatal_sys(kExitTemp, kDrop, what, arg); }

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
