// cdbget: prints the data of the first record with key `key` in the
// constant database on standard input, or of the record after the first
// `skip` ones with that key. Exits 100 when there is none.
#include <algorithm>
#include <cstdint>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/num.hpp"
#include "cdb/cdbfile.hpp"
#include "io/buffer.hpp"

using namespace qbox;

static constexpr char kUsage[] = "cdbget key [skip]";
static constexpr char kFatal[] = "cdbget: fatal: ";

static int cdbget_main(int argc, char** argv) {
  auto usage = [&] { die(kExitPerm, "usage: ", argv[0], " key [skip]\n"); };
  if (argc < 2 || !*argv[1]) usage();
  std::string_view key = argv[1];
  unsigned long skip = 0;
  if (argc > 2) {
    if (argv[2][scan_ulong(argv[2], skip)]) usage();
    if (argc > 3) usage();
  }

  CdbFile db;
  db.init(0);
  // As in the classic cdbget, a skip of ULONG_MAX wraps to no lookup at
  // all, and prints the (empty) data of no record.
  for (++skip; skip; --skip) {
    int r = db.find_next(key);
    if (r == 0) return kExitPerm;
    if (r < 0) die_sys(kExitTemp, kFatal, "unable to read input: ");
  }

  char obuf[8192], chunk[1024];
  Writer out(1, obuf);
  std::uint32_t pos = db.data_pos(), len = db.data_len();
  while (len) {
    std::uint32_t n = std::min<std::uint32_t>(len, sizeof chunk);
    if (db.read(chunk, n, pos) < 0) die_sys(kExitTemp, kFatal, "unable to read input: ");
    if (out.put(std::string_view(chunk, n)) < 0) die_sys(kExitTemp, kFatal, "unable to write output: ");
    pos += n;
    len -= n;
  }
  if (out.flush() < 0) die_sys(kExitTemp, kFatal, "unable to flush output: ");
  return 0;
}

extern const AppletInfo applet_cdbget = {"look a key up in a constant database on stdin", kUsage,
                                         cdbget_main};
