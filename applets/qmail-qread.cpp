// qmail-qread: lists the messages in the queue as qmail 1.03 does, one
// line per message and one per recipient:
//
//   26 Sep 1995 04:46:54 GMT  #12345  678  <joe@example.org>  bouncing
//   	remote	x@example.com
//     done	local	y@example.org
//
// The date is the time the message was taken out of todo/ (info's mtime),
// the size that of the mess file; messages still in todo/ are not shown.
// Bytes outside 32..126 print as "_". Messages, warnings included, go to
// standard output, as qmail's do ("warning: trouble with #ID: ...").
#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "base/num.hpp"
#include "base/str.hpp"
#include "io/buffer.hpp"
#include "queue/envelope.hpp"
#include "queue/layout.hpp"
#include "queue/scan.hpp"
#include "time/date822.hpp"

using namespace qbox;

namespace {

class Lister {
 public:
  explicit Lister(Writer& out) : out_(out) {}

  [[noreturn]] void leave(int code) {
    out_.flush();
    ::_exit(code);
  }
  void put(std::string_view s) { out_.put(s); }
  // Printable ASCII as it is, anything else as "_".
  void put_safe(std::string_view s) {
    for (char c : s) out_.put(c >= 32 && c <= 126 ? c : '_');
  }
  // "WHAT: error" on standard output, as qmail-qread's warn().
  void say_sys(std::string_view what, std::string_view arg) {
    int e = errno;
    put(what);
    put(arg);
    put(": ");
    put(error_str(e));
    put("\n");
  }
  void trouble(unsigned long id) {
    char d[kNumDigits];
    say_sys("warning: trouble with #", fmt_num(d, id));
  }
  void message(unsigned long id, unsigned split);

 private:
  void recipients(unsigned long id, const char* dir, unsigned split, const char* label);
  Writer& out_;
};

// The first record of a queue file; false on a read error.
bool first_record(int fd, Str& rec) {
  char buf[1024];
  Reader in(fd, buf);
  int r = queue::read_record(in, rec);
  if (r == 0) rec.clear();
  if (r < 0 && errno == EPROTO) r = 1;  // a last record without NUL: as qmail's getln keeps it
  return r >= 0;
}

void Lister::recipients(unsigned long id, const char* dir, unsigned split, const char* label) {
  Str fn;
  queue::fmt_qfn(fn, dir, id, split);
  Fd fd(open_read(fn.c_str()));
  if (!fd) {
    if (errno != ENOENT) trouble(id);
    return;
  }
  char buf[4096];
  Reader in(fd.get(), buf);
  Str rec;
  for (;;) {
    int r = queue::read_record(in, rec);
    if (r <= 0) {
      if (r < 0 && errno != EPROTO) trouble(id);
      return;  // a last record without its NUL is not shown, as in qmail
    }
    if (rec.empty() || (rec[0] != 'D' && rec[0] != 'T')) continue;
    if (rec[0] == 'D') put("  done");
    put(label);
    put_safe(rec.view().substr(1));
    put("\n");
  }
}

void Lister::message(unsigned long id, unsigned split) {
  Str mess, info, bounce;
  queue::fmt_qfn(mess, "mess/", id, split);
  queue::fmt_qfn(info, "info/", id, split);
  queue::fmt_qfn(bounce, "bounce/", id, 0);
  struct stat st;
  if (::stat(mess.c_str(), &st) != 0) return trouble(id);
  unsigned long long size = static_cast<unsigned long long>(st.st_size);
  bool bouncing = ::stat(bounce.c_str(), &st) == 0;
  Fd fd(open_read(info.c_str()));
  if (!fd) return trouble(id);
  Str sender;
  if (!first_record(fd.get(), sender) || ::fstat(fd.get(), &st) != 0) return trouble(id);
  fd.reset();

  Str line;
  char date[kDate822Len];
  std::string_view d822 = fmt_date822(date, st.st_mtime);
  line.append(d822.substr(0, d822.size() - 6));  // without " -0000"
  line.append(" GMT  #");
  line.append_num(id);
  line.append("  ");
  line.append_num(size);
  line.append("  <");
  line.append(sender.view().substr(sender.empty() ? 0 : 1));
  line.append("> ");
  if (bouncing) line.append(" bouncing");
  put_safe(line.view());
  put("\n");

  recipients(id, "local/", split, "\tlocal\t");
  recipients(id, "remote/", split, "\tremote\t");
}

int qmail_qread_main(int, char**) {
  char outbuf[4096];
  Writer out(1, outbuf);
  Lister l(out);
  if (::chdir(qmail_home()) != 0) {
    l.say_sys("fatal: unable to chdir", "");
    l.leave(111);
  }
  unsigned split = queue::conf_split(".");
  if (!split) {
    l.say_sys("fatal: unable to read control/conf-split", "");
    l.leave(111);
  }
  if (::chdir("queue") != 0) {
    l.say_sys("fatal: unable to chdir", "");
    l.leave(111);
  }
  queue::DirScan scan("info", split);
  for (;;) {
    queue::DirScan::Result x = scan.next();
    if (x == queue::DirScan::kDone) break;
    if (x == queue::DirScan::kOpenError) {
      l.say_sys("fatal: unable to opendir ", scan.dir_name());
      l.leave(111);
    }
    if (x == queue::DirScan::kId) l.message(scan.id(), split);
  }
  if (out.flush() < 0) ::_exit(111);
  return 0;
}

}  // namespace

extern const AppletInfo applet_qmail_qread = {
    "list the messages in the qmail queue and their recipients", "qmail-qread", qmail_qread_main};
