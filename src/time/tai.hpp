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
  static Tai64n from_unix(std::int64_t unix_sec, std::uint32_t nano = 0) {
    return {kTaiUnixOffset + static_cast<std::uint64_t>(unix_sec), nano};
  }
  std::int64_t unix_sec() const { return static_cast<std::int64_t>(sec - kTaiUnixOffset); }

  void pack(char out[12]) const;
  static Tai64n unpack(const char in[12]);
  friend bool operator==(const Tai64n&, const Tai64n&) = default;
};

inline constexpr std::size_t kTai64nHexLen = 25;  // "@" + 24 hex digits
// Writes "@" and 24 hex digits into out.
void fmt_tai64n(char out[kTai64nHexLen], const Tai64n& t);
// Parses "@" and 24 hex digits at the start of s (either case), as tai64nlocal does.
std::optional<Tai64n> scan_tai64n(std::string_view s);

void pack_tai64(char out[8], std::uint64_t sec);
std::uint64_t unpack_tai64(const char in[8]);

}  // namespace qbox
