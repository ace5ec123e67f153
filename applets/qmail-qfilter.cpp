// qmail-qfilter: run a message through filters before qmail-queue, as
// Bruce Guenter's qmail-qfilter 2.x does. Used as $QMAILQUEUE:
//
//   qmail-qfilter filter [ arg ... ] [ -- filter [ arg ... ] ... ]
//
// The message (descriptor 0) and the envelope (1) are copied to temporary
// files. Each filter runs in turn with the message on 0 and a new empty
// file on 1 for its output, the envelope on 3 and an empty file on 4 for a
// new envelope, and a file on 5 that may name a program to run instead of
// qmail-queue (the name ends at a NUL). Output that a filter leaves empty
// means "unchanged". Before each filter the environment has QMAILUSER and
// QMAILHOST (the sender's parts around its last '@'; QMAILNAME is
// removed), QMAILRCPTS (the recipients, each followed by a LF), NUMRCPTS,
// ENVSIZE, MSGSIZE and QMAILPPID (our parent, e.g. qmail-smtpd).
//
// A filter's exit code other than 0 ends it all: 99 means "drop the
// message" (exit 0, nothing queued), anything else is passed on as
// qmail-queue's exit code (so 31 refuses permanently, 71 temporarily...;
// a filter may also use notqmail's descriptor 6 and 82, which reach the
// caller untouched). Then $QQF_QMAILQUEUE, or QMAILHOME/bin/qmail-queue,
// or what descriptor 5 names, runs with the message and envelope.
// $QMAILQUEUE is not used, so that it can point at qmail-qfilter itself.
// qmail-qfilter's own failures: 51 out of memory (or fork failed), 53 a
// temporary file cannot be written, 81 a filter cannot be run or crashed,
// 91 the envelope is not one.
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <string_view>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "base/applet.hpp"
#include "base/env.hpp"
#include "base/fd.hpp"
#include "base/num.hpp"
#include "base/str.hpp"
#include "proc/child.hpp"
#include "proc/exec.hpp"

using namespace qbox;

namespace {

constexpr int kOom = 51, kWriteError = 53, kInternal = 81, kBadEnvelope = 91, kDrop = 99;
constexpr int kMsgIn = 0, kMsgOut = 1, kEnvIn = 3, kEnvOut = 4, kQqFd = 5;

[[noreturn]] void quit(int code) { ::_exit(code); }

// An unlinked temporary file, opened for reading and writing.
int tmpfile_fd() {
  char name[] = "/tmp/qmail-qfilter.XXXXXX";
  int fd = ::mkstemp(name);
  if (fd < 0) quit(kWriteError);
  if (::unlink(name) != 0) quit(kWriteError);
  return fd;
}

void move_fd(int from, int to) {
  if (from == to) return;
  if (::dup2(from, to) != to || ::close(from) != 0) quit(kWriteError);
}

// A new empty temporary file as descriptor fd.
void fresh_tmp(int fd) {
  ::close(fd);
  move_fd(tmpfile_fd(), fd);
}

// Copies descriptor `from` into a temporary file that becomes `to`, read
// from its start; returns the byte count.
std::size_t copy_to_tmp(int from, int to) {
  int tmp = tmpfile_fd();
  char buf[8192];
  std::size_t total = 0;
  for (;;) {
    ssize_t r = ::read(from, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) quit(kWriteError);
    if (r == 0) break;
    if (write_all(tmp, std::string_view(buf, static_cast<std::size_t>(r))) != 0) quit(kWriteError);
    total += static_cast<std::size_t>(r);
  }
  ::close(from);
  if (::lseek(tmp, 0, SEEK_SET) != 0) quit(kWriteError);
  move_fd(tmp, to);
  return total;
}

void set_num(const char* name, unsigned long long n) {
  char num[kNumDigits];
  Str v(fmt_num(num, n));
  env::set(name, v.c_str());
}

// Sets the environment from the envelope on descriptor 3 (read in place,
// its offset untouched).
void parse_envelope(std::size_t size) {
  Str env;
  env.resize(size);
  std::size_t got = 0;
  while (got < size) {
    ssize_t r = ::pread(kEnvIn, env.data() + got, size - got, static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) quit(kOom);
    got += static_cast<std::size_t>(r);
  }
  std::string_view v = env.view();
  if (v.empty() || v[0] != 'F') quit(kBadEnvelope);
  std::size_t end = v.find('\0');
  std::string_view sender = v.substr(1, end == std::string_view::npos ? end : end - 1);
  env::unset("QMAILNAME");
  std::size_t at = sender.rfind('@');
  Str user(sender.substr(0, at)), host(at == std::string_view::npos ? std::string_view() : sender.substr(at + 1));
  env::set("QMAILUSER", user.c_str());
  env::set("QMAILHOST", host.c_str());
  Str rcpts;
  unsigned long long count = 0;
  std::size_t pos = end == std::string_view::npos ? v.size() : end + 1;
  while (pos < v.size() && v[pos] == 'T') {
    std::size_t e = v.find('\0', pos);
    if (e == std::string_view::npos) e = v.size();
    rcpts.append(v.substr(pos + 1, e - pos - 1));
    rcpts.push('\n');
    ++count;
    pos = e + 1;
  }
  env::set("QMAILRCPTS", rcpts.c_str());
  set_num("NUMRCPTS", count);
}

std::size_t fd_size(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) quit(kInternal);
  return static_cast<std::size_t>(st.st_size);
}

// After a filter: a non-empty output replaces the input (and, with more
// filters to come, a fresh output file takes its place); the input is
// rewound for whoever reads it next.
void take_output(int out, int in, bool more, std::size_t& size) {
  std::size_t n = fd_size(out);
  if (n > 0) {
    move_fd(out, in);
    size = n;
    if (more) {
      fresh_tmp(out);
      if (out == kEnvOut) parse_envelope(size);
    }
  } else if (!more) {
    ::close(out);
  }
  if (::lseek(in, 0, SEEK_SET) != 0) quit(kWriteError);
}

int qmail_qfilter_main(int argc, char** argv) {
  // The filters, split at "--"; an empty one is an error.
  std::vector<char**> filters;
  for (int i = 1; i < argc;) {
    int end = i;
    while (end < argc && std::string_view(argv[end]) != "--") ++end;
    if (end == i) quit(kInternal);
    argv[end] = nullptr;  // argv[argc] is already null
    filters.push_back(argv + i);
    i = end + 1;
  }

  Str qq;
  if (const char* q = env::get("QQF_QMAILQUEUE")) {
    qq = q;
  } else {
    qq = qmail_home();
    qq.append("/bin/qmail-queue");
  }
  set_num("QMAILPPID", static_cast<unsigned long long>(::getppid()));

  std::size_t msg_len = copy_to_tmp(0, kMsgIn);
  std::size_t env_len = copy_to_tmp(1, kEnvIn);
  parse_envelope(env_len);
  fresh_tmp(kQqFd);

  if (!filters.empty()) {
    fresh_tmp(kMsgOut);
    fresh_tmp(kEnvOut);
  }
  for (std::size_t f = 0; f < filters.size(); ++f) {
    set_num("ENVSIZE", env_len);
    set_num("MSGSIZE", msg_len);
    pid_t pid = ::fork();
    if (pid < 0) quit(kOom);
    if (pid == 0) {
      pathexec(filters[f]);
      quit(kInternal);
    }
    int status;
    if (wait_pid(pid, &status) != pid) quit(kInternal);
    if (wait_crashed(status)) quit(kInternal);
    if (int code = wait_exitcode(status)) quit(code == kDrop ? 0 : code);
    bool more = f + 1 < filters.size();
    take_output(kMsgOut, kMsgIn, more, msg_len);
    take_output(kEnvOut, kEnvIn, more, env_len);
    if (::lseek(kQqFd, 0, SEEK_SET) != 0) quit(kWriteError);
  }

  // A program named on descriptor 5 replaces qmail-queue.
  if (std::size_t n = fd_size(kQqFd)) {
    Str name;
    name.resize(n);
    if (::pread(kQqFd, name.data(), n, 0) != static_cast<ssize_t>(n)) quit(kInternal);
    qq = std::string_view(name.c_str());
  }
  ::close(kQqFd);
  move_fd(kEnvIn, 1);
  char* qq_argv[] = {qq.data(), nullptr};
  ::execve(qq.c_str(), qq_argv, env::build());
  quit(kInternal);
}

}  // namespace

extern const AppletInfo applet_qmail_qfilter = {
    "run a message through filters before qmail-queue (Bruce Guenter's qmail-qfilter)",
    "qmail-qfilter filter [ arg ... ] [ -- filter [ arg ... ] ... ]", qmail_qfilter_main};
