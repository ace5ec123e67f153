#include "svc/status.hpp"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

#include "base/fd.hpp"

namespace qbox::svc {

void encode_status(const Status& s, char out[kStatusLen]) {
  s.when.pack(out);
  std::uint32_t p = s.pid;
  for (int i = 12; i < 16; ++i) {
    out[i] = static_cast<char>(p & 255);
    p >>= 8;
  }
  out[16] = static_cast<char>(s.paused);
  out[17] = static_cast<char>(s.want);
}

std::optional<Status> decode_status(std::string_view b) {
  if (b.size() < kStatusLen) return std::nullopt;
  Status s;
  s.when = Tai64n::unpack(b.data());
  for (int i = 15; i >= 12; --i) s.pid = (s.pid << 8) | static_cast<unsigned char>(b[static_cast<std::size_t>(i)]);
  s.paused = static_cast<unsigned char>(b[16]);
  s.want = static_cast<unsigned char>(b[17]);
  return s;
}

WriteStep write_status(const Status& s) {
  char buf[kStatusLen];
  encode_status(s, buf);
  int fd = ::open("supervise/status.new", O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) return WriteStep::kOpen;
  ssize_t w = ::write(fd, buf, sizeof buf);
  int e = errno;
  ::close(fd);
  errno = e;
  if (w < 0) return WriteStep::kWrite;
  if (static_cast<std::size_t>(w) < sizeof buf) return WriteStep::kPartial;
  if (::rename("supervise/status.new", "supervise/status") != 0) return WriteStep::kRename;
  return WriteStep::kDone;
}

ReadResult read_status(Status& out) {
  int fd = ::open("supervise/status", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return ReadResult::kOpenFailed;
  char buf[kStatusLen];
  ssize_t r;
  do r = ::read(fd, buf, sizeof buf);
  while (r < 0 && errno == EINTR);
  int e = errno;
  ::close(fd);
  errno = e;
  if (r < 0) return ReadResult::kReadFailed;
  auto s = decode_status(std::string_view(buf, static_cast<std::size_t>(r)));
  if (!s) return ReadResult::kShort;
  out = *s;
  return ReadResult::kOk;
}

void describe_status(Str& out, const Status& s, std::uint64_t now_tai, bool normally_up) {
  std::uint64_t when = s.when.sec;
  if (now_tai < when) when = now_tai;
  // svstat goes through a double (tai_approx) on the way to the number.
  unsigned long secs = static_cast<unsigned long>(static_cast<double>(now_tai - when));
  if (s.pid) {
    out.append("up (pid ");
    out.append_num(s.pid);
    out.append(") ");
  } else {
    out.append("down ");
  }
  out.append_num(secs);
  out.append(" seconds");
  if (s.pid && !normally_up) out.append(", normally down");
  if (!s.pid && normally_up) out.append(", normally up");
  if (s.pid && s.paused) out.append(", paused");
  if (!s.pid && s.want == 'u') out.append(", want up");
  if (s.pid && s.want == 'd') out.append(", want down");
}

}  // namespace qbox::svc
