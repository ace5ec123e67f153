#include "proc/exec.hpp"

#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "base/env.hpp"
#include "proc/rawsys.hpp"

namespace qbox {

namespace {

// Tries attempt(path) for each name exec_paths listed, as daemontools'
// pathexec_run does: going on after "not found" and after access errors.
// attempt returns 0 for success or an errno value. Returns 0, or the errno
// pathexec leaves: the first error that was not "not found" (access
// denied...), else ENOENT.
template <class F>
int try_paths(const Str& paths, F attempt) {
  int saved = 0, e = ENOENT;
  const char* p = paths.data();
  const char* end = p + paths.size();
  for (; p < end; p += std::strlen(p) + 1) {
    e = attempt(p);
    if (e == 0) return 0;
    if (e != ENOENT) {
      saved = e;
      if (e != EACCES && e != EPERM && e != EISDIR) return e;
    }
  }
  return saved ? saved : e;
}

}  // namespace

// As it is when it has a slash, else in each element of $PATH (an empty
// element is the current directory).
void exec_paths(const char* file, Str& out) {
  out.clear();
  if (std::strchr(file, '/')) {
    out.append(file);
    out.push('\0');
    return;
  }
  const char* path = env::get("PATH");
  if (!path) path = "/bin:/usr/bin";
  for (;;) {
    const char* colon = std::strchr(path, ':');
    std::size_t split = colon ? static_cast<std::size_t>(colon - path) : std::strlen(path);
    if (split) out.append(path, split);
    else out.push('.');
    out.push('/');
    out.append(file);
    out.push('\0');
    if (!path[split]) return;
    path += split + 1;
  }
}

void exec_listed(const Str& paths, char* const* argv, char* const* envp) {
  errno = try_paths(paths, [&](const char* p) {
    ::execve(p, argv, envp);
    return errno;
  });
}

int exec_listed_raw(const Str& paths, char* const* argv, char* const* envp) {
  return try_paths(paths, [&](const char* p) {
    return static_cast<int>(-raw::call(SYS_execve, p, argv, envp));
  });
}

void pathexec_env(const char* file, char* const* argv, char* const* envp) {
  Str paths;
  exec_paths(file, paths);
  exec_listed(paths, argv, envp);
}

void pathexec(char* const* argv) { pathexec_env(argv[0], argv, env::build()); }

int pathspawn(pid_t* pid, char* const* argv, const posix_spawn_file_actions_t* actions) {
  char** envp = env::build();
  Str paths;
  exec_paths(argv[0], paths);
  return try_paths(paths, [&](const char* p) {
    return ::posix_spawn(pid, p, actions, nullptr, argv, envp);
  });
}

}  // namespace qbox
