// Children and signals: waiting with EINTR handled, decoding wait status,
// and installing handlers the way supervisors need them.
#pragma once
#include <sys/types.h>

namespace qbox {

// waitpid with EINTR retried. wait_nohang reaps any child without blocking
// (0 when none is ready).
pid_t wait_pid(pid_t pid, int* status);
pid_t wait_nohang(int* status);

// Decoding a wait status.
bool wait_crashed(int status);   // killed by a signal
int wait_exitcode(int status);   // exit code, when not crashed
int wait_termsig(int status);    // the signal, when crashed

// Signal handling. Handlers are installed with SA_RESTART off so that a
// blocking call is interrupted, and with the signal blocked inside.
void sig_catch(int sig, void (*handler)(int));
void sig_ignore(int sig);
void sig_default(int sig);
void sig_block(int sig);
void sig_unblock(int sig);
void sig_unblock_all();

// A self-pipe for waking a poll() loop from a signal handler: selfpipe_init
// makes it (non-blocking, close-on-exec), selfpipe_notify is safe in a
// handler, selfpipe_drain empties it. -1 from selfpipe_init on failure.
int selfpipe_init();
int selfpipe_fd();
void selfpipe_notify();
void selfpipe_drain();

}  // namespace qbox
