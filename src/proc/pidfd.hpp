// Watching a process that is not our child: pidfd_open(2) gives a
// descriptor that poll() reports readable once the process has exited, and
// /proc tells when a process started, which guards a remembered pid against
// reuse. supervise uses both to pick up a service that outlived an earlier
// supervise.
#pragma once
#include <cstdint>
#include <optional>
#include <sys/types.h>

namespace qbox {

// -1 and errno on failure (ENOSYS before Linux 5.3, ESRCH for no such process).
int pidfd_open(pid_t pid);
// Sends sig to the process behind a pidfd (never to a reused pid).
int pidfd_signal(int pidfd, int sig);

// When process pid started, in Unix seconds, read from /proc/PID/stat;
// nullopt when there is no such process, it is a zombie, or /proc cannot
// tell.
std::optional<std::int64_t> process_start_time(pid_t pid);

}  // namespace qbox
