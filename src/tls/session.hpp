// TLS sessions over file descriptors with BearSSL: the server side for
// sslserver and qmail-smtpd's STARTTLS, the client side for qmail-remote.
//
// Policy: TLS 1.2 only, ECDHE key exchange with AES-GCM or
// ChaCha20-Poly1305 (the server's order wins; AES-GCM first when the CPU
// has AES-NI, ChaCha20 first otherwise), no renegotiation, no compression.
// A session allocates its ~33 KiB of record buffers (BR_SSL_BUFSIZE_BIDI)
// and its contexts on the heap when it starts, and wipes and frees them
// when it is destroyed.
//
// Timeouts are in milliseconds for the whole call; negative waits forever.
// Writes on sockets use MSG_NOSIGNAL; the relay's pipe writes may still
// raise SIGPIPE, so a program that relays should ignore SIGPIPE.
#pragma once
#include <cstddef>
#include <string_view>

#include "base/fd.hpp"
#include "base/str.hpp"
#include "io/buffer.hpp"
#include "tls/creds.hpp"

namespace qbox::tls {

enum class ClientAuth {
  kNone,      // no certificate request (the default, like ucspi-ssl without -i)
  kOptional,  // ask; a client without a valid certificate still gets in
  kRequire,   // ask; no valid certificate, no session (ucspi-ssl's -i)
};

struct ServerConfig {
  const Credentials* creds = nullptr;      // required
  ClientAuth client_auth = ClientAuth::kNone;
  const TrustAnchors* client_cas = nullptr;  // required unless kNone
};

struct ClientConfig {
  // Sent as SNI, and the name the server's certificate must carry. Null or
  // empty: no SNI and no name check (an IP literal must not be given here).
  const char* server_name = nullptr;
  const TrustAnchors* anchors = nullptr;   // required unless insecure
  // Accept any certificate: no chain, name or date checks. It must be asked
  // for explicitly (smarthosts with self-made certificates).
  bool insecure = false;
  const Credentials* creds = nullptr;      // a client certificate, if any
};

// What to do with plaintext that a STARTTLS peer sent after its command
// (or that arrived after the server's "220") before the handshake. It is
// never handed to the caller: that would be the CVE-2011-0411 injection.
enum class Pipelined {
  kDiscard,  // drop it and go on (Postfix's behaviour)
  kRefuse,   // drop it and fail the start
};

// Picks the fastest AES, GHASH, ChaCha20 and Poly1305 code for this CPU,
// which asks CPUID (slow in a VM). Sessions do it on first use; a server
// that forks a child per connection calls it once before, for them all.
void detect_cpu();

class Session {
 public:
  Session() = default;
  ~Session() { release(); }
  Session(Session&& o) noexcept
      : s_(o.s_), discarded_(o.discarded_), err_(static_cast<Str&&>(o.err_)) { o.s_ = nullptr; }
  Session& operator=(Session&& o) noexcept;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Prepares a session on a fresh connection (sslserver, SMTPS): records
  // are read from in_fd and written to out_fd, which may be the same
  // socket. No I/O yet; handshake() does it. False: see error().
  bool start_server(const ServerConfig& cfg, int in_fd, int out_fd);
  bool start_client(const ClientConfig& cfg, int in_fd, int out_fd);

  // STARTTLS: the connection was plain text until now and `plain` is the
  // caller's reader on it. Whatever `plain` still holds arrived after the
  // STARTTLS command (or the server's 220 reply) and before the handshake:
  // it is discarded, always, and discarded() says how many bytes that was.
  // With kRefuse such bytes also make the start fail. Call this before
  // writing "220 ready to start TLS", then handshake(); `plain` must not be
  // used again.
  bool start_server(const ServerConfig& cfg, Reader& plain, int out_fd,
                    Pipelined policy = Pipelined::kDiscard);
  bool start_client(const ClientConfig& cfg, Reader& plain, int out_fd,
                    Pipelined policy = Pipelined::kDiscard);
  std::size_t discarded() const { return discarded_; }

  // Runs the handshake to its end, the last flight sent.
  bool handshake(int timeout_ms);

  // Reading, like Reader: fill() makes sure decrypted bytes are there (>0),
  // or reports the end (0: close_notify, or the connection closed without
  // one, see truncated()) or an error (-1). Pending output is flushed
  // before waiting for input.
  long fill(int timeout_ms);
  std::string_view peek() const;
  void skip(std::size_t n);
  long read(char* out, std::size_t n, int timeout_ms);
  // Appends one line, the delimiter included: 1 a whole line, 0 end of
  // input (a partial last line stays in `line`), -1 error (E2BIG past max).
  int getline(Str& line, char delim, std::size_t max, int timeout_ms);
  // The peer closed the connection without close_notify.
  bool truncated() const;

  // Writing: buffered in the engine, sent as records fill up or on flush().
  // 0 on success, -1 on error.
  int write(std::string_view s, int timeout_ms);
  int flush(int timeout_ms);
  // Flushes, sends close_notify and returns without waiting for the
  // peer's (TLS 1.2 allows that); the session is over afterwards.
  int close(int timeout_ms);

  // sslserver's relay: plain text between the session and a child on
  // pipes, both ways, until one side ends:
  // - the peer's close_notify (or EOF): its data is delivered, to_child is
  //   closed so the child sees EOF; after close_notify nothing more can be
  //   sent (TLS 1.2), after a bare EOF the child's output still goes out
  //   until it ends;
  // - EOF from the child: what it wrote is sent, then close_notify, and
  //   to_child is closed.
  // If the child stops reading (EPIPE), further input is discarded.
  // idle_ms: give up when nothing moves at all for that long (-1: never).
  // 0 when the session ended cleanly, -1 on error (error()). to_child is
  // always closed on return; from_child is left to the caller.
  int relay(Fd& to_child, Fd& from_child, int idle_ms);

  // After the handshake: "TLSv1.2"; the OpenSSL name of the cipher suite
  // ("ECDHE-ECDSA-AES128-GCM-SHA256"), as ucspi-ssl puts in $SSL_CIPHER;
  // its key bits ($SSL_CIPHER_USEKEYSIZE and _ALGKEYSIZE).
  const char* version() const;
  const char* cipher() const;
  unsigned cipher_bits() const;
  // The session ID the server chose (32 bytes; empty before the handshake),
  // as ucspi-ssl puts it, hex encoded, in $SSL_SESSION_ID.
  std::string_view session_id() const;
  // The peer certificate's subject ("/C=DE/O=Example/CN=name"), only when
  // its chain was verified: a client certificate under ClientAuth, the
  // server's certificate on the client side unless insecure. Else empty.
  std::string_view peer_subject() const;
  bool peer_verified() const;
  // The subject of whatever certificate the peer sent, verified or not:
  // for logs only, never for decisions.
  std::string_view peer_subject_unverified() const;

  // One line describing the last failure, e.g. "TLS handshake failed:
  // certificate not trusted (unknown CA)" or "unable to read from
  // network: timed out".
  const char* error() const;
  bool started() const { return s_ != nullptr; }

 private:
  struct Impl;
  void release();
  bool fail(std::string_view msg);
  bool run_handshake(int timeout_ms);
  bool start_common(bool server, int in_fd, int out_fd);
  Impl* s_ = nullptr;
  std::size_t discarded_ = 0;
  Str err_;
};

}  // namespace qbox::tls
