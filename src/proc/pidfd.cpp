#include "proc/pidfd.hpp"

#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <string_view>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/num.hpp"

namespace qbox {

int pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

int pidfd_signal(int pidfd, int sig) {
#ifdef SYS_pidfd_send_signal
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
#else
  (void)pidfd;
  (void)sig;
  errno = ENOSYS;
  return -1;
#endif
}

std::optional<std::int64_t> process_start_time(pid_t pid) {
  char path[48] = "/proc/";
  char num[kNumDigits];
  std::string_view n = fmt_num(num, static_cast<unsigned long long>(pid));
  std::size_t len = 6;
  for (char c : n) path[len++] = c;
  for (char c : std::string_view("/stat")) path[len++] = c;
  path[len] = 0;

  // The fields up to STARTTIME fit in 512 bytes (COMM is at most 16
  // bytes, numbers at most 20 digits); a small buffer keeps supervise's
  // stack small.
  char buf[512];
  int fd;
  do fd = ::open(path, O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return std::nullopt;
  ssize_t r;
  do r = ::read(fd, buf, sizeof buf);
  while (r < 0 && errno == EINTR);
  ::close(fd);
  if (r <= 0) return std::nullopt;
  std::string_view s(buf, static_cast<std::size_t>(r));
  // "PID (COMM) STATE PPID ... STARTTIME ...": COMM may hold anything, so
  // fields are counted after the last ')'. STATE is field 3, STARTTIME 22.
  std::size_t close = s.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  s.remove_prefix(close + 1);
  int field = 2;
  std::string_view starttime;
  while (!s.empty()) {
    while (!s.empty() && s[0] == ' ') s.remove_prefix(1);
    std::size_t end = s.find(' ');
    std::string_view f = s.substr(0, end);
    ++field;
    if (field == 3 && (f == "Z" || f == "X" || f == "x")) return std::nullopt;
    if (field == 22) {
      if (end == std::string_view::npos) return std::nullopt;  // cut short
      starttime = f;
      break;
    }
    if (end == std::string_view::npos) break;
    s.remove_prefix(end);
  }
  auto ticks = parse_num(starttime);
  if (!ticks) return std::nullopt;
  long hz = ::sysconf(_SC_CLK_TCK);
  if (hz <= 0) return std::nullopt;
  // STARTTIME counts from boot; the wall clock of boot is now minus the time since boot.
  timespec real, boot;
  if (::clock_gettime(CLOCK_REALTIME, &real) != 0 || ::clock_gettime(CLOCK_BOOTTIME, &boot) != 0)
    return std::nullopt;
  std::int64_t since_boot = static_cast<std::int64_t>(*ticks / static_cast<unsigned long long>(hz));
  return static_cast<std::int64_t>(real.tv_sec) - static_cast<std::int64_t>(boot.tv_sec) + since_boot;
}

}  // namespace qbox
