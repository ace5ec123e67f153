// maildir2mbox: move the messages of $MAILDIR into the mbox $MAIL
// (maildir2mbox(1)), oldest first, by writing the old mbox and the messages
// to $MAILTMP and renaming it over $MAIL, all under a flock of $MAIL. The
// messages are removed only once the new mbox is in place. Each message
// gets a "From " line with the sender of its Return-Path line (or XXX, or
// MAILER-DAEMON for <>) and the time it arrived, its lines starting with
// "From " (after any '>') get one more '>', and it ends with a blank line.
// tmp/ is cleaned of files older than 36 hours first.
//
// One difference from qmail's: a last line without LF is kept (with an LF
// added) where qmail's silently dropped it.
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/env.hpp"
#include "base/fd.hpp"
#include "io/buffer.hpp"
#include "maildir/maildir.hpp"
#include "mbox/mbox.hpp"

using namespace qbox;

namespace {

constexpr char kFatal[] = "maildir2mbox: fatal: ";
constexpr char kWarning[] = "maildir2mbox: warning: ";
constexpr std::string_view kReturnPath = "Return-Path: <";

const char* g_mboxtmp;

[[noreturn]] void die_write() { die_sys(kExitTemp, kFatal, "unable to write to ", g_mboxtmp, ": "); }

// The From line for a message whose file starts with `head` (its first
// line, when that ends within head).
void from_line(Str& out, std::string_view head, std::int64_t mtime) {
  std::size_t lf = head.find('\n');
  std::string_view line = lf == std::string_view::npos ? std::string_view() : head.substr(0, lf + 1);
  if (!line.starts_with(kReturnPath)) {
    out = "From XXX ";
  } else if (line[kReturnPath.size()] == '>') {
    out = "From MAILER-DAEMON ";
  } else {
    out = "From ";
    // Between "<" and the ">" that should end the line.
    for (std::size_t i = kReturnPath.size(); i + 2 < line.size(); ++i)
      out.push(line[i] == ' ' || line[i] == '\t' ? '-' : line[i]);
    out.push(' ');
  }
  mbox::append_ctime(out, mtime);
}

void copy_message(Writer& out, const maildir::Message& m) {
  Fd fd(open_read(m.path.c_str()));
  if (!fd) die_sys(kExitTemp, kFatal, "unable to read $MAILDIR/", m.path.view(), ": ");
  char buf[65536];
  mbox::FromQuoter quoter;
  bool first = true;
  for (;;) {
    ssize_t r = ::read(fd.get(), buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      die_sys(kExitTemp, kFatal, "unable to read $MAILDIR/", m.path.view(), ": ");
    }
    std::string_view chunk(buf, static_cast<std::size_t>(r));
    if (first) {
      Str ufline;
      from_line(ufline, chunk, m.mtime);
      if (out.put(ufline.view()) < 0) die_write();
      first = false;
    }
    if (r == 0) break;
    if (quoter.put(out, chunk) < 0) die_write();
  }
  if (quoter.finish(out) < 0 || out.put('\n') < 0) die_write();
}

int maildir2mbox_main(int, char**) {
  ::umask(077);
  const char* mbox = env::get("MAIL");
  if (!mbox) die(kExitTemp, kFatal, "MAIL not set");
  g_mboxtmp = env::get("MAILTMP");
  if (!g_mboxtmp) die(kExitTemp, kFatal, "MAILTMP not set");
  const char* maildir = env::get("MAILDIR");
  if (!maildir) die(kExitTemp, kFatal, "MAILDIR not set");
  if (::chdir(maildir) != 0) die_sys(kExitTemp, kFatal, "unable to chdir to ", maildir, ": ");

  std::int64_t now = ::time(nullptr);
  maildir::clean_tmp(now);
  std::vector<maildir::Message> msgs;
  maildir::ScanError err;
  if (maildir::scan(msgs, true, true, now, err) != 0) {
    errno = err.err;
    die_sys(kExitTemp, kFatal, err.opening ? "unable to scan $MAILDIR/" : "unable to read $MAILDIR/",
            err.subdir, ": ");
  }
  if (msgs.empty()) return 0;

  Fd lock(open_append(mbox));
  if (!lock || ::flock(lock.get(), LOCK_EX) != 0)
    die_sys(kExitTemp, kFatal, "unable to lock ", mbox, ": ");
  Fd old(open_read(mbox));
  if (!old) die_sys(kExitTemp, kFatal, "unable to read ", mbox, ": ");
  Fd fresh(open_trunc(g_mboxtmp));
  if (!fresh) die_sys(kExitTemp, kFatal, "unable to create ", g_mboxtmp, ": ");

  char obuf[65536];
  Writer out(fresh.get(), obuf);
  char buf[65536];
  for (;;) {
    ssize_t r = ::read(old.get(), buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      die_sys(kExitTemp, kFatal, "unable to read ", mbox, ": ");
    }
    if (r == 0) break;
    if (out.put(std::string_view(buf, static_cast<std::size_t>(r))) < 0) die_write();
  }
  for (const maildir::Message& m : msgs) copy_message(out, m);
  if (out.flush() < 0 || ::fsync(fresh.get()) != 0 || ::close(fresh.release()) != 0) die_write();
  if (::rename(g_mboxtmp, mbox) != 0)
    die_sys(kExitTemp, kFatal, "unable to move ", g_mboxtmp, " to ", mbox, ": ");

  for (const maildir::Message& m : msgs)
    if (::unlink(m.path.c_str()) != 0)
      warn_sys(kWarning, "$MAILDIR/", m.path.view(), " will be delivered twice; unable to unlink: ");
  return 0;
}

}  // namespace

extern const AppletInfo applet_maildir2mbox = {"move the messages of a maildir into an mbox",
                                               "maildir2mbox", maildir2mbox_main};
