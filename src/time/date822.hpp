// Dates as qmail writes them in Received lines, bounces and qmail-qread:
// "26 Sep 1995 04:46:54 -0000", always UTC (qmail's date822fmt), and the
// broken-down UTC time behind it (qmail's datetime_tai: no leap seconds,
// no time zone files, nothing from libc that could read the environment).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace qbox {

struct CivilTime {
  std::int64_t year = 1970;  // e.g. 1995
  int mon = 0;               // 0..11
  int mday = 1;              // 1..31
  int hour = 0, min = 0, sec = 0;
  int wday = 4;              // 0 = Sunday
};

CivilTime civil_utc(std::int64_t unix_sec);

// "Jan" .. "Dec" for mon 0..11, as date822 and ctime write them.
std::string_view month_name(int mon);
// "HH:MM:SS", each field two digits at least, into b.
inline constexpr std::size_t kHmsLen = 32;
std::string_view fmt_hms(char (&b)[kHmsLen], int hour, int min, int sec);

inline constexpr std::size_t kDate822Len = 64;
// "26 Sep 1995 04:46:54 -0000" (no newline) into b.
std::string_view fmt_date822(char (&b)[kDate822Len], std::int64_t unix_sec);

}  // namespace qbox
