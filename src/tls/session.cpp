#include "tls/session.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <new>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/die.hpp"
#include "net/socket.hpp"
#include "time/tai.hpp"
#include "tls/cpu.hpp"
#include "tls/ec.hpp"
#include "tls/ecdsa.hpp"

namespace qbox::tls {

namespace {

// ---- the peer's certificate chain --------------------------------------------
// An X.509 engine wrapped around BearSSL's minimal validator: it also
// decodes the end-entity certificate to keep its subject DN, and, when
// verification is off, takes the public key from it without any check.
struct PeerX509 {
  const br_x509_class* vtable;  // first: BearSSL hands us &vtable
  br_x509_minimal_context minimal;
  br_x509_decoder_context dec;
  bool verify;
  unsigned ncerts;
  unsigned chain_err;
  Str* dn;
};

PeerX509* px(const br_x509_class* const* ctx) {
  return reinterpret_cast<PeerX509*>(const_cast<const br_x509_class**>(ctx));
}

void px_start_chain(const br_x509_class** ctx, const char* server_name) {
  PeerX509* x = px(ctx);
  x->ncerts = 0;
  x->chain_err = BR_ERR_X509_EMPTY_CHAIN;
  x->dn->clear();
  br_x509_decoder_init(&x->dec, collect_dn, x->dn);
  if (x->verify) x->minimal.vtable->start_chain(&x->minimal.vtable, server_name);
}

void px_start_cert(const br_x509_class** ctx, uint32_t length) {
  PeerX509* x = px(ctx);
  if (x->verify) x->minimal.vtable->start_cert(&x->minimal.vtable, length);
}

void px_append(const br_x509_class** ctx, const unsigned char* buf, std::size_t len) {
  PeerX509* x = px(ctx);
  if (x->ncerts == 0) br_x509_decoder_push(&x->dec, buf, len);
  if (x->verify) x->minimal.vtable->append(&x->minimal.vtable, buf, len);
}

void px_end_cert(const br_x509_class** ctx) {
  PeerX509* x = px(ctx);
  if (x->verify) x->minimal.vtable->end_cert(&x->minimal.vtable);
  ++x->ncerts;
}

unsigned px_end_chain(const br_x509_class** ctx) {
  PeerX509* x = px(ctx);
  unsigned r;
  if (x->verify) {
    r = x->minimal.vtable->end_chain(&x->minimal.vtable);
  } else if (x->ncerts == 0) {
    r = BR_ERR_X509_EMPTY_CHAIN;
  } else {
    r = static_cast<unsigned>(br_x509_decoder_last_error(&x->dec));
  }
  x->chain_err = r;
  return r;
}

const br_x509_pkey* px_get_pkey(const br_x509_class* const* ctx, unsigned* usages) {
  PeerX509* x = px(ctx);
  if (x->verify) return x->minimal.vtable->get_pkey(&x->minimal.vtable, usages);
  if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
  return br_x509_decoder_get_pkey(&x->dec);
}

const br_x509_class kPeerX509Vtable = {
    sizeof(PeerX509), px_start_chain, px_start_cert, px_append,
    px_end_cert,      px_end_chain,   px_get_pkey,
};

void setup_minimal(br_x509_minimal_context* m, const TrustAnchors& tas) {
  br_x509_minimal_init(m, &br_sha256_vtable, tas.data(), tas.size());
  br_x509_minimal_set_hash(m, br_sha1_ID, &br_sha1_vtable);
  br_x509_minimal_set_hash(m, br_sha224_ID, &br_sha224_vtable);
  br_x509_minimal_set_hash(m, br_sha256_ID, &br_sha256_vtable);
  br_x509_minimal_set_hash(m, br_sha384_ID, &br_sha384_vtable);
  br_x509_minimal_set_hash(m, br_sha512_ID, &br_sha512_vtable);
  br_x509_minimal_set_rsa(m, br_rsa_pkcs1_vrfy_get_default());
  br_x509_minimal_set_ecdsa(m, &kEcFast, br_ecdsa_vrfy_asn1_get_default());
}

// ---- the engine's policy ------------------------------------------------------

struct Suite {
  uint16_t id;
  unsigned bits;
  const char* name;  // OpenSSL's
};
constexpr Suite kAes[] = {
    {BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 128, "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, 128, "ECDHE-RSA-AES128-GCM-SHA256"},
    {BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, 256, "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, 256, "ECDHE-RSA-AES256-GCM-SHA384"},
};
constexpr Suite kChacha[] = {
    {BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, 256, "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, 256, "ECDHE-RSA-CHACHA20-POLY1305"},
};

const Suite* find_suite(uint16_t id) {
  for (const auto& s : kAes) if (s.id == id) return &s;
  for (const auto& s : kChacha) if (s.id == id) return &s;
  return nullptr;
}

void setup_engine(br_ssl_engine_context* eng) {
  const CipherImpls& cpu = cipher_impls();
  br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
  // Hardware AES makes AES-GCM the fastest; without it ChaCha20 is, and
  // BearSSL's portable AES is constant-time but slow.
  constexpr std::size_t kSuites = sizeof kAes / sizeof kAes[0] + sizeof kChacha / sizeof kChacha[0];
  static_assert(kSuites <= BR_MAX_CIPHER_SUITES, "BearSSL's table of suites is too small");
  uint16_t ids[kSuites];
  std::size_t n = 0;
  if (!cpu.aesni) for (const auto& s : kChacha) ids[n++] = s.id;
  for (const auto& s : kAes) ids[n++] = s.id;
  if (cpu.aesni) for (const auto& s : kChacha) ids[n++] = s.id;
  br_ssl_engine_set_suites(eng, ids, n);
  br_ssl_engine_set_hash(eng, br_sha1_ID, &br_sha1_vtable);
  br_ssl_engine_set_hash(eng, br_sha224_ID, &br_sha224_vtable);
  br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable);
  br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
  br_ssl_engine_set_hash(eng, br_sha512_ID, &br_sha512_vtable);
  br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
  br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
  br_ssl_engine_set_gcm(eng, &br_sslrec_in_gcm_vtable, &br_sslrec_out_gcm_vtable);
  br_ssl_engine_set_aes_ctr(eng, cpu.aes_ctr);
  br_ssl_engine_set_ghash(eng, cpu.ghash);
  br_ssl_engine_set_chapol(eng, &br_sslrec_in_chapol_vtable, &br_sslrec_out_chapol_vtable);
  br_ssl_engine_set_chacha20(eng, cpu.chacha20);
  br_ssl_engine_set_poly1305(eng, cpu.poly1305);
  br_ssl_engine_set_ec(eng, &kEcFast);  // ECDHE: our X25519 and P-256
  br_ssl_engine_set_rsavrfy(eng, br_rsa_pkcs1_vrfy_get_default());
  br_ssl_engine_set_ecdsa(eng, br_ecdsa_vrfy_asn1_get_default());
  br_ssl_engine_add_flags(eng, BR_OPT_NO_RENEGOTIATION);
}

// BearSSL seeds itself from RDRAND or /dev/urandom; getrandom(2) adds the
// kernel's pool without needing /dev in a chroot.
void add_entropy(br_ssl_engine_context* eng) {
  unsigned char seed[32];
  std::size_t got = 0;
  while (got < sizeof seed) {
    ssize_t r = ::getrandom(seed + got, sizeof seed - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    got += static_cast<std::size_t>(r);
  }
  if (got == sizeof seed) {
    br_ssl_engine_inject_entropy(eng, seed, sizeof seed);
    // Seeded from the kernel's pool: BearSSL need not try its own source
    // as well (on x86 that asks CPUID, twice, whether RDRAND exists).
    eng->rng_os_rand_done = 1;
  }
  explicit_bzero(seed, sizeof seed);
}

// The reason a session stopped: the engine's error, or the network's.
void engine_failure(Str& err, std::string_view what, int e) {
  err = what;
  append_error(err, e);
}

// What a closed engine means: 0 after the peer's close_notify, unless
// `if_clean` says why that is an error here; else -1 and the engine's error.
int closed_status(const br_ssl_engine_context* eng, Str& err, const char* if_clean) {
  int e = br_ssl_engine_last_error(eng);
  if (e != BR_ERR_OK) {
    engine_failure(err, "TLS error: ", e);
    return -1;
  }
  if (!if_clean) return 0;
  err = if_clean;
  return -1;
}

void io_failure(Str& err, bool writing) {
  err = writing ? "unable to write to network: " : "unable to read from network: ";
  err.append(error_str(errno));
}

// ---- time ----------------------------------------------------------------------

struct Deadline {
  long long at;
  explicit Deadline(int ms) : at(ms < 0 ? -1 : monotonic_ms() + ms) {}
  int left() const {
    if (at < 0) return -1;
    long long l = at - monotonic_ms();
    return l < 0 ? 0 : l > INT_MAX ? INT_MAX : static_cast<int>(l);
  }
};

}  // namespace

void detect_cpu() { cipher_impls(); }

// ---- the session -----------------------------------------------------------------

struct Session::Impl {
  union {
    br_ssl_server_context server;
    br_ssl_client_context client;
  };
  br_ssl_engine_context* eng;
  PeerX509 x509;
  Str peer_dn;    // DER of the peer certificate's subject
  Str peer_text;  // the same, formatted once the handshake is over
  int in_fd, out_fd;
  bool in_sock, out_sock;  // try recv/send with MSG_DONTWAIT until ENOTSOCK
  bool net_eof;
  bool established;  // the handshake completed
  bool closing;      // close_notify asked for (close(), the relay's end): it follows the last data
  bool out_mid;      // the last send stopped inside a record
  unsigned char buf[BR_SSL_BUFSIZE_BIDI];

  Impl() {}  // the BearSSL contexts are set up by br_ssl_*_zero
  ~Impl() {}

  // One write (wr) or read on the network, without blocking where the
  // descriptor allows it; on others only when `ready` (after poll): >0
  // bytes, 0 EOF, -1 errno (EAGAIN: not ready). `more`: another record
  // follows at once, a socket may hold this one back to send both together.
  long net_io(bool wr, unsigned char* p, std::size_t n, bool ready, bool more = false);
  // Whether the record about to be sent is followed at once by another
  // that the engine makes without waiting for the peer: a ChangeCipherSpec
  // by its Finished, and while closing, data by the close_notify. One TCP
  // segment then carries both, and the peer wakes up once, not twice.
  bool followed(const unsigned char* rec, std::size_t len) const;
  // Sends (wr) or receives one chunk of records: 1 moved, 0 the network's
  // EOF (net_eof is set), -1 errno (EAGAIN: not ready, or nothing to move).
  int transfer(bool wr, bool ready);
  // Moves records between the engine and the network: sends what is
  // pending and, with `recv`, reads what the engine takes. 1 something
  // moved, 0 the network's EOF, 2 nothing to do, -1 error (errno).
  int pump(bool recv, const Deadline& d, bool& writing);
  // Decrypted bytes available (>0), the end (0), or an error (-1, err).
  long fill(const Deadline& d, Str& err);
  unsigned state() const { return br_ssl_engine_current_state(eng); }
  void send_cert_alert(int e);
};

// BearSSL stops without a word when it rejects the peer's certificate;
// tell the peer why, as OpenSSL does. The certificates come before the
// ChangeCipherSpec, so the alert is a plaintext record. Best effort.
void Session::Impl::send_cert_alert(int e) {
  unsigned char alert;
  if (e == BR_ERR_X509_NOT_TRUSTED) {
    alert = BR_ALERT_UNKNOWN_CA;
  } else if (e == BR_ERR_X509_EXPIRED) {
    alert = BR_ALERT_CERTIFICATE_EXPIRED;
  } else if (e == BR_ERR_NO_CLIENT_AUTH) {
    alert = BR_ALERT_HANDSHAKE_FAILURE;
  } else if (e > BR_ERR_X509_OK && e <= BR_ERR_X509_NOT_TRUSTED) {
    alert = BR_ALERT_BAD_CERTIFICATE;
  } else {
    return;
  }
  const unsigned char rec[7] = {21, 3, 3, 0, 2, 2, alert};
  if (out_sock) {
    (void)!::send(out_fd, rec, sizeof rec, MSG_DONTWAIT | MSG_NOSIGNAL);
  } else {
    (void)!::write(out_fd, rec, sizeof rec);
  }
}

long Session::Impl::net_io(bool wr, unsigned char* p, std::size_t n, bool ready, bool more) {
  int fd = wr ? out_fd : in_fd;
  bool& sock = wr ? out_sock : in_sock;
  for (;;) {
    ssize_t r;
    if (sock) {
      r = wr ? ::send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL | (more ? MSG_MORE : 0))
             : ::recv(fd, p, n, MSG_DONTWAIT);
      if (r < 0 && errno == ENOTSOCK) {
        sock = false;
        continue;
      }
    } else if (ready) {
      // After POLLOUT a pipe takes PIPE_BUF bytes without blocking.
      r = wr ? ::write(fd, p, n < PIPE_BUF ? n : PIPE_BUF) : ::read(fd, p, n);
    } else {
      errno = EAGAIN;
      return -1;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EWOULDBLOCK) errno = EAGAIN;
    return r;
  }
}

bool Session::Impl::followed(const unsigned char* rec, std::size_t len) const {
  // Only at the start of a record is its first byte the content type.
  if (out_mid || len < 5) return false;
  return rec[0] == 20 || (closing && rec[0] == 23);
}

int Session::Impl::transfer(bool wr, bool ready) {
  std::size_t len;
  unsigned char* b = wr ? br_ssl_engine_sendrec_buf(eng, &len) : br_ssl_engine_recvrec_buf(eng, &len);
  if (!b) {
    errno = EAGAIN;
    return -1;
  }
  long r = net_io(wr, b, len, ready, wr && followed(b, len));
  if (r < 0) return -1;
  if (wr) out_mid = static_cast<std::size_t>(r) < len;
  if (r == 0) {
    if (wr) {
      errno = EAGAIN;
      return -1;
    }
    net_eof = true;
    return 0;
  }
  if (wr) {
    br_ssl_engine_sendrec_ack(eng, static_cast<std::size_t>(r));
  } else {
    br_ssl_engine_recvrec_ack(eng, static_cast<std::size_t>(r));
  }
  return 1;
}

int Session::Impl::pump(bool recv, const Deadline& d, bool& writing) {
  bool out_ready = false, in_ready = false;
  for (;;) {
    unsigned st = state();
    bool snd = (st & BR_SSL_SENDREC) != 0;
    bool rcv = recv && (st & BR_SSL_RECVREC) && !net_eof;
    if (!snd && !rcv) return 2;
    for (bool wr : {true, false}) {
      if (!(wr ? snd : rcv)) continue;
      int r = transfer(wr, wr ? out_ready : in_ready);
      if (r >= 0) return r;
      if (errno != EAGAIN) {
        writing = wr;
        return -1;
      }
    }
    out_ready = in_ready = false;
    pollfd p[2];
    int n = 0, wi = -1, ri = -1;
    if (snd) { wi = n; p[n++] = {out_fd, POLLOUT, 0}; }
    if (rcv) { ri = n; p[n++] = {in_fd, POLLIN, 0}; }
    int r = ::poll(p, static_cast<nfds_t>(n), d.left());
    if (r == 0) {
      errno = ETIMEDOUT;
      writing = snd && !rcv;
      return -1;
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      writing = false;
      return -1;
    }
    if (wi >= 0 && p[wi].revents) out_ready = true;
    if (ri >= 0 && p[ri].revents) in_ready = true;
  }
}

void Session::release() {
  if (s_) {
    s_->~Impl();
    explicit_bzero(static_cast<void*>(s_), sizeof(Impl));
    std::free(s_);
    s_ = nullptr;
  }
}

Session& Session::operator=(Session&& o) noexcept {
  if (this != &o) {
    release();
    s_ = o.s_;
    o.s_ = nullptr;
    discarded_ = o.discarded_;
    err_ = static_cast<Str&&>(o.err_);
  }
  return *this;
}

bool Session::fail(std::string_view msg) {
  err_ = msg;
  return false;
}

const char* Session::error() const { return err_.empty() ? "no error" : err_.c_str(); }

bool Session::start_common(bool server, int in_fd, int out_fd) {
  if (s_) return fail("TLS session already started");
  void* mem = std::malloc(sizeof(Impl));
  if (!mem) return fail("out of memory");
  s_ = new (mem) Impl();
  s_->eng = server ? &s_->server.eng : &s_->client.eng;
  s_->in_fd = in_fd;
  s_->out_fd = out_fd;
  s_->in_sock = s_->out_sock = true;
  // A flight of the handshake is several records, each sent as the engine
  // makes it (ChangeCipherSpec, then Finished): with Nagle on, the second
  // waits for the peer's delayed ACK, some 40 ms a handshake. Not a TCP
  // socket (a pipe, sslserver's child): nothing to do.
  (void)net::set_nodelay(out_fd);
  s_->net_eof = false;
  s_->established = false;
  s_->closing = false;
  s_->out_mid = false;
  std::memset(&s_->x509, 0, sizeof s_->x509);
  s_->x509.vtable = &kPeerX509Vtable;
  s_->x509.chain_err = BR_ERR_X509_EMPTY_CHAIN;
  s_->x509.dn = &s_->peer_dn;
  err_.clear();
  return true;
}

bool Session::start_server(const ServerConfig& cfg, int in_fd, int out_fd) {
  const Credentials* c = cfg.creds;
  if (c == nullptr || !c->ok()) return fail("TLS server without a certificate and key");
  if (cfg.client_auth != ClientAuth::kNone && (cfg.client_cas == nullptr || cfg.client_cas->size() == 0))
    return fail("client certificates requested without CA certificates to check them");
  if (!start_common(true, in_fd, out_fd)) return false;
  br_ssl_server_context* sc = &s_->server;
  br_ssl_engine_context* eng = s_->eng;
  br_ssl_server_zero(sc);
  setup_engine(eng);
  br_ssl_engine_add_flags(eng, BR_OPT_ENFORCE_SERVER_PREFERENCES);
  if (c->key_type() == BR_KEYTYPE_RSA) {
    br_ssl_server_set_single_rsa(sc, c->chain(), c->chain_len(), c->rsa(), BR_KEYTYPE_SIGN,
                                 br_rsa_private_get_default(), br_rsa_pkcs1_sign_get_default());
  } else {
    br_ssl_server_set_single_ec(sc, c->chain(), c->chain_len(), c->ec(), BR_KEYTYPE_SIGN,
                                c->issuer_key_type(), &kEcFast, &ecdsa_sign_asn1);
  }
  if (cfg.client_auth != ClientAuth::kNone) {
    s_->x509.verify = true;
    setup_minimal(&s_->x509.minimal, *cfg.client_cas);
    br_ssl_server_set_trust_anchor_names_alt(sc, cfg.client_cas->data(), cfg.client_cas->size());
    br_ssl_engine_set_x509(eng, &s_->x509.vtable);
    if (cfg.client_auth == ClientAuth::kOptional) br_ssl_engine_add_flags(eng, BR_OPT_TOLERATE_NO_CLIENT_AUTH);
  }
  br_ssl_engine_set_buffer(eng, s_->buf, sizeof s_->buf, 1);
  add_entropy(eng);
  if (!br_ssl_server_reset(sc)) {
    engine_failure(err_, "unable to start TLS: ", br_ssl_engine_last_error(eng));
    return false;
  }
  return true;
}

bool Session::start_client(const ClientConfig& cfg, int in_fd, int out_fd) {
  if (!cfg.insecure && (cfg.anchors == nullptr || cfg.anchors->size() == 0))
    return fail("TLS client without CA certificates to verify the server");
  if (cfg.creds && !cfg.creds->ok()) return fail("TLS client certificate without a key");
  if (!start_common(false, in_fd, out_fd)) return false;
  br_ssl_client_context* cc = &s_->client;
  br_ssl_engine_context* eng = s_->eng;
  br_ssl_client_zero(cc);
  setup_engine(eng);
  s_->x509.verify = !cfg.insecure;
  if (!cfg.insecure) setup_minimal(&s_->x509.minimal, *cfg.anchors);
  br_ssl_engine_set_x509(eng, &s_->x509.vtable);
  if (const Credentials* c = cfg.creds) {
    if (c->key_type() == BR_KEYTYPE_RSA) {
      br_ssl_client_set_single_rsa(cc, c->chain(), c->chain_len(), c->rsa(), br_rsa_pkcs1_sign_get_default());
    } else {
      br_ssl_client_set_single_ec(cc, c->chain(), c->chain_len(), c->ec(), BR_KEYTYPE_SIGN,
                                  c->issuer_key_type(), &kEcFast, &ecdsa_sign_asn1);
    }
  }
  br_ssl_engine_set_buffer(eng, s_->buf, sizeof s_->buf, 1);
  add_entropy(eng);
  const char* sni = cfg.server_name && *cfg.server_name ? cfg.server_name : nullptr;
  if (!br_ssl_client_reset(cc, sni, 0)) {
    engine_failure(err_, "unable to start TLS: ", br_ssl_engine_last_error(eng));
    return false;
  }
  return true;
}

// STARTTLS: the reader's leftovers are never used (CVE-2011-0411).
static std::size_t drop_buffered(Reader& plain) {
  std::size_t n = plain.peek().size();
  plain.skip(n);
  return n;
}

bool Session::start_server(const ServerConfig& cfg, Reader& plain, int out_fd, Pipelined policy) {
  discarded_ = drop_buffered(plain);
  if (discarded_ > 0 && policy == Pipelined::kRefuse)
    return fail("plaintext data after STARTTLS (command injection attempt?)");
  return start_server(cfg, plain.fd(), out_fd);
}

bool Session::start_client(const ClientConfig& cfg, Reader& plain, int out_fd, Pipelined policy) {
  discarded_ = drop_buffered(plain);
  if (discarded_ > 0 && policy == Pipelined::kRefuse)
    return fail("plaintext data after the server's STARTTLS reply (injection attempt?)");
  return start_client(cfg, plain.fd(), out_fd);
}

bool Session::handshake(int timeout_ms) {
  if (!s_) return fail("TLS session not started");
  bool ok = run_handshake(timeout_ms);
  s_->established = ok;
  s_->peer_text.clear();
  if (!s_->peer_dn.empty()) format_dn(s_->peer_dn, s_->peer_text);
  return ok;
}

bool Session::run_handshake(int timeout_ms) {
  Deadline d(timeout_ms);
  for (;;) {
    unsigned st = s_->state();
    if (st & BR_SSL_CLOSED) {
      int e = br_ssl_engine_last_error(s_->eng);
      if (e == BR_ERR_OK) return fail("TLS handshake failed: connection closed");
      engine_failure(err_, "TLS handshake failed: ", e);
      s_->send_cert_alert(e);
      return false;
    }
    bool app = (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)) != 0;
    if (app && !(st & BR_SSL_SENDREC)) return true;
    bool writing = false;
    int r = s_->pump(!app, d, writing);
    if (r < 0) {
      io_failure(err_, writing);
      Str m("TLS handshake failed: ");
      m.append(err_);
      err_ = static_cast<Str&&>(m);
      return false;
    }
    if (r == 0) return fail("TLS handshake failed: connection closed by peer");
    if (r == 2) return fail("TLS handshake failed: engine stalled");
  }
}

long Session::fill(int timeout_ms) {
  if (!s_) { fail("TLS session not started"); return -1; }
  Deadline d(timeout_ms);
  return s_->fill(d, err_);
}

long Session::Impl::fill(const Deadline& d, Str& err) {
  std::size_t len;
  if (br_ssl_engine_recvapp_buf(eng, &len)) return static_cast<long>(len);
  br_ssl_engine_flush(eng, 0);  // the peer may be waiting for our output
  for (;;) {
    unsigned st = state();
    if (st & BR_SSL_CLOSED) return closed_status(eng, err, nullptr);
    if (br_ssl_engine_recvapp_buf(eng, &len)) return static_cast<long>(len);
    if (net_eof) return 0;
    bool writing = false;
    int r = pump(true, d, writing);
    if (r < 0) {
      io_failure(err, writing);
      return -1;
    }
    if (r == 0) return 0;
    if (r == 2) {
      err = "TLS error: engine stalled";
      return -1;
    }
  }
}

std::string_view Session::peek() const {
  std::size_t len = 0;
  if (!s_) return {};
  unsigned char* b = br_ssl_engine_recvapp_buf(s_->eng, &len);
  if (!b) return {};
  return {reinterpret_cast<const char*>(b), len};
}

void Session::skip(std::size_t n) {
  if (s_ && n > 0) br_ssl_engine_recvapp_ack(s_->eng, n);
}

long Session::read(char* out, std::size_t n, int timeout_ms) {
  long r = fill(timeout_ms);
  if (r <= 0) return r;
  std::string_view v = peek();
  std::size_t k = v.size() < n ? v.size() : n;
  std::memcpy(out, v.data(), k);
  skip(k);
  return static_cast<long>(k);
}

int Session::getline(Str& line, char delim, std::size_t max, int timeout_ms) {
  if (!s_) { fail("TLS session not started"); return -1; }
  Deadline d(timeout_ms);
  for (;;) {
    long r = s_->fill(d, err_);
    if (r <= 0) return static_cast<int>(r);
    std::string_view v = peek();
    std::size_t pos = v.find(delim);
    std::size_t take = pos == std::string_view::npos ? v.size() : pos + 1;
    if (line.size() + take > max) {
      fail("line too long");
      errno = E2BIG;
      return -1;
    }
    line.append(v.substr(0, take));
    skip(take);
    if (pos != std::string_view::npos) return 1;
  }
}

bool Session::truncated() const {
  return s_ && s_->net_eof && !(s_->state() & BR_SSL_CLOSED);
}

int Session::write(std::string_view data, int timeout_ms) {
  if (!s_) { fail("TLS session not started"); return -1; }
  Deadline d(timeout_ms);
  while (!data.empty()) {
    unsigned st = s_->state();
    if (st & BR_SSL_CLOSED) return closed_status(s_->eng, err_, "TLS error: connection closed by peer");
    std::size_t len;
    if (unsigned char* b = br_ssl_engine_sendapp_buf(s_->eng, &len)) {
      std::size_t k = data.size() < len ? data.size() : len;
      std::memcpy(b, data.data(), k);
      br_ssl_engine_sendapp_ack(s_->eng, k);
      data.remove_prefix(k);
      continue;
    }
    bool writing = true;
    int r = s_->pump(true, d, writing);
    if (r < 0) return io_failure(err_, writing), -1;
    if (r == 2) return fail("TLS error: engine stalled"), -1;
  }
  return 0;
}

int Session::flush(int timeout_ms) {
  if (!s_) { fail("TLS session not started"); return -1; }
  Deadline d(timeout_ms);
  br_ssl_engine_flush(s_->eng, 0);
  for (;;) {
    unsigned st = s_->state();
    if (st & BR_SSL_CLOSED) return closed_status(s_->eng, err_, "TLS error: connection closed by peer");
    if (!(st & BR_SSL_SENDREC)) return 0;
    bool writing = true;
    if (s_->pump(false, d, writing) < 0) return io_failure(err_, writing), -1;
  }
}

int Session::close(int timeout_ms) {
  if (!s_) { fail("TLS session not started"); return -1; }
  Deadline d(timeout_ms);
  br_ssl_engine_flush(s_->eng, 0);
  br_ssl_engine_close(s_->eng);
  s_->closing = true;
  for (;;) {
    unsigned st = s_->state();
    if (st & BR_SSL_CLOSED) return closed_status(s_->eng, err_, nullptr);
    if (!(st & BR_SSL_SENDREC)) return 0;  // close_notify is out
    bool writing = true;
    if (s_->pump(false, d, writing) < 0) return io_failure(err_, writing), -1;
  }
}

const char* Session::version() const {
  if (!s_) return "";
  switch (br_ssl_engine_get_version(s_->eng)) {
    case BR_TLS10: return "TLSv1";
    case BR_TLS11: return "TLSv1.1";
    case BR_TLS12: return "TLSv1.2";
    default: return "";
  }
}

const char* Session::cipher() const {
  const Suite* s = s_ ? find_suite(s_->eng->session.cipher_suite) : nullptr;
  return s ? s->name : "";
}

unsigned Session::cipher_bits() const {
  const Suite* s = s_ ? find_suite(s_->eng->session.cipher_suite) : nullptr;
  return s ? s->bits : 0;
}

std::string_view Session::session_id() const {
  if (!s_ || !s_->established) return {};
  const br_ssl_session_parameters& p = s_->eng->session;
  return {reinterpret_cast<const char*>(p.session_id), p.session_id_len};
}

bool Session::peer_verified() const {
  return s_ && s_->established && s_->x509.verify && s_->x509.ncerts > 0 && s_->x509.chain_err == 0;
}

std::string_view Session::peer_subject() const {
  return peer_verified() ? peer_subject_unverified() : std::string_view();
}

std::string_view Session::peer_subject_unverified() const {
  return s_ ? s_->peer_text.view() : std::string_view();
}

// ---- the relay ---------------------------------------------------------------------

int Session::relay(Fd& to_child, Fd& from_child, int idle_ms) {
  if (!s_) {
    to_child.reset();
    return fail("TLS session not started"), -1;
  }
  Impl& s = *s_;
  bool child_eof = false, unflushed = false;
  auto done = [&](int rc) {
    to_child.reset();
    return rc;
  };
  for (;;) {
    unsigned st = s.state();
    if (st & BR_SSL_CLOSED) return done(closed_status(s.eng, err_, nullptr));
    if (s.closing && !(st & BR_SSL_SENDREC)) return done(0);  // close_notify is out
    std::size_t len;
    unsigned char* app_in = br_ssl_engine_recvapp_buf(s.eng, &len);
    if (app_in && !to_child.ok()) {
      br_ssl_engine_recvapp_ack(s.eng, len);  // nobody reads it any more
      continue;
    }
    // The peer's data all delivered and its side gone: the child sees EOF.
    if (s.net_eof && !app_in) to_child.reset();
    if (child_eof && !s.closing) {
      // Everything the child wrote is in the engine: flush, close_notify.
      br_ssl_engine_flush(s.eng, 0);
      br_ssl_engine_close(s.eng);
      to_child.reset();
      s.closing = true;
      continue;
    }

    pollfd p[4];
    int n = 0, wi = -1, ri = -1, ci = -1, oi = -1;
    if (st & BR_SSL_SENDREC) { wi = n; p[n++] = {s.out_fd, POLLOUT, 0}; }
    if ((st & BR_SSL_RECVREC) && !s.net_eof) { ri = n; p[n++] = {s.in_fd, POLLIN, 0}; }
    if (app_in) { ci = n; p[n++] = {to_child.get(), POLLOUT, 0}; }
    if ((st & BR_SSL_SENDAPP) && !child_eof && !s.closing) { oi = n; p[n++] = {from_child.get(), POLLIN, 0}; }
    if (n == 0) {
      if (s.net_eof && !s.closing) {
        // The peer is gone and the engine holds nothing for anyone:
        // only the child's output is left, and the engine cannot take it.
        err_ = "TLS error: connection closed by peer";
        return done(-1);
      }
      err_ = "TLS error: engine stalled";
      return done(-1);
    }
    int r;
    if (unflushed) {
      // Before sleeping, send what the child wrote so far.
      r = ::poll(p, static_cast<nfds_t>(n), 0);
      if (r == 0) {
        br_ssl_engine_flush(s.eng, 0);
        unflushed = false;
        continue;
      }
    } else {
      r = ::poll(p, static_cast<nfds_t>(n), idle_ms);
      if (r == 0) {
        err_ = "TLS relay: ";
        err_.append(error_str(ETIMEDOUT));
        return done(-1);
      }
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      err_ = "TLS relay: ";
      err_.append(error_str(errno));
      return done(-1);
    }
    for (bool wr : {true, false}) {
      int i = wr ? wi : ri;
      if (i >= 0 && p[i].revents && s.transfer(wr, true) < 0 && errno != EAGAIN) {
        io_failure(err_, wr);
        return done(-1);
      }
    }
    if (ci >= 0 && (p[ci].revents & POLLERR)) {
      to_child.reset();  // the child closed its input: no write, no SIGPIPE
    } else if (ci >= 0 && p[ci].revents && to_child.ok()) {
      if (unsigned char* b = br_ssl_engine_recvapp_buf(s.eng, &len)) {
        ssize_t w;
        do {
          w = ::write(to_child.get(), b, len < PIPE_BUF ? len : PIPE_BUF);
        } while (w < 0 && errno == EINTR);
        if (w > 0) {
          br_ssl_engine_recvapp_ack(s.eng, static_cast<std::size_t>(w));
        } else if (w < 0 && errno != EAGAIN) {
          to_child.reset();  // EPIPE: the child reads no more
        }
      }
    }
    if (oi >= 0 && p[oi].revents) {
      if (unsigned char* b = br_ssl_engine_sendapp_buf(s.eng, &len)) {
        ssize_t g;
        do {
          g = ::read(from_child.get(), b, len);
        } while (g < 0 && errno == EINTR);
        if (g > 0) {
          br_ssl_engine_sendapp_ack(s.eng, static_cast<std::size_t>(g));
          unflushed = true;
        } else if (g == 0 || errno != EAGAIN) {
          child_eof = true;
        }
      }
    }
  }
}

}  // namespace qbox::tls
