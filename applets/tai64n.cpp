// tai64n: puts a TAI64N stamp ("@" + 24 hex digits + " ") before every line
// of standard input, taken when the first byte of the line is read, with
// the clock read as daemontools reads it (microseconds, nanoseconds "...500").
//
// As daemontools' tai64n: arguments are ignored; a last line without a
// newline is stamped and copied as it is; the output is flushed before every
// read, so stamped lines come out as soon as the input pauses; a read or
// write error exits 111, end of input exits 0.
//
// Input is taken in large chunks and cut into lines with memchr; output is
// written in large blocks.
#include <cstring>
#include <string_view>
#include <unistd.h>

#include "base/applet.hpp"
#include "io/filter.hpp"
#include "time/tai.hpp"

using namespace qbox;

static int tai64n_main(int, char**) {
  bool line_start = true;
  char stamp[kTai64nHexLen + 1];
  stamp[kTai64nHexLen] = ' ';
  return run_filter<64 * 1024, 128 * 1024>([&](Writer& out, std::string_view in) {
    const char* p = in.data();
    const char* end = p + in.size();
    while (p < end) {
      if (line_start) {
        fmt_tai64n(stamp, Tai64n::now_usec());
        if (out.put(std::string_view(stamp, sizeof stamp)) < 0) _exit(111);
      }
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
      const char* stop = nl ? nl + 1 : end;
      if (out.put(std::string_view(p, static_cast<std::size_t>(stop - p))) < 0) _exit(111);
      line_start = nl != nullptr;
      p = stop;
    }
  });
}

extern const AppletInfo applet_tai64n = {"put a TAI64N timestamp on every line", "tai64n", tai64n_main};
