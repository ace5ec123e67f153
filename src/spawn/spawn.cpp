#include "spawn/spawn.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "base/applet.hpp"
#include "base/fd.hpp"
#include "proc/child.hpp"

namespace qbox::spawn {

namespace {

struct Delivery {
  bool used = false;
  int fdin = -1;   // read end of the child's output pipe
  int fdout = -1;  // write end, kept until the child is reaped
  pid_t pid = 0;   // 0 once reaped
  int wstat = 0;
  Str output;
};

Delivery d[kSpawnMax];
bool flag_writing = true;
Str outq;  // answers not yet written to descriptor 1

void flush_out() {
  if (!flag_writing) { outq.clear(); return; }
  if (write_all(1, outq.view()) != 0) flag_writing = false;  // qmail-send is gone
  outq.clear();
}

void answer(unsigned delnum, std::string_view text) {
  outq.push(static_cast<char>(delnum));
  outq.append(text);
  outq.push('\0');
  flush_out();
}

void reap() {
  int wstat;
  pid_t pid;
  while ((pid = wait_nohang(&wstat)) > 0)
    for (auto& x : d)
      if (x.used && x.pid == pid) {
        ::close(x.fdout);
        x.fdout = -1;
        x.wstat = wstat;
        x.pid = 0;
      }
}

bool all_digits_or_slash(std::string_view id) {
  for (std::size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    if (c == '/' && i) continue;
    if (c < '0' || c > '9') return false;
  }
  return true;
}

void docmd(const Hooks& h, uid_t owner, unsigned delnum, Str& messid, Str& sender,
           Str& recip, bool too_long) {
  if (delnum >= kSpawnMax) { answer(delnum, "ZInternal error: delnum too big. (#4.3.5)\n"); return; }
  if (d[delnum].used) { answer(delnum, "ZInternal error: delnum in use. (#4.3.5)\n"); return; }
  if (too_long) { answer(delnum, "DInternal error: request too long. (#5.3.5)\n"); return; }
  if (!all_digits_or_slash(messid.view()))
    { answer(delnum, "DInternal error: messid has nonnumerics. (#5.3.5)\n"); return; }
  if (messid.size() > 100) { answer(delnum, "DInternal error: messid too long. (#5.3.5)\n"); return; }
  if (messid.empty()) { answer(delnum, "DInternal error: messid too short. (#5.3.5)\n"); return; }
  std::size_t at = recip.view().rfind('@');
  if (at == std::string_view::npos)
    { answer(delnum, "DSorry, address must include host name. (#5.1.3)\n"); return; }
  Fd mess(open_read(messid.c_str()));
  if (!mess) { answer(delnum, "Zqmail-spawn unable to open message. (#4.3.0)\n"); return; }
  struct stat st;
  if (::fstat(mess.get(), &st) != 0)
    { answer(delnum, "Zqmail-spawn unable to fstat message. (#4.3.0)\n"); return; }
  if (!S_ISREG(st.st_mode)) { answer(delnum, "ZSorry, message has wrong type. (#4.3.5)\n"); return; }
  if (st.st_uid != owner) { answer(delnum, "ZSorry, message has wrong owner. (#4.3.5)\n"); return; }
  int pi[2];
  // Both ends close-on-exec: the child moves the write end onto its
  // descriptor 1, and dup2 clears the flag there.
  if (::pipe2(pi, O_CLOEXEC) != 0)
    { answer(delnum, "Zqmail-spawn unable to create pipe. (#4.3.0)\n"); return; }
  pid_t pid = h.spawn(mess.get(), pi[1], sender.c_str(), recip.data(), at);
  if (pid < 0) {
    ::close(pi[0]);
    ::close(pi[1]);
    answer(delnum, "Zqmail-spawn unable to fork. (#4.3.0)\n");
    return;
  }
  Delivery& x = d[delnum];
  x.used = true;
  x.fdin = pi[0];
  x.fdout = pi[1];
  x.pid = pid;
  x.wstat = 0;
  x.output.clear();
}

void chld(int) { selfpipe_notify(); }

}  // namespace

void truncate_output(Str& output) {
  static constexpr std::string_view kMess = "\nError report too long, sorry.\n";
  if (output.size() > kTruncReport) {
    output.truncate(kTruncReport - kMess.size() - 3);
    output.append(kMess);
  }
}

void run(const Hooks& h, uid_t owner) {
  if (::chdir(qmail_home()) != 0) ::_exit(111);
  if (::chdir("queue/mess") != 0) ::_exit(111);
  sig_ignore(SIGPIPE);
  if (selfpipe_init() < 0) ::_exit(111);
  sig_catch(SIGCHLD, chld);

  outq.push(static_cast<char>(kSpawnMax));
  flush_out();

  bool reading = true;
  int stage = 0;  // reading 0 delnum, 1 messid, 2 sender, 3 recipient
  unsigned delnum = 0;
  Str messid, sender, recip;
  bool too_long = false;  // a field of this request went past kMaxField
  // Appends c to a field of the request, within kMaxField.
  auto keep = [&too_long](Str& field, char c) {
    if (field.size() < kMaxField) field.push(c);
    else too_long = true;
  };
  char buf[1024];
  for (;;) {
    reap();
    if (!reading) {
      bool busy = false;
      for (auto& x : d) busy |= x.used;
      if (!busy) ::_exit(0);
    }
    std::vector<pollfd> p;
    std::vector<unsigned> which;
    p.push_back({selfpipe_fd(), POLLIN, 0});
    if (reading) p.push_back({0, POLLIN, 0});
    for (unsigned i = 0; i < kSpawnMax; ++i)
      if (d[i].used) { p.push_back({d[i].fdin, POLLIN, 0}); which.push_back(i); }
    if (::poll(p.data(), p.size(), -1) < 0) continue;
    if (p[0].revents) selfpipe_drain();
    std::size_t k = 1;
    if (reading) {
      if (p[1].revents) {
        long r = ::read(0, buf, sizeof buf);
        if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) reading = false;
        for (long i = 0; i < r; ++i) {
          char c = buf[i];
          switch (stage) {
            case 0:
              delnum = static_cast<unsigned char>(c);
              messid.clear();
              too_long = false;
              stage = 1;
              break;
            case 1: if (c) keep(messid, c); else { sender.clear(); stage = 2; } break;
            case 2: if (c) keep(sender, c); else { recip.clear(); stage = 3; } break;
            case 3:
              if (c) { keep(recip, c); break; }
              docmd(h, owner, delnum, messid, sender, recip, too_long);
              stage = 0;
              break;
          }
        }
      }
      k = 2;
    }
    for (std::size_t j = 0; j < which.size(); ++j, ++k) {
      if (!p[k].revents) continue;
      Delivery& x = d[which[j]];
      long r = ::read(x.fdin, buf, sizeof buf);
      if (r < 0) continue;
      if (r == 0) {
        if (x.pid) { reap(); if (x.pid) continue; }  // EOF only after death
        Str rep;
        h.report(rep, x.wstat, x.output.view());
        answer(which[j], rep.view());
        ::close(x.fdin);
        x.used = false;
        continue;
      }
      x.output.append(buf, static_cast<std::size_t>(r));
      truncate_output(x.output);
    }
  }
}

}  // namespace qbox::spawn
