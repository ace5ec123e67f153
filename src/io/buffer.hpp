// Buffered reading and writing over descriptors, with optional timeouts.
// The buffer memory belongs to the caller (usually a stack array), so an
// applet pays only for the buffers it uses.
#pragma once
#include <cstddef>
#include <span>
#include <string_view>

#include "base/str.hpp"

namespace qbox {

class Writer;

// Waits until fd is readable (or writable); false with errno = ETIMEDOUT
// after timeout_ms. A negative timeout waits forever.
bool wait_fd(int fd, bool for_write, int timeout_ms);

class Reader {
 public:
  Reader(int fd, std::span<char> buf, int timeout_ms = -1)
      : fd_(fd), buf_(buf), timeout_ms_(timeout_ms) {}

  // Makes sure some bytes are buffered: >0 bytes available, 0 at end of
  // input, -1 on error (errno; ETIMEDOUT after the timeout).
  long fill();
  // The buffered bytes, and dropping n of them.
  std::string_view peek() const { return {buf_.data() + pos_, end_ - pos_}; }
  void skip(std::size_t n) { pos_ += n; }
  // Reads up to n bytes: >0 read, 0 end of input, -1 error.
  long read(char* out, std::size_t n);
  // Reads exactly n bytes into out: 1 done, 0 end of input first, -1 error.
  int read_exact(Str& out, std::size_t n);

  // Appends one line to `line`, the delimiter included. 1: a whole line;
  // 0: end of input (`line` holds any partial last line); -1: error, and
  // errno = E2BIG when the line grows past `max` bytes.
  int getline(Str& line, char delim = '\n', std::size_t max = static_cast<std::size_t>(-1));

  int fd() const { return fd_; }
  void set_timeout(int ms) { timeout_ms_ = ms; }
  // Flushes `w` before every read from the descriptor, as djb's buffer_0
  // flushes buffer_1 (and qmail's subfdin flushes subfdout): output keeps
  // pace with input, and a failed flush fails the read with its errno.
  void tie(Writer* w) { tie_ = w; }

 private:
  int fd_;
  std::span<char> buf_;
  int timeout_ms_;
  Writer* tie_ = nullptr;
  std::size_t pos_ = 0, end_ = 0;
};

// Reads one netstring ("5:hello,") into out. 1: done; 0: clean end of input
// before the first byte; -1: error (errno: EPROTO for a malformed or
// truncated netstring, E2BIG when longer than max, or the read error).
int read_netstring(Reader& in, Str& out, std::size_t max);
// Appends a netstring encoding of s.
void append_netstring(Str& out, std::string_view s);

class Writer {
 public:
  Writer(int fd, std::span<char> buf, int timeout_ms = -1)
      : fd_(fd), buf_(buf), timeout_ms_(timeout_ms) {}
  // Buffered writes; 0 on success, -1 and errno on a failed flush (the
  // bytes not yet written stay buffered, so flush() may be retried).
  int put(std::string_view s);
  int put(char c) { if (n_ == buf_.size() && flush() < 0) return -1; buf_[n_++] = c; return 0; }
  int put_num(unsigned long long n);
  int flush();
  int fd() const { return fd_; }

 private:
  // Bytes written, or -1 - (bytes written) on failure.
  long write_some(const char* p, std::size_t n);
  int fd_;
  std::span<char> buf_;
  int timeout_ms_;
  std::size_t n_ = 0;
};

}  // namespace qbox
