// multilog: reads a log from standard input and files it as its script
// says, exactly as daemontools 0.76 does (see src/log/script.hpp for the
// actions and src/log/logdir.hpp for the log directories).
//
// Lines are cut at 1000 bytes (timestamp included) for matching, for `e`
// and for `=`; the directories get the whole line. Input is read in large
// blocks, but flushed to the directories where 0.76 refilled its 1024-byte
// input buffer, so that files are rotated at the same bytes. SIGTERM ends
// the run once the line being read is complete; SIGALRM rotates every
// directory that has something in current.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "base/applet.hpp"
#include "base/die.hpp"
#include "base/fd.hpp"
#include "log/logdir.hpp"
#include "log/match.hpp"
#include "log/script.hpp"
#include "time/tai.hpp"

using namespace qbox;
using namespace qbox::log;

namespace {

constexpr char kUsage[] = "multilog script";
constexpr char kFatal[] = "multilog: fatal: ";
constexpr std::size_t kReadSize = 65536;
constexpr std::size_t kSlice = 1024;    // 0.76's input buffer
constexpr std::size_t kLineMax = 1000;  // 0.76's line, timestamp included
constexpr std::size_t kStampLen = kTai64nHexLen + 1;  // "@... "

// TAI64N labels for the `t` action; the seconds are formatted once a second.
class Stamp {
 public:
  void put(char* out) {
    timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != sec_) {
      sec_ = ts.tv_sec;
      fmt_tai64n(head_, Tai64n::from_unix(sec_, 0));
    }
    std::memcpy(out, head_, 17);
    static constexpr char hex[] = "0123456789abcdef";
    auto n = static_cast<unsigned long>(ts.tv_nsec);
    for (int i = 7; i >= 0; --i) {
      out[17 + i] = hex[n & 15];
      n >>= 4;
    }
    out[kTai64nHexLen] = ' ';
  }

 private:
  long long sec_ = -1;
  char head_[kTai64nHexLen];
};

class Multilog {
 public:
  explicit Multilog(Script sc) : sc_(static_cast<Script&&>(sc)), simple_(sc_.simple()) {}

  void open_files(int fdstart);
  void open_dirs(int fdstart);
  void run();
  [[noreturn]] void quit();

 private:
  void feed(const char* p, std::size_t n);
  void emit(std::string_view rest, bool newline);
  void alert(std::string_view l);
  void status(const Action& a);

  Script sc_;
  bool simple_;
  std::vector<int> files_;
  std::vector<LogDir*> dirs_;
  Stamp stamp_;
  // The line being read: up to 1000 bytes, then 0.76 pads it with newlines
  // for `=`.
  char line_[kLineMax + 1];
  std::size_t linelen_ = 0;
  bool in_tail_ = false;  // past the first 1000 bytes of a line
};

void Multilog::open_files(int fdstart) {
  for (const char* name : sc_.files) {
    int fd = ::openat(fdstart, name, O_WRONLY | O_NONBLOCK | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd == -1) die_sys(kExitTemp, kFatal, "unable to create ", name, ": ");
    ::close(fd);
    fd = ::openat(fdstart, name, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd == -1) die_sys(kExitTemp, kFatal, "unable to write ", name, ": ");
    files_.push_back(fd);
  }
}

void Multilog::open_dirs(int fdstart) {
  for (const DirSpec& spec : sc_.dirs) {
    dirs_.push_back(new LogDir(spec));
    dirs_.back()->start(fdstart);
  }
}

void Multilog::alert(std::string_view l) {
  char b[kLineMax + 4];
  std::size_t n = std::min<std::size_t>(l.size(), 200);
  std::memcpy(b, l.data(), n);
  if (l.size() > 200) {
    std::memcpy(b + n, "...", 3);
    n += 3;
  }
  b[n++] = '\n';
  write_all(2, {b, n});  // as 0.76: a failing stderr is ignored
}

void Multilog::status(const Action& a) {
  // The line and 0.76's newline padding: always 1001 bytes, at offset 0.
  std::memset(line_ + linelen_, '\n', sizeof line_ - linelen_);
  int fd = files_[a.index];
  Str name(a.arg);
  for (;;) {
    while (::lseek(fd, 0, SEEK_SET) == -1)
      pause_sys({"unable to move to beginning of ", name.view(), ", pausing: "});
    if (::write(fd, line_, sizeof line_) == static_cast<ssize_t>(sizeof line_)) break;
    pause_sys({"unable to write ", name.view(), ", pausing: "});
  }
}

// A line head is complete: line_[0, linelen_) followed by rest.
void Multilog::emit(std::string_view rest, bool newline) {
  if (simple_) {
    for (LogDir* d : dirs_) d->line({line_, linelen_}, rest, newline);
    return;
  }
  if (!rest.empty()) std::memcpy(line_ + linelen_, rest.data(), rest.size());
  linelen_ += rest.size();
  std::string_view l(line_, linelen_);
  bool sel = true;
  for (const Action& a : sc_.actions) {
    switch (a.act) {
      case Act::kSelect:
        if (!sel && match(a.arg, l)) sel = true;
        break;
      case Act::kDeselect:
        if (sel && match(a.arg, l)) sel = false;
        break;
      case Act::kAlert:
        if (sel) alert(l);
        break;
      case Act::kStatus:
        if (sel) status(a);
        break;
      case Act::kDir:
        dirs_[a.index]->selected = sel;
        break;
    }
  }
  for (LogDir* d : dirs_)
    if (d->selected) d->line(l, {}, newline);
}

// One slice of input, at most 1024 bytes (what 0.76 read at once).
void Multilog::feed(const char* p, std::size_t n) {
  const char* end = p + n;
  while (p < end) {
    if (in_tail_) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
      std::string_view part(p, static_cast<std::size_t>((nl ? nl : end) - p));
      for (LogDir* d : dirs_)
        if (d->selected) {
          d->tail(part);
          if (nl) d->newline();
        }
      if (!nl) return;
      in_tail_ = false;
      p = nl + 1;
      continue;
    }
    if (linelen_ == 0 && sc_.timestamp) {
      stamp_.put(line_);
      linelen_ = kStampLen;
    }
    std::size_t room = kLineMax - linelen_;
    std::size_t avail = static_cast<std::size_t>(end - p);
    std::size_t scan = std::min(room, avail);
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', scan));
    if (nl) {
      emit({p, static_cast<std::size_t>(nl - p)}, true);
      linelen_ = 0;
      p = nl + 1;
    } else if (scan == room) {
      emit({p, room}, false);
      linelen_ = 0;
      in_tail_ = true;
      p += room;
    } else {
      std::memcpy(line_ + linelen_, p, avail);
      linelen_ += avail;
      p = end;
    }
  }
}

void Multilog::run() {
  char* in = new char[kReadSize];
  bool flagnewline = true;  // the last byte read ended a line
  for (;;) {
    for (LogDir* d : dirs_) d->flush();
    if (g_forcerotate) {
      g_forcerotate = 0;
      for (LogDir* d : dirs_) {
        if (!d->alarm_rotated && d->bytes() > 0) d->rotate();
        d->alarm_rotated = false;
      }
    }
    std::size_t want = kReadSize;
    if (g_exitasap) {
      if (flagnewline) break;
      want = 1;  // finish the line, and read no further
    }
    if (!wait_input(0)) continue;
    ssize_t r = ::read(0, in, want);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    auto n = static_cast<std::size_t>(r);
    flagnewline = in[n - 1] == '\n';
    for (std::size_t off = 0; off < n; off += kSlice) {
      feed(in + off, std::min(kSlice, n - off));
      for (LogDir* d : dirs_) d->end_of_read();
    }
  }
  delete[] in;
  // End of input in the middle of a line: it gets its newline.
  if (in_tail_) {
    for (LogDir* d : dirs_)
      if (d->selected) d->newline();
  } else if (linelen_ > 0) {
    emit({}, true);
  }
}

void Multilog::quit() {
  for (LogDir* d : dirs_) d->quit();
  _exit(0);
}

int multilog_main(int, char** argv) {
  ::umask(022);
  int fdstart = ::open(".", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fdstart == -1) die_sys(kExitTemp, kFatal, "unable to switch to current directory: ");
  signals_init();
  Multilog m(parse_script(argv + 1));
  m.open_files(fdstart);
  m.open_dirs(fdstart);
  m.run();
  m.quit();
}

}  // namespace

extern const AppletInfo applet_multilog = {"file a log into rotated log directories", kUsage,
                                           multilog_main};
