// cdbmake: reads records "+klen,dlen:key->data\n", ended by an empty line,
// from standard input; writes them as a constant database to cdb.tmp,
// fsyncs it and renames it to cdb. The messages are freecdb's (Debian's
// packaging of cdb-0.75), its spelling included.
#include <cerrno>
#include <cstdint>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/num.hpp"
#include "base/str.hpp"
#include "cdb/cdb.hpp"
#include "io/buffer.hpp"

using namespace qbox;

static constexpr char kUsage[] = "cdbmake cdb cdb.tmp";
static constexpr char kFatal[] = "cdbmake: fatal: ";

namespace {

class Input {
 public:
  explicit Input(const char* tmp) : tmp_(tmp) {}

  void next_entry() { ++entry_; }

  char getch() {
    long r = in_.fill();
    if (r == 0) die_read("unexpected end if input");
    if (r < 0) die_read(error_str(errno));
    char c = in_.peek()[0];
    in_.skip(1);
    return c;
  }

  // Exactly n bytes, appended to out as they arrive (a truncated record
  // fails before its claimed length is ever allocated).
  void get(Str& out, std::uint32_t n) {
    out.clear();
    int r = in_.read_exact(out, n);
    if (r == 0) die_read("unexpected end if input");
    if (r < 0) die_read(error_str(errno));
  }

  // Digits up to `end`. Like freecdb, refuses a value that would pass
  // 4294967209 with "out of memory" before it overflows.
  std::uint32_t length(char end, const char* bad) {
    std::uint32_t n = 0;
    for (;;) {
      char c = getch();
      if (c == end) return n;
      if (c < '0' || c > '9') die_read(bad);
      if (n > 429496720) {
        errno = ENOMEM;
        die_sys(kExitTemp, kFatal, "unable to create ", tmp_, ": ");
      }
      n = n * 10 + static_cast<std::uint32_t>(c - '0');
    }
  }

  void expect(char want, const char* what) {
    if (getch() != want) die_read(what);
  }

  [[noreturn]] void die_read(const char* what) {
    char num[kNumDigits];
    die(kExitTemp, kFatal, "unable to read input: entry ", fmt_num(num, entry_), ": ", what);
  }

 private:
  const char* tmp_;
  unsigned long entry_ = 0;
  char buf_[8192];
  Reader in_{0, buf_};
};

}  // namespace

static int cdbmake_main(int argc, char** argv) {
  if (argc != 3 || !*argv[1] || !*argv[2]) die(kExitPerm, "usage: ", argv[0], " cdb cdb.tmp\n");
  const char* cdb = argv[1];
  const char* tmp = argv[2];

  CdbMaker maker;
  if (maker.start(cdb, tmp) < 0) die_sys(kExitTemp, kFatal, "unable to create ", tmp, ": ");

  Input in(tmp);
  Str key, data;
  for (;;) {
    in.next_entry();
    char c = in.getch();
    if (c == '\n') break;
    if (c != '+') in.die_read("entry must start with +");
    std::uint32_t klen = in.length(',', "bad keylen format");
    std::uint32_t dlen = in.length(':', "bad datalen format");
    in.get(key, klen);
    in.expect('-', "key must be followed by ->");
    in.expect('>', "key must be followed by ->");
    in.get(data, dlen);
    if (maker.add(key, data) < 0) die_sys(kExitTemp, kFatal, "unable to create ", tmp, ": ");
    in.expect('\n', "newline expected");
  }

  if (maker.finish() < 0) {
    if (std::string_view(maker.failed_step()) == "rename")
      die_sys(kExitTemp, kFatal, "unable to rename ", tmp, " to ", cdb, ": ");
    die_sys(kExitTemp, kFatal, "unable to create ", tmp, ": ");
  }
  return 0;
}

extern const AppletInfo applet_cdbmake = {"make a constant database from records on stdin", kUsage,
                                          cdbmake_main};
