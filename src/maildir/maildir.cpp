#include "maildir/maildir.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/die.hpp"
#include "base/fd.hpp"

namespace qbox::maildir {

void append_safe_host(Str& out, std::string_view host) {
  if (host.size() > kMaxHost) host = host.substr(0, kMaxHost);
  for (char c : host) {
    if (c == '/') out.append("\\057");
    else if (c == ':') out.append("\\072");
    else out.push(c);
  }
}

void append_unique_name(Str& out, const NameParts& p, std::string_view host) {
  out.append_num(static_cast<unsigned long long>(p.sec < 0 ? 0 : p.sec));
  out.append(".M");
  out.append_num(p.usec);
  out.push('P');
  out.append_num(p.pid);
  out.push('Q');
  out.append_num(p.seq);
  out.push('.');
  append_safe_host(out, host);
}

void next_unique_name(Str& out) {
  static std::uint64_t seq = 0;
  struct timeval tv;
  ::gettimeofday(&tv, nullptr);
  NameParts p;
  p.sec = tv.tv_sec;
  p.usec = static_cast<std::uint32_t>(tv.tv_usec);
  p.pid = static_cast<std::uint64_t>(::getpid());
  p.seq = ++seq;
  char host[kMaxHost + 1] = {};
  if (::gethostname(host, kMaxHost) != 0) host[0] = 0;
  host[kMaxHost] = 0;
  append_unique_name(out, p, std::string_view(host, ::strnlen(host, kMaxHost)));
}

namespace {

// The tmp/ file of one delivery: removed on every path but success.
struct TmpFile {
  int dirfd;
  Str tmp;  // "tmp/NAME"
  bool exists = false;
  ~TmpFile() {
    if (exists) ::unlinkat(dirfd, tmp.c_str(), 0);
  }
};

bool fail(Delivery& d, Failure f, int e) {
  d.failure = f;
  d.err = e;
  return false;
}

// Copies the prefix and the message into fd. 0 ok; -1 read error; -2
// write error (errno either way).
int copy_message(int fd, std::string_view prefix, int msg_fd) {
  char buf[65536];
  std::size_t n = prefix.size() < sizeof buf ? prefix.size() : 0;
  if (!n && write_all(fd, prefix) < 0) return -2;
  if (n) std::memcpy(buf, prefix.data(), n);
  for (;;) {
    ssize_t r = ::read(msg_fd, buf + n, sizeof buf - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    n += static_cast<std::size_t>(r);
    if (r == 0 || n == sizeof buf) {
      if (write_all(fd, std::string_view(buf, n)) < 0) return -2;
      n = 0;
    }
    if (r == 0) return 0;
  }
}

int sync_new(int dirfd) {
  if (fsync_dir(dirfd, "new") == 0) return 0;
  // A new/ we may link into but not read cannot be synced: qmail never
  // synced it either.
  return errno == EACCES ? 0 : -1;
}

}  // namespace

bool deliver(const char* dir, std::string_view prefix, int msg_fd, Delivery& d) {
  d.failure = Failure::kNone;
  d.err = 0;
  d.name.clear();
  // Like qmail's chdir: search permission is enough.
  Fd dirfd(::openat(AT_FDCWD, dir, O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd) return fail(d, error_temp(errno) ? Failure::kTemp : Failure::kNoDir, errno);

  TmpFile tmp{dirfd.get(), {}};
  Fd fd;
  for (int attempt = 0;; ++attempt) {
    d.name.clear();
    next_unique_name(d.name);
    tmp.tmp = "tmp/";
    tmp.tmp.append(d.name);
    fd.reset(::openat(dirfd.get(), tmp.tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd) break;
    // A name in use can only be a leftover: take the next one.
    if (errno != EEXIST || attempt == 2) return fail(d, Failure::kTemp, errno);
  }
  tmp.exists = true;

  int r = copy_message(fd.get(), prefix, msg_fd);
  if (r == -1) return fail(d, Failure::kRead, errno);
  if (r == -2) return fail(d, Failure::kTemp, errno);
  if (::fsync(fd.get()) != 0) return fail(d, Failure::kTemp, errno);
  if (::close(fd.release()) != 0) return fail(d, Failure::kTemp, errno);

  Str fresh("new/");
  fresh.append(d.name);
  if (::linkat(dirfd.get(), tmp.tmp.c_str(), dirfd.get(), fresh.c_str(), 0) != 0)
    return fail(d, Failure::kTemp, errno);
  // Linked: the message is in new/. Removing the tmp/ name may fail
  // (leaving a second name that clean_tmp() removes later); syncing new/
  // may not, or the link could vanish in a crash after we said "done".
  ::unlinkat(dirfd.get(), tmp.tmp.c_str(), 0);
  tmp.exists = false;
  if (sync_new(dirfd.get()) != 0) {
    int e = errno;
    ::unlinkat(dirfd.get(), fresh.c_str(), 0);
    return fail(d, Failure::kTemp, e);
  }
  return true;
}

static int scan_one(std::vector<Message>& out, const char* subdir, std::int64_t now,
                    ScanError& error) {
  DIR* dir = ::opendir(subdir);
  if (!dir) {
    error = {subdir, true, errno};
    return -1;
  }
  Str path;
  for (;;) {
    errno = 0;
    struct dirent* de = ::readdir(dir);
    if (!de) {
      if (errno) {
        error = {subdir, false, errno};
        ::closedir(dir);
        return -1;
      }
      break;
    }
    if (de->d_name[0] == '.') continue;
    path = subdir;
    path.push('/');
    path.append(de->d_name);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) continue;
    if (st.st_mtime >= now) continue;
    out.push_back(Message{static_cast<Str&&>(path), st.st_mtime});
  }
  ::closedir(dir);
  return 0;
}

int scan(std::vector<Message>& out, bool want_new, bool want_cur, std::int64_t now,
         ScanError& error) {
  out.clear();
  if (want_new && scan_one(out, "new", now, error) != 0) return -1;
  if (want_cur && scan_one(out, "cur", now, error) != 0) return -1;
  std::sort(out.begin(), out.end(), [](const Message& a, const Message& b) {
    if (a.mtime != b.mtime) return a.mtime < b.mtime;
    return a.path.view() < b.path.view();
  });
  return 0;
}

void clean_tmp(std::int64_t now) {
  DIR* dir = ::opendir("tmp");
  if (!dir) return;
  Str path;
  while (struct dirent* de = ::readdir(dir)) {
    if (de->d_name[0] == '.') continue;
    path = "tmp/";
    path.append(de->d_name);
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && now > st.st_atime + kTmpLifetime)
      ::unlink(path.c_str());
  }
  ::closedir(dir);
}

}  // namespace qbox::maildir
