// A multilog log directory, kept exactly as daemontools 0.76 keeps it, so
// that the classic multilog and this one can take turns on the same one:
//   current          the file being written: mode 644 while multilog runs,
//                    744 once it stopped cleanly ("complete")
//   @TAI64N.s        a finished file; @TAI64N.u: one that was cut short by a
//                    crash and recovered at the next start
//   previous         current, renamed for the processor (its descriptor 0)
//   processed        the processor's output (1), 744 when it succeeded
//   state, newstate  the processor's state, read on 4 and written on 5
//   lock             flock()ed by the multilog that owns the directory
//
// Output goes through a large buffer, but where 0.76 rotates depends on how
// its 512-byte buffer cut the output into write()s: once current holds
// SIZE-2000 bytes, 0.76 rotates at the end of a write that ends a line. So
// this class replays that buffer's arithmetic (no copying, no system calls)
// to rotate at the very same byte, and writes in large blocks. The input
// side must flush (end_of_read) where 0.76 refilled its 1024-byte input
// buffer.
//
// Every failure after start-up is retried after a warning and a 5-second
// pause; nothing is dropped. Beyond 0.76: a SIGALRM that arrives while a
// write to current is failing rotates at once, and so does a write that
// fails with EFBIG (the file size limit of `softlimit -f`), so that logging
// goes on in a fresh current instead of waiting forever.
#pragma once
#include <csignal>
#include <cstddef>
#include <initializer_list>
#include <string_view>

#include "log/script.hpp"

namespace qbox::log {

// ---- signals -------------------------------------------------------------
// multilog keeps SIGTERM and SIGALRM blocked except while it waits for
// input; they are recorded here, by their handlers or by the pauses.
extern volatile sig_atomic_t g_exitasap;    // TERM: finish the line, exit
extern volatile sig_atomic_t g_forcerotate; // ALRM: rotate every directory

// Blocks TERM and ALRM and catches them; ignores SIGXFSZ so that writes
// past a file size limit fail with EFBIG instead of killing the process.
void signals_init();
// Waits until fd is readable, with TERM and ALRM let in meanwhile; false
// when a signal came first.
bool wait_input(int fd);
// Sleeps 5 seconds (0.76's deepsleep). TERM and ALRM arriving meanwhile are
// recorded; with wake_on_alarm an ALRM ends the pause early (true).
bool deep_sleep(bool wake_on_alarm);
// "multilog: warning: PARTS" + errno's text, then deep_sleep.
bool pause_sys(std::initializer_list<std::string_view> parts, bool wake_on_alarm = false);

// ---- log directories -----------------------------------------------------
class LogDir {
 public:
  explicit LogDir(const DirSpec& spec);
  ~LogDir();
  LogDir(const LogDir&) = delete;
  LogDir& operator=(const LogDir&) = delete;

  // 0.76's restart(): makes and locks the directory relative to fdstart,
  // continues a complete current, or recovers what a crash left. Dies with
  // 0.76's messages (exit 111) when it cannot.
  void start(int fdstart);

  // One line head (a then b, at most 1000 bytes) as 0.76's buffer_put, and
  // its newline when `newline`. tail(): bytes past the first 1000, each as
  // buffer_PUTC; newline(): the final newline of such a line.
  void line(std::string_view a, std::string_view b, bool newline);
  void tail(std::string_view s);
  void newline();
  // Where 0.76 flushed its buffer before reading (buffer_flush).
  void end_of_read();
  // Writes everything end_of_read() made final to current.
  void flush();
  // 0.76's fullcurrent(): current becomes an archive (through the
  // processor, if any) and a new current is started.
  void rotate();
  // The size of current, as 0.76 counts it (what is flushed or final).
  unsigned long bytes() const { return bytes_; }
  // At exit: flush, fsync, and mark current complete (mode 744).
  void quit();

  const char* dir() const { return dir_; }
  bool selected = true;
  bool alarm_rotated = false;  // rotated by an ALRM during a failing write

 private:
  static constexpr std::size_t kBuf = 512;  // 0.76's buffer, replayed
  void put(std::size_t n);
  void putc_run(std::size_t n);
  void vflush();
  void c_write(std::size_t n);
  void ensure(std::size_t n);
  void append(std::string_view s);
  void fullcurrent();
  void run_processor();
  [[noreturn]] void start_processor();
  void finish(const char* file, char code);
  int filesfit();

  const char* dir_;
  unsigned long size_, num_;
  const char* processor_;
  int fddir_ = -1, fdlock_ = -1, cur_ = -1;
  unsigned long bytes_ = 0;

  // buf_[head_, clen_): final bytes not written yet; [clen_, clen_ + vp_):
  // what 0.76 would still hold in its buffer; after that, bytes appended
  // for the operation being replayed.
  char* buf_;
  std::size_t cap_;
  std::size_t len_ = 0, head_ = 0, clen_ = 0, vp_ = 0;
};

}  // namespace qbox::log
