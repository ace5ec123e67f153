// qmail-queue: reads a message on descriptor 0 and its envelope on
// descriptor 1 and puts both into the queue, the qmail-queue(8) way:
//
//   pid/PID.TIME.SEQ   created exclusively; its inode number is the message id
//   mess/N/ID          a hard link of it (then pid/ is removed), filled with a
//                      Received line and the message, fsynced
//   intd/ID            the envelope as u, p, F and T records, fsynced
//   todo/ID            a hard link of intd/ID: now qmail-send may take it
//   lock/trigger       one byte, to wake qmail-send
//
// Beyond qmail, the directories mess/N and todo are fsynced after their new
// entries, so that on Linux a message is durable, links included, before
// the exit code 0 says so. qmail-queue prints nothing; its exit code says
// everything (see queue/submit.hpp for their texts): 0 queued; 11 address
// or envelope too long (permanent: an address above 1002 bytes, an
// envelope above 4 MiB or 100000 recipients, see queue/envelope.hpp; the
// message itself has no limit but the disk); 51 out of memory; 52 timeout; 53 write error; 54
// read error or envelope cut short; 55 unreadable control/conf-split; 61
// home directory; 62 queue directory; 63 pid/; 64 mess/; 65 intd/; 66 todo/;
// 81 internal bug (a crash); 91 envelope format error.
//
// It is safe to install setuid qmailq: it runs nothing, reads no
// environment ($QMAILHOME is ignored when setuid) and only writes the queue.
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/fd.hpp"
#include "base/num.hpp"
#include "base/str.hpp"
#include "io/buffer.hpp"
#include "proc/child.hpp"
#include "qmail/ids.hpp"
#include "queue/envelope.hpp"
#include "queue/layout.hpp"
#include "time/date822.hpp"

using namespace qbox;

namespace {

constexpr unsigned kDeath = 86400;  // 24 hours; must stay below qmail-send's OSSIFIED (36 hours)

// What cleanup() removes when the message cannot be queued.
struct State {
  int messfd = -1, intdfd = -1;
  Str messfn, intdfn, pidfn;
  bool made_pid = false, made_mess = false, made_intd = false;
} g;

void cleanup() {
  if (g.made_intd) {
    (void)::ftruncate(g.intdfd, 0);
    ::unlink(g.intdfn.c_str());
  }
  if (g.made_mess) {
    (void)::ftruncate(g.messfd, 0);
    ::unlink(g.messfn.c_str());
  }
  if (g.made_pid) ::unlink(g.pidfn.c_str());
}

[[noreturn]] void die(int code) { ::_exit(code); }
[[noreturn]] void die_clean(int code) {
  cleanup();
  ::_exit(code);
}

void sig_alarm(int) { die(52); }  // thou shalt not clean up here
void sig_bug(int) { die(81); }

// "Received: (qmail 1234 invoked by uid 1000); 26 Sep 1995 04:46:54 -0000\n",
// with "by alias", "from network" or "for bounce" for qmail's users.
void received_line(Str& out, pid_t pid, uid_t uid, std::time_t now) {
  qmail::Ids ids;
  const char* missing;
  bool named = qmail::load_ids(ids, &missing) == 0 && ids.system;
  out.append("Received: (qmail ");
  out.append_num(static_cast<unsigned long>(pid));
  out.append(" invoked ");
  if (named && uid == ids.alias) {
    out.append("by alias");
  } else if (named && uid == ids.qmaild) {
    out.append("from network");
  } else if (named && uid == ids.qmails) {
    out.append("for bounce");
  } else {
    out.append("by uid ");
    out.append_num(uid);
  }
  out.append("); ");
  char date[kDate822Len];
  out.append(fmt_date822(date, now));
  out.push('\n');
}

void write_or_die(int fd, std::string_view s) {
  if (write_all(fd, s) < 0) die_clean(53);
}

// The message: the Received line, then descriptor 0 to its end.
void write_message(std::string_view received) {
  char buf[65536];
  std::size_t n = received.size();
  std::memcpy(buf, received.data(), n);
  for (;;) {
    ssize_t r = ::read(0, buf + n, sizeof buf - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      die_clean(54);
    }
    n += static_cast<std::size_t>(r);
    if (r == 0 || n == sizeof buf) {
      write_or_die(g.messfd, std::string_view(buf, n));
      n = 0;
    }
    if (r == 0) break;
  }
}

// The envelope from descriptor 1 into intd/: u and p records, then the
// sender and recipients as they come, one address in memory at a time.
void write_envelope(uid_t uid, pid_t pid) {
  char outbuf[16384];
  Writer out(g.intdfd, outbuf);
  char inbuf[16384];
  Reader in(1, inbuf);
  queue::EnvelopeReader env(in);
  auto put = [&](std::string_view s) {
    if (out.put(s) < 0) die_clean(53);
  };
  auto record = [&](char type, std::string_view text) {
    put(std::string_view(&type, 1));
    put(text);
    put(std::string_view("", 1));
  };
  char d[kNumDigits];
  record('u', fmt_num(d, uid));
  record('p', fmt_num(d, static_cast<unsigned long>(pid)));
  Str addr;
  if (!env.sender(addr)) die_clean(queue::qq_exit_code(env.error()));
  record('F', addr.view());
  for (;;) {
    int r = env.recipient(addr);
    if (r == 0) break;
    if (r < 0) die_clean(queue::qq_exit_code(env.error()));
    record('T', addr.view());
  }
  if (out.flush() < 0) die_clean(53);
}

int qmail_queue_main(int, char**) {
  sig_unblock_all();
  ::umask(033);
  const char* home = qmail_home();
  if (::chdir(home) != 0) die(61);
  unsigned split = queue::conf_split(".");
  if (split == 0) die(55);
  if (::chdir("queue") != 0) die(62);

  pid_t pid = ::getpid();
  uid_t uid = ::getuid();
  std::time_t start = ::time(nullptr);
  Str received;
  received_line(received, pid, uid, start);

  sig_ignore(SIGPIPE);
  for (int s : {SIGVTALRM, SIGPROF, SIGQUIT, SIGINT, SIGHUP, SIGXCPU, SIGXFSZ}) sig_ignore(s);
  for (int s : {SIGILL, SIGABRT, SIGFPE, SIGBUS, SIGSEGV, SIGSYS, SIGTRAP}) sig_catch(s, sig_bug);
  sig_catch(SIGALRM, sig_alarm);
  ::alarm(kDeath);

  // pid/PID.TIME.SEQ: a fresh inode, whose number names the message.
  for (unsigned seq = 1; seq < 10 && g.messfd < 0; ++seq) {
    g.pidfn = std::string_view("pid/");
    g.pidfn.append_num(static_cast<unsigned long>(pid));
    g.pidfn.push('.');
    g.pidfn.append_num(static_cast<unsigned long long>(start));
    g.pidfn.push('.');
    g.pidfn.append_num(seq);
    g.messfd = open_excl(g.pidfn.c_str());
  }
  if (g.messfd < 0) die(63);
  g.made_pid = true;
  struct stat st;
  if (::fstat(g.messfd, &st) != 0) die_clean(63);
  unsigned long id = static_cast<unsigned long>(st.st_ino);

  queue::fmt_qfn(g.messfn, "mess/", id, split);
  queue::fmt_qfn(g.intdfn, "intd/", id, 0);
  Str todofn, messdir;
  queue::fmt_qfn(todofn, "todo/", id, 0);
  messdir = g.messfn;
  messdir.truncate(g.messfn.view().rfind('/'));

  if (::link(g.pidfn.c_str(), g.messfn.c_str()) != 0) die_clean(64);
  g.made_mess = true;
  if (::unlink(g.pidfn.c_str()) != 0) die_clean(63);
  g.made_pid = false;

  write_message(received.view());
  if (::fsync(g.messfd) != 0) die_clean(53);
  if (fsync_dir(AT_FDCWD, messdir.c_str()) != 0) die_clean(53);

  g.intdfd = open_excl(g.intdfn.c_str());
  if (g.intdfd < 0) die_clean(65);
  g.made_intd = true;
  write_envelope(uid, pid);
  if (::fsync(g.intdfd) != 0) die_clean(53);

  if (::link(g.intdfn.c_str(), todofn.c_str()) != 0) die_clean(66);
  // From here on qmail-send may take the message: no more cleaning up.
  if (fsync_dir(AT_FDCWD, "todo") != 0) die(53);

  queue::trigger_pull();
  return 0;
}

}  // namespace

extern const AppletInfo applet_qmail_queue = {
    "put a message and its envelope into the qmail queue", "qmail-queue", qmail_queue_main};
