// The rest of a supervise directory, as daemontools 0.76 lays it out
// (paths relative to the service directory, which is the current one):
//   supervise/lock     held with flock(LOCK_EX) while supervise runs;
//   supervise/control  a fifo supervise reads one-letter commands from;
//   supervise/ok       a fifo supervise keeps open for reading, so that a
//                      non-blocking open for writing succeeds exactly when
//                      a supervise is running (ENXIO when none is).
#pragma once
#include <string_view>

namespace qbox::svc {

// The commands svc sends and supervise obeys, in svc's option order.
inline constexpr char kCommands[] = "udopchaitkx";

inline constexpr char kLockPath[] = "supervise/lock";
inline constexpr char kControlPath[] = "supervise/control";
inline constexpr char kOkPath[] = "supervise/ok";

// Opens a fifo for writing without blocking (close-on-exec): fails with
// ENXIO when nobody reads it, i.e. no supervise runs. Used by svc, svok
// and svstat.
int open_fifo_write(const char* path);
// Opens a fifo for reading without blocking (close-on-exec).
int open_fifo_read(const char* path);
// mkfifo with mode 0600; an existing fifo is fine (errors are left to the
// open that follows, as daemontools does).
void make_fifo(const char* path);

// Opens supervise/lock (created 0600) and takes an exclusive flock without
// waiting. The descriptor (close-on-exec), or -1 with errno (EAGAIN when
// another supervise holds it).
int acquire_lock(const char* path);

// Writes `cmds` to DIR/supervise/control in one write, as svc does for one
// directory. 0 on success, -1 and errno otherwise: ENXIO when no supervise
// has the fifo open ("supervise not running"), ENOENT when DIR or the fifo
// does not exist, EAGAIN when the fifo is full.
int send_control(std::string_view dir, std::string_view cmds);

}  // namespace qbox::svc
