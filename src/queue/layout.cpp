#include "queue/layout.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include "base/num.hpp"
#include "qmail/control.hpp"

namespace qbox::queue {

void fmt_qfn(Str& out, std::string_view dirslash, unsigned long id, unsigned split) {
  char d[kNumDigits];
  out.append(dirslash);
  if (split) {
    out.append(fmt_num(d, id % split));
    out.push('/');
  }
  out.append(fmt_num(d, id));
}

unsigned conf_split(const char* home) {
  Str fn(home);
  fn.append("/control/conf-split");
  unsigned long v = 0;
  int r = qmail::Control::readint(v, fn.c_str(), kMaxSplit);
  if (r == 0) {
    // Missing: the default. Present without a number: refuse.
    if (::access(fn.c_str(), F_OK) != 0 && errno == ENOENT) return kDefaultSplit;
    errno = EINVAL;
    return 0;
  }
  if (r < 0) return 0;
  if (v == 0) {
    errno = EINVAL;
    return 0;
  }
  return static_cast<unsigned>(v);
}

void trigger_pull(std::string_view queue) {
  Str fn(queue);
  if (!fn.empty() && fn.back() != '/') fn.push('/');
  fn.append("lock/trigger");
  int fd = ::openat(AT_FDCWD, fn.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t w = ::write(fd, "", 1);  // if it fails, qmail-send runs its todo later anyway
  (void)w;
  ::close(fd);
}

}  // namespace qbox::queue
