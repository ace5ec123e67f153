// Running programs the way daemontools' pathexec does: a name with a slash
// is executed as it is, any other is searched in $PATH (default
// "/bin:/usr/bin"), and the environment is environ with env::set() changes.
#pragma once
#include <spawn.h>
#include <sys/types.h>

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

}  // namespace qbox
