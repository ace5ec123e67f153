#include "proc/exec.hpp"

#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "base/env.hpp"
#include "base/str.hpp"

namespace qbox {

void pathexec_env(const char* file, char* const* argv, char* const* envp) {
  if (std::strchr(file, '/')) {
    ::execve(file, argv, envp);
    return;
  }
  const char* path = env::get("PATH");
  if (!path) path = "/bin:/usr/bin";
  int saved = 0;
  Str tmp;
  for (;;) {
    const char* colon = std::strchr(path, ':');
    std::size_t split = colon ? static_cast<std::size_t>(colon - path) : std::strlen(path);
    tmp.clear();
    if (split) tmp.append(path, split);
    else tmp.push('.');  // an empty element means the current directory
    tmp.push('/');
    tmp.append(file);
    ::execve(tmp.c_str(), argv, envp);
    if (errno != ENOENT) {
      saved = errno;
      if (errno != EACCES && errno != EPERM && errno != EISDIR) return;
    }
    if (!path[split]) {
      if (saved) errno = saved;
      return;
    }
    path += split + 1;
  }
}

void pathexec(char* const* argv) { pathexec_env(argv[0], argv, env::build()); }

}  // namespace qbox
