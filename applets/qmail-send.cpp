// qmail-send: deliver mail messages from the queue (qmail-send(8)).
//
// Started by qmail-start: descriptor 0 is the log, 1/2 talk to
// qmail-lspawn, 3/4 to qmail-rspawn, 5/6 to qmail-clean, 7/8 to qmail-todo,
// which takes new messages out of todo/ and says which ones it sorted into
// local/ and remote/ (see qmail-todo.cpp). Runs in QMAILHOME/queue. Hands the recipients to the spawners
// within control/concurrencylocal and concurrencyremote, retries deferrals
// on qmail's schedule (src/send), gives up after control/queuelifetime, and
// bounces failures in QSBMF to the sender (double bounces to
// control/doublebounceto at control/doublebouncehost). HUP rereads locals
// and virtualdomains, ALRM retries everything now, TERM ends once running
// deliveries are done. The next retry of each message is kept, as in
// qmail, in the modification time of its local/ and remote/ files: written
// at exit, read at start.
#include <cerrno>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <utime.h>
#include <unistd.h>
#include <vector>

#include "base/applet.hpp"
#include "base/fd.hpp"
#include "io/buffer.hpp"
#include "proc/child.hpp"
#include "qmail/constmap.hpp"
#include "qmail/control.hpp"
#include "queue/clean.hpp"
#include "queue/envelope.hpp"
#include "queue/layout.hpp"
#include "queue/scan.hpp"
#include "queue/submit.hpp"
#include "send/bounce.hpp"
#include "time/date822.hpp"

using namespace qbox;

namespace {

const char* const kChanName[2] = {"local", "remote"};
const char* const kChanDir[2] = {"local/", "remote/"};

unsigned split = queue::kDefaultSplit;
qmail::Control ctl;
Str bouncefrom, bouncehost, doublebounceto, doublebouncehost;
unsigned long lifetime = 604800;
unsigned long concurrency[2] = {10, 20};
unsigned spawn_limit[2] = {0, 0};
unsigned long delivery_counter = 0;

volatile sig_atomic_t flag_term = 0, flag_alrm = 0, flag_hup = 0;

// ---- log ---------------------------------------------------------------------
Str logbuf;
void log_flush() {
  write_all(0, logbuf.view());
  logbuf.clear();
}
void logsafe(std::string_view s) {
  for (char c : s) {
    if (c == '\n') c = '/';
    else if (c == ' ') c = '_';
    else if (static_cast<unsigned char>(c) < 33 || static_cast<unsigned char>(c) > 126) c = '?';
    logbuf.push(c);
  }
}

// ---- control -----------------------------------------------------------------
void read_control() {
  ctl.init();
  qmail::Control::readint(lifetime, "control/queuelifetime");
  qmail::Control::readint(concurrency[0], "control/concurrencylocal");
  qmail::Control::readint(concurrency[1], "control/concurrencyremote");
  if (ctl.rldef(bouncefrom, "control/bouncefrom", false, "MAILER-DAEMON") <= 0)
    bouncefrom = "MAILER-DAEMON";
  if (ctl.rldef(bouncehost, "control/bouncehost", true, "bouncehost") <= 0)
    bouncehost = "bouncehost";
  if (ctl.rldef(doublebounceto, "control/doublebounceto", false, "postmaster") < 0)
    doublebounceto = "postmaster";
  if (ctl.rldef(doublebouncehost, "control/doublebouncehost", true, "doublebouncehost") <= 0)
    doublebouncehost = "doublebouncehost";
}

// ---- messages and deliveries ---------------------------------------------------
struct Recip {
  Str addr;
  off_t pos;  // of its 'T'
  bool done = false;  // marked D in this pass
};
struct Job {  // one message on one channel
  unsigned long id = 0;
  int chan = 0;
  std::int64_t birth = 0, next = 0;
  bool active = false;  // a pass is running
  std::vector<Recip> recips;
  std::size_t cursor = 0;
  unsigned inflight = 0;
  bool deferred = false;
  Str sender;
};
std::vector<Job*> jobs;

struct Slot {
  bool used = false;
  Job* job = nullptr;
  std::size_t recip = 0;
  unsigned long number = 0;
};
std::vector<Slot> slots[2];
unsigned busy[2] = {0, 0};
Str reply[2];  // partial spawner answers

int fd_to[2] = {1, 3}, fd_from[2] = {2, 4};

std::int64_t now() { return ::time(nullptr); }

void fn(Str& out, std::string_view dir, unsigned long id) {
  out.clear();
  queue::fmt_qfn(out, dir, id, split);
}

void status() {
  logbuf.append("status: local ");
  logbuf.append_num(busy[0]);
  logbuf.push('/');
  logbuf.append_num(concurrency[0]);
  logbuf.append(" remote ");
  logbuf.append_num(busy[1]);
  logbuf.push('/');
  logbuf.append_num(concurrency[1]);
  logbuf.push('\n');
  log_flush();
}

bool clean(std::string_view what, unsigned long id) { return queue::ask_clean(5, 6, what, id) == '+'; }

bool read_sender(unsigned long id, Str& sender, std::int64_t* birth) {
  Str f, text;
  fn(f, "info/", id);
  if (read_file(f.c_str(), text, queue::kMaxRecord) != 0) return false;
  struct stat st;
  if (birth && ::stat(f.c_str(), &st) == 0) *birth = st.st_mtime;
  if (text.empty() || text[0] != 'F') return false;
  std::string_view v = text.view().substr(1);
  sender = v.substr(0, v.find('\0'));
  return true;
}

// Reads the recipients of j's channel file and its sender. false when the
// file is gone (ENOENT), or, with a warning, when it or info/ cannot be
// read or breaks the limits of queue::parse_channel (damage: it stays).
bool load_job(Job& j) {
  Str f, text;
  fn(f, kChanDir[j.chan], j.id);
  j.recips.clear();
  std::vector<queue::ChannelRecord> todo;
  if (read_file(f.c_str(), text, queue::kMaxQueueFile) != 0) {
    if (errno == ENOENT) return false;
  } else if (queue::parse_channel(text.view(), todo)) {
    for (const queue::ChannelRecord& r : todo)
      j.recips.push_back({Str(r.addr), static_cast<off_t>(r.pos)});
    if (read_sender(j.id, j.sender, &j.birth)) return true;
    fn(f, "info/", j.id);  // missing or damaged: keep the recipients, retry
  }
  logbuf.append("warning: trouble reading ");
  logbuf.append(f);
  logbuf.append("; will try again later\n");
  log_flush();
  errno = EIO;
  return false;
}

// Turns the recipient's T into D. Its byte is overwritten in place, so
// fdatasync makes it durable without the inode's times (qmail does not sync
// it at all: a lost mark only repeats a delivery after a crash).
// False when the mark could not be written: the caller warns, and the
// next pass delivers to the recipient again, as in qmail.
bool mark_done(Job& j, std::size_t r) {
  Str f;
  fn(f, kChanDir[j.chan], j.id);
  Fd fd(open_write(f.c_str()));
  if (!fd || ::pwrite(fd.get(), "D", 1, j.recips[r].pos) != 1) return false;
  ::fdatasync(fd.get());
  j.recips[r].done = true;
  return true;
}

void add_bounce(unsigned long id, std::string_view recip, std::string_view text) {
  Str p, f;
  send::append_bounce_paragraph(p, recip, text);
  fn(f, "bounce/", id);
  f.clear();
  queue::fmt_qfn(f, "bounce/", id, 0);
  Fd fd(open_append(f.c_str()));
  if (fd) {
    write_all(fd.get(), p.view());
    ::fsync(fd.get());
  }
}

bool exists(std::string_view dir, unsigned long id, unsigned sp) {
  Str f;
  queue::fmt_qfn(f, dir, id, sp);
  struct stat st;
  return ::stat(f.c_str(), &st) == 0;
}

// Injects bounce/ID; true when there is none left.
bool inject_bounce(unsigned long id) {
  Str bf;
  queue::fmt_qfn(bf, "bounce/", id, 0);
  Str paragraphs;
  Fd bfd(open_read(bf.c_str()));
  if (!bfd) return errno == ENOENT;
  if (read_all(bfd.get(), paragraphs, queue::kMaxQueueFile) != 0) {
    if (errno != EFBIG) return false;
    // Reports for a huge number of recipients: the sender gets those that
    // fit, cut at a paragraph.
    std::size_t end = paragraphs.view().substr(0, queue::kMaxQueueFile).rfind("\n\n");
    paragraphs.truncate(end == std::string_view::npos ? 0 : end + 2);
  }
  Str sender;
  if (!read_sender(id, sender, nullptr)) return false;
  if (sender == "#@[]") {
    logbuf.append("triple bounce: discarding bounce/");
    logbuf.append_num(id);
    logbuf.push('\n');
    log_flush();
    ::unlink(bf.c_str());
    return true;
  }
  bool dbl = sender.empty();
  Str to;
  if (dbl) {
    if (doublebounceto.empty()) { ::unlink(bf.c_str()); return true; }
    to = doublebounceto.view();
    to.push('@');
    to.append(doublebouncehost);
  } else {
    to = sender.view();
  }
  char date[kDate822Len];
  send::BounceHeader h{fmt_date822(date, now()), bouncefrom.view(), bouncehost.view(),
                       to.view(), ctl.me(), dbl};
  Str head;
  send::compose_bounce(head, h, paragraphs.view(), sender.view());
  queue::Submit qq;
  if (qq.open() != 0) return false;
  qq.put(head.view());
  Str mf;
  fn(mf, "mess/", id);
  Fd m(open_read(mf.c_str()));
  if (!m) qq.fail();
  else {
    char buf[8192];
    long r;
    while ((r = ::read(m.get(), buf, sizeof buf)) > 0) qq.put(std::string_view(buf, r));
    if (r < 0) qq.fail();
  }
  qq.from(dbl ? "#@[]" : "");
  qq.to(to.view());
  pid_t qp = qq.pid();
  std::string_view err = qq.close();
  if (!err.empty()) {
    logbuf.append("warning: trouble injecting bounce message, will try later\n");
    log_flush();
    return false;
  }
  logbuf.append("bounce msg ");
  logbuf.append_num(id);
  logbuf.append(" qp ");
  logbuf.append_num(static_cast<unsigned long long>(qp));
  logbuf.push('\n');
  log_flush();
  ::unlink(bf.c_str());
  return true;
}

std::vector<unsigned long> finishing;  // messages whose channels are done

void try_finish(unsigned long id) {
  for (Job* j : jobs)
    if (j->id == id) return;
  if (exists("local/", id, split) || exists("remote/", id, split)) return;
  // Still in todo/ (after a crash): qmail-todo will sort it afresh.
  if (exists("todo/", id, 0)) return;
  if (!inject_bounce(id)) { finishing.push_back(id); return; }
  Str f;
  fn(f, "info/", id);
  ::unlink(f.c_str());
  if (!clean("foop/", id)) { finishing.push_back(id); return; }
  logbuf.append("end msg ");
  logbuf.append_num(id);
  logbuf.push('\n');
  log_flush();
}

void end_pass(Job* j) {
  j->active = false;
  // Every recipient of the pass is done or deferred now, and mark_done
  // knows which: no need to read the file again.
  bool left = false;
  for (const Recip& r : j->recips) left = left || !r.done;
  if (left) {
    j->next = send::next_retry(j->birth, now(), j->chan);
    return;
  }
  Str f;
  fn(f, kChanDir[j->chan], j->id);
  ::unlink(f.c_str());
  unsigned long id = j->id;
  for (std::size_t i = 0; i < jobs.size(); ++i)
    if (jobs[i] == j) { jobs.erase(jobs.begin() + i); break; }
  delete j;
  try_finish(id);
}

// The sender for one recipient: VERP turns "owner-@host-@[]" into
// "owner-recipbox=reciphost@host", as qmail-send's senderadd.
void sender_add(Str& out, std::string_view sender, std::string_view recip) {
  if (sender.ends_with("-@[]")) {
    std::size_t i = sender.size();
    std::size_t j = sender.substr(0, i - 4).rfind('@');
    std::size_t k = recip.rfind('@');
    if (j != std::string_view::npos && k != std::string_view::npos && j + 5 <= i) {
      out.append(sender.substr(0, j));
      out.append(recip.substr(0, k));
      out.push('=');
      out.append(recip.substr(k + 1));
      out.push('@');
      out.append(sender.substr(j + 1, i - 5 - j));
      return;
    }
  }
  out.append(sender);
}

void start_deliveries(int c) {
  if (flag_term) return;
  std::int64_t t = now();
  for (Job* j : jobs) {
    if (j->chan != c) continue;
    if (!j->active) {
      if (j->next > t) continue;
      if (!load_job(*j)) { j->next = t + 60; continue; }
      j->active = true;
      j->cursor = 0;
      j->inflight = 0;
      j->deferred = false;
    }
    while (j->cursor < j->recips.size() && busy[c] < concurrency[c]) {
      unsigned s = 0;
      while (s < slots[c].size() && slots[c][s].used) ++s;
      if (s >= slots[c].size()) return;
      Slot& sl = slots[c][s];
      std::size_t r = j->cursor++;
      Str req;
      req.push(static_cast<char>(s));
      queue::fmt_qfn(req, "", j->id, split);
      req.push('\0');
      sender_add(req, j->sender.view(), j->recips[r].addr.view());
      req.push('\0');
      req.append(j->recips[r].addr);
      req.push('\0');
      if (write_all(fd_to[c], req.view()) != 0) { flag_term = 1; return; }
      sl.used = true;
      sl.job = j;
      sl.recip = r;
      sl.number = ++delivery_counter;
      ++busy[c];
      ++j->inflight;
      logbuf.append("starting delivery ");
      logbuf.append_num(sl.number);
      logbuf.append(": msg ");
      logbuf.append_num(j->id);
      logbuf.append(" to ");
      logbuf.append(kChanName[c]);
      logbuf.push(' ');
      logsafe(j->recips[r].addr.view());
      logbuf.push('\n');
      status();
    }
    if (j->active && j->cursor >= j->recips.size() && j->inflight == 0) {
      end_pass(j);
      return;  // jobs changed
    }
    if (busy[c] >= concurrency[c]) return;
  }
}

void handle_result(int c, unsigned s, std::string_view text) {
  if (s >= slots[c].size() || !slots[c][s].used) return;
  Slot& sl = slots[c][s];
  Job* j = sl.job;
  std::string_view recip = j->recips[sl.recip].addr.view();
  char kind = text.empty() ? '?' : text[0];
  std::string_view rest = text.empty() ? text : text.substr(1);
  logbuf.append("delivery ");
  logbuf.append_num(sl.number);
  bool expired = now() >= j->birth + static_cast<std::int64_t>(lifetime);
  bool marked = true;
  switch (kind) {
    case 'K':
      logbuf.append(": success: ");
      logsafe(rest);
      marked = mark_done(*j, sl.recip);
      break;
    case 'D':
      logbuf.append(": failure: ");
      logsafe(rest);
      add_bounce(j->id, recip, rest);
      marked = mark_done(*j, sl.recip);
      break;
    default:
      if (kind == 'Z') {
        logbuf.append(": deferral: ");
        logsafe(rest);
      } else {
        logbuf.append(": report mangled, will defer");
      }
      if (expired) {
        Str why(rest);
        if (!why.empty() && why.back() != '\n') why.push('\n');
        why.append("I'm not going to try again; this message has been in the queue too long.\n");
        add_bounce(j->id, recip, why.view());
        marked = mark_done(*j, sl.recip);
      } else {
        j->deferred = true;
      }
  }
  logbuf.push('\n');
  if (!marked) {
    Str f;
    fn(f, kChanDir[c], j->id);
    logbuf.append("warning: trouble marking ");
    logbuf.append(f);
    logbuf.append("; message will be delivered twice!\n");
  }
  sl.used = false;
  --busy[c];
  --j->inflight;
  status();
  if (j->cursor >= j->recips.size() && j->inflight == 0) end_pass(j);
}

void read_spawner(int c) {
  char buf[1024];
  long r = ::read(fd_from[c], buf, sizeof buf);
  if (r <= 0) {
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) return;
    logbuf.append("alert: oh no! lost spawn connection! dying...\n");
    log_flush();
    ::_exit(111);
  }
  reply[c].append(buf, static_cast<std::size_t>(r));
  for (;;) {
    std::string_view v = reply[c].view();
    if (v.size() < 2) return;
    std::size_t e = v.find('\0', 1);
    if (e == std::string_view::npos) return;
    unsigned s = static_cast<unsigned char>(v[0]);
    Str text(v.substr(1, e - 1));
    Str rest(v.substr(e + 1));
    reply[c] = rest.view();
    handle_result(c, s, text.view());
  }
}

// ---- todo ----------------------------------------------------------------------
Job* add_job(unsigned long id, int chan, std::int64_t next = 0) {
  for (Job* j : jobs)
    if (j->id == id && j->chan == chan) return j;
  Job* j = new Job;
  j->id = id;
  j->chan = chan;
  j->next = next;
  jobs.push_back(j);
  return j;
}

// A message qmail-todo sorted into local/ and remote/.
void new_message(unsigned long id, bool local, bool remote) {
  if (local) add_job(id, 0);
  if (remote) add_job(id, 1);
  if (!local && !remote) try_finish(id);
}

// qmail-todo on descriptors 7 (commands to it) and 8 (its reports).
struct TodoLink {
  bool done = false;  // it said X (or went away while we finish)
  Str in;
  void command(char c) {
    if (!done && write_all(7, std::string_view(&c, 1)) != 0) done = true;
  }
  void read() {
    char buf[4096];
    long r = ::read(8, buf, sizeof buf);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (r <= 0) {
      if (flag_term) { done = true; return; }
      logbuf.append("alert: oh no! lost qmail-todo connection! dying...\n");
      log_flush();
      ::_exit(111);
    }
    in.append(buf, static_cast<std::size_t>(r));
    std::size_t pos = 0;
    std::string_view v = in.view();
    for (std::size_t e; (e = v.find('\0', pos)) != std::string_view::npos; pos = e + 1) {
      std::string_view rec = v.substr(pos, e - pos);
      if (rec.empty()) continue;
      switch (rec[0]) {
        case 'L':
          logbuf.append(rec.substr(1));
          log_flush();
          break;
        case 'D':
          if (rec.size() >= 3) {
            auto id = queue::parse_id(rec.substr(2));
            char k = rec[1];
            if (id) new_message(*id, k == 'L' || k == 'B', k == 'R' || k == 'B');
          }
          break;
        case 'X': done = true; break;
        default:
          logbuf.append("warning: qmail-todo speaks an obscure dialect\n");
          log_flush();
      }
    }
    Str rest(v.substr(pos));
    in = rest.view();
  }
};
TodoLink todo;

// At start: the messages already sorted. A message still in todo/ is left
// to qmail-todo, which sorts it afresh. The next retry of each is the
// modification time of its local/ or remote/ file (see save_retries).
void scan_info() {
  queue::DirScan scan("info", split);
  std::vector<unsigned long> ids;
  for (;;) {
    auto r = scan.next();
    if (r == queue::DirScan::kDone) break;
    if (r == queue::DirScan::kId) ids.push_back(scan.id());
  }
  Str f;
  for (unsigned long id : ids) {
    if (exists("todo/", id, 0)) continue;
    bool any = false;
    for (int c = 0; c < 2; ++c) {
      fn(f, kChanDir[c], id);
      struct stat st;
      if (::stat(f.c_str(), &st) != 0) continue;
      add_job(id, c, st.st_mtime);
      any = true;
    }
    if (!any) try_finish(id);
  }
}

// At exit: each waiting message's next retry as its file's mtime, as
// qmail's pqfinish does, so a restart does not retry everything at once.
void save_retries() {
  Str f;
  for (Job* j : jobs) {
    if (j->active) continue;
    fn(f, kChanDir[j->chan], j->id);
    struct utimbuf ut;
    ut.actime = ut.modtime = static_cast<time_t>(j->next);
    if (::utime(f.c_str(), &ut) != 0 && errno != ENOENT) {
      logbuf.append("warning: unable to utime ");
      logbuf.append(f);
      logbuf.append("; message will be retried too soon\n");
      log_flush();
    }
  }
}

// Messages a killed qmail-queue left in mess/ (no info/, no todo/), gone
// through a few at a time, as qmail's cleanup_do: removed once untouched
// for 36 hours. The walk starts at start-up and every SLEEP_CLEANUP.
struct Cleanup {
  static constexpr std::int64_t kOssified = 129600, kSleep = 76431;
  queue::DirScan* scan = nullptr;
  std::int64_t next = 0;
  bool busy() const { return scan != nullptr; }
  void step(std::int64_t t) {
    if (!scan) {
      if (t < next) return;
      scan = new queue::DirScan("mess", split);
      next = t + kSleep;
    }
    for (int n = 0; n < 100; ++n) {
      auto r = scan->next();
      if (r == queue::DirScan::kDone) { delete scan; scan = nullptr; return; }
      if (r != queue::DirScan::kId) continue;
      unsigned long id = scan->id();
      Str f;
      fn(f, "mess/", id);
      struct stat st;
      if (::stat(f.c_str(), &st) != 0 || t <= st.st_atime + kOssified) continue;
      if (exists("info/", id, split) || exists("todo/", id, 0)) continue;
      if (!clean("foop/", id)) {
        logbuf.append("warning: qmail-clean unable to clean up ");
        logbuf.append(f);
        logbuf.push('\n');
        log_flush();
      }
    }
  }
};
Cleanup cleanup;

void on_term(int) { flag_term = 1; selfpipe_notify(); }
void on_alrm(int) { flag_alrm = 1; selfpipe_notify(); }
void on_hup(int) { flag_hup = 1; selfpipe_notify(); }

bool fd_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

int qmail_send_main(int, char**) {
  const char* home = qmail_home();
  if (::chdir(home) != 0) {
    logbuf.append("alert: cannot start: unable to switch to home directory\n");
    log_flush();
    ::_exit(111);
  }
  split = queue::conf_split(".");
  if (!split) ::_exit(111);
  read_control();
  if (::chdir("queue") != 0) {
    logbuf.append("alert: cannot start: unable to switch to queue directory\n");
    log_flush();
    ::_exit(111);
  }
  sig_ignore(SIGPIPE);
  if (selfpipe_init() < 0) ::_exit(111);
  sig_catch(SIGTERM, on_term);
  sig_catch(SIGALRM, on_alrm);
  sig_catch(SIGHUP, on_hup);
  for (int c = 0; c < 2; ++c) {
    unsigned char b;
    long r;
    while ((r = ::read(fd_from[c], &b, 1)) < 0 && errno == EINTR) {
    }
    if (r != 1) {
      logbuf.append("alert: cannot start: hath the daemon spawn no fire?\n");
      log_flush();
      ::_exit(111);
    }
    spawn_limit[c] = b;
    if (concurrency[c] > spawn_limit[c]) concurrency[c] = spawn_limit[c];
    slots[c].resize(spawn_limit[c]);
  }
  if (!fd_open(7) || !fd_open(8)) {
    logbuf.append("alert: cannot start: no qmail-todo on descriptors 7 and 8; start me with qmail-start\n");
    log_flush();
    ::_exit(111);
  }
  status();
  scan_info();
  todo.command('S');  // only now: what scan_info saw must not change under it
  bool told_todo_to_stop = false;
  for (;;) {
    if (flag_hup) {
      flag_hup = 0;
      todo.command('H');  // locals and virtualdomains are qmail-todo's
    }
    if (flag_alrm) {
      flag_alrm = 0;
      for (Job* j : jobs) j->next = 0;
      todo.command('A');
    }
    if (flag_term && !told_todo_to_stop) {
      told_todo_to_stop = true;
      todo.command('X');
    }
    if (flag_term && !busy[0] && !busy[1] && todo.done) break;
    if (!finishing.empty() && !flag_term) {
      auto f = finishing;
      finishing.clear();
      for (unsigned long id : f) try_finish(id);
    }
    std::int64_t t = now();
    for (int c = 0; c < 2; ++c) start_deliveries(c);
    if (!flag_term) cleanup.step(t);
    // Wait for something, at most until the next retry a free slot can take.
    std::int64_t wake = t + 3600;
    for (Job* j : jobs)
      if (!j->active && busy[j->chan] < concurrency[j->chan] && j->next < wake) wake = j->next;
    if (!finishing.empty() && wake > t + 10) wake = t + 10;
    if (wake > cleanup.next) wake = cleanup.next;
    int timeout = cleanup.busy() || wake <= t ? 0 : static_cast<int>((wake - t) * 1000);
    pollfd p[4];
    int n = 0;
    p[n++] = {selfpipe_fd(), POLLIN, 0};
    for (int c = 0; c < 2; ++c) p[n++] = {fd_from[c], POLLIN, 0};
    if (!todo.done) p[n++] = {8, POLLIN, 0};
    if (::poll(p, static_cast<nfds_t>(n), timeout) < 0) continue;
    selfpipe_drain();
    for (int i = 1; i < n; ++i) {
      if (!p[i].revents) continue;
      if (p[i].fd == fd_from[0]) read_spawner(0);
      else if (p[i].fd == fd_from[1]) read_spawner(1);
      else todo.read();
    }
  }
  save_retries();
  logbuf.append("status: exiting\n");
  log_flush();
  ::_exit(0);
}

}  // namespace

extern const AppletInfo applet_qmail_send = {
    "deliver mail messages from the queue", "qmail-send", qmail_send_main};
