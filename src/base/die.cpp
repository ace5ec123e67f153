#include "base/die.hpp"

#include <cerrno>
#include <unistd.h>

namespace qbox {

const char* g_prog = "qbox";

const char* error_str(int e) {
  switch (e) {
    case 0: return "no error";
    case EINTR: return "interrupted system call";
    case ENOMEM: return "out of memory";
    case ENOENT: return "file does not exist";
    case ETXTBSY: return "text busy";
    case EIO: return "input/output error";
    case EEXIST: return "file already exists";
    case ETIMEDOUT: return "timed out";
    case EINPROGRESS: return "operation in progress";
    case EAGAIN: return "temporary failure";
    case EPIPE: return "broken pipe";
    case EPERM: return "permission denied";
    case EACCES: return "access denied";
    case ENXIO: return "device not configured";
    case EPROTO: return "protocol error";
    case EISDIR: return "is a directory";
    case ECONNREFUSED: return "connection refused";
    case ENOTDIR: return "not a directory";
    case ESRCH: return "no such process";
    case E2BIG: return "argument list too long";
    case ENOEXEC: return "exec format error";
    case EBADF: return "file descriptor not open";
    case ECHILD: return "no child processes";
    case EDEADLK: return "operation would cause deadlock";
    case EFAULT: return "bad address";
    case ENOTBLK: return "not a block device";
    case EBUSY: return "device busy";
    case EXDEV: return "cross-device link";
    case ENODEV: return "device does not support operation";
    case EINVAL: return "invalid argument";
    case ENFILE: return "system cannot open more files";
    case EMFILE: return "process cannot open more files";
    case ENOTTY: return "not a tty";
    case EFBIG: return "file too big";
    case ENOSPC: return "out of disk space";
    case ESPIPE: return "unseekable descriptor";
    case EROFS: return "read-only file system";
    case EMLINK: return "too many links";
    case EDOM: return "input out of range";
    case ERANGE: return "output out of range";
    case EALREADY: return "operation already in progress";
    case ENOTSOCK: return "not a socket";
    case EDESTADDRREQ: return "destination address required";
    case EMSGSIZE: return "message too long";
    case EPROTOTYPE: return "incorrect protocol type";
    case ENOPROTOOPT: return "protocol not available";
    case EPROTONOSUPPORT: return "protocol not supported";
    case ESOCKTNOSUPPORT: return "socket type not supported";
    case EOPNOTSUPP: return "operation not supported";
    case EPFNOSUPPORT: return "protocol family not supported";
    case EAFNOSUPPORT: return "address family not supported";
    case EADDRINUSE: return "address already used";
    case EADDRNOTAVAIL: return "address not available";
    case ENETDOWN: return "network down";
    case ENETUNREACH: return "network unreachable";
    case ENETRESET: return "network reset";
    case ECONNABORTED: return "connection aborted";
    case ECONNRESET: return "connection reset";
    case ENOBUFS: return "out of buffer space";
    case EISCONN: return "already connected";
    case ENOTCONN: return "not connected";
    case ESHUTDOWN: return "socket shut down";
    case ETOOMANYREFS: return "too many references";
    case ELOOP: return "symbolic link loop";
    case ENAMETOOLONG: return "file name too long";
    case EHOSTDOWN: return "host down";
    case EHOSTUNREACH: return "host unreachable";
    case ENOTEMPTY: return "directory not empty";
    case EUSERS: return "too many users";
    case EDQUOT: return "disk quota exceeded";
    case ESTALE: return "stale NFS file handle";
    case EREMOTE: return "too many levels of remote in path";
    case ENOLCK: return "no locks available";
    case ENOSYS: return "system call not available";
    case EILSEQ: return "illegal byte sequence";
    case ENOMSG: return "no message of desired type";
    case EIDRM: return "identifier removed";
    case ENOSR: return "out of stream resources";
    case ENOSTR: return "not a stream device";
    case ETIME: return "timer expired";
    case EBADMSG: return "bad message type";
    case ENOLINK: return "link severed";
    case EMULTIHOP: return "multihop attempted";
    case EOVERFLOW: return "value too large for defined data type";
    case ECOMM: return "communication error";
    case EREMCHG: return "remote address changed";
    default: return "unknown error";
  }
}

bool error_temp(int e) {
  switch (e) {
    case EINTR: case ENOMEM: case ETXTBSY: case EIO: case ETIMEDOUT: case EAGAIN:
    case EDEADLK: case EBUSY: case ENFILE: case EMFILE: case EFBIG: case ENOSPC:
    case ENETDOWN: case ENETUNREACH: case ENETRESET: case ECONNABORTED: case ECONNRESET:
    case ENOBUFS: case ETOOMANYREFS: case ECONNREFUSED: case EHOSTDOWN: case EHOSTUNREACH:
    case EUSERS: case EDQUOT: case ESTALE: case ENOLCK:
      return true;
    default:
      return false;
  }
}

static void write_parts(std::initializer_list<std::string_view> parts, const char* tail) {
  char buf[1024];
  std::size_t n = 0;
  auto put = [&](std::string_view s) {
    for (char c : s) {
      if (n == sizeof buf) {
        // A long message goes out in pieces; never truncated.
        for (std::size_t off = 0; off < n;) {
          ssize_t w = ::write(2, buf + off, n - off);
          if (w <= 0) { if (w < 0 && errno == EINTR) continue; n = 0; return; }
          off += static_cast<std::size_t>(w);
        }
        n = 0;
      }
      buf[n++] = c;
    }
  };
  for (std::string_view p : parts) put(p);
  if (tail) put(tail);
  put("\n");
  for (std::size_t off = 0; off < n;) {
    ssize_t w = ::write(2, buf + off, n - off);
    if (w <= 0) { if (w < 0 && errno == EINTR) continue; return; }
    off += static_cast<std::size_t>(w);
  }
}

void say(std::initializer_list<std::string_view> parts) { write_parts(parts, nullptr); }

void say_sys(std::initializer_list<std::string_view> parts) {
  int e = errno;
  write_parts(parts, error_str(e));
  errno = e;
}

void die_parts(int code, std::initializer_list<std::string_view> parts) {
  say(parts);
  _exit(code);
}

void die_sys_parts(int code, std::initializer_list<std::string_view> parts) {
  say_sys(parts);
  _exit(code);
}

void out_of_memory() { die(kExitTemp, g_prog, ": fatal: out of memory"); }

void die_usage(const char* usage, int code) { die(code, g_prog, ": usage: ", usage); }

}  // namespace qbox
