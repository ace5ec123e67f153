// Maildirs (cr.yp.to/proto/maildir.html) as qmail uses them: a message is
// written under tmp/ with a unique name, synced, linked into new/ and its
// tmp/ name removed, so that new/ only ever holds complete messages. Readers
// (maildir2mbox, a POP3 server) scan new/ and cur/ in order of arrival and
// clean tmp/ of files left behind for more than 36 hours.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/str.hpp"

namespace qbox::maildir {

// The parts of a unique name "SEC.MusecPpidQseq.HOST": the time in seconds
// and microseconds, the process id and the number of this delivery within
// the process (1, 2, ...), as the maildir specification lists them. Two
// deliveries on one host never share a name: one process numbers its own,
// and a process id is only reused after its owner is gone.
struct NameParts {
  std::int64_t sec = 0;
  std::uint32_t usec = 0;
  std::uint64_t pid = 0;
  std::uint64_t seq = 0;
};
// Appends the host name with '/' written as "\057" and ':' as "\072", so a
// name never holds a path separator or the ":2," of the info part. At most
// kMaxHost bytes of the host are used.
inline constexpr std::size_t kMaxHost = 64;
void append_safe_host(Str& out, std::string_view host);
void append_unique_name(Str& out, const NameParts& parts, std::string_view host);
// A fresh name for this process: the clock, getpid(), the next sequence
// number and gethostname().
void next_unique_name(Str& out);

// What went wrong with a delivery (qmail-local reports each differently).
enum class Failure {
  kNone = 0,
  kNoDir,  // the maildir cannot be opened for a reason that will not pass
  kTemp,   // anything else that failed while writing: retry later
  kRead,   // reading the message failed
};

struct Delivery {
  Failure failure = Failure::kNone;
  int err = 0;  // errno of the failed step
  Str name;     // the file's name in new/ once delivered
};

// Delivers into the maildir `dir`: `prefix` (header lines to add), then the
// bytes of msg_fd from its current offset to its end. The file is created
// exclusively in tmp/, written, fsynced and closed, linked into new/, its
// tmp/ name removed, and new/ itself fsynced so the link is on disk before
// success is reported. On any failure the tmp/ file is removed and nothing
// appears in new/. Returns true when delivered.
bool deliver(const char* dir, std::string_view prefix, int msg_fd, Delivery& d);

// A message found by scan(): its path relative to the maildir ("new/NAME"
// or "cur/NAME") and its modification time.
struct Message {
  Str path;
  std::int64_t mtime = 0;
};
struct ScanError {
  const char* subdir = "";  // "new" or "cur"
  bool opening = false;     // opendir failed (else readdir)
  int err = 0;
};
// Lists the messages of new/ (when `want_new`) and cur/ (when `want_cur`)
// of the maildir in the current directory, oldest first (ties by path),
// leaving out names starting with '.' and files modified at `now` or later,
// so that a message arriving during the scan cannot come before an older
// one. Files that vanish meanwhile are skipped.
// 0, or -1 with `error` filled in.
int scan(std::vector<Message>& out, bool want_new, bool want_cur, std::int64_t now,
         ScanError& error);
// Removes files from tmp/ whose last access is more than 36 hours before
// `now` (those of deliveries that died). Errors are ignored.
void clean_tmp(std::int64_t now);
inline constexpr std::int64_t kTmpLifetime = 129600;

}  // namespace qbox::maildir
