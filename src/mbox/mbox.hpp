// mbox files as qmail writes them (mbox(5), qmail-local, maildir2mbox): each
// message starts with a "From SENDER DATE" line and ends with a blank line;
// a message line that starts with "From ", after any number of '>', gets
// one more '>' in front ("From " -> ">From ", ">From " -> ">>From "), so
// the quoting can be undone. Delivery appends under an exclusive flock and
// cuts the file back to its old length when anything goes wrong.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/str.hpp"
#include "io/buffer.hpp"

namespace qbox::mbox {

// qmail's gfrom: whether a whole line (or its start: five bytes after the
// '>'s are enough) must be quoted.
bool needs_quote(std::string_view line);

// The quoting as a stream: any chunks in, the quoted bytes out, holding no
// more than a count of '>' and five bytes whatever the line lengths.
class FromQuoter {
 public:
  // 0, or -1 when the writer failed (errno).
  int put(Writer& out, std::string_view chunk);
  // Ends the message: a last line without LF gets one. Then the caller
  // writes the blank line. 0 or -1 as put().
  int finish(Writer& out);

 private:
  int flush_pending(Writer& out);
  enum class State { kLineStart, kFrom, kRest };
  State state_ = State::kLineStart;
  std::uint64_t gts_ = 0;  // '>' seen at the start of this line
  unsigned from_ = 0;      // bytes of "From " matched after them
};

// The "From " line of an mbox message, as qmail-local's UFLINE: the sender
// with spaces, tabs and LFs turned into '-' ("MAILER-DAEMON" when empty),
// a space, and the date as qmail's myctime writes it in UTC,
// "Mon Jan 02 15:04:05 2006" (the day with a zero, not a space), and LF.
void append_from_line(Str& out, std::string_view sender, std::int64_t unix_sec);
// Just the date part, with its LF.
void append_ctime(Str& out, std::int64_t unix_sec);

enum class Failure {
  kNone = 0,
  kOpen,      // the file cannot be opened (err)
  kSlowLock,  // the lock was held by someone else for lock_timeout seconds
  kRead,      // reading the message failed (err)
  kWrite,     // writing or syncing failed (err)
};

struct Delivery {
  Failure failure = Failure::kNone;
  int err = 0;
  bool locked = false;  // flock worked (else the file was written unlocked)
};

inline constexpr unsigned kLockTimeout = 30;  // seconds, as qmail-local

// Appends to the mbox `path` (created with mode 0600 if missing): `prefix`
// unquoted (the From line and added header lines), then the bytes of
// msg_fd from its current offset to its end, quoted, then a blank line;
// fsyncs. Waits up to lock_timeout seconds for the flock (SIGALRM is used
// meanwhile). When writing fails after the lock was taken, the file is cut
// back to its length before. Returns true when delivered.
bool deliver(const char* path, std::string_view prefix, int msg_fd, unsigned lock_timeout,
             Delivery& d);

}  // namespace qbox::mbox
