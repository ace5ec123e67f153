#include "proc/exec.hpp"

#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "base/env.hpp"
#include "base/str.hpp"

namespace qbox {

namespace {

// Tries attempt(path) for `file` as daemontools' pathexec_run does: as it
// is when it has a slash, else in each element of $PATH (default
// "/bin:/usr/bin"; an empty element is the current directory), going on
// after "not found" and after access errors. attempt returns 0 for
// success or an errno value. Returns 0, or the errno pathexec leaves: the
// first error that was not "not found" (access denied...), else ENOENT.
template <class F>
int path_search(const char* file, F attempt) {
  if (std::strchr(file, '/')) return attempt(file);
  const char* path = env::get("PATH");
  if (!path) path = "/bin:/usr/bin";
  int saved = 0;
  Str tmp;
  for (;;) {
    const char* colon = std::strchr(path, ':');
    std::size_t split = colon ? static_cast<std::size_t>(colon - path) : std::strlen(path);
    tmp.clear();
    if (split) tmp.append(path, split);
    else tmp.push('.');
    tmp.push('/');
    tmp.append(file);
    int e = attempt(tmp.c_str());
    if (e == 0) return 0;
    if (e != ENOENT) {
      saved = e;
      if (e != EACCES && e != EPERM && e != EISDIR) return e;
    }
    if (!path[split]) return saved ? saved : e;
    path += split + 1;
  }
}

}  // namespace

void pathexec_env(const char* file, char* const* argv, char* const* envp) {
  errno = path_search(file, [&](const char* p) {
    ::execve(p, argv, envp);
    return errno;
  });
}

void pathexec(char* const* argv) { pathexec_env(argv[0], argv, env::build()); }

int pathspawn(pid_t* pid, char* const* argv, const posix_spawn_file_actions_t* actions) {
  char** envp = env::build();
  return path_search(argv[0], [&](const char* p) {
    return ::posix_spawn(pid, p, actions, nullptr, argv, envp);
  });
}

}  // namespace qbox
