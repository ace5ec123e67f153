// qmail-clean: remove a message's files from the queue for qmail-send
// (qmail-clean(8)).
//
// Runs in QMAILHOME/queue. Reads commands on descriptor 0, each ending in a
// NUL, and answers each with one byte on descriptor 1:
//   foop/ID   removes intd/ID and mess/N/ID (the message is done)
//   todo/ID   removes intd/ID and todo/ID (the envelope was taken over)
// "+" done, "!" a file could not be removed (other than because it is
// missing), "x" a malformed command. Every 30 commands (and at the start)
// it removes the files in pid/ left over for 36 hours by a crashed
// qmail-queue. qmail's check of the digits does not work (its `continue`
// continues the inner loop); here any non-digit after the prefix is "x".
#include <cerrno>
#include <csignal>
#include <ctime>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/fd.hpp"
#include "io/buffer.hpp"
#include "proc/child.hpp"
#include "queue/layout.hpp"
#include "queue/scan.hpp"

using namespace qbox;

namespace {

constexpr time_t kOssified = 129600;  // 36 hours, as qmail-send

void cleanup_pid() {
  time_t now = ::time(nullptr);
  DIR* dir = ::opendir("pid");
  if (!dir) return;
  while (struct dirent* e = ::readdir(dir)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    Str path("pid/");
    path.append(n);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) continue;
    if (now < st.st_atime + kOssified) continue;
    ::unlink(path.c_str());
  }
  ::closedir(dir);
}

void respond(char c) {
  if (write_all(1, std::string_view(&c, 1)) != 0) ::_exit(100);
}

// Removes `prefix` id (split when split != 0); false on an error other than ENOENT.
bool remove(std::string_view prefix, unsigned long id, unsigned split) {
  Str fn;
  queue::fmt_qfn(fn, prefix, id, split);
  return ::unlink(fn.c_str()) == 0 || errno == ENOENT;
}

int qmail_clean_main(int, char**) {
  const char* home = qmail_home();
  if (::chdir(home) != 0) ::_exit(111);
  unsigned split = queue::conf_split(".");
  if (!split) ::_exit(111);
  if (::chdir("queue") != 0) ::_exit(111);
  sig_ignore(SIGPIPE);

  char buf[256];
  Reader in(0, buf);
  Str line;
  int loop = 0;
  for (;;) {
    if (loop) --loop; else { cleanup_pid(); loop = 30; }
    line.clear();
    int r = in.getline(line, '\0', 4096);
    if (r != 1) break;
    std::string_view l = line.view();
    if (l.size() < 7 || l.size() > 100) { respond('x'); continue; }
    std::string_view digits = l.substr(5, l.size() - 6);
    auto id = queue::parse_id(digits);
    if (!id) { respond('x'); continue; }
    if (l.substr(0, 5) == "foop/") {
      if (!remove("intd/", *id, 0) || !remove("mess/", *id, split)) { respond('!'); continue; }
      respond('+');
    } else if (l.substr(0, 5) == "todo/") {
      if (!remove("intd/", *id, 0) || !remove("todo/", *id, 0)) { respond('!'); continue; }
      respond('+');
    } else {
      respond('x');
    }
  }
  ::_exit(0);
}

}  // namespace

extern const AppletInfo applet_qmail_clean = {
    "clean up the queue for qmail-send", "qmail-clean", qmail_clean_main};
