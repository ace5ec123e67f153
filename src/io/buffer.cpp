#include "io/buffer.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <unistd.h>

#include "base/num.hpp"

namespace qbox {

bool wait_fd(int fd, bool for_write, int timeout_ms) {
  if (timeout_ms < 0) return true;
  pollfd p{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r > 0) return true;
    if (r == 0) { errno = ETIMEDOUT; return false; }
    if (errno != EINTR) return false;
  }
}

long Reader::fill() {
  if (pos_ < end_) return static_cast<long>(end_ - pos_);
  pos_ = end_ = 0;
  if (tie_ && tie_->flush() < 0) return -1;
  for (;;) {
    if (!wait_fd(fd_, false, timeout_ms_)) return -1;
    ssize_t r = ::read(fd_, buf_.data(), buf_.size());
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    end_ = static_cast<std::size_t>(r);
    return r;
  }
}

long Reader::read(char* out, std::size_t n) {
  if (pos_ == end_ && n >= buf_.size()) {
    // Large reads bypass the buffer.
    if (tie_ && tie_->flush() < 0) return -1;
    for (;;) {
      if (!wait_fd(fd_, false, timeout_ms_)) return -1;
      ssize_t r = ::read(fd_, out, n);
      if (r >= 0 || errno != EINTR) return r;
    }
  }
  long r = fill();
  if (r <= 0) return r;
  std::size_t k = std::min(n, end_ - pos_);
  std::memcpy(out, buf_.data() + pos_, k);
  pos_ += k;
  return static_cast<long>(k);
}

int Reader::read_exact(Str& out, std::size_t n) {
  while (n) {
    long r = fill();
    if (r <= 0) return static_cast<int>(r);
    std::size_t k = std::min(n, end_ - pos_);
    out.append(buf_.data() + pos_, k);
    pos_ += k;
    n -= k;
  }
  return 1;
}

int Reader::getline(Str& line, char delim, std::size_t max) {
  std::size_t start = line.size();
  for (;;) {
    long r = fill();
    if (r <= 0) return static_cast<int>(r);
    const char* p = buf_.data() + pos_;
    std::size_t avail = end_ - pos_;
    const void* hit = std::memchr(p, delim, avail);
    std::size_t k = hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - p) + 1 : avail;
    if (line.size() - start + k > max) {
      errno = E2BIG;
      return -1;
    }
    line.append(p, k);
    pos_ += k;
    if (hit) return 1;
  }
}

int read_netstring(Reader& in, Str& out, std::size_t max) {
  // Length: digits then ':'. Leading zeros are allowed; more than 20 digits
  // or a value past max is refused before anything is allocated.
  unsigned long long len = 0;
  int digits = 0;
  for (;;) {
    long r = in.fill();
    if (r < 0) return -1;
    if (r == 0) {
      if (digits == 0) return 0;
      errno = EPROTO;
      return -1;
    }
    char c = in.peek()[0];
    in.skip(1);
    if (c == ':' && digits > 0) break;
    if (c < '0' || c > '9' || ++digits > 20) { errno = EPROTO; return -1; }
    unsigned d = static_cast<unsigned>(c - '0');
    // len * 10 + d > max, checked before it can wrap.
    if (d > max || len > (max - d) / 10) { errno = E2BIG; return -1; }
    len = len * 10 + d;
  }
  out.clear();
  int r = in.read_exact(out, static_cast<std::size_t>(len));
  if (r <= 0) {
    if (r == 0) errno = EPROTO;
    return -1;
  }
  long f = in.fill();
  if (f <= 0 || in.peek()[0] != ',') {
    if (f >= 0) errno = EPROTO;
    return -1;
  }
  in.skip(1);
  return 1;
}

void append_netstring(Str& out, std::string_view s) {
  out.append_num(s.size());
  out.push(':');
  out.append(s);
  out.push(',');
}

long Writer::write_some(const char* p, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    if (!wait_fd(fd_, true, timeout_ms_)) return -1 - static_cast<long>(done);
    ssize_t w = ::write(fd_, p + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1 - static_cast<long>(done);
    }
    done += static_cast<std::size_t>(w);
  }
  return static_cast<long>(done);
}

int Writer::flush() {
  long r = write_some(buf_.data(), n_);
  if (r < 0) {
    // Keep what did not go out, so a later flush can retry it.
    std::size_t done = static_cast<std::size_t>(-1 - r);
    int e = errno;
    std::memmove(buf_.data(), buf_.data() + done, n_ - done);
    n_ -= done;
    errno = e;
    return -1;
  }
  n_ = 0;
  return 0;
}

int Writer::put(std::string_view s) {
  if (s.size() > buf_.size() - n_) {
    if (flush() < 0) return -1;
    if (s.size() >= buf_.size()) return write_some(s.data(), s.size()) < 0 ? -1 : 0;
  }
  std::memcpy(buf_.data() + n_, s.data(), s.size());
  n_ += s.size();
  return 0;
}

int Writer::put_num(unsigned long long n) {
  char b[kNumDigits];
  return put(fmt_num(b, n));
}

}  // namespace qbox
