// qmail-qstat: how many messages the queue holds, as qmail's script says it:
//   messages in queue: N
//   messages in queue but not yet preprocessed: N
// N counts what find(1) would list under queue/mess/*/ and under
// queue/todo/, as the script does. Where the script would go on after an
// error with a wrong count, this says what went wrong and exits 111.
#include <cerrno>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/num.hpp"
#include "base/str.hpp"

using namespace qbox;

namespace {

constexpr char kFatal[] = "qmail-qstat: fatal: ";
constexpr int kMaxDepth = 32;

// Everything below dir (not dir itself), at any depth, as `find dir` less one.
unsigned long long count_below(Str& dir, int depth) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) die_sys(kExitTemp, kFatal, "unable to read ", dir.view(), ": ");
  unsigned long long n = 0;
  std::size_t len = dir.size();
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    ++n;
    dir.push('/');
    dir.append(name);
    struct stat st;
    if (depth < kMaxDepth && ::lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      n += count_below(dir, depth + 1);
    dir.truncate(len);
  }
  ::closedir(d);
  return n;
}

int qmail_qstat_main(int, char**) {
  const char* home = qmail_home();
  if (::chdir(home) != 0) die_sys(kExitTemp, kFatal, "unable to chdir to ", home, ": ");
  // find queue/mess/* less the entries of queue/mess themselves.
  Str mess("queue/mess");
  unsigned long long in_queue = count_below(mess, 0);
  DIR* d = ::opendir(mess.c_str());
  if (!d) die_sys(kExitTemp, kFatal, "unable to read ", mess.view(), ": ");
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..") --in_queue;
  }
  ::closedir(d);
  Str todo("queue/todo");
  unsigned long long waiting = count_below(todo, 0);

  char a[kNumDigits], b[kNumDigits];
  Str out("messages in queue: ");
  out.append(fmt_num(a, in_queue));
  out.append("\nmessages in queue but not yet preprocessed: ");
  out.append(fmt_num(b, waiting));
  out.push('\n');
  if (write_all(1, out.view()) < 0) die_sys(kExitTemp, kFatal, "unable to write output: ");
  return 0;
}

}  // namespace

extern const AppletInfo applet_qmail_qstat = {
    "count the messages in the qmail queue", "qmail-qstat", qmail_qstat_main};
