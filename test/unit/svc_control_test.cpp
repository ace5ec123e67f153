#include <doctest/doctest.h>

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fd.hpp"
#include "base/str.hpp"
#include "svc/control.hpp"

using namespace qbox;

TEST_CASE("svc::send_control: missing fifo, no reader, a reader") {
  char dir[] = "/tmp/qbox-svc-XXXXXX";
  REQUIRE(::mkdtemp(dir));
  Str sup(dir), fifo;
  sup.append("/supervise");
  fifo = sup;
  fifo.append("/control");

  errno = 0;
  CHECK(svc::send_control(dir, "dx") == -1);
  CHECK(errno == ENOENT);

  REQUIRE(::mkdir(sup.c_str(), 0700) == 0);
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  errno = 0;
  CHECK(svc::send_control(dir, "dx") == -1);
  CHECK(errno == ENXIO);  // nobody reads: "supervise not running"

  {
    Fd reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK));
    REQUIRE(reader.ok());
    CHECK(svc::send_control(dir, "dx") == 0);
    CHECK(svc::send_control(dir, "u") == 0);
    char buf[8];
    CHECK(::read(reader.get(), buf, sizeof buf) == 3);
    CHECK(std::string_view(buf, 3) == "dxu");
  }

  ::unlink(fifo.c_str());
  ::rmdir(sup.c_str());
  ::rmdir(dir);
}
