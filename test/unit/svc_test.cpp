#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <ctime>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fd.hpp"
#include "base/str.hpp"
#include "proc/pidfd.hpp"
#include "svc/control.hpp"
#include "svc/status.hpp"

using namespace qbox;
using namespace qbox::svc;

namespace {

// A fresh directory with a supervise/ inside, made the current directory
// for the life of the object.
struct TempServiceDir {
  char path[64] = "/tmp/qbox-svc-test.XXXXXX";
  int orig = -1;
  TempServiceDir() {
    REQUIRE(::mkdtemp(path) != nullptr);
    orig = ::open(".", O_RDONLY | O_CLOEXEC);
    REQUIRE(::chdir(path) == 0);
    REQUIRE(::mkdir("supervise", 0700) == 0);
  }
  ~TempServiceDir() {
    for (const char* f : {"supervise/status", "supervise/status.new", "supervise/lock",
                          "supervise/control", "supervise/ok"})
      ::unlink(f);
    ::rmdir("supervise");
    if (::fchdir(orig) != 0) std::abort();
    ::close(orig);
    ::rmdir(path);
  }
  void put_status(std::string_view bytes) {
    Fd fd(::open("supervise/status", O_WRONLY | O_CREAT | O_TRUNC, 0644));
    REQUIRE(fd.ok());
    REQUIRE(write_all(fd.get(), bytes) == 0);
  }
};

}  // namespace

TEST_CASE("status: encode lays out TAI64N, pid little-endian, paused, want") {
  Status s;
  s.when = Tai64n{0x400000006543210aULL, 0x01020304};
  s.pid = 0x00123456;
  s.paused = 1;
  s.want = 'd';
  char b[kStatusLen];
  encode_status(s, b);
  const unsigned char want[kStatusLen] = {0x40, 0, 0, 0, 0x65, 0x43, 0x21, 0x0a, 1, 2, 3, 4,
                                          0x56, 0x34, 0x12, 0x00, 1, 'd'};
  CHECK(std::string_view(b, kStatusLen) ==
        std::string_view(reinterpret_cast<const char*>(want), kStatusLen));
  auto back = decode_status(std::string_view(b, kStatusLen));
  REQUIRE(back);
  CHECK(*back == s);
}

TEST_CASE("status: decode round-trips and ignores bytes past 18") {
  Status s;
  s.when = Tai64n::from_unix(1700000000, 999999999);
  s.pid = 4294967295U;
  s.want = 'u';
  char b[kStatusLen + 3];
  encode_status(s, b);
  b[18] = 'x'; b[19] = 'y'; b[20] = 'z';
  auto d = decode_status(std::string_view(b, sizeof b));
  REQUIRE(d);
  CHECK(*d == s);
  CHECK(d->when.unix_sec() == 1700000000);
  s.want = 0;
  s.pid = 0;
  encode_status(s, b);
  CHECK(b[17] == 0);
  CHECK(decode_status(std::string_view(b, kStatusLen))->want == 0);
}

TEST_CASE("status: short input is bad format") {
  char b[kStatusLen] = {};
  CHECK(!decode_status(std::string_view()));
  CHECK(!decode_status(std::string_view(b, 17)));
  CHECK(decode_status(std::string_view(b, 18)));
}

TEST_CASE("status: write through status.new, read back; short and missing files") {
  TempServiceDir d;
  Status s;
  CHECK(read_status(s) == ReadResult::kOpenFailed);
  CHECK(errno == ENOENT);

  s.when = Tai64n::from_unix(1234567890, 5);
  s.pid = 77;
  s.paused = 1;
  s.want = 'u';
  REQUIRE(write_status(s) == WriteStep::kDone);
  struct stat st;
  CHECK(::stat("supervise/status.new", &st) != 0);  // renamed away
  REQUIRE(::stat("supervise/status", &st) == 0);
  CHECK(st.st_size == 18);
  CHECK((st.st_mode & 0777) == 0644);
  Status r;
  REQUIRE(read_status(r) == ReadResult::kOk);
  CHECK(r == s);

  d.put_status("short");
  CHECK(read_status(r) == ReadResult::kShort);
  d.put_status("");
  CHECK(read_status(r) == ReadResult::kShort);
  // Garbage of the right length decodes; svstat makes of it what it can.
  d.put_status(std::string_view("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x00\x00\x00\x00\x00zz", 20));
  REQUIRE(read_status(r) == ReadResult::kOk);
  CHECK(r.pid == 1);
  CHECK(r.want == 0);
}

TEST_CASE("status: write reports the step that failed") {
  TempServiceDir d;
  REQUIRE(::rmdir("supervise") == 0);
  Status s;
  CHECK(write_status(s) == WriteStep::kOpen);
  CHECK(errno == ENOENT);
  REQUIRE(::mkdir("supervise", 0700) == 0);
  REQUIRE(::mkdir("supervise/status", 0700) == 0);  // rename onto a directory fails
  CHECK(write_status(s) == WriteStep::kRename);
  CHECK(errno == EISDIR);
  ::rmdir("supervise/status");
}

TEST_CASE("status: svstat's description") {
  auto text = [](const Status& s, std::uint64_t now, bool up) {
    Str out;
    describe_status(out, s, now, up);
    return Str(out);
  };
  Status s;
  s.when = Tai64n::from_unix(1000);
  std::uint64_t now = Tai64n::from_unix(1045).sec;
  s.pid = 123;
  s.want = 'u';
  CHECK(text(s, now, true) == "up (pid 123) 45 seconds");
  CHECK(text(s, now, false) == "up (pid 123) 45 seconds, normally down");
  s.paused = 1;
  s.want = 'd';
  CHECK(text(s, now, true) == "up (pid 123) 45 seconds, paused, want down");
  s.pid = 0;
  CHECK(text(s, now, true) == "down 45 seconds, normally up");  // paused and want down only when up
  s.want = 'u';
  CHECK(text(s, now, false) == "down 45 seconds, want up");
  s.want = 0;
  CHECK(text(s, now, false) == "down 45 seconds");
  // A status from the future counts as now.
  CHECK(text(s, Tai64n::from_unix(900).sec, false) == "down 0 seconds");
  // A garbled time: the difference goes through a double, as in svstat.
  s.when.sec = 0;
  CHECK(text(s, now, false) == "down 4611686018427388928 seconds");
}

TEST_CASE("control: ok fifo tells whether a reader is there; the lock is exclusive") {
  TempServiceDir d;
  CHECK(open_fifo_write(kOkPath) == -1);
  CHECK(errno == ENOENT);
  make_fifo(kOkPath);
  make_fifo(kOkPath);  // again: fine
  struct stat st;
  REQUIRE(::stat(kOkPath, &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(open_fifo_write(kOkPath) == -1);
  CHECK(errno == ENXIO);
  Fd reader(open_fifo_read(kOkPath));
  REQUIRE(reader.ok());
  Fd writer(open_fifo_write(kOkPath));
  CHECK(writer.ok());

  Fd lock(acquire_lock(kLockPath));
  REQUIRE(lock.ok());
  REQUIRE(::stat(kLockPath, &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(acquire_lock(kLockPath) == -1);  // a second open file: flock conflicts
  CHECK(errno == EAGAIN);
  lock.reset();
  Fd again(acquire_lock(kLockPath));
  CHECK(again.ok());
}

TEST_CASE("pidfd: start time of a live process, nothing for a reaped one") {
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  auto started = process_start_time(child);
  REQUIRE(started);
  std::int64_t now = ::time(nullptr);
  CHECK(*started <= now + 1);
  CHECK(*started >= now - 5);
  CHECK(process_start_time(::getpid()));
  int fd = pidfd_open(child);
  if (fd >= 0) {
    CHECK(pidfd_signal(fd, SIGKILL) == 0);
    ::close(fd);
  } else {
    ::kill(child, SIGKILL);
  }
  int w;
  REQUIRE(::waitpid(child, &w, 0) == child);
  CHECK(!process_start_time(child));
}
