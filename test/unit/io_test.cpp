#include <doctest/doctest.h>

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include "base/fd.hpp"
#include "io/buffer.hpp"

using namespace qbox;

namespace {

// What is waiting in a nonblocking pipe.
std::string_view drain(int fd, char* buf, std::size_t n) {
  ssize_t r = ::read(fd, buf, n);
  return r > 0 ? std::string_view(buf, static_cast<std::size_t>(r)) : std::string_view();
}

}  // namespace

TEST_CASE("Reader::tie flushes the writer before each read, and fails the read when it cannot") {
  int in[2], out[2];
  REQUIRE(::pipe(in) == 0);
  REQUIRE(::pipe(out) == 0);
  Fd in_r(in[0]), out_r(out[0]), out_w(out[1]);
  REQUIRE(write_all(in[1], "abcdef") == 0);
  ::close(in[1]);
  REQUIRE(set_nonblock(out[0]) == 0);

  char ob[16], ib[2], got[16];
  Writer w(out[1], ob);
  Reader r(in[0], ib);
  r.tie(&w);
  REQUIRE(w.put("x") == 0);
  CHECK(drain(out[0], got, sizeof got).empty());  // still buffered
  REQUIRE(r.fill() == 2);
  CHECK(drain(out[0], got, sizeof got) == "x");
  REQUIRE(w.put("y") == 0);
  CHECK(r.fill() == 2);  // bytes still buffered: no read, no flush
  CHECK(drain(out[0], got, sizeof got).empty());
  r.skip(2);
  // A read larger than the buffer bypasses it, and flushes too.
  char big[4];
  CHECK(r.read(big, sizeof big) == 4);
  CHECK(drain(out[0], got, sizeof got) == "y");

  // A writer whose flush fails: the read fails with its errno.
  Writer bad(out[0], ob);  // the read end of a pipe cannot be written
  REQUIRE(bad.put("z") == 0);
  r.tie(&bad);
  errno = 0;
  CHECK(r.fill() == -1);
  CHECK(errno == EBADF);
}
