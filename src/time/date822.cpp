#include "time/date822.hpp"

#include "base/num.hpp"

namespace qbox {

CivilTime civil_utc(std::int64_t t) {
  CivilTime c;
  std::int64_t days = t / 86400;
  std::int64_t rem = t % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  c.hour = static_cast<int>(rem / 3600);
  c.min = static_cast<int>(rem / 60 % 60);
  c.sec = static_cast<int>(rem % 60);
  std::int64_t w = (days + 4) % 7;  // 1970-01-01 was a Thursday
  c.wday = static_cast<int>(w < 0 ? w + 7 : w);
  // Days to civil date in the proleptic Gregorian calendar (400-year eras).
  std::int64_t z = days + 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  std::int64_t doe = z - era * 146097;
  std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  std::int64_t mp = (5 * doy + 2) / 153;
  c.mday = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);  // 1..12
  c.year = yoe + era * 400 + (m <= 2 ? 1 : 0);
  c.mon = m - 1;
  return c;
}

std::string_view month_name(int mon) {
  static constexpr char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  return {kMonths + 3 * mon, 3};
}

std::string_view fmt_hms(char (&b)[kHmsLen], int hour, int min, int sec) {
  char d[kNumDigits];
  std::size_t n = 0;
  for (int v : {hour, min, sec}) {
    if (n) b[n++] = ':';
    std::string_view f = fmt_num0(d, static_cast<unsigned>(v), 2);
    for (char ch : f) b[n++] = ch;
  }
  return {b, n};
}

std::string_view fmt_date822(char (&b)[kDate822Len], std::int64_t unix_sec) {
  CivilTime c = civil_utc(unix_sec);
  char d[kNumDigits];
  std::size_t n = 0;
  auto put = [&](std::string_view s) {
    for (char ch : s)
      if (n < kDate822Len) b[n++] = ch;
  };
  put(fmt_num(d, static_cast<unsigned>(c.mday)));
  put(" ");
  put(month_name(c.mon));
  put(" ");
  if (c.year < 0) put("-");
  put(fmt_num(d, static_cast<unsigned long long>(c.year < 0 ? -c.year : c.year)));
  put(" ");
  char hms[kHmsLen];
  put(fmt_hms(hms, c.hour, c.min, c.sec));
  put(" -0000");
  return {b, n};
}

}  // namespace qbox
