// The qmail queue on disk, exactly as qmail 1.03 lays it out, so that the
// classic programs and qbox read each other's queues:
//
//   pid/      qmail-queue's first file, pid/PID.TIME.SEQ, renamed away at once
//   mess/N/   the messages, named by inode number, N = inode % split
//   intd/     envelopes being written, named by inode
//   todo/     finished envelopes (hard links of intd/), waiting for qmail-send
//   info/N/   the envelope sender ("F" sender NUL) once qmail-send took it
//   local/N/  remote/N/  recipients ("T" addr NUL; "D" once delivered)
//   bounce/   the bounce text qmail-send is collecting for a message
//   lock/     sendmutex, tcpto, and the trigger fifo
//
// The id of a message is the inode number of its mess file. todo and intd
// are not split (qmail 1.03 and notqmail; the big-todo patch is not used).
#pragma once
#include <cstddef>
#include <string_view>
#include <sys/types.h>

#include "base/str.hpp"

namespace qbox::queue {

inline constexpr unsigned kDefaultSplit = 23;  // qmail's conf-split
inline constexpr unsigned kMaxSplit = 10000;

// qmail's fmtqfn: appends dirslash, then "id%split/" when split is not 0,
// then id, to out ("mess/" 12345 23 -> "mess/17/12345").
void fmt_qfn(Str& out, std::string_view dirslash, unsigned long id, unsigned split);

// The split in use: the number in QMAILHOME/control/conf-split when that
// file exists (1..kMaxSplit), else kDefaultSplit. qmail compiles conf-split
// in; qbox reads it at run time so one binary serves any queue. Returns 0
// (and errno) when the file exists but cannot be read or holds no valid
// number, so that no program writes a queue under a wrong split.
unsigned conf_split(const char* home);

// One directory or special file of a queue, with its owner, group and mode
// as qmail's hier.c makes them. Owners are named by account so that the
// caller maps them through qmail::Ids (system or single-uid mode).
enum class Owner { kQmailq, kQmails, kQmailr };
enum class Kind { kDir, kSplitDir, kFile, kFifo };
struct Entry {
  const char* name;   // relative to the queue directory
  Kind kind;
  Owner owner;        // group is always qmail
  mode_t mode;        // of the directory (and its split subdirectories)
  mode_t file_mode;   // of the files kept inside (for queue-fix); 0: none kept
  std::size_t size;   // of a kFile (zero-filled)
};

// In the order they are made ("queue" itself is the queue directory).
inline constexpr Entry kEntries[] = {
    {"", Kind::kDir, Owner::kQmailq, 0750, 0, 0},
    {"pid", Kind::kDir, Owner::kQmailq, 0700, 0, 0},
    {"intd", Kind::kDir, Owner::kQmailq, 0700, 0644, 0},
    {"todo", Kind::kDir, Owner::kQmailq, 0750, 0644, 0},
    {"bounce", Kind::kDir, Owner::kQmails, 0700, 0600, 0},
    {"mess", Kind::kSplitDir, Owner::kQmailq, 0750, 0644, 0},
    {"info", Kind::kSplitDir, Owner::kQmails, 0700, 0600, 0},
    {"local", Kind::kSplitDir, Owner::kQmails, 0700, 0600, 0},
    {"remote", Kind::kSplitDir, Owner::kQmails, 0700, 0600, 0},
    {"lock", Kind::kDir, Owner::kQmailq, 0750, 0, 0},
    {"lock/tcpto", Kind::kFile, Owner::kQmailr, 0644, 0, 1024},
    {"lock/sendmutex", Kind::kFile, Owner::kQmails, 0600, 0, 0},
    {"lock/trigger", Kind::kFifo, Owner::kQmails, 0622, 0, 0},
};

// Wakes qmail-send: writes one byte to lock/trigger (relative to `queue`,
// a queue directory or "" for the current directory) without blocking; no
// reader or a full fifo is not an error, as in qmail's triggerpull.
void trigger_pull(std::string_view queue = "");

}  // namespace qbox::queue
