#include "smtp/conn.hpp"

#include <cerrno>
#include <climits>

#include "time/tai.hpp"

namespace qbox::smtp {

namespace {

int ms_of(unsigned sec) {
  return sec > INT_MAX / 1000 ? INT_MAX : static_cast<int>(sec * 1000);
}

}  // namespace

Conn::Conn(int in_fd, int out_fd, unsigned timeout_sec)
    : in_(in_fd, inbuf_), out_(out_fd, outbuf_, ms_of(timeout_sec)), out_fd_(out_fd),
      timeout_sec_(timeout_sec) {
  in_.tie(&out_);
  restart_clock();
}

void Conn::restart_clock() { deadline_ = monotonic_ms() + ms_of(timeout_sec_); }

int Conn::left_ms() const {
  std::int64_t left = deadline_ - monotonic_ms();
  return left <= 0 ? 0 : static_cast<int>(left);
}

long Conn::fill() {
  int left = left_ms();
  if (session_.started()) {
    // Data already decrypted needs no waiting, even with no time left.
    if (!peek().empty()) return static_cast<long>(peek().size());
    if (left == 0) { errno = ETIMEDOUT; return -1; }
    long r = session_.fill(left);
    // A close without close_notify ends the input just the same.
    return r;
  }
  if (!in_.peek().empty()) return static_cast<long>(in_.peek().size());
  if (left == 0) { errno = ETIMEDOUT; return -1; }
  in_.set_timeout(left);
  return in_.fill();
}

long Conn::fill_within(int ms) {
  std::int64_t saved = deadline_;
  deadline_ = monotonic_ms() + ms;
  long r = fill();
  deadline_ = saved;
  return r;
}

std::string_view Conn::peek() const { return session_.started() ? session_.peek() : in_.peek(); }

void Conn::skip(std::size_t n) {
  if (session_.started()) session_.skip(n);
  else in_.skip(n);
}

int Conn::getline(Str& line, std::size_t max) {
  line.clear();
  restart_clock();
  bool too_long = false;
  for (;;) {
    long r = fill();
    if (r < 0) return -1;
    if (r == 0) return 0;
    std::string_view v = peek();
    std::size_t nl = v.find('\n');
    std::size_t take = nl == std::string_view::npos ? v.size() : nl + 1;
    // Room for the line, its CR and its LF; beyond that only consume.
    if (!too_long) {
      if (line.size() + take > max + 2) too_long = true;
      else line.append(v.substr(0, take));
    }
    skip(take);
    if (nl != std::string_view::npos) break;
  }
  if (too_long) {
    line.clear();
    return -2;
  }
  line.truncate(line.size() - 1);
  if (!line.empty() && line.back() == '\r') line.truncate(line.size() - 1);
  if (line.size() > max) {
    line.clear();
    return -2;
  }
  return 1;
}

int Conn::put(std::string_view s) {
  if (session_.started()) return session_.write(s, ms_of(timeout_sec_));
  return out_.put(s);
}

int Conn::flush() {
  if (session_.started()) return session_.flush(ms_of(timeout_sec_));
  return out_.flush();
}

bool Conn::starttls(const tls::Credentials& creds, std::string_view reply, Str& err) {
  tls::ServerConfig cfg;
  cfg.creds = &creds;
  if (!session_.start_server(cfg, in_, out_fd_, tls::Pipelined::kDiscard)) {
    err = session_.error();
    session_ = tls::Session();  // still plain text
    return false;
  }
  if (out_.put(reply) < 0 || out_.flush() < 0) {
    err = "unable to write to network";
    return false;
  }
  if (!session_.handshake(ms_of(timeout_sec_))) {
    err = session_.error();
    return false;
  }
  return true;
}

void Conn::close() {
  if (session_.started()) session_.close(ms_of(timeout_sec_));
  else out_.flush();
}

}  // namespace qbox::smtp
