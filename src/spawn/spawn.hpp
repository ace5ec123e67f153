// The loop qmail-lspawn and qmail-rspawn share (qmail's spawn.c protocol):
//
// On start the spawner writes one byte to descriptor 1: its concurrency
// limit (kSpawnMax). Then qmail-send writes requests to descriptor 0, each
//   delnum (one byte) messid NUL sender NUL recipient NUL
// where messid names the message relative to QMAILHOME/queue/mess
// ("17/12345"). For every request the spawner answers, once the delivery is
// over, with
//   delnum (one byte) report NUL
// where the report starts with K (success), Z (deferral) or D (failure).
// The delivery program writes on a pipe; the parent keeps the pipe's write
// end until the child is reaped, so end of file means the child is gone.
// The spawner exits when descriptor 0 closes and no delivery is running.
#pragma once
#include <string_view>
#include <sys/types.h>

#include "base/str.hpp"

namespace qbox::spawn {

inline constexpr unsigned kSpawnMax = 120;      // qmail's conf-spawn
inline constexpr std::size_t kTruncReport = 3000;  // qmail's truncreport
// The longest sender or recipient a request may carry: a queue record, and
// as much again for a VERP sender holding the recipient. A longer one is
// refused (D) and not kept.
inline constexpr std::size_t kMaxField = 2 * 65536 + 16;

struct Hooks {
  // Forks the delivery of message fdmess from sender to recipient (at: the
  // position of its last '@') with its output on fdout; returns the pid,
  // or -1 (errno) when fork failed.
  pid_t (*spawn)(int fdmess, int fdout, const char* sender, char* recipient,
                 std::size_t at);
  // Appends the report for a child's wait status and output (no final NUL).
  void (*report)(Str& out, int wstat, std::string_view output);
};

// Runs in QMAILHOME/queue/mess with messages owned by qmailq (uid
// `owner`). Never returns: exits 0 when done, 111 when it cannot start.
[[noreturn]] void run(const Hooks& hooks, uid_t owner);

// Truncates a child's collected output as spawn.c does past kTruncReport.
void truncate_output(Str& output);

}  // namespace qbox::spawn
