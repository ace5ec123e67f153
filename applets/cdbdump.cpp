// cdbdump: prints the constant database on standard input in cdbmake's
// format, records in file order, then an empty line.
#include <algorithm>
#include <cstdint>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "cdb/cdbfile.hpp"
#include "io/buffer.hpp"

using namespace qbox;

static constexpr char kUsage[] = "cdbdump";
static constexpr char kFatal[] = "cdbdump: fatal: ";

namespace {

// Reading flushes the output first (the input is tied to it), as freecdb's
// buffer_0 does: so a damaged file still gets out all it printed before.
struct Dump {
  char ibuf[8192], obuf[8192], chunk[1024];
  Reader in{0, ibuf};
  Writer out{1, obuf};
  CdbScan scan{in};

  void check(int r) {
    if (r == 0) die(kExitTemp, kFatal, "unable to read input: truncated file");
    if (r < 0) die_sys(kExitTemp, kFatal, "unable to read input: ");
  }
  void put(std::string_view s) {
    if (out.put(s) < 0) die_sys(kExitTemp, kFatal, "unable to write output: ");
  }
  void put_num(std::uint32_t n) {
    if (out.put_num(n) < 0) die_sys(kExitTemp, kFatal, "unable to write output: ");
  }
  void copy(std::uint32_t len) {
    while (len) {
      std::uint32_t n = std::min<std::uint32_t>(len, sizeof chunk);
      check(scan.get(chunk, n));
      put(std::string_view(chunk, n));
      len -= n;
    }
  }
};

}  // namespace

static int cdbdump_main(int argc, char** argv) {
  if (argc > 1) die(kExitPerm, "usage: ", argv[0], "\n");
  Dump d;
  d.in.tie(&d.out);
  d.check(d.scan.start());
  while (d.scan.more()) {
    std::uint32_t klen, dlen;
    d.check(d.scan.next(klen, dlen));
    d.put("+");
    d.put_num(klen);
    d.put(",");
    d.put_num(dlen);
    d.put(":");
    d.copy(klen);
    d.put("->");
    d.copy(dlen);
    d.put("\n");
  }
  d.put("\n");
  if (d.out.flush() < 0) die_sys(kExitTemp, kFatal, "unable to flush output: ");
  return 0;
}

extern const AppletInfo applet_cdbdump = {"print a constant database on stdin in cdbmake format",
                                          kUsage, cdbdump_main};
