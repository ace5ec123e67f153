#include <doctest/doctest.h>

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
