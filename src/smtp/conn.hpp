// The server side of an SMTP connection: descriptors 0 and 1 as tcpserver
// (or sslserver, or sendmail -bs) hands them over, in plain text until
// STARTTLS and through a TLS session after it. qmail-smtpd reads commands
// and DATA through it; the AUTH exchange sees it as a LineIo.
//
// Timeouts (qmail's control/timeoutsmtpd): each write may take `timeout`
// seconds, and a line must arrive whole within `timeout` seconds of its
// first read: a client that trickles a byte now and then is cut off too,
// not only one that goes quiet. restart_clock() starts a new period (DATA
// does it at every line end it sees).
//
// Output is buffered and goes out before the next read that would wait
// (qmail's substdio discipline), so pipelined commands get their replies
// together.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/str.hpp"
#include "io/buffer.hpp"
#include "smtp/lineio.hpp"
#include "tls/creds.hpp"
#include "tls/session.hpp"

namespace qbox::smtp {

class Conn final : public LineIo {
 public:
  Conn(int in_fd, int out_fd, unsigned timeout_sec);
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // LineIo. getline strips the LF and one CR before it; a line longer
  // than max is consumed and reported as -2.
  int getline(Str& line, std::size_t max) override;
  int put(std::string_view s) override;
  int flush() override;
  bool tls() const override { return session_.started() || tls_outside_; }

  // The connection is protected by TLS outside this process (sslserver).
  void set_tls_outside(bool on) { tls_outside_ = on; }
  void restart_clock();
  unsigned timeout_sec() const { return timeout_sec_; }

  // Raw input, for DATA: >0 bytes are available (peek), 0 end of input,
  // -1 error or ETIMEDOUT (the period of restart_clock() ran out).
  long fill();
  std::string_view peek() const;
  void skip(std::size_t n);
  // Waits at most ms for input (the greeting delay): as fill().
  long fill_within(int ms);

  // STARTTLS: drops whatever the client sent after the command (never
  // read as commands: CVE-2011-0411), writes `reply` in plain text and
  // runs the handshake. False with `err` set when the session could not
  // be set up (nothing was written then) or the handshake failed.
  bool starttls(const tls::Credentials& creds, std::string_view reply, Str& err);
  // Bytes dropped by starttls().
  std::size_t discarded() const { return session_.discarded(); }
  // The cipher suite in use ("ECDHE-RSA-AES128-GCM-SHA256"), or "".
  const char* cipher() const { return session_.cipher(); }
  // Flushes and, under STARTTLS, sends close_notify.
  void close();

 private:
  int left_ms() const;

  char inbuf_[4096];
  char outbuf_[1024];
  Reader in_;
  Writer out_;
  int out_fd_;
  unsigned timeout_sec_;
  std::int64_t deadline_ = 0;
  bool tls_outside_ = false;
  tls::Session session_;
};

}  // namespace qbox::smtp
