// Running programs the way daemontools' pathexec does: a name with a slash
// is executed as it is, any other is searched in $PATH (default
// "/bin:/usr/bin"), and the environment is environ with env::set() changes.
#pragma once
#include <spawn.h>
#include <sys/types.h>

#include "base/str.hpp"

namespace qbox {

// Only returns on failure, with errno: the first error that was not
// "not found" (access denied, not executable...), else ENOENT.
void pathexec(char* const* argv);
void pathexec_env(const char* file, char* const* argv, char* const* envp);

// pathexec in a new process started with posix_spawn (vfork semantics:
// cheap for the caller, and an exec failure is reported here): the same
// search and environment, `actions` (may be null) applied in the child.
// 0 with *pid set, or the errno value pathexec would have left.
int pathspawn(pid_t* pid, char* const* argv, const posix_spawn_file_actions_t* actions);

// The search split in two, for a server that runs the same program many
// times from a vfork()ed child, which must not allocate: exec_paths lists
// the names pathexec tries for `file` (each followed by a NUL), as $PATH
// is now; exec_listed tries them in order and, like pathexec, returns
// only on failure, with errno.
void exec_paths(const char* file, Str& out);
void exec_listed(const Str& paths, char* const* argv, char* const* envp);
// exec_listed with raw system calls, for a child on its parent's memory
// (src/proc/clone_exec.hpp): returns the errno value, leaves errno alone.
int exec_listed_raw(const Str& paths, char* const* argv, char* const* envp);

}  // namespace qbox
