#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/env.hpp"
#include "base/fd.hpp"
#include "io/buffer.hpp"
#include "proc/child.hpp"
#include "proc/exec.hpp"

using namespace qbox;

namespace {
// A pipe whose write end has `data` written and then closed (or kept open).
struct Pipe {
  Fd r, w;
  explicit Pipe(std::string_view data = {}, bool close_write = true) {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    r.reset(p[0]);
    w.reset(p[1]);
    REQUIRE(write_all(w.get(), data) == 0);
    if (close_write) w.reset();
  }
};
}  // namespace

TEST_CASE("Reader::getline splits lines and keeps a partial last line") {
  Pipe p("one\ntwo\nthree");
  char buf[4];  // smaller than a line: lines span refills
  Reader in(p.r.get(), buf);
  Str line;
  CHECK(in.getline(line) == 1);
  CHECK(line == "one\n");
  line.clear();
  CHECK(in.getline(line) == 1);
  CHECK(line == "two\n");
  line.clear();
  CHECK(in.getline(line) == 0);
  CHECK(line == "three");
  line.clear();
  CHECK(in.getline(line) == 0);
  CHECK(line.empty());
}

TEST_CASE("Reader::getline refuses lines longer than max") {
  Pipe p("0123456789\nok\n");
  char buf[64];
  Reader in(p.r.get(), buf);
  Str line;
  CHECK(in.getline(line, '\n', 5) == -1);
  CHECK(errno == E2BIG);
}

TEST_CASE("Reader times out on a silent descriptor") {
  Pipe p("", false);
  char buf[16];
  Reader in(p.r.get(), buf, 50);
  CHECK(in.fill() == -1);
  CHECK(errno == ETIMEDOUT);
}

TEST_CASE("Reader::read and read_exact") {
  Pipe p("abcdefghij");
  char buf[4];
  Reader in(p.r.get(), buf);
  char out[3];
  CHECK(in.read(out, 3) == 3);
  CHECK(std::string_view(out, 3) == "abc");
  Str s;
  CHECK(in.read_exact(s, 5) == 1);
  CHECK(s == "defgh");
  s.clear();
  CHECK(in.read_exact(s, 5) == 0);  // only "ij" left
}

static int netstring(std::string_view data, Str& out, std::size_t max = 100) {
  Pipe p(data);
  char buf[8];
  Reader in(p.r.get(), buf);
  return read_netstring(in, out, max);
}

TEST_CASE("read_netstring: good netstrings") {
  Str s;
  CHECK(netstring("5:hello,", s) == 1);
  CHECK(s == "hello");
  CHECK(netstring("0:,", s) == 1);
  CHECK(s.empty());
  CHECK(netstring("012:hello, world,", s) == 1);
  CHECK(s == "hello, world");
  CHECK(netstring("", s) == 0);
  Str enc;
  append_netstring(enc, "a:b,");
  CHECK(enc == "4:a:b,,");
  CHECK(netstring(enc.view(), s) == 1);
  CHECK(s == "a:b,");
}

TEST_CASE("read_netstring: malformed and truncated netstrings") {
  Str s;
  for (std::string_view bad : {"5hello,", ":hello,", "5:hell", "5:hello;", "5:hello",
                               "x:,", "-1:a,", "5", "123456789012345678901:"}) {
    errno = 0;
    CHECK_MESSAGE(netstring(bad, s, UINT64_MAX) == -1, bad);
    CHECK_MESSAGE(errno == EPROTO, bad);
  }
  errno = 0;
  CHECK(netstring("101:", s) == -1);
  CHECK(errno == E2BIG);
  // 2^64 + 10 must not wrap around to 10.
  errno = 0;
  CHECK(netstring("18446744073709551626:0123456789,", s, SIZE_MAX) == -1);
  CHECK(errno == E2BIG);
  errno = 0;
  CHECK(netstring("18446744073709551615:", s, SIZE_MAX - 1) == -1);
  CHECK(errno == E2BIG);
}

TEST_CASE("Writer buffers, flushes and keeps unwritten bytes on failure") {
  {
    Pipe p("", false);
    char buf[4];
    Writer out(p.w.get(), buf);
    CHECK(out.put("ab") == 0);
    CHECK(out.put('c') == 0);
    CHECK(out.put("defghijkl") == 0);  // larger than the buffer
    CHECK(out.put_num(42) == 0);
    CHECK(out.flush() == 0);
    p.w.reset();
    Str got;
    CHECK(read_all(p.r.get(), got) == 0);
    CHECK(got == "abcdefghijkl42");
  }
  {
    std::signal(SIGPIPE, SIG_IGN);
    Pipe p("", false);
    p.r.reset();
    char buf[8];
    Writer out(p.w.get(), buf);
    CHECK(out.put("xyz") == 0);
    CHECK(out.flush() == -1);
    CHECK(errno == EPIPE);
    std::signal(SIGPIPE, SIG_DFL);
  }
}

TEST_CASE("read_file, write_all, read_all with a size limit") {
  char dir[] = "/tmp/qbox-io-XXXXXX";
  REQUIRE(::mkdtemp(dir));
  Str path(dir);
  path.append("/f");
  Fd fd(open_trunc(path.c_str()));
  REQUIRE(fd.ok());
  CHECK(write_all(fd.get(), "0123456789") == 0);
  fd.reset();
  Str s;
  CHECK(read_file(path.c_str(), s) == 0);
  CHECK(s == "0123456789");
  s.clear();
  CHECK(read_file(path.c_str(), s, 5) == -1);
  CHECK(errno == EFBIG);
  CHECK(s.empty());  // refused by its size, before reading
  CHECK(read_file(path.c_str(), s, 10) == 0);
  CHECK(s == "0123456789");
  s.clear();
  // A pipe has no size to go by: read up to the limit.
  Pipe p("0123456789");
  CHECK(read_all(p.r.get(), s, 5) == -1);
  CHECK(errno == EFBIG);
  CHECK(s.size() > 5);
  CHECK(open_excl(path.c_str()) == -1);
  CHECK(errno == EEXIST);
  Str missing(dir);
  missing.append("/nope");
  CHECK(read_file(missing.c_str(), s) == -1);
  CHECK(errno == ENOENT);
  ::unlink(path.c_str());
  ::rmdir(dir);
}

TEST_CASE("fd_move and fd_copy") {
  Pipe p("x");
  int r = ::dup(p.r.get());
  int target = 50;
  CHECK(fd_move(target, r) == 0);
  CHECK(::fcntl(r, F_GETFD) == -1);
  char c;
  CHECK(::read(target, &c, 1) == 1);
  CHECK(c == 'x');
  CHECK(fd_copy(target, 12345) == -1);
  ::close(target);
}

TEST_CASE("fsync_dir: a directory syncs, a file or nothing does not") {
  CHECK(fsync_dir(AT_FDCWD, "/tmp") == 0);
  Fd tmp(::openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(tmp.ok());
  CHECK(fsync_dir(tmp.get(), "tmp") == 0);
  errno = 0;
  CHECK(fsync_dir(AT_FDCWD, "/nonexistent-qbox-dir") == -1);
  CHECK(errno == ENOENT);
  CHECK(fsync_dir(AT_FDCWD, "/dev/null") == -1);
  CHECK(errno == ENOTDIR);
}

static int run_child(char* const* argv, const char* path) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (path) env::set("PATH", path);
    ::setenv("PATH", path ? path : "/bin:/usr/bin", 1);
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 2);
    pathexec(argv);
    _exit(errno == ENOENT ? 41 : errno == EACCES ? 42 : 43);
  }
  int st = 0;
  CHECK(wait_pid(pid, &st) == pid);
  if (wait_crashed(st)) return -wait_termsig(st);
  return wait_exitcode(st);
}

TEST_CASE("pathexec searches PATH and reports why it failed") {
  char sh[] = "sh", c[] = "-c", code[] = "exit 7", none[] = "qbox-no-such-program";
  char* ok[] = {sh, c, code, nullptr};
  CHECK(run_child(ok, "/nonexistent:/bin:/usr/bin") == 7);
  char* missing[] = {none, nullptr};
  CHECK(run_child(missing, "/bin:/usr/bin") == 41);
  char abs[] = "/nonexistent/prog";
  char* absent[] = {abs, nullptr};
  CHECK(run_child(absent, nullptr) == 41);
  char etc[] = "passwd";
  char* noexec[] = {etc, nullptr};
  CHECK(run_child(noexec, "/etc") == 42);
  char kill[] = "kill -9 $$";
  char* crash[] = {sh, c, kill, nullptr};
  CHECK(run_child(crash, nullptr) == -9);
}

// pathspawn in a child of ours (PATH is process-wide), reporting as
// run_child does: the program's exit code, or 41/42/43 for the errors.
static int spawn_child(char* const* argv, const char* path, Str* out = nullptr) {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    if (path) env::set("PATH", path);
    ::setenv("PATH", path ? path : "/bin:/usr/bin", 1);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    pid_t kid;
    int e = pathspawn(&kid, argv, &fa);
    if (e) _exit(e == ENOENT ? 41 : e == EACCES ? 42 : 43);
    ::close(p[1]);
    int st = 0;
    if (wait_pid(kid, &st) != kid) _exit(44);
    if (wait_crashed(st)) _exit(45);
    _exit(wait_exitcode(st));
  }
  ::close(p[1]);
  Str got;
  read_all(p[0], got);
  ::close(p[0]);
  if (out) *out = got;
  int st = 0;
  CHECK(wait_pid(pid, &st) == pid);
  return wait_exitcode(st);
}

TEST_CASE("pathspawn searches PATH like pathexec, applies file actions, reports errors") {
  char sh[] = "sh", c[] = "-c", code[] = "echo \"$QBOX_T_SPAWN\"; exit 7", none[] = "qbox-no-such-program";
  char* ok[] = {sh, c, code, nullptr};
  Str out;
  env::set("QBOX_T_SPAWN", "recorded");  // the recorded environment is the child's
  CHECK(spawn_child(ok, "/nonexistent:/bin:/usr/bin", &out) == 7);
  env::unset("QBOX_T_SPAWN");
  CHECK(out == "recorded\n");
  char* missing[] = {none, nullptr};
  CHECK(spawn_child(missing, "/bin:/usr/bin") == 41);
  char abs[] = "/nonexistent/prog";
  char* absent[] = {abs, nullptr};
  CHECK(spawn_child(absent, nullptr) == 41);
  char etc[] = "passwd";
  char* noexec[] = {etc, nullptr};
  CHECK(spawn_child(noexec, "/etc") == 42);
  // An access error is remembered while the search goes on.
  CHECK(spawn_child(noexec, "/etc:/nonexistent") == 42);
}

TEST_CASE("exec_paths lists what pathexec tries, in order") {
  const char* saved = std::getenv("PATH");
  Str keep(saved ? saved : "");
  Str paths;
  ::setenv("PATH", "/a::/b/c", 1);
  exec_paths("prog", paths);
  CHECK(paths.view() == std::string_view("/a/prog\0./prog\0/b/c/prog\0", 25));
  exec_paths("./here/prog", paths);  // a slash: as it is
  CHECK(paths.view() == std::string_view("./here/prog\0", 12));
  ::unsetenv("PATH");
  exec_paths("sh", paths);
  CHECK(paths.view() == std::string_view("/bin/sh\0/usr/bin/sh\0", 20));
  if (saved) ::setenv("PATH", keep.c_str(), 1);
}

TEST_CASE("wait_nohang and the self-pipe") {
  int st;
  CHECK(wait_nohang(&st) <= 0);
  REQUIRE(selfpipe_init() == 0);
  selfpipe_notify();
  selfpipe_notify();
  char c;
  CHECK(::read(selfpipe_fd(), &c, 1) == 1);
  selfpipe_drain();
  CHECK(::read(selfpipe_fd(), &c, 1) == -1);
  CHECK(errno == EAGAIN);
}

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
