// tai64nlocal: turns the TAI64N stamp at the start of a line into local time,
// "YYYY-MM-DD HH:MM:SS.nnnnnnnnn"; every other byte is copied unchanged.
//
// As daemontools' tai64nlocal reads a stamp (see Tai64nDigits): a line that
// starts with "@" has any run of 0-9 and a-f after it taken as the stamp, so
// a short or long stamp is converted too, an upper-case digit ends the stamp
// (and is copied, with the rest of the line), and the byte after the stamp,
// space or not, is kept. Nanoseconds are printed with at least 9 digits, the
// year as the classic program computes it (an int that may wrap, printed
// unsigned). A line cut off by the end of input inside its stamp prints
// nothing for that line. The output is flushed before every read; a read or
// write error exits 111, end of input exits 0.
//
// A stamp whose local year does not fit an int (any short stamp, say "@1f")
// makes localtime() fail; daemontools then follows the NULL it returns and
// dies of SIGSEGV, losing output. qbox instead flushes the lines before it
// and fails cleanly: "tai64nlocal: fatal: line N: stamp out of range for
// local time", exit 100.
//
// Local time is musl's localtime_r (TZ honoured). The date and time of the
// last second converted are kept, so localtime runs once per second of the
// input, not once per line. Where musl and Debian's glibc disagree the
// output follows musl: TZ names without "/" that are also zoneinfo files
// ("EST5EDT") are POSIX rules to musl; glibc's POSIX-rule code misplaces
// summer time before 1970 and stops applying it after the year 5881580;
// musl ignores the leap seconds of the right/ zones.
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string_view>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/num.hpp"
#include "io/filter.hpp"
#include "time/date822.hpp"
#include "time/tai.hpp"

using namespace qbox;

namespace {

// "YYYY-MM-DD HH:MM:SS" of the last unix second converted.
class LocalSecond {
 public:
  // False when the second has no local time (the year overflows an int).
  bool get(std::int64_t t, std::string_view& text) {
    if ((!valid_ || t != t_) && !convert(t)) return false;
    text = {text_, len_};
    return true;
  }

 private:
  bool convert(std::int64_t t) {
    time_t tt = static_cast<time_t>(t);
    struct tm tm;
    if (!::localtime_r(&tt, &tm)) return false;
    // The classic program prints the int 1900 + tm_year, which wraps past
    // INT_MAX, as an unsigned long.
    int year = static_cast<int>(1900u + static_cast<unsigned>(tm.tm_year));
    char num[kNumDigits];
    len_ = 0;
    add(fmt_num(num, static_cast<unsigned long long>(static_cast<long long>(year))));
    add("-");
    add(fmt_num0(num, static_cast<unsigned>(1 + tm.tm_mon), 2));
    add("-");
    add(fmt_num0(num, static_cast<unsigned>(tm.tm_mday), 2));
    add(" ");
    char hms[kHmsLen];
    add(fmt_hms(hms, tm.tm_hour, tm.tm_min, tm.tm_sec));
    t_ = t;
    valid_ = true;
    return true;
  }
  void add(std::string_view s) {
    std::memcpy(text_ + len_, s.data(), s.size());
    len_ += s.size();
  }

  bool valid_ = false;
  std::int64_t t_ = 0;
  char text_[kNumDigits + 16];
  std::size_t len_ = 0;
};

}  // namespace

static int tai64nlocal_main(int, char**) {
  LocalSecond local;
  Tai64nDigits digits;
  unsigned long long line = 0;  // lines finished, for messages
  enum { kLineStart, kStamp, kRest } state = kLineStart;
  // At the end of input, a stamp not yet ended prints nothing.
  return run_filter<64 * 1024, 128 * 1024>([&](Writer& out, std::string_view in) {
    const char* p = in.data();
    const char* end = p + in.size();
    while (p < end) {
      if (state == kLineStart) {
        if (*p == '@') {
          digits = {};
          ++p;
          state = kStamp;
        } else {
          state = kRest;
        }
      } else if (state == kStamp) {
        while (p < end && digits.push(*p)) ++p;
        if (p == end) break;
        std::int64_t unix_sec = Tai64n{digits.sec, 0}.unix_sec();
        char num[kNumDigits];
        std::string_view when;
        if (!local.get(unix_sec, when)) {
          if (out.flush() < 0) _exit(111);
          die(kExitPerm, "tai64nlocal: fatal: line ", fmt_num(num, line + 1),
              ": stamp out of range for local time");
        }
        if (out.put(when) < 0 || out.put('.') < 0 ||
            out.put(fmt_num0(num, digits.nano, 9)) < 0)
          _exit(111);
        state = kRest;  // the byte that ended the stamp is copied with the rest
      } else {
        const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        const char* stop = nl ? nl + 1 : end;
        if (out.put(std::string_view(p, static_cast<std::size_t>(stop - p))) < 0) _exit(111);
        if (nl) {
          state = kLineStart;
          ++line;
        }
        p = stop;
      }
    }
  });
}

extern const AppletInfo applet_tai64nlocal = {"convert TAI64N stamps to local time", "tai64nlocal",
                                              tai64nlocal_main};
