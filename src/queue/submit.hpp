// Submitting a message to the queue the way qmail's qmail.c does it
// (qmail_open, qmail_put, qmail_from, qmail_to, qmail_close): run
// $QMAILQUEUE (or QMAILHOME/bin/qmail-queue), write the message to its
// descriptor 0 and the envelope to its descriptor 1, and turn its exit code
// into qmail's error text.
//
// With notqmail's extension, the program also gets descriptor 6, a pipe
// back to us: a filter that refuses a message may write "D" (permanent) or
// "Z" (temporary) and its own text there and exit 82; close() then returns
// that text.
//
// The child runs in QMAILHOME (a relative $QMAILQUEUE is found there, as in
// qmail). $QMAILQUEUE is ignored when running setuid. Writing to a child
// that died does not kill the caller: SIGPIPE is ignored from open() on.
#pragma once
#include <cstddef>
#include <string_view>
#include <sys/types.h>

#include "base/str.hpp"
#include "io/buffer.hpp"

namespace qbox::queue {

// qmail.c's text for a qmail-queue exit code (without the custom error):
// "" for 0, else "D..." (permanent) or "Z..." (temporary), e.g.
// "Zqq write error or disk full (#4.3.0)".
const char* qq_error_text(int exitcode);

// Checks and trims the text a filter wrote to descriptor 6: the first line,
// at most kMaxCustomError bytes, starting with D or Z and saying something.
// Empty when it is not usable.
inline constexpr std::size_t kMaxCustomError = 1000;
std::string_view custom_error(std::string_view raw);

class Submit {
 public:
  Submit() = default;
  Submit(const Submit&) = delete;
  Submit& operator=(const Submit&) = delete;
  ~Submit();

  // Starts the queue program. 0 ok; -1 and errno (pipe or fork failed).
  // `program` replaces $QMAILQUEUE and the default when not null.
  int open(const char* program = nullptr);
  // The child's pid (qmail_qp), e.g. for "qp 1234" in log lines.
  pid_t pid() const { return pid_; }

  // The message, in pieces. Errors are remembered and reported by close().
  void put(std::string_view s);
  // Marks the submission failed (qmail_fail): close() will not report success.
  void fail() { flagerr_ = true; }
  // Ends the message and starts the envelope with the sender.
  void from(std::string_view sender);
  // One recipient.
  void to(std::string_view recipient);
  // Ends the envelope, waits for the child and returns its verdict: "" when
  // the message is queued, else "D..." or "Z..." (see qq_error_text). The
  // text stays valid until the object is destroyed.
  std::string_view close();

 private:
  void put_raw(std::string_view s);
  pid_t pid_ = -1;
  int fdm_ = -1;  // message
  int fde_ = -1;  // envelope
  int fdc_ = -1;  // custom error (descriptor 6 of the child)
  bool flagerr_ = false;
  char buf_[4096];
  Writer out_{-1, buf_};
  Str custom_;
};

}  // namespace qbox::queue
