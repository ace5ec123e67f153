#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/num.hpp"
#include "base/str.hpp"

using namespace qbox;

TEST_CASE("Str grows, keeps NULs and a terminating NUL") {
  Str s;
  CHECK(s.empty());
  CHECK(s.c_str()[0] == 0);
  s.append("ab");
  s.push('\0');
  s.append("cd");
  CHECK(s.size() == 5);
  CHECK(s.view() == std::string_view("ab\0cd", 5));
  CHECK(s.c_str()[5] == 0);
  for (int i = 0; i < 1000; ++i) s.push('x');
  CHECK(s.size() == 1005);
  s.truncate(2);
  CHECK(s == "ab");
  Str t = s;
  Str u = static_cast<Str&&>(t);
  CHECK(u == "ab");
  CHECK(t.empty());
  u.append_num(1234567890123ULL);
  CHECK(u == "ab1234567890123");
}

// Runs f in a child; its exit status.
template <class F>
static int in_child(F f) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    f();
    ::_exit(0);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  return st;
}

TEST_CASE("Str: a size past Str::kMax is out of memory, never a wrapped size") {
  // Without the check, the capacity doubles to SIZE_MAX and allocates
  // SIZE_MAX + 1 == 0 bytes (qmail's stralloc overflow).
  int st = in_child([] {
    Str s;
    s.reserve(static_cast<std::size_t>(-1) - 10);
  });
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 111);
  st = in_child([] {
    Str s("abc");
    s.reserve(Str::kMax - 2);
  });
  CHECK(WEXITSTATUS(st) == 111);
  st = in_child([] {
    Str s("abc");
    (void)s.tail(static_cast<std::size_t>(-2));
  });
  CHECK(WEXITSTATUS(st) == 111);
}

TEST_CASE("Str resize, clear, tail/commit") {
  Str s("hello");
  s.resize(7);
  CHECK(s.size() == 7);
  CHECK(s[5] == 0);
  s.clear();
  CHECK(s.empty());
  CHECK(std::string_view(s.c_str()).empty());
  char* p = s.tail(3);
  p[0] = 'x'; p[1] = 'y';
  s.commit(2);
  CHECK(s == "xy");
  s = std::string_view("other");
  CHECK(s == "other");
}

TEST_CASE("take_line takes lines off the front, the last one with or without LF") {
  std::string_view text = "one\n\ntwo\r\nlast";
  CHECK(take_line(text) == "one");
  CHECK(take_line(text) == "");
  CHECK(take_line(text) == "two\r");
  CHECK(text == "last");
  CHECK(take_line(text) == "last");
  CHECK(text.empty());
  CHECK(take_line(text) == "");
  text = "x\n";
  CHECK(take_line(text) == "x");
  CHECK(text.empty());
}

TEST_CASE("fmt_num and fmt_num0") {
  char b[kNumDigits];
  CHECK(fmt_num(b, 0) == "0");
  CHECK(fmt_num(b, 42) == "42");
  CHECK(fmt_num(b, UINT64_MAX) == "18446744073709551615");
  CHECK(fmt_num0(b, 7, 3) == "007");
  CHECK(fmt_num0(b, 1234, 2) == "1234");
}

TEST_CASE("scan_num stops at non-digits and reports overflow") {
  Scanned r = scan_num("123abc");
  CHECK(r.value == 123);
  CHECK(r.used == 3);
  CHECK_FALSE(r.overflow);
  r = scan_num("abc");
  CHECK(r.used == 0);
  r = scan_num("18446744073709551615");
  CHECK(r.value == UINT64_MAX);
  CHECK_FALSE(r.overflow);
  r = scan_num("18446744073709551616x");
  CHECK(r.overflow);
  CHECK(r.used == 20);
  CHECK(r.value == UINT64_MAX);
  r = scan_num("256", 10, 255);
  CHECK(r.overflow);
  r = scan_num("ff", 16);
  CHECK(r.value == 255);
  r = scan_num("778", 8);
  CHECK(r.value == 63);
  CHECK(r.used == 2);
}

TEST_CASE("parse_num wants the whole string") {
  CHECK(parse_num("0") == 0ULL);
  CHECK(parse_num("4294967295", 0xffffffffULL) == 0xffffffffULL);
  CHECK_FALSE(parse_num("4294967296", 0xffffffffULL));
  CHECK_FALSE(parse_num(""));
  CHECK_FALSE(parse_num("12 "));
  CHECK_FALSE(parse_num("-1"));
  CHECK_FALSE(parse_num("+1"));
  CHECK_FALSE(parse_num("99999999999999999999999"));
}

TEST_CASE("scan_ulong reads leading digits and wraps like djb's") {
  unsigned long u = 7;
  CHECK(scan_ulong("", u) == 0);
  CHECK(u == 0);
  CHECK(scan_ulong("12abc", u) == 2);
  CHECK(u == 12);
  CHECK(scan_ulong("abc", u) == 0);
  CHECK(u == 0);
  CHECK(scan_ulong("18446744073709551615", u) == 20);
  CHECK(u == 18446744073709551615UL);
  CHECK(scan_ulong("18446744073709551616", u) == 20);
  CHECK(u == 0);
  CHECK(scan_ulong("-1", u) == 0);
}
