// TAI64 and TAI64N labels (cr.yp.to/libtai/tai64.html): 8 bytes of seconds
// (2^62 + TAI seconds since 1970) and 4 bytes of nanoseconds, big-endian,
// written as "@" and 24 lower-case hex digits by tai64n and multilog.
// Like daemontools, the clock is taken as UTC plus 10 seconds.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace qbox {

inline constexpr std::uint64_t kTaiEpoch = 4611686018427387904ULL;  // 2^62
inline constexpr std::uint64_t kTaiUnixOffset = kTaiEpoch + 10;   // label of unix time 0

struct Tai64n {
  std::uint64_t sec = 0;   // the TAI64 label
  std::uint32_t nano = 0;  // 0..999999999

  static Tai64n now();
  // The clock as daemontools' taia_now() reads it (gettimeofday): whole
  // microseconds, and nano = 1000 * usec + 500, so stamps end in "500"
  // (nanoseconds 1f4 hex) like those of tai64n, multilog and supervise.
  static Tai64n now_usec();
  static Tai64n from_unix(std::int64_t unix_sec, std::uint32_t nano = 0) {
    return {kTaiUnixOffset + static_cast<std::uint64_t>(unix_sec), nano};
  }
  std::int64_t unix_sec() const { return static_cast<std::int64_t>(sec - kTaiUnixOffset); }

  void pack(char out[12]) const;
  static Tai64n unpack(const char in[12]);
  friend bool operator==(const Tai64n&, const Tai64n&) = default;
};

// The monotonic clock in milliseconds, for deadlines (never jumps with the
// time of day).
std::int64_t monotonic_ms();

inline constexpr std::size_t kTai64nHexLen = 25;  // "@" + 24 hex digits
// Writes "@" and 24 hex digits into out.
void fmt_tai64n(char out[kTai64nHexLen], const Tai64n& t);
// Parses "@" and 24 hex digits (either case) at the start of s; nullopt
// when s is shorter or a digit is not hex. Bytes after the 25th are ignored.
std::optional<Tai64n> scan_tai64n(std::string_view s);

// How daemontools' tai64nlocal reads the digits after "@": it takes any
// number of them, but only 0-9 and lower-case a-f, and shifts each into a
// 96-bit register, so that only the last 24 count. The top 64 bits are the
// label and the low 32 the nanoseconds (unchecked: up to 4294967295); fewer
// than 24 digits leave the high digits zero.
struct Tai64nDigits {
  std::uint64_t sec = 0;
  std::uint32_t nano = 0;

  // Shifts in c and returns true when it is 0-9 or a-f; otherwise false,
  // and nothing changes.
  bool push(char c) {
    unsigned v = static_cast<unsigned char>(c) - unsigned{'0'};
    if (v >= 10) {
      v = static_cast<unsigned char>(c) - unsigned{'a'};
      if (v >= 6) return false;
      v += 10;
    }
    sec = (sec << 4) | (nano >> 28);
    nano = (nano << 4) | v;
    return true;
  }
};

void pack_tai64(char out[8], std::uint64_t sec);
std::uint64_t unpack_tai64(const char in[8]);

}  // namespace qbox
