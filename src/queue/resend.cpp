#include "queue/resend.hpp"

#include <cerrno>
#include <unistd.h>

#include "base/die.hpp"
#include "queue/submit.hpp"

namespace qbox::queue {

int put_fd(Submit& qq, int fd) {
  char buf[65536];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return 0;
    qq.put(std::string_view(buf, static_cast<std::size_t>(r)));
  }
}

long resend(const char* fatal, const char* dtline, const char* sender,
            char* const* recipients) {
  Submit qq;
  if (qq.open() != 0) die_sys(kExitTemp, fatal, "unable to fork: ");
  qq.put(dtline);
  if (put_fd(qq, 0) != 0) die_sys(kExitTemp, fatal, "unable to read message: ");
  long qp = qq.pid();
  qq.from(sender);
  for (; *recipients; ++recipients) qq.to(*recipients);
  std::string_view x = qq.close();
  if (!x.empty()) die(x[0] == 'D' ? kExitPerm : kExitTemp, fatal, x.substr(1));
  return qp;
}

}  // namespace qbox::queue
