#include <doctest/doctest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/env.hpp"
#include "base/getopt.hpp"

using namespace qbox;

static std::vector<std::string_view> entries(char** e) {
  std::vector<std::string_view> v;
  for (; *e; ++e) v.push_back(*e);
  return v;
}

static bool has(const std::vector<std::string_view>& v, std::string_view s) {
  for (auto x : v) if (x == s) return true;
  return false;
}

TEST_CASE("env::get reads the environment, exact names only") {
  setenv("QBOX_T_A", "1", 1);
  setenv("QBOX_T_AB", "2", 1);
  CHECK(std::string_view(env::get("QBOX_T_A")) == "1");
  CHECK(std::string_view(env::get("QBOX_T_AB")) == "2");
  CHECK(env::get("QBOX_T_") == nullptr);
  CHECK(env::get("QBOX_T_A=1") == nullptr);
  unsetenv("QBOX_T_A");
  unsetenv("QBOX_T_AB");
}

TEST_CASE("env::build applies changes like pathexec_env") {
  setenv("QBOX_T_KEEP", "k", 1);
  setenv("QBOX_T_DROP", "d", 1);
  setenv("QBOX_T_CHANGE", "old", 1);
  env::set("QBOX_T_CHANGE", "new");
  env::unset("QBOX_T_DROP");
  env::set("QBOX_T_NEW", "n");
  env::set("QBOX_T_TWICE", "1");
  env::set("QBOX_T_TWICE", "2");
  env::set("QBOX_T_EMPTY", "");
  auto v = entries(env::build());
  CHECK(has(v, "QBOX_T_KEEP=k"));
  CHECK(has(v, "QBOX_T_CHANGE=new"));
  CHECK_FALSE(has(v, "QBOX_T_CHANGE=old"));
  CHECK_FALSE(has(v, "QBOX_T_DROP=d"));
  CHECK(has(v, "QBOX_T_NEW=n"));
  CHECK(has(v, "QBOX_T_TWICE=2"));
  CHECK_FALSE(has(v, "QBOX_T_TWICE=1"));
  CHECK(has(v, "QBOX_T_EMPTY="));
  // Only the process's recorded changes are applied, environ is untouched.
  CHECK(std::string_view(env::get("QBOX_T_DROP")) == "d");
  // Clean up: undo for later tests.
  env::unset("QBOX_T_CHANGE");
  env::unset("QBOX_T_NEW");
  env::unset("QBOX_T_TWICE");
  env::unset("QBOX_T_EMPTY");
  env::set("QBOX_T_DROP", "d");
  unsetenv("QBOX_T_KEEP");
  unsetenv("QBOX_T_DROP");
  unsetenv("QBOX_T_CHANGE");
}

TEST_CASE("env::rewind forgets the changes recorded after a mark") {
  std::size_t mark = env::mark();
  env::set("QBOX_T_CONN", "1");
  CHECK(has(entries(env::build()), "QBOX_T_CONN=1"));
  env::rewind(mark);
  CHECK(env::mark() == mark);
  env::set("QBOX_T_OTHER", "2");
  auto v = entries(env::build());
  CHECK(has(v, "QBOX_T_OTHER=2"));
  CHECK_FALSE(has(v, "QBOX_T_CONN=1"));
  env::rewind(mark);
  CHECK_FALSE(has(entries(env::build()), "QBOX_T_OTHER=2"));
}

TEST_CASE("qmail_home honours QMAILHOME when not setuid") {
  unsetenv("QMAILHOME");
  CHECK(std::string_view(qmail_home()) == "/var/qmail");
  setenv("QMAILHOME", "/tmp/q", 1);
  CHECK(std::string_view(qmail_home()) == "/tmp/q");
  setenv("QMAILHOME", "", 1);
  CHECK(std::string_view(qmail_home()) == "/var/qmail");
  unsetenv("QMAILHOME");
  CHECK_FALSE(running_setuid());
}

TEST_CASE("error_str uses djb's wording") {
  CHECK(std::string_view(error_str(ENOENT)) == "file does not exist");
  CHECK(std::string_view(error_str(EACCES)) == "access denied");
  CHECK(std::string_view(error_str(EPERM)) == "permission denied");
  CHECK(std::string_view(error_str(EAGAIN)) == "temporary failure");
  CHECK(std::string_view(error_str(0)) == "no error");
  CHECK(std::string_view(error_str(99999)) == "unknown error");
}

namespace {
struct Args {
  std::vector<char*> v;
  explicit Args(std::initializer_list<const char*> a) {
    for (const char* s : a) v.push_back(const_cast<char*>(s));
    v.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(v.size()) - 1; }
  char** argv() { return v.data(); }
};
}  // namespace

TEST_CASE("GetOpt: flags, arguments, clusters, end markers") {
  Args a{"prog", "-ab", "-cval", "-c", "two", "--", "-x", "rest"};
  GetOpt g(a.argc(), a.argv(), "abc:");
  CHECK(g.next() == 'a');
  CHECK(g.next() == 'b');
  CHECK(g.next() == 'c');
  CHECK(std::string_view(g.arg()) == "val");
  CHECK(g.next() == 'c');
  CHECK(std::string_view(g.arg()) == "two");
  CHECK(g.next() == -1);
  CHECK(g.index() == 6);
  CHECK(std::string_view(g.rest()[0]) == "-x");
}

TEST_CASE("GetOpt: a lone dash and the first operand end options") {
  Args a{"prog", "-a", "-", "-b"};
  GetOpt g(a.argc(), a.argv(), "ab");
  CHECK(g.next() == 'a');
  CHECK(g.next() == -1);
  CHECK(g.index() == 2);
  Args b{"prog", "file", "-a"};
  GetOpt h(b.argc(), b.argv(), "a");
  CHECK(h.next() == -1);
  CHECK(h.index() == 1);
}

TEST_CASE("GetOpt: unknown option and missing argument") {
  Args a{"/some/dir/prog", "-z"};
  GetOpt g(a.argc(), a.argv(), "a");
  g.quiet();
  CHECK(g.next() == '?');
  Args b{"prog", "-c"};
  GetOpt h(b.argc(), b.argv(), "c:");
  h.quiet();
  CHECK(h.next() == '?');
  CHECK(h.arg() == nullptr);
  Args c{"prog", "-:"};
  GetOpt k(c.argc(), c.argv(), "a:");
  k.quiet();
  CHECK(k.next() == '?');
}
