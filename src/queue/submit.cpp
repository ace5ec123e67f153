#include "queue/submit.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <unistd.h>

#include "base/applet.hpp"
#include "base/env.hpp"
#include "proc/child.hpp"

namespace qbox::queue {

const char* qq_error_text(int exitcode) {
  switch (exitcode) {
    case 0: return "";
    case 115:  // compatibility
    case 11: return "Denvelope address too long for qq (#5.1.3)";
    case 31: return "Dmail server permanently rejected message (#5.3.0)";
    case 51: return "Zqq out of memory (#4.3.0)";
    case 52: return "Zqq timeout (#4.3.0)";
    case 53: return "Zqq write error or disk full (#4.3.0)";
    case 54: return "Zqq read error (#4.3.0)";
    case 55: return "Zqq unable to read configuration (#4.3.0)";
    case 56: return "Zqq trouble making network connection (#4.3.0)";
    case 61: return "Zqq trouble in home directory (#4.3.0)";
    case 62:
    case 63:
    case 64:
    case 65:
    case 66: return "Zqq trouble creating files in queue (#4.3.0)";
    case 71: return "Zmail server temporarily rejected message (#4.3.0)";
    case 72: return "Zconnection to mail server timed out (#4.4.1)";
    case 73: return "Zconnection to mail server rejected (#4.4.1)";
    case 74: return "Zcommunication with mail server failed (#4.4.2)";
    case 81:
    case 91: return "Zqq internal bug (#4.3.0)";
    case 120: return "Zunable to exec qq (#4.3.0)";
    default:
      if (exitcode >= 11 && exitcode <= 40) return "Dqq permanent problem (#5.3.0)";
      return "Zqq temporary problem (#4.3.0)";
  }
}

std::string_view custom_error(std::string_view raw) {
  std::size_t end = raw.find_first_of(std::string_view("\n\r\0", 3));
  if (end != std::string_view::npos) raw = raw.substr(0, end);
  if (raw.size() > kMaxCustomError) raw = raw.substr(0, kMaxCustomError);
  if (raw.size() < 2 || (raw[0] != 'D' && raw[0] != 'Z')) return {};
  return raw;
}

namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

Submit::~Submit() {
  close_fd(fdm_);
  close_fd(fde_);
  close_fd(fdc_);
  if (pid_ > 0) {
    int status;
    wait_pid(pid_, &status);
  }
}

int Submit::open(const char* program) {
  const char* prog = program;
  if (!prog && !running_setuid()) prog = env::get("QMAILQUEUE");
  if (prog && !*prog) prog = nullptr;
  Str path;
  if (prog) {
    path = std::string_view(prog);
  } else {
    path = std::string_view(qmail_home());
    path.append("/bin/qmail-queue");
  }
  const char* home = qmail_home();

  int pim[2], pie[2], pic[2];
  if (::pipe2(pim, O_CLOEXEC) != 0) return -1;
  if (::pipe2(pie, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(pim[0]), ::close(pim[1]);
    errno = e;
    return -1;
  }
  if (::pipe2(pic, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(pim[0]), ::close(pim[1]), ::close(pie[0]), ::close(pie[1]);
    errno = e;
    return -1;
  }
  // The child's ends out of the way of 0, 1 and 6 (a pipe may have got any
  // of those numbers), so that the child only has to dup2 them into place.
  int child_fd[3] = {pim[0], pie[0], pic[1]};
  for (int& fd : child_fd) {
    int moved = fd < 10 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 10) : fd;
    if (moved < 0) {
      int e = errno;
      for (int f : {child_fd[0], child_fd[1], child_fd[2], pim[1], pie[1], pic[0]}) ::close(f);
      errno = e;
      return -1;
    }
    if (moved != fd) ::close(fd);
    fd = moved;
  }
  pim[0] = child_fd[0], pie[0] = child_fd[1], pic[1] = child_fd[2];
  sig_ignore(SIGPIPE);
  char** envp = env::build();
  char* argv[] = {path.data(), nullptr};
  // vfork, as qmail does: no copy of the page tables, and the parent waits
  // only until the exec. The child runs on the parent's memory: it makes
  // system calls and nothing else, with every signal blocked until the
  // exec so that no handler of the parent runs in it.
  sigset_t all, saved;
  ::sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, &saved);
  pid_t pid = ::vfork();
  if (pid == 0) {
    // dup2 leaves the copies open across exec.
    if (::dup2(pim[0], 0) != 0 || ::dup2(pie[0], 1) != 1 || ::dup2(pic[1], 6) != 6) ::_exit(120);
    if (::chdir(home) != 0) ::_exit(61);
    sig_default(SIGPIPE);
    ::sigprocmask(SIG_SETMASK, &saved, nullptr);
    ::execve(path.c_str(), argv, envp);
    ::_exit(120);
  }
  int fork_errno = errno;
  ::sigprocmask(SIG_SETMASK, &saved, nullptr);
  if (pid < 0) {
    for (int fd : {pim[0], pim[1], pie[0], pie[1], pic[0], pic[1]}) ::close(fd);
    errno = fork_errno;
    return -1;
  }
  ::close(pim[0]);
  ::close(pie[0]);
  ::close(pic[1]);
  pid_ = pid;
  fdm_ = pim[1];
  fde_ = pie[1];
  fdc_ = pic[0];
  flagerr_ = false;
  custom_.clear();
  out_ = Writer(fdm_, buf_);
  return 0;
}

void Submit::put_raw(std::string_view s) {
  if (!flagerr_ && out_.put(s) < 0) flagerr_ = true;
}

void Submit::put(std::string_view s) { put_raw(s); }

void Submit::from(std::string_view sender) {
  if (out_.flush() < 0) flagerr_ = true;
  close_fd(fdm_);
  out_ = Writer(fde_, buf_);
  put_raw("F");
  put_raw(sender);
  put_raw(std::string_view("", 1));
}

void Submit::to(std::string_view recipient) {
  put_raw("T");
  put_raw(recipient);
  put_raw(std::string_view("", 1));
}

std::string_view Submit::close() {
  if (pid_ <= 0) return qq_error_text(-1);
  put_raw(std::string_view("", 1));
  if (!flagerr_ && out_.flush() < 0) flagerr_ = true;
  close_fd(fdm_);
  close_fd(fde_);
  // The custom error, if any: keep the first bytes, read to the end.
  if (fdc_ >= 0) {
    char b[512];
    for (;;) {
      ssize_t r = ::read(fdc_, b, sizeof b);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      std::size_t room = kMaxCustomError + 1 > custom_.size() ? kMaxCustomError + 1 - custom_.size() : 0;
      custom_.append(b, static_cast<std::size_t>(r) < room ? static_cast<std::size_t>(r) : room);
    }
    close_fd(fdc_);
  }
  int status;
  pid_t pid = pid_;
  pid_ = -1;
  if (wait_pid(pid, &status) != pid) return "Zqq waitpid surprise (#4.3.0)";
  if (wait_crashed(status)) return "Zqq crashed (#4.3.0)";
  int code = wait_exitcode(status);
  if (code == 82) {
    std::string_view text = custom_error(custom_.view());
    if (!text.empty()) return text;
  }
  if (code == 0 && flagerr_) return qq_error_text(54);
  return qq_error_text(code);
}

}  // namespace qbox::queue
