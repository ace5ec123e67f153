// qmail-local: deliver or forward a mail message (qmail-local(8)).
//
//   qmail-local [ -nN ] user homedir local dash ext domain sender aliasempty
//
// The message is on descriptor 0 and must be seekable: every delivery reads
// it from the start. qmail-local switches to homedir, refuses to go on while
// the home directory is writable by others or sticky (the user is editing
// his .qmail), finds the .qmail file for the address (.qmail-EXT, then the
// -default files from the most specific), and follows its lines in order
// (dot-qmail(5)): maildirs and mboxes get the message with Return-Path and
// Delivered-To lines added, programs run under sh with it on their input,
// and forwards are queued together at the end, with Delivered-To added.
// An empty or missing .qmail for the basic address means `aliasempty`.
//
// Reports go to qmail-lspawn the classic way: the reason for a failure on
// descriptor 2 and the exit code (0 done, 100 permanent, 111 temporary);
// after success "did FILES+FORWARDS+PROGRAMS" and "qp PID" (the forward's
// qmail-queue) on descriptor 1. -n prints what would be done instead
// ("maildir ./Maildir/", "program ...", "forward ..."); -N does it.
//
// Limits: the .qmail file is read whole up to dotqmail::kMaxFile; the
// header is read line by line, and a header line above kMaxHeaderLine ends
// delivery with a permanent failure, so a message cannot make qmail-local
// hold more than that. Message bodies are streamed.
#include <cerrno>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/env.hpp"
#include "base/fd.hpp"
#include "base/getopt.hpp"
#include "base/num.hpp"
#include "dotqmail/dotqmail.hpp"
#include "io/buffer.hpp"
#include "maildir/maildir.hpp"
#include "mbox/mbox.hpp"
#include "proc/child.hpp"
#include "queue/resend.hpp"
#include "queue/submit.hpp"

using namespace qbox;

namespace {

constexpr char kUsage[] =
    "qmail-local [ -nN ] user homedir local dash ext domain sender aliasempty";
constexpr std::size_t kMaxHeaderLine = 1u << 20;

[[noreturn]] void usage() { die_usage(kUsage); }

template <class... A>
[[noreturn]] void temp(const A&... a) { die(kExitTemp, a...); }
template <class... A>
[[noreturn]] void perm(const A&... a) { die(kExitPerm, a...); }

struct Local {
  bool doit = true;
  bool stop = false;  // a program exited 99
  unsigned long count_file = 0, count_forward = 0, count_program = 0;
  long forward_qp = 0;

  const char* user = nullptr;
  const char* homedir = nullptr;
  const char* local = nullptr;
  const char* dash = nullptr;
  const char* ext = nullptr;
  const char* host = nullptr;
  const char* sender = nullptr;
  const char* aliasempty = nullptr;

  Str safeext, dtline, rpline, ufline, newsender;
  Str qme;  // the .qmail file in use
};

void rewind() {
  if (::lseek(0, 0, SEEK_SET) != 0) temp("Unable to rewind message. (#4.3.0)");
}

void put_out(std::string_view s) {
  // Like qmail's subfdoutsmall: nothing to do when the reader is gone.
  (void)write_all(1, s);
}

void sayit(std::string_view type, std::string_view what) {
  Str s(type);
  s.append(what);
  s.push('\n');
  put_out(s);
}

void checkhome(const Local& l) {
  struct stat st;
  if (::stat(".", &st) != 0)
    temp("Unable to stat home directory: ", error_str(errno), ". (#4.3.0)");
  if (st.st_mode & dotqmail::kPatrn) temp("Uh-oh: home directory is writable. (#4.7.0)");
  if (st.st_mode & S_ISVTX) {
    if (l.doit) temp("Home directory is sticky: user is editing his .qmail file. (#4.2.1)");
    warn("Warning: home directory is sticky.");
  }
}

// The message must not carry our Delivered-To line already.
void bouncexf(const Local& l) {
  rewind();
  char buf[8192];
  Reader in(0, buf);
  Str line;
  for (;;) {
    line.clear();
    int r = in.getline(line, '\n', kMaxHeaderLine);
    if (r < 0) {
      if (errno == E2BIG) {
        char n[kNumDigits];
        perm("Message has a header line longer than ", fmt_num(n, kMaxHeaderLine),
             " bytes. (#5.3.4)");
      }
      temp("Unable to read message: ", error_str(errno), ". (#4.3.0)");
    }
    if (r == 0) break;
    if (line.size() <= 1) break;
    if (line == l.dtline)
      perm("This message is looping: it already has my Delivered-To line. (#5.4.6)");
  }
}

[[noreturn]] void temp_qmail(const Str& fn) {
  temp("Unable to open ", fn.view(), ": ", error_str(errno), ". (#4.3.0)");
}

// Opens l.qme if it is a regular file: true and fd set; false when it is
// missing (or not a regular file). Dies when it cannot be told.
bool qmeexists(Local& l, Fd& fd, bool& cutable) {
  fd.reset(::openat(AT_FDCWD, l.qme.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    if (error_temp(errno) || errno == EPERM || errno == EACCES) temp_qmail(l.qme);
    return false;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) temp_qmail(l.qme);
  if (!S_ISREG(st.st_mode)) {
    fd.reset();
    return false;
  }
  if (st.st_mode & dotqmail::kPatrn) temp("Uh-oh: .qmail file is writable. (#4.7.0)");
  cutable = (st.st_mode & S_IXUSR) != 0;
  return true;
}

void qmesearch(Local& l, Fd& fd, bool& cutable) {
  std::vector<dotqmail::Candidate> order;
  dotqmail::search_order(l.dash, l.safeext.view(), order);
  std::string_view ext = l.ext;
  for (dotqmail::Candidate& c : order) {
    l.qme = c.name;
    if (!qmeexists(l, fd, cutable)) continue;
    if (c.default_at != static_cast<std::size_t>(-1) && c.default_at <= ext.size()) {
      Str d(ext.substr(c.default_at));
      env::set("DEFAULT", d.c_str());
    }
    return;
  }
  fd.reset();
}

// Whether .qmail DASH SAFEEXT SUFFIX exists.
bool qmeox(const Local& l, std::string_view suffix) {
  Str fn(".qmail");
  fn.append(l.dash);
  fn.append(l.safeext.view());
  fn.append(suffix);
  struct stat st;
  if (::stat(fn.c_str(), &st) == 0) return true;
  if (error_temp(errno)) temp_qmail(fn);
  return false;
}

void do_maildir(const Local& l, const char* dir) {
  rewind();
  Str prefix(l.rpline.view());
  prefix.append(l.dtline.view());
  maildir::Delivery d;
  if (maildir::deliver(dir, prefix.view(), 0, d)) return;
  switch (d.failure) {
    case maildir::Failure::kNoDir: temp("Unable to chdir to maildir. (#4.2.1)");
    case maildir::Failure::kRead: temp("Unable to read message. (#4.3.0)");
    default:
      // Both pass once space is freed: deferrals, with RFC 3463's codes.
      if (d.err == ENOSPC) temp("Temporary error on maildir delivery: disk full. (#4.3.1)");
      if (d.err == EDQUOT) temp("Temporary error on maildir delivery: over quota. (#4.2.2)");
      temp("Temporary error on maildir delivery. (#4.3.0)");
  }
}

void do_mbox(const Local& l, const char* fn) {
  rewind();
  Str prefix(l.ufline.view());
  prefix.append(l.rpline.view());
  prefix.append(l.dtline.view());
  mbox::Delivery d;
  if (mbox::deliver(fn, prefix.view(), 0, mbox::kLockTimeout, d)) return;
  const char* e = error_str(d.err);
  switch (d.failure) {
    case mbox::Failure::kOpen: temp("Unable to open ", fn, ": ", e, ". (#4.2.1)");
    case mbox::Failure::kSlowLock: temp("File has been locked for 30 seconds straight. (#4.3.0)");
    case mbox::Failure::kRead: temp("Unable to read message: ", e, ". (#4.3.0)");
    default: temp("Unable to write ", fn, ": ", e, ". (#4.3.0)");
  }
}

void do_program(Local& l, const char* prog) {
  rewind();
  char** envp = env::build();
  pid_t pid = ::fork();
  if (pid < 0) temp("Unable to fork: ", error_str(errno), ". (#4.3.0)");
  if (pid == 0) {
    sig_default(SIGPIPE);
    sig_default(SIGXFSZ);
    char* argv[] = {const_cast<char*>("/bin/sh"), const_cast<char*>("-c"),
                    const_cast<char*>(prog), nullptr};
    ::execve("/bin/sh", argv, envp);
    temp("Unable to run /bin/sh: ", error_str(errno), ". (#4.3.0)");
  }
  int status = 0;
  if (wait_pid(pid, &status) < 0 || wait_crashed(status))
    temp("Aack, child crashed. (#4.3.0)");
  switch (dotqmail::program_result(wait_exitcode(status))) {
    case dotqmail::ProgramResult::kOk: return;
    case dotqmail::ProgramResult::kStop: l.stop = true; return;
    case dotqmail::ProgramResult::kPerm: ::_exit(kExitPerm);
    case dotqmail::ProgramResult::kTemp: ::_exit(kExitTemp);
  }
}

void do_forward(Local& l, const std::vector<Str>& recips) {
  rewind();
  queue::Submit qq;
  if (qq.open() != 0) temp("Unable to fork: ", error_str(errno), ". (#4.3.0)");
  l.forward_qp = qq.pid();
  qq.put(l.dtline.view());
  if (queue::put_fd(qq, 0) != 0) qq.fail();
  qq.from(l.newsender.view());
  for (const Str& r : recips) qq.to(r.view());
  std::string_view x = qq.close();
  if (x.empty()) return;
  die(x[0] == 'D' ? kExitPerm : kExitTemp, "Unable to forward message: ", x.substr(1), ".");
}

void count_print(const Local& l) {
  char n[kNumDigits];
  Str s("did ");
  s.append(fmt_num(n, l.count_file));
  s.push('+');
  s.append(fmt_num(n, l.count_forward));
  s.push('+');
  s.append(fmt_num(n, l.count_program));
  s.push('\n');
  if (l.forward_qp > 0) {
    s.append("qp ");
    s.append(fmt_num(n, static_cast<unsigned long long>(l.forward_qp)));
    s.push('\n');
  }
  put_out(s);
}

void set_env(std::string_view name, std::string_view value) {
  Str v(value);
  env::set(name, v.c_str());
}

// The environment and the lines every delivery uses (qmail-command(8)).
void prepare(Local& l) {
  std::string_view host = l.host;
  env::set("HOST", l.host);
  env::set("HOME", l.homedir);
  env::set("USER", l.user);
  env::set("LOCAL", l.local);
  Str recip(l.local);
  recip.push('@');
  recip.append(host);
  env::set("RECIPIENT", recip.c_str());
  dotqmail::dt_line(l.dtline, l.local, host);
  env::set("DTLINE", l.dtline.c_str());

  if (l.doit) bouncexf(l);

  env::set("SENDER", l.sender);
  dotqmail::rp_line(l.rpline, l.sender);
  env::set("RPLINE", l.rpline.c_str());
  mbox::append_from_line(l.ufline, l.sender, ::time(nullptr));
  env::set("UFLINE", l.ufline.c_str());

  std::string_view ext = l.ext;
  env::set("EXT", l.ext);
  set_env("EXT2", dotqmail::ext_part(ext, 2));
  set_env("EXT3", dotqmail::ext_part(ext, 3));
  set_env("EXT4", dotqmail::ext_part(ext, 4));
  dotqmail::safe_ext(l.safeext, ext);
  set_env("HOST2", dotqmail::host_part(host, 2));
  set_env("HOST3", dotqmail::host_part(host, 3));
  set_env("HOST4", dotqmail::host_part(host, 4));
}

int qmail_local_main(int argc, char** argv) {
  ::umask(077);
  sig_ignore(SIGPIPE);
  // Past a file size limit, writes fail (and an mbox is cut back) instead
  // of the process being killed halfway.
  sig_ignore(SIGXFSZ);

  Local l;
  GetOpt opt(argc, argv, "nN");
  for (int c; (c = opt.next()) != -1;) {
    switch (c) {
      case 'n': l.doit = false; break;
      case 'N': l.doit = true; break;
      default: usage();
    }
  }
  char** a = opt.rest();
  const char** fields[] = {&l.user, &l.homedir, &l.local, &l.dash,
                           &l.ext,  &l.host,    &l.sender, &l.aliasempty};
  for (const char** f : fields) {
    if (!*a) usage();
    *f = *a++;
  }
  if (*a) usage();
  if (l.homedir[0] != '/') usage();

  if (::chdir(l.homedir) != 0)
    temp("Unable to switch to ", l.homedir, ": ", error_str(errno), ". (#4.3.0)");
  checkhome(l);

  prepare(l);

  Fd fd;
  bool forwardonly = false;
  qmesearch(l, fd, forwardonly);
  if (!fd && *l.dash) perm("Sorry, no mailbox here by that name. (#5.1.1)");

  std::string_view sender = l.sender;
  bool owner = false, owner_default = false;
  if (!dotqmail::is_bounce_sender(sender) && qmeox(l, "-owner")) {
    owner = true;
    owner_default = qmeox(l, "-owner-default");
  }
  dotqmail::new_sender(l.newsender, sender, l.local, l.host, owner, owner_default);
  env::set("NEWSENDER", l.newsender.c_str());

  Str cmds;
  if (fd) {
    if (read_all(fd.get(), cmds, dotqmail::kMaxFile) != 0)
      temp("Unable to read ", l.qme.view(), ": ", error_str(errno), ". (#4.3.0)");
    fd.reset();
  }
  if (cmds.empty()) {
    cmds = std::string_view(l.aliasempty);
    forwardonly = false;
  }

  std::vector<std::string_view> lines;
  dotqmail::split_lines(cmds.view(), lines);
  std::vector<Str> recips;
  for (std::size_t i = 0; i < lines.size() && !l.stop; ++i) {
    dotqmail::Line line = dotqmail::parse_line(lines[i]);
    Str text(line.text);  // NUL-terminated for the system calls
    switch (line.kind) {
      case dotqmail::Kind::kBlank:
        if (i == 0) temp("Uh-oh: first line of .qmail file is blank. (#4.2.1)");
        break;
      case dotqmail::Kind::kComment:
        break;
      case dotqmail::Kind::kMaildir:
      case dotqmail::Kind::kMbox: {
        ++l.count_file;
        if (forwardonly) temp("Uh-oh: .qmail has file delivery but has x bit set. (#4.7.0)");
        bool md = line.kind == dotqmail::Kind::kMaildir;
        if (!l.doit) sayit(md ? "maildir " : "mbox ", line.text);
        else if (md) do_maildir(l, text.c_str());
        else do_mbox(l, text.c_str());
        break;
      }
      case dotqmail::Kind::kProgram:
        ++l.count_program;
        if (forwardonly) temp("Uh-oh: .qmail has prog delivery but has x bit set. (#4.7.0)");
        if (l.doit) do_program(l, text.c_str());
        else sayit("program ", line.text);
        break;
      case dotqmail::Kind::kPlus:
        if (line.text == "list") forwardonly = true;
        break;
      case dotqmail::Kind::kForward:
        ++l.count_forward;
        if (l.doit) recips.push_back(static_cast<Str&&>(text));
        else sayit("forward ", line.text);
        break;
    }
  }

  if (!recips.empty() && l.doit) do_forward(l, recips);
  count_print(l);
  return 0;
}

}  // namespace

extern const AppletInfo applet_qmail_local = {"deliver or forward a mail message", kUsage,
                                              qmail_local_main};
