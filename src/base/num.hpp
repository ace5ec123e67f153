// Numbers in decimal, octal and hex: formatting, and parsing with overflow
// checks. Parsers take a view and report how many bytes they used, so callers
// can tell "12abc" (2 used) from "12" (all used) and reject what they must.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace qbox {

inline constexpr std::size_t kNumDigits = 24;  // enough for any 64-bit value

// Writes n in decimal into b (kNumDigits bytes) and returns the digits.
std::string_view fmt_num(char* b, unsigned long long n);
// Same, left-padded with zeros to at least `width` digits.
std::string_view fmt_num0(char* b, unsigned long long n, unsigned width);

struct Scanned {
  unsigned long long value = 0;
  std::size_t used = 0;   // digits consumed; 0 means no number
  bool overflow = false;  // digits were there but the value did not fit
};
// Reads leading digits in `base` (8, 10 or 16); stops at the first non-digit.
// On overflow, value is the largest value and `used` covers all digits.
Scanned scan_num(std::string_view s, unsigned base = 10,
                 unsigned long long max = UINT64_MAX);

// The whole of s must be a number (no sign, no spaces) no larger than max.
std::optional<unsigned long long> parse_num(std::string_view s,
                                            unsigned long long max = UINT64_MAX,
                                            unsigned base = 10);

// djb's scan_ulong, for options the classic programs read with it: the
// leading decimal digits (none is 0), wrapping silently on overflow as an
// unsigned long does. Returns how many digits were used.
std::size_t scan_ulong(std::string_view s, unsigned long& out);

}  // namespace qbox
