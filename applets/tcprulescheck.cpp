// tcprulescheck: shows which rule of rules.cdb tcpserver would follow for
// the connection described by $TCPREMOTEIP, $TCPREMOTEHOST and
// $TCPREMOTEINFO.
#include <optional>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/env.hpp"
#include "io/buffer.hpp"
#include "net/rules.hpp"

using namespace qbox;

static constexpr char kUsage[] = "tcprulescheck rules.cdb";

static std::optional<std::string_view> env_opt(const char* name) {
  const char* v = env::get(name);
  if (!v) return std::nullopt;
  return std::string_view(v);
}

static int tcprulescheck_main(int argc, char** argv) {
  if (argc < 2) die(kExitPerm, "tcprulescheck: usage: ", kUsage);
  const char* fn = argv[1];

  rules::Peer peer;
  const char* ip = env::get("TCPREMOTEIP");
  peer.ip = ip ? ip : "0.0.0.0";
  peer.info = env_opt("TCPREMOTEINFO");
  peer.host = env_opt("TCPREMOTEHOST");

  rules::Match m;
  int r = rules::find_file(fn, peer, m);
  if (r < 0) die_sys(kExitTemp, "tcprulescheck: fatal: unable to read ", fn, ": ");

  char buf[1024];
  Writer out(1, buf);
  if (r == 0) {
    out.put("default:\nallow connection\n");
    out.flush();
    return 0;
  }
  out.put("rule ");
  out.put(m.key);
  out.put(":\n");
  rules::Instructions ins(m.value);
  rules::Instruction i;
  while (ins.next(i)) {
    if (i.kind == 'D') {
      out.put("deny connection\n");
      out.flush();
      return 0;
    }
    if (i.kind == '+') {
      out.put("set environment variable ");
      out.put(i.body);
      out.put("\n");
    }
  }
  out.put("allow connection\n");
  out.flush();
  return 0;
}

extern const AppletInfo applet_tcprulescheck = {"show which tcpserver rule applies", kUsage,
                                                tcprulescheck_main};
