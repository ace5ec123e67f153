// Interposing on a program's standard input and output, as ucspi-tcp's
// recordio and fixcrio do: the program runs (in this process, so it keeps
// our pid) with descriptors 0 and 1 replaced by pipes, and a forked copier
// moves bytes from our stdin into the program and from the program to our
// stdout, showing every chunk to a relay that may rewrite it.
#pragma once
#include <cerrno>
#include <csignal>
#include <poll.h>
#include <string_view>
#include <unistd.h>

#include "base/die.hpp"
#include "base/env.hpp"
#include "base/fd.hpp"
#include "base/str.hpp"
#include "proc/exec.hpp"

namespace qbox {

// A relay has:
//   void in(std::string_view chunk, Str& out)    stdin -> program
//   void in_eof()
//   void out(std::string_view chunk, Str& out)   program -> stdout
//   void out_eof()
// Chunks are at most kInterposeChunk bytes, one read each, as the classic
// programs read them.
inline constexpr std::size_t kInterposeChunk = 256;

namespace detail {
// The copier: 0 -> to_prog, from_prog -> 1. Ends when the program's output
// ends or a write fails; each direction writes a chunk fully before it
// reads the next one.
template <class Relay>
[[noreturn]] void interpose_copy(int to_prog, int from_prog, Relay& relay) {
  Str left, right;
  std::size_t left_pos = 0, right_pos = 0;
  bool left_open = true;
  char buf[kInterposeChunk];
  for (;;) {
    pollfd p[2];
    int n = 0;
    int i_left = -1, i_right = -1;
    if (left_open) {
      i_left = n;
      p[n++] = left_pos < left.size() ? pollfd{to_prog, POLLOUT, 0} : pollfd{0, POLLIN, 0};
    }
    i_right = n;
    p[n++] = right_pos < right.size() ? pollfd{1, POLLOUT, 0} : pollfd{from_prog, POLLIN, 0};
    if (::poll(p, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) continue;
      _exit(0);
    }
    if (i_left >= 0 && p[i_left].revents) {
      if (left_pos < left.size()) {
        ssize_t w = ::write(to_prog, left.data() + left_pos, left.size() - left_pos);
        if (w < 0) { if (errno != EINTR && errno != EAGAIN) break; }
        else left_pos += static_cast<std::size_t>(w);
      } else {
        ssize_t r = ::read(0, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
          left_open = false;
          ::close(to_prog);
          relay.in_eof();
        } else {
          left.clear();
          left_pos = 0;
          relay.in(std::string_view(buf, static_cast<std::size_t>(r)), left);
        }
      }
    }
    if (p[i_right].revents) {
      if (right_pos < right.size()) {
        ssize_t w = ::write(1, right.data() + right_pos, right.size() - right_pos);
        if (w < 0) { if (errno != EINTR && errno != EAGAIN) break; }
        else right_pos += static_cast<std::size_t>(w);
      } else {
        ssize_t r = ::read(from_prog, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
          relay.out_eof();
          break;
        }
        right.clear();
        right_pos = 0;
        relay.out(std::string_view(buf, static_cast<std::size_t>(r)), right);
      }
    }
  }
  _exit(0);
}
}  // namespace detail

// Runs argv[0] with argv behind the relay; `fatal` prefixes the messages
// ("recordio: fatal: "). Only returns by exiting.
template <class Relay>
[[noreturn]] void interpose(char** argv, const char* fatal, Relay& relay) {
  int in[2], out[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0) die_sys(kExitTemp, fatal, "unable to create pipe: ");
  switch (::fork()) {
    case -1:
      die_sys(kExitTemp, fatal, "unable to fork: ");
    case 0:
      ::signal(SIGPIPE, SIG_IGN);
      ::close(in[0]);
      ::close(out[1]);
      detail::interpose_copy(in[1], out[0], relay);
  }
  ::close(in[1]);
  ::close(out[0]);
  if (fd_move(0, in[0]) != 0 || fd_move(1, out[1]) != 0)
    die_sys(kExitTemp, fatal, "unable to move descriptors: ");
  pathexec_env(argv[0], argv, env::build());
  die_sys(kExitTemp, fatal, "unable to run ", argv[0], ": ");
}

}  // namespace qbox
