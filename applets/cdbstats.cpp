// cdbstats: reads the constant database on standard input and prints how
// many records it holds and how far each one lies from the slot its hash
// points to (d0 .. d9, >9). Records with keys over 1024 bytes are skipped,
// as freecdb skips them.
#include <cstdint>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/num.hpp"
#include "cdb/cdbfile.hpp"
#include "io/buffer.hpp"

using namespace qbox;

static constexpr char kUsage[] = "cdbstats";
static constexpr char kFatal[] = "cdbstats: fatal: ";

[[noreturn]] static void die_truncated() {
  die(kExitTemp, kFatal, "unable to read input: truncated file");
}

static void check(int r) {
  if (r == 0) die_truncated();
  if (r < 0) die_sys(kExitTemp, kFatal, "unable to read input: ");
}

static void put(Writer& out, std::string_view s) {
  if (out.put(s) < 0) die_sys(kExitTemp, kFatal, "unable to write output: ");
}

// "label" then the count right-aligned in 10 columns.
static void put_count(Writer& out, std::string_view label, unsigned long n) {
  char num[kNumDigits];
  std::string_view digits = fmt_num(num, n);
  put(out, label);
  for (std::size_t i = digits.size(); i < 10; ++i) put(out, " ");
  put(out, digits);
  put(out, "\n");
}

static int cdbstats_main(int argc, char** argv) {
  if (argc > 1) die(kExitPerm, "usage: ", argv[0], "\n");
  CdbFile db;
  db.init(0);
  char ibuf[8192], key[1024];
  Reader in(0, ibuf);
  CdbScan scan(in);
  unsigned long records = 0, distance[11] = {};

  check(scan.start());
  while (scan.more()) {
    std::uint32_t klen, dlen;
    check(scan.next(klen, dlen));
    if (klen > sizeof key) {
      check(scan.skip(klen));
    } else {
      check(scan.get(key, klen));
      // Find this very record among those with its key.
      db.find_start();
      do {
        int r = db.find_next(std::string_view(key, klen));
        if (r < 0) die_sys(kExitTemp, kFatal, "unable to read input: ");
        if (r == 0) die_truncated();
      } while (db.data_pos() != scan.pos());
      ++records;
      ++distance[db.loop() > 10 ? 10 : db.loop() - 1];
    }
    check(scan.skip(dlen));
  }

  char obuf[8192];
  Writer out(1, obuf);
  put_count(out, "records ", records);
  for (int i = 0; i < 10; ++i) {
    char label[] = "d0      ";
    label[1] = static_cast<char>('0' + i);
    put_count(out, label, distance[i]);
  }
  put_count(out, ">9      ", distance[10]);
  if (out.flush() < 0) die_sys(kExitTemp, kFatal, "unable to flush output: ");
  return 0;
}

extern const AppletInfo applet_cdbstats = {"count the records of a constant database and their distances",
                                           kUsage, cdbstats_main};
