#include "mbox/mbox.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/num.hpp"
#include "time/date822.hpp"

namespace qbox::mbox {

static constexpr std::string_view kFrom = "From ";

bool needs_quote(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] == '>') ++i;
  return line.substr(i).starts_with(kFrom);
}

int FromQuoter::flush_pending(Writer& out) {
  for (; gts_; --gts_)
    if (out.put('>') < 0) return -1;
  if (from_ && out.put(kFrom.substr(0, from_)) < 0) return -1;
  from_ = 0;
  return 0;
}

int FromQuoter::put(Writer& out, std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (state_ == State::kRest) {
      // The bulk of the bytes: copy up to and including the next LF.
      std::size_t lf = s.find('\n', i);
      std::size_t end = lf == std::string_view::npos ? s.size() : lf + 1;
      if (out.put(s.substr(i, end - i)) < 0) return -1;
      i = end;
      if (lf != std::string_view::npos) state_ = State::kLineStart;
      continue;
    }
    char c = s[i];
    if (state_ == State::kLineStart) {
      if (c == '>') {
        ++gts_;
        ++i;
        continue;
      }
      state_ = State::kFrom;
    }
    // kFrom: matching "From " after the '>'s.
    if (c == kFrom[from_]) {
      ++i;
      if (++from_ == kFrom.size()) {
        if (out.put('>') < 0) return -1;
        if (flush_pending(out) < 0) return -1;
        state_ = State::kRest;
      }
      continue;
    }
    if (flush_pending(out) < 0) return -1;
    state_ = State::kRest;  // c is copied there (and may be the LF)
  }
  return 0;
}

int FromQuoter::finish(Writer& out) {
  bool partial = state_ != State::kLineStart || gts_ || from_;
  if (flush_pending(out) < 0) return -1;
  state_ = State::kLineStart;
  if (partial && out.put('\n') < 0) return -1;
  return 0;
}

void append_ctime(Str& out, std::int64_t unix_sec) {
  static constexpr char kDays[] = "SunMonTueWedThuFriSat";
  CivilTime c = civil_utc(unix_sec);
  char d[kNumDigits];
  out.append(std::string_view(kDays + 3 * c.wday, 3));
  out.push(' ');
  out.append(month_name(c.mon));
  out.push(' ');
  out.append(fmt_num0(d, static_cast<unsigned>(c.mday), 2));
  out.push(' ');
  char hms[kHmsLen];
  out.append(fmt_hms(hms, c.hour, c.min, c.sec));
  out.push(' ');
  if (c.year < 0) out.push('-');
  out.append_num(static_cast<unsigned long long>(c.year < 0 ? -c.year : c.year));
  out.push('\n');
}

void append_from_line(Str& out, std::string_view sender, std::int64_t unix_sec) {
  out.append("From ");
  if (sender.empty()) {
    out.append("MAILER-DAEMON");
  } else {
    for (char c : sender) out.push(c == ' ' || c == '\t' || c == '\n' ? '-' : c);
  }
  out.push(' ');
  append_ctime(out, unix_sec);
}

namespace {

volatile sig_atomic_t g_alarmed = 0;
void on_alarm(int) { g_alarmed = 1; }

// flock with a time limit. 0 locked; -1 failed (errno); -2 timed out.
int lock_with_timeout(int fd, unsigned seconds) {
  struct sigaction sa = {}, old = {};
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: the alarm interrupts flock
  ::sigaction(SIGALRM, &sa, &old);
  g_alarmed = 0;
  ::alarm(seconds);
  int r;
  for (;;) {
    r = ::flock(fd, LOCK_EX);
    if (r == 0 || errno != EINTR || g_alarmed) break;
  }
  int e = errno;
  ::alarm(0);
  ::sigaction(SIGALRM, &old, nullptr);
  if (r == 0) return 0;
  errno = e;
  return g_alarmed ? -2 : -1;
}

}  // namespace

bool deliver(const char* path, std::string_view prefix, int msg_fd, unsigned lock_timeout,
             Delivery& d) {
  d = Delivery{};
  int fd = ::open(path, O_WRONLY | O_NONBLOCK | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    d.failure = Failure::kOpen;
    d.err = errno;
    return false;
  }
  int lr = lock_with_timeout(fd, lock_timeout);
  if (lr == -2) {
    ::close(fd);
    d.failure = Failure::kSlowLock;
    return false;
  }
  d.locked = lr == 0;
  off_t pos = ::lseek(fd, 0, SEEK_END);

  auto give_up = [&](Failure f, int e) {
    if (d.locked && pos >= 0) {
      while (::ftruncate(fd, pos) != 0 && errno == EINTR) {
      }
    }
    ::close(fd);
    d.failure = f;
    d.err = e;
    return false;
  };

  char obuf[65536], ibuf[65536];
  Writer out(fd, obuf);
  FromQuoter quoter;
  if (out.put(prefix) < 0) return give_up(Failure::kWrite, errno);
  for (;;) {
    ssize_t r = ::read(msg_fd, ibuf, sizeof ibuf);
    if (r < 0) {
      if (errno == EINTR) continue;
      return give_up(Failure::kRead, errno);
    }
    if (r == 0) break;
    if (quoter.put(out, std::string_view(ibuf, static_cast<std::size_t>(r))) < 0)
      return give_up(Failure::kWrite, errno);
  }
  if (quoter.finish(out) < 0 || out.put('\n') < 0 || out.flush() < 0 || ::fsync(fd) != 0)
    return give_up(Failure::kWrite, errno);
  ::close(fd);  // after fsync the message is on disk, as qmail-local assumes
  return true;
}

}  // namespace qbox::mbox
