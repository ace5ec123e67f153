// The loop of the small stream filters (addcr, delcr, fixcrio...): read a
// chunk of standard input, convert it into standard output, flush before
// the next read (as ucspi-tcp's filters do, so they work interactively).
// Exits 111 on a read or write error, as the classic filters do.
#pragma once
#include <cerrno>
#include <cstddef>
#include <string_view>
#include <unistd.h>

#include "io/buffer.hpp"

namespace qbox {

// convert(out, chunk) is called for each chunk, and once with an empty
// chunk at the end of input. Returns 0 after the final flush. Filters that
// must be fast on big inputs ask for larger buffers (kIn, kOut).
template <std::size_t kIn = 8192, std::size_t kOut = 16384, class Convert>
int run_filter(Convert&& convert) {
  char ibuf[kIn], obuf[kOut];
  Writer out(1, obuf);
  for (;;) {
    if (out.flush() < 0) _exit(111);
    ssize_t n = ::read(0, ibuf, sizeof ibuf);
    if (n < 0) {
      if (errno == EINTR) continue;
      _exit(111);
    }
    convert(out, std::string_view(ibuf, static_cast<std::size_t>(n)));
    if (n == 0) {
      if (out.flush() < 0) _exit(111);
      return 0;
    }
  }
}

// Copies descriptor fd to `out` through `sink` (a chain that ends in out,
// see io/text.hpp), flushing out before each read as the filters do.
// 0 at the end of input, after sink.finish() and a final flush; -1 when
// a read fails (errno; everything read before has been flushed, and the
// sink is not finished: a classic filter dies there), -2 when a flush
// fails (errno).
template <std::size_t kIn = 4096, class Sink>
int pump(int fd, Sink& sink, Writer& out) {
  char buf[kIn];
  for (;;) {
    if (out.flush() < 0) return -2;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) {
      sink.finish();
      return out.flush() < 0 ? -2 : 0;
    }
    for (ssize_t i = 0; i < n; ++i) sink.put(buf[i]);
  }
}

}  // namespace qbox
