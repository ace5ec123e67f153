// Running programs the way daemontools' pathexec does: a name with a slash
// is executed as it is, any other is searched in $PATH (default
// "/bin:/usr/bin"), and the environment is environ with env::set() changes.
#pragma once

namespace qbox {

// Only returns on failure, with errno: the first error that was not
// "not found" (access denied, not executable...), else ENOENT.
void pathexec(char* const* argv);
void pathexec_env(const char* file, char* const* argv, char* const* envp);

}  // namespace qbox
