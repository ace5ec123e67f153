#include "net/ident.hpp"

#include <cerrno>
#include <climits>
#include <poll.h>
#include <unistd.h>

#include "base/fd.hpp"
#include "base/num.hpp"
#include "time/tai.hpp"

namespace qbox::net {
namespace {

// Waits for fd until the deadline: false with ETIMEDOUT when it passes.
bool wait_until(int fd, short events, long long deadline) {
  for (;;) {
    long long left = deadline - monotonic_ms();
    if (left <= 0) {
      errno = ETIMEDOUT;
      return false;
    }
    pollfd p = {fd, events, 0};
    int r = ::poll(&p, 1, left > INT_MAX ? INT_MAX : static_cast<int>(left));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

int ask(Str& out, int s, const Endpoint& remote, const Endpoint& local, long long deadline,
        uint16_t ident_port) {
  Endpoint from = local;
  from.port = 0;
  if (bind(s, from) != 0) return -1;
  Endpoint to = remote;
  to.port = ident_port;
  long long left = deadline - monotonic_ms();
  if (connect_timeout(s, to, left <= 0 ? 0 : left > INT_MAX ? INT_MAX : static_cast<int>(left)) != 0)
    return -1;

  char num[kNumDigits];
  Str q;
  q.append(fmt_num(num, remote.port));
  q.append(" , ");
  q.append(fmt_num(num, local.port));
  q.append("\r\n");
  std::string_view rest = q.view();
  while (!rest.empty()) {
    if (!wait_until(s, POLLOUT, deadline)) return -1;
    ssize_t w = ::write(s, rest.data(), rest.size());
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -1;
    }
    rest.remove_prefix(static_cast<std::size_t>(w));
  }

  char buf[128];
  int colons = 0;
  for (;;) {
    if (!wait_until(s, POLLIN, deadline)) return -1;
    ssize_t r = ::read(s, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -1;
    }
    if (r == 0) {
      errno = ECONNRESET;  // closed before the end of the line
      return -1;
    }
    for (ssize_t i = 0; i < r; ++i) {
      char c = buf[i];
      if (c == ' ' || c == '\t' || c == '\r') continue;
      if (c == '\n') return 0;
      if (colons < 3) {
        if (c == ':') ++colons;
      } else {
        out.push(c);
        if (out.size() > 256) return 0;
      }
    }
  }
}

}  // namespace

int remote_info(Str& out, const Endpoint& remote, const Endpoint& local, unsigned long timeout_s,
                uint16_t ident_port) {
  out.clear();
  long long deadline = monotonic_ms();
  deadline += timeout_s > 86400UL * 365 ? 86400LL * 365 * 1000 : static_cast<long long>(timeout_s) * 1000;
  Fd s(tcp_socket_family(!remote.is_v4()));
  if (!s) return -1;
  return ask(out, s.get(), remote, local, deadline, ident_port);
}

}  // namespace qbox::net
