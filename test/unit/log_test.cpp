#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "base/fd.hpp"
#include "base/str.hpp"
#include "log/logdir.hpp"
#include "log/match.hpp"
#include "log/script.hpp"

using namespace qbox;
using namespace qbox::log;

TEST_CASE("match: literal characters and the whole line") {
  CHECK(match("", ""));
  CHECK_FALSE(match("", "a"));
  CHECK(match("foo", "foo"));
  CHECK_FALSE(match("foo", "foobar"));
  CHECK_FALSE(match("foobar", "foo"));
  CHECK_FALSE(match("Foo", "foo"));
}

TEST_CASE("match: a star stops at the first occurrence of the next character") {
  CHECK(match("*", ""));
  CHECK(match("*", "anything at all"));
  CHECK(match("a*", "abc"));
  CHECK_FALSE(match("a*", "bc"));
  CHECK(match("*x*", "axb"));
  CHECK(match("*x*", "x"));
  CHECK_FALSE(match("*x*", "abc"));
  CHECK(match("a*b", "ab"));
  CHECK(match("a*b", "acccb"));
  CHECK_FALSE(match("a*b", "a-b-b"));  // the star stops at the first b
  CHECK(match("*bar", "foobar"));
  CHECK_FALSE(match("*bar", "barbar"));
  CHECK_FALSE(match("*x", ""));
  CHECK(match("* fatal: *", "@400000003b4a39c23294b13c fatal: bad"));
  CHECK_FALSE(match("* fatal: *", "fatal: bad"));  // needs a space before
  // "**": the first star skips to the first '*' of the line.
  CHECK(match("**", "a*b"));
  CHECK_FALSE(match("**", "abc"));
}

TEST_CASE("scan_ulong reads leading digits and wraps like djb's") {
  CHECK(scan_ulong("123") == 123);
  CHECK(scan_ulong("") == 0);
  CHECK(scan_ulong("abc") == 0);
  CHECK(scan_ulong("12abc") == 12);
  CHECK(scan_ulong("-5") == 0);
  CHECK(scan_ulong("18446744073709551615") == 18446744073709551615UL);
  CHECK(scan_ulong("18446744073709551616") == 0);  // 2^64 wraps
  CHECK(scan_ulong("18446744073709551621") == 5);
}

TEST_CASE("sSIZE and nNUM are clamped as 0.76 clamps them") {
  CHECK(script_size("") == 4096);
  CHECK(script_size("x") == 4096);
  CHECK(script_size("100") == 4096);
  CHECK(script_size("4096") == 4096);
  CHECK(script_size("5000") == 5000);
  CHECK(script_size("16777215") == 16777215);
  CHECK(script_size("16777216") == 16777215);
  CHECK(script_size("99999999999") == 16777215);
  CHECK(script_size("18446744073709551617") == 4096);  // wraps to 1
  CHECK(script_num("") == 2);
  CHECK(script_num("1") == 2);
  CHECK(script_num("2") == 2);
  CHECK(script_num("100") == 100);
}

namespace {
struct Argv {
  std::vector<char*> v;
  explicit Argv(std::initializer_list<const char*> args) {
    for (const char* a : args) v.push_back(const_cast<char*>(a));
    v.push_back(nullptr);
  }
};
}  // namespace

TEST_CASE("parse_script: settings apply to the directories after them") {
  Argv a{"t", "s5000", "./a", "n3", "!proc", "./b", "s1", "n1", "/abs"};
  Script sc = parse_script(a.v.data());
  CHECK(sc.timestamp);
  REQUIRE(sc.dirs.size() == 3);
  CHECK(std::strcmp(sc.dirs[0].dir, "./a") == 0);
  CHECK(sc.dirs[0].size == 5000);
  CHECK(sc.dirs[0].num == 10);
  CHECK(sc.dirs[0].processor == nullptr);
  CHECK(sc.dirs[1].size == 5000);
  CHECK(sc.dirs[1].num == 3);
  CHECK(std::strcmp(sc.dirs[1].processor, "proc") == 0);
  CHECK(sc.dirs[2].size == 4096);
  CHECK(sc.dirs[2].num == 2);
  CHECK(std::strcmp(sc.dirs[2].processor, "proc") == 0);
  CHECK(sc.simple());
}

TEST_CASE("parse_script: defaults, and what 0.76 ignores") {
  // No errors: an unknown action, an empty argument, and t anywhere but
  // first are ignored; the first character alone decides.
  Argv a{"x", "", "t", "./d", "exit", "=st", "+*a*", "-b", "9"};
  Script sc = parse_script(a.v.data());
  CHECK_FALSE(sc.timestamp);
  REQUIRE(sc.dirs.size() == 1);
  CHECK(sc.dirs[0].size == 99999);
  CHECK(sc.dirs[0].num == 10);
  REQUIRE(sc.actions.size() == 5);
  CHECK(sc.actions[0].act == Act::kDir);
  CHECK(sc.actions[1].act == Act::kAlert);  // "exit" is an e
  CHECK(sc.actions[2].act == Act::kStatus);
  CHECK(sc.actions[2].arg == "st");
  CHECK(sc.actions[2].index == 0);
  CHECK(sc.actions[3].act == Act::kSelect);
  CHECK(sc.actions[3].arg == "*a*");
  CHECK(sc.actions[4].act == Act::kDeselect);
  CHECK(sc.actions[4].arg == "b");
  REQUIRE(sc.files.size() == 1);
  CHECK_FALSE(sc.simple());

  Argv t{"tfoo"};
  CHECK(parse_script(t.v.data()).timestamp);
  Argv none{};
  Script empty = parse_script(none.v.data());
  CHECK_FALSE(empty.timestamp);
  CHECK(empty.dirs.empty());
  CHECK(empty.actions.empty());
}

namespace {
// A scratch directory; LogDir::start changes the working directory, so the
// old one is restored at the end.
struct Scratch {
  char path[64] = "/tmp/qbox-log-test-XXXXXX";
  int home;
  Scratch() {
    home = ::open(".", O_RDONLY | O_CLOEXEC);
    REQUIRE(::mkdtemp(path));
  }
  ~Scratch() {
    REQUIRE(::fchdir(home) == 0);
    ::close(home);
    Str cmd("rm -rf ");
    cmd.append(path);
    REQUIRE(std::system(cmd.c_str()) == 0);
  }
  Str at(const char* name) const {
    Str s(path);
    s.push('/');
    s.append(name);
    return s;
  }
  int fd() const { return ::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC); }
};

Str slurp(const Str& path) {
  Str s;
  REQUIRE(read_file(path.c_str(), s) == 0);
  return s;
}

unsigned mode_of(const Str& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// The names in dir starting with @, sorted, with their suffixes.
std::vector<Str> archives(const Str& dir) {
  std::vector<Str> v;
  DIR* d = ::opendir(dir.c_str());
  REQUIRE(d);
  while (dirent* x = ::readdir(d))
    if (x->d_name[0] == '@') v.push_back(Str(x->d_name));
  ::closedir(d);
  std::sort(v.begin(), v.end(), [](const Str& a, const Str& b) { return a.view() < b.view(); });
  return v;
}

void touch(const Str& path, std::string_view data, unsigned mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(write_all(fd, data) == 0);
  REQUIRE(::fchmod(fd, mode) == 0);
  ::close(fd);
}

// Starts a LogDir on s's ./log (so its crash recovery runs) and quits at once.
void start_and_quit(const Scratch& s, unsigned long num) {
  int base = s.fd();
  {
    LogDir d({"./log", 99999, num, nullptr});
    d.start(base);
    d.quit();
  }
  ::close(base);
}
}  // namespace

TEST_CASE("LogDir: a new directory, lines, and a clean exit") {
  Scratch s;
  int base = s.fd();
  {
    LogDir d({"./log", 99999, 10, nullptr});
    d.start(base);
    d.line("hello", "", true);
    d.line("wor", "ld", true);
    d.quit();
  }
  ::close(base);
  Str dir = s.at("log");
  CHECK(mode_of(dir) == 0700);
  CHECK(slurp(s.at("log/current")) == "hello\nworld\n");
  CHECK(mode_of(s.at("log/current")) == 0744);
  CHECK(mode_of(s.at("log/lock")) == 0600);
  CHECK(mode_of(s.at("log/state")) == 0644);
  CHECK(archives(dir).empty());
}

TEST_CASE("LogDir: rotation points follow 0.76's 512-byte buffer") {
  Scratch s;
  int base = s.fd();
  Str line99;
  for (int i = 0; i < 99; ++i) line99.push(static_cast<char>('a' + i % 26));
  {
    // Lines of 100 bytes reach the disk 500 at a time; past 4096-2000
    // bytes, the write that ends a line rotates: files of 2500 bytes.
    LogDir d({"./log", 4096, 2, nullptr});
    d.start(base);
    for (int i = 0; i < 60; ++i) d.line(line99, "", true);
    d.quit();
  }
  ::close(base);
  std::vector<Str> a = archives(s.at("log"));
  REQUIRE(a.size() == 1);  // n2: current and one archive
  CHECK(a[0].size() == 27);
  CHECK(a[0].view().substr(25) == ".s");
  Str arch("log/");
  arch.append(a[0].view());
  CHECK(slurp(s.at(arch.c_str())).size() == 2500);
  CHECK(mode_of(s.at(arch.c_str())) == 0744);
  CHECK(slurp(s.at("log/current")).size() == 1000);
}

TEST_CASE("LogDir: a complete current is continued") {
  Scratch s;
  REQUIRE(::mkdir(s.at("log").c_str(), 0700) == 0);
  touch(s.at("log/current"), "old\n", 0744);
  int base = s.fd();
  {
    LogDir d({"./log", 99999, 10, nullptr});
    d.start(base);
    CHECK(d.bytes() == 4);
    CHECK(mode_of(s.at("log/current")) == 0644);
    d.line("new", "", true);
    d.quit();
  }
  ::close(base);
  CHECK(slurp(s.at("log/current")) == "old\nnew\n");
  CHECK(archives(s.at("log")).empty());
}

TEST_CASE("LogDir: recovery after a crash keeps what the processor had") {
  SUBCASE("processed complete: it becomes .s, previous goes") {
    Scratch s;
    REQUIRE(::mkdir(s.at("log").c_str(), 0700) == 0);
    touch(s.at("log/current"), "cur\n", 0644);
    touch(s.at("log/previous"), "prev\n", 0744);
    touch(s.at("log/processed"), "proc\n", 0744);
    touch(s.at("log/newstate"), "ns", 0644);
    touch(s.at("log/state"), "st", 0644);
    start_and_quit(s, 10);
    std::vector<Str> a = archives(s.at("log"));
    REQUIRE(a.size() == 2);
    CHECK(a[0].view().substr(25) == ".s");
    CHECK(a[1].view().substr(25) == ".u");
    Str first("log/"), second("log/");
    first.append(a[0].view());
    second.append(a[1].view());
    CHECK(slurp(s.at(first.c_str())) == "proc\n");
    CHECK(slurp(s.at(second.c_str())) == "cur\n");
    CHECK(slurp(s.at("log/state")).empty());
    CHECK(::access(s.at("log/previous").c_str(), F_OK) == -1);
    CHECK(::access(s.at("log/newstate").c_str(), F_OK) == -1);
    CHECK(slurp(s.at("log/current")).empty());
  }
  SUBCASE("processed unfinished: previous becomes .u") {
    Scratch s;
    REQUIRE(::mkdir(s.at("log").c_str(), 0700) == 0);
    touch(s.at("log/current"), "", 0644);
    touch(s.at("log/previous"), "prev\n", 0744);
    touch(s.at("log/processed"), "half", 0644);
    start_and_quit(s, 10);
    std::vector<Str> a = archives(s.at("log"));
    REQUIRE(a.size() == 2);  // previous, then the empty current
    Str first("log/");
    first.append(a[0].view());
    CHECK(slurp(s.at(first.c_str())) == "prev\n");
    CHECK(a[0].view().substr(25) == ".u");
    CHECK(::access(s.at("log/processed").c_str(), F_OK) == -1);
  }
}

TEST_CASE("LogDir: the oldest archives go beyond nNUM") {
  Scratch s;
  REQUIRE(::mkdir(s.at("log").c_str(), 0700) == 0);
  const char* old[] = {"@400000000000000000000001.s", "@400000000000000000000002.u",
                       "@400000000000000000000003.s", "@short"};
  for (const char* n : old) {
    Str p("log/");
    p.append(n);
    touch(s.at(p.c_str()), "x\n", 0744);
  }
  touch(s.at("log/current"), "c\n", 0644);  // unfinished: becomes .u
  start_and_quit(s, 3);
  std::vector<Str> a = archives(s.at("log"));
  // Four archives of 25+ bytes were too many for n3: the two oldest went.
  REQUIRE(a.size() == 3);
  CHECK(a[0] == "@400000000000000000000003.s");
  CHECK(a[1].view().substr(25) == ".u");
  CHECK(a[2] == "@short");
}
