// cdbtest: reads the constant database on standard input and looks every
// record up by its key, then prints how many were found where they are,
// found elsewhere (an earlier record with the same key), found with
// another length, not found, and not tested (keys over 1024 bytes).
// As in cdb-0.75, it takes no options and ignores its arguments.
#include <cstdint>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/num.hpp"
#include "cdb/cdbfile.hpp"
#include "io/buffer.hpp"

using namespace qbox;

static constexpr char kUsage[] = "cdbtest";
static constexpr char kFatal[] = "cdbtest: fatal: ";

static void check(int r) {
  if (r == 0) die(kExitTemp, kFatal, "unable to read input: truncated file");
  if (r < 0) die_sys(kExitTemp, kFatal, "unable to read input: ");
}

static void put(Writer& out, std::string_view s) {
  if (out.put(s) < 0) die_sys(kExitTemp, kFatal, "unable to write output: ");
}

static void put_count(Writer& out, std::string_view label, unsigned long n) {
  char num[kNumDigits];
  put(out, label);
  put(out, fmt_num(num, n));
  put(out, "\n");
}

static int cdbtest_main(int, char**) {
  CdbFile db;
  db.init(0);
  char ibuf[8192], key[1024];
  Reader in(0, ibuf);
  CdbScan scan(in);
  unsigned long found = 0, otherpos = 0, badlen = 0, notfound = 0, untested = 0;

  check(scan.start());
  while (scan.more()) {
    std::uint32_t klen, dlen;
    check(scan.next(klen, dlen));
    if (klen > sizeof key) {
      ++untested;
      check(scan.skip(klen));
    } else {
      check(scan.get(key, klen));
      int r = db.find(std::string_view(key, klen));
      if (r < 0) die_sys(kExitTemp, kFatal, "unable to read input: ");
      if (r == 0) ++notfound;
      else if (db.data_pos() != scan.pos()) ++otherpos;
      else if (db.data_len() != dlen) ++badlen;
      else ++found;
    }
    check(scan.skip(dlen));
  }

  char obuf[256];
  Writer out(1, obuf);
  put_count(out, "found: ", found);
  put_count(out, "different record: ", otherpos);
  put_count(out, "bad length: ", badlen);
  put_count(out, "not found: ", notfound);
  put_count(out, "untested: ", untested);
  if (out.flush() < 0) die_sys(kExitTemp, kFatal, "unable to write output: ");
  return 0;
}

extern const AppletInfo applet_cdbtest = {"check every record of a constant database on stdin",
                                          kUsage, cdbtest_main};
