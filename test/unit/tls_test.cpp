// src/tls: PEM, keys, trust anchors, DN formatting, sessions over socket
// pairs (both sides ours), the relay, STARTTLS, and interoperability with
// Debian's openssl s_client and s_server in both roles. The test keys and
// certificates are made with openssl in a temporary directory at run time.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/tcp.h>  // struct tcp_info with tcpi_data_segs_out
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <time.h>
#include <unistd.h>

#include "base/fd.hpp"
#include "io/buffer.hpp"
#include "tls/cpu.hpp"
#include "tls/creds.hpp"
#include "tls/keycrypt.hpp"
#include "tls/session.hpp"
#include "tls/sha256_block.hpp"
#include "tls/x25519.hpp"

using namespace qbox;
using namespace qbox::tls;

namespace doctest {
template <>
struct StringMaker<Str> {
  static String convert(const Str& s) { return String(s.data(), static_cast<unsigned>(s.size())); }
};
}  // namespace doctest

namespace {

constexpr int kTimeout = 10000;  // ms; generous for sanitizer builds

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

// The test PKI: a CA, EC and RSA server certificates for "localhost", a
// client certificate, and an unrelated CA with a certificate of its own.
struct Pki {
  Str dir;
  Str client_subject;  // as openssl prints it with -nameopt compat
  bool ok = false;
  Pki() {
    char tmpl[] = "/tmp/qbox-tls-test.XXXXXX";
    if (!::mkdtemp(tmpl)) return;
    dir = tmpl;
    Str cmd("cd '");
    cmd.append(dir).append("' && sh -e -c '"
        "days=3; ecnew=\"-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes\";"
        "printf \"subjectAltName=DNS:localhost\\n\" >san.cnf;"
        "openssl req -x509 $ecnew -keyout ca.key -out ca.pem -subj \"/CN=qbox test CA\" -days $days;"
        "openssl req $ecnew -keyout ec.key -out ec.csr -subj /CN=localhost;"
        "openssl x509 -req -in ec.csr -CA ca.pem -CAkey ca.key -CAcreateserial -extfile san.cnf -days $days -out ec.pem;"
        "openssl req -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.csr -subj /CN=localhost;"
        "openssl x509 -req -in rsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -extfile san.cnf -days $days -out rsa.pem;"
        "openssl req $ecnew -keyout client.key -out client.csr -subj \"/C=DE/O=Test Org/CN=client one\";"
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days $days -out client.pem;"
        "openssl x509 -in client.pem -noout -subject -nameopt compat >client.subject;"
        "openssl req -x509 $ecnew -keyout other-ca.key -out other-ca.pem -subj \"/CN=other CA\" -days $days;"
        "openssl req $ecnew -keyout untrusted.key -out untrusted.csr -subj /CN=localhost;"
        "openssl x509 -req -in untrusted.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial -extfile san.cnf -days $days -out untrusted.pem;"
        "openssl ec -in ec.key -out ec-sec1.key;"
        "openssl ec -in ec.key -no_public -out ec-nopub.key;"
        "openssl ec -in client.key -no_public -out client-nopub.key;"
        "openssl rsa -in rsa.key -traditional -out rsa-pkcs1.key;"
        "openssl genpkey -algorithm ed25519 -out ed25519.key;"
        "openssl ecparam -name secp256k1 -genkey -noout -out k1.key;"
        "openssl pkcs8 -topk8 -in ec.key -passout pass:secret -out enc.key;"
        "openssl rsa -in rsa.key -traditional -aes128 -passout pass:secret -out rsa-enc.key;"
        "openssl pkcs8 -topk8 -v2 aes-128-cbc -v2prf hmacWithSHA1 -in ec.key -passout pass:secret -out enc-sha1.key;"
        "openssl pkcs8 -topk8 -v2 des3 -v2prf hmacWithSHA512 -in rsa.key -passout pass:secret -out rsa-enc-des3.key;"
        "openssl pkcs8 -topk8 -v2 aes-192-cbc -v2prf hmacWithSHA384 -iter 1000 -in ec.key -passout pass:secret -out enc-sha384.key;"
        "openssl rsa -in rsa.key -traditional -des3 -passout pass:secret -out rsa-enc-legacy-des3.key;"
        "openssl ec -in ec.key -aes256 -passout pass:secret -out ec-enc-legacy.key;"
        "openssl pkcs8 -topk8 -scrypt -in ec.key -passout pass:secret -out enc-scrypt.key;"
        "cat ec.pem enc.key >enc-combined.pem;"
        "cat ec.pem ec.key >combined.pem;"
        "' >setup.log 2>&1");
    if (std::system(cmd.c_str()) != 0) return;
    Str subj;
    if (read_file(path("client.subject").c_str(), subj) < 0) return;
    std::string_view v = subj;
    if (v.substr(0, 8) == "subject=") v.remove_prefix(8);
    while (!v.empty() && v.back() == '\n') v.remove_suffix(1);
    client_subject = v;
    ok = true;
  }
  ~Pki() {
    if (!dir.empty()) {
      Str cmd("rm -rf '");
      cmd.append(dir).append("'");
      (void)std::system(cmd.c_str());
    }
  }
  Str path(std::string_view name) const {
    Str p(dir);
    p.append("/").append(name);
    return p;
  }
};

const Pki& pki() {
  static Pki p;
  REQUIRE(p.ok);
  return p;
}

Credentials creds(const char* cert, const char* key) {
  Credentials c;
  Str err;
  bool ok = c.load(pki().path(cert).c_str(), key ? pki().path(key).c_str() : nullptr, err);
  INFO(err.view());
  REQUIRE(ok);
  return c;
}

// The credentials NAME.pem with NAME.key.
Credentials pair(std::string_view name) {
  Str cert(name), key(name);
  cert.append(".pem");
  key.append(".key");
  return creds(cert.c_str(), key.c_str());
}

TrustAnchors anchors(const char* file) {
  TrustAnchors t;
  Str err;
  bool ok = t.load(pki().path(file).c_str(), err);
  INFO(err.view());
  REQUIRE(ok);
  return t;
}

// The error a load gives, with the test directory replaced by "DIR".
Str load_error(const char* cert, const char* key) {
  Credentials c;
  Str err;
  Str cp = pki().path(cert), kp = key ? pki().path(key) : Str();
  CHECK_FALSE(c.load(cp.c_str(), key ? kp.c_str() : nullptr, err));
  CHECK_FALSE(c.ok());
  Str out;
  std::string_view v = err;
  std::string_view d = pki().dir;
  for (std::size_t i; (i = v.find(d)) != std::string_view::npos;) {
    out.append(v.substr(0, i)).append("DIR");
    v.remove_prefix(i + d.size());
  }
  out.append(v);
  return out;
}

struct SockPair {
  Fd a, b;
  SockPair() {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    a.reset(sv[0]);
    b.reset(sv[1]);
  }
};

struct Pipe {
  Fd r, w;
  Pipe() {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    r.reset(p[0]);
    w.reset(p[1]);
  }
};

// Reads everything from the session until its end.
Str read_to_end(Session& s) {
  Str out;
  char buf[4096];
  for (;;) {
    long r = s.read(buf, sizeof buf, kTimeout);
    if (r <= 0) break;
    out.append(buf, static_cast<std::size_t>(r));
  }
  return out;
}

// What the server thread saw.
struct ServerResult {
  bool handshake = false;
  Str error, line, subject, cipher, version;
  bool verified = false;
};

// A server session on fd: handshake, read one line, answer, close_notify.
void serve_one(const ServerConfig& cfg, int in, int out, ServerResult& res, std::string_view answer) {
  Session s;
  if (!s.start_server(cfg, in, out)) {
    res.error = s.error();
    return;
  }
  res.handshake = s.handshake(kTimeout);
  if (!res.handshake) {
    res.error = s.error();
    return;
  }
  res.cipher = s.cipher();
  res.version = s.version();
  res.subject = s.peer_subject();
  res.verified = s.peer_verified();
  if (s.getline(res.line, '\n', 1000, kTimeout) < 0) res.error = s.error();
  if (s.write(answer, kTimeout) < 0 || s.close(kTimeout) < 0) res.error = s.error();
}

// serve_one() in a thread, on one descriptor.
struct ServerThread {
  ServerConfig cfg;
  ServerResult res;
  std::thread t;
  ServerThread(const ServerConfig& c, int fd, std::string_view answer)
      : cfg(c), t([this, fd, answer] { serve_one(cfg, fd, fd, res, answer); }) {}
  void join() { t.join(); }
};

// A program with its stdin and stdout on pipes.
struct Proc {
  pid_t pid = -1;
  Fd in, out;  // its stdin (we write), its stdout (we read)
  explicit Proc(std::initializer_list<const char*> argv) {
    Pipe i, o;
    std::vector<const char*> args(argv);
    args.push_back(nullptr);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::dup2(i.r.get(), 0);
      ::dup2(o.w.get(), 1);
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 2);
      ::execvp(args[0], const_cast<char* const*>(args.data()));
      ::_exit(127);
    }
    in = static_cast<Fd&&>(i.w);
    out = static_cast<Fd&&>(o.r);
  }
  // Reads stdout until EOF (or the timeout), then the exit status.
  Str output() {
    Str s;
    char buf[4096];
    for (;;) {
      if (!wait_fd(out.get(), false, kTimeout)) break;
      ssize_t r = ::read(out.get(), buf, sizeof buf);
      if (r <= 0) break;
      s.append(buf, static_cast<std::size_t>(r));
    }
    return s;
  }
  // Reads stdout up to and including the first line containing `what`.
  Str line_with(std::string_view what) {
    Str s;
    char c;
    while (wait_fd(out.get(), false, kTimeout) && ::read(out.get(), &c, 1) == 1) {
      s.push(c);
      if (c == '\n') {
        if (contains(s, what)) return s;
        s.clear();
      }
    }
    return s;
  }
  int wait() {
    int st = 0;
    if (pid > 0) {
      for (int i = 0; i < kTimeout / 10; ++i) {
        pid_t r = ::waitpid(pid, &st, WNOHANG);
        if (r == pid) { pid = -1; return st; }
        struct timespec ts{0, 10000000};
        ::nanosleep(&ts, nullptr);
      }
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      pid = -1;
      return -1;
    }
    return st;
  }
  ~Proc() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

// A listening socket on 127.0.0.1 with a kernel-chosen port.
struct Listener {
  Fd fd;
  int port = 0;
  Listener() {
    fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd.ok());
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd.get(), 4) == 0);
    socklen_t n = sizeof a;
    REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &n) == 0);
    port = ntohs(a.sin_port);
  }
  Fd accept() {
    REQUIRE(wait_fd(fd.get(), false, kTimeout));
    return Fd(::accept(fd.get(), nullptr, nullptr));
  }
};

Fd connect_to(int port) {
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  REQUIRE(::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return s;
}

Str num(int n) {
  Str s;
  s.append_num(static_cast<unsigned>(n));
  return s;
}

}  // namespace

// ---- PEM ---------------------------------------------------------------------

TEST_CASE("pem_decode finds objects among other text, with LF or CRLF") {
  // "hello" is aGVsbG8=, "world!" is d29ybGQh.
  std::string_view text =
      "Certificate:\n  Data: ...\n"
      "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n"
      "junk between\r\n"
      "-----BEGIN PRIVATE KEY-----\r\nd29y\r\nbGQh\r\n-----END PRIVATE KEY-----";
  std::vector<PemObject> objs;
  REQUIRE(pem_decode(text, objs));
  REQUIRE(objs.size() == 2);
  CHECK(objs[0].name == "CERTIFICATE");
  CHECK(objs[0].der == "hello");
  CHECK(objs[1].name == "PRIVATE KEY");
  CHECK(objs[1].der == "world!");

  objs.clear();
  CHECK(pem_decode("no PEM here at all\n", objs));
  CHECK(objs.empty());
}

TEST_CASE("pem_decode refuses bad base64 and unterminated objects") {
  std::vector<PemObject> objs;
  CHECK_FALSE(pem_decode("-----BEGIN CERTIFICATE-----\naGV*bG8=\n-----END CERTIFICATE-----\n", objs));
  objs.clear();
  CHECK_FALSE(pem_decode("-----BEGIN CERTIFICATE-----\naGVsbG8=\n", objs));
  CHECK(objs.empty());
}

// ---- keys and certificates ----------------------------------------------------

TEST_CASE("Credentials load RSA and EC keys in every PEM form") {
  struct Case { const char* cert; const char* key; int type; };
  const Case cases[] = {
      {"ec.pem", "ec.key", BR_KEYTYPE_EC},          // PKCS#8
      {"ec.pem", "ec-sec1.key", BR_KEYTYPE_EC},     // SEC1 "EC PRIVATE KEY"
      {"ec.pem", "ec-nopub.key", BR_KEYTYPE_EC},    // SEC1 without the public key
      {"rsa.pem", "rsa.key", BR_KEYTYPE_RSA},       // PKCS#8
      {"rsa.pem", "rsa-pkcs1.key", BR_KEYTYPE_RSA}, // PKCS#1 "RSA PRIVATE KEY"
      {"combined.pem", nullptr, BR_KEYTYPE_EC},     // qmail's servercert.pem
      {"combined.pem", "", BR_KEYTYPE_EC},          // $KEYFILE set but empty
  };
  for (const auto& c : cases) {
    CAPTURE(c.cert);
    CAPTURE(c.key);
    Credentials cr;
    Str err;
    Str kp = c.key && *c.key ? pki().path(c.key) : Str();
    CHECK(cr.load(pki().path(c.cert).c_str(), c.key && *c.key ? kp.c_str() : c.key, err));
    CHECK(cr.ok());
    CHECK(cr.key_type() == c.type);
    CHECK(cr.chain_len() == 1);
    CHECK(cr.issuer_key_type() == BR_KEYTYPE_EC);  // the test CA's key
  }
}

TEST_CASE("Credentials name the file and the problem") {
  CHECK(load_error("missing.pem", nullptr) == "unable to read DIR/missing.pem: file does not exist");
  CHECK(load_error("ec.key", nullptr) == "no certificate found in DIR/ec.key");
  CHECK(load_error("ec.pem", nullptr) == "no private key found in DIR/ec.pem");
  CHECK(load_error("ec.pem", "missing.key") == "unable to read DIR/missing.key: file does not exist");
  CHECK(load_error("ec.pem", "ca.pem") == "no private key found in DIR/ca.pem");
  CHECK(load_error("ec.pem", "client.key") ==
        "the private key in DIR/client.key does not match the certificate in DIR/ec.pem");
  // Without the public key in the file, the one computed from the private key is compared.
  CHECK(load_error("ec.pem", "client-nopub.key") ==
        "the private key in DIR/client-nopub.key does not match the certificate in DIR/ec.pem");
  CHECK(load_error("rsa.pem", "ec.key") ==
        "the private key in DIR/ec.key does not match the certificate in DIR/rsa.pem");
  CHECK(load_error("ec.pem", "ed25519.key") ==
        "unable to use the private key in DIR/ed25519.key: unsupported key type (RSA keys, and EC keys on P-256, P-384 or P-521 work)");
  CHECK(load_error("ec.pem", "k1.key") ==
        "unable to use the private key in DIR/k1.key: unsupported key type (RSA keys, and EC keys on P-256, P-384 or P-521 work)");
  CHECK(load_error("ec.pem", "enc.key") ==
        "the private key in DIR/enc.key is encrypted, and no passphrase was given");
  CHECK(load_error("rsa.pem", "rsa-enc.key") ==
        "the private key in DIR/rsa-enc.key is encrypted, and no passphrase was given");
}

TEST_CASE("Credentials reject malformed PEM, broken certificates and two keys") {
  Str cert, key;
  REQUIRE(read_file(pki().path("ec.pem").c_str(), cert) == 0);
  REQUIRE(read_file(pki().path("ec.key").c_str(), key) == 0);
  Credentials c;
  Str err;
  // Cut in the middle of the base64.
  CHECK_FALSE(c.load_pem(cert.view().substr(0, cert.size() / 2), "cert.pem", key, "key.pem", err));
  CHECK(err == "unable to parse cert.pem: malformed PEM data");
  // Valid base64, but not a certificate.
  CHECK_FALSE(c.load_pem("-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n", "cert.pem",
                         key, "key.pem", err));
  CHECK(contains(err, "unable to parse certificate 1 in cert.pem: "));
  Str two(key);
  two.append(key);
  CHECK_FALSE(c.load_pem(cert, "cert.pem", two, "key.pem", err));
  CHECK(err == "more than one private key in key.pem");
  CHECK_FALSE(c.ok());
  // And it still loads right after the failures.
  CHECK(c.load_pem(cert, "cert.pem", key, "key.pem", err));
  CHECK(c.ok());
}

TEST_CASE("Credentials read a combined file with CRLF line ends") {
  Str text, crlf;
  REQUIRE(read_file(pki().path("combined.pem").c_str(), text) == 0);
  for (char ch : text.view()) {
    if (ch == '\n') crlf.push('\r');
    crlf.push(ch);
  }
  Credentials c;
  Str err;
  CHECK(c.load_pem(crlf, "servercert.pem", crlf, "servercert.pem", err));
  CHECK(c.key_type() == BR_KEYTYPE_EC);

  // A legacy encrypted key inside the combined file, CRLF too.
  Str enc, rsa;
  REQUIRE(read_file(pki().path("rsa-enc.key").c_str(), enc) == 0);
  REQUIRE(read_file(pki().path("rsa.pem").c_str(), rsa) == 0);
  rsa.append(enc);
  CHECK_FALSE(c.load_pem(rsa, "servercert.pem", rsa, "servercert.pem", err));
  CHECK(err == "the private key in servercert.pem is encrypted, and no passphrase was given");
  CHECK(c.load_pem(rsa, "servercert.pem", rsa, "servercert.pem", err, "secret"));
  CHECK(c.key_type() == BR_KEYTYPE_RSA);
  crlf.clear();
  for (char ch : rsa.view()) {
    if (ch == '\n') crlf.push('\r');
    crlf.push(ch);
  }
  CHECK(c.load_pem(crlf, "servercert.pem", crlf, "servercert.pem", err, "secret"));
  CHECK(c.key_type() == BR_KEYTYPE_RSA);
}

namespace {

Str unhex(std::string_view hex) {
  Str out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    auto nib = [](char ch) { return ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10; };
    out.push(static_cast<char>(nib(hex[i]) << 4 | nib(hex[i + 1])));
  }
  return out;
}

Str derive(const br_hash_class* h, std::string_view pass, std::string_view salt, uint32_t c, std::size_t len) {
  Str out;
  out.resize(len);
  pbkdf2(h, pass, salt, c, reinterpret_cast<unsigned char*>(out.data()), len);
  return out;
}

}  // namespace

TEST_CASE("PBKDF2: the known answers of RFC 6070 (HMAC-SHA1) and RFC 7914 (HMAC-SHA256)") {
  using namespace std::string_view_literals;
  CHECK(derive(&br_sha1_vtable, "password", "salt", 1, 20) == unhex("0c60c80f961f0e71f3a9b524af6012062fe037a6"));
  CHECK(derive(&br_sha1_vtable, "password", "salt", 2, 20) == unhex("ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"));
  CHECK(derive(&br_sha1_vtable, "password", "salt", 4096, 20) == unhex("4b007901b765489abead49d926f721d065a429c1"));
  CHECK(derive(&br_sha1_vtable, "passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 25) ==
        unhex("3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038"));
  CHECK(derive(&br_sha1_vtable, "pass\0word"sv, "sa\0lt"sv, 4096, 16) == unhex("56fa6aa75548099dcc37d7f03425e0c3"));
  CHECK(derive(&br_sha256_vtable, "passwd", "salt", 1, 64) ==
        unhex("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
              "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"));
  CHECK(derive(&br_sha256_vtable, "Password", "NaCl", 80000, 64) ==
        unhex("4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
              "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"));
}

TEST_CASE("EVP_BytesToKey with MD5: what openssl enc -md md5 -P prints") {
  // openssl enc -aes-256-cbc -md md5 -S 0102030405060708 -pass pass:secret -P
  const unsigned char salt[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  Str out;
  out.resize(48);
  bytes_to_key_md5("secret", salt, reinterpret_cast<unsigned char*>(out.data()), 48);
  CHECK(out == unhex("C9E5A1BD216DBE1317E230CEF48F38EE7F0E17AD64022144BCCEC4A1AA2879AB"
                     "E24B32BBBC4EF02ECBCB6576523AD893"));
}

TEST_CASE("Credentials decrypt the keys openssl encrypts, and name a wrong passphrase") {
  struct Case { const char* cert; const char* key; int type; };
  const Case cases[] = {
      {"ec.pem", "enc.key", BR_KEYTYPE_EC},                   // PBES2, AES-256-CBC, HMAC-SHA256
      {"ec.pem", "enc-sha1.key", BR_KEYTYPE_EC},              // AES-128-CBC, HMAC-SHA1
      {"ec.pem", "enc-sha384.key", BR_KEYTYPE_EC},            // AES-192-CBC, HMAC-SHA384
      {"rsa.pem", "rsa-enc-des3.key", BR_KEYTYPE_RSA},        // DES-EDE3-CBC, HMAC-SHA512
      {"rsa.pem", "rsa-enc.key", BR_KEYTYPE_RSA},             // legacy AES-128-CBC
      {"rsa.pem", "rsa-enc-legacy-des3.key", BR_KEYTYPE_RSA}, // legacy DES-EDE3-CBC
      {"ec.pem", "ec-enc-legacy.key", BR_KEYTYPE_EC},         // legacy SEC1, AES-256-CBC
      {"enc-combined.pem", nullptr, BR_KEYTYPE_EC},           // in the certificate's file
  };
  for (const auto& c : cases) {
    CAPTURE(c.key);
    Credentials cr;
    Str err;
    Str kp = c.key ? pki().path(c.key) : Str();
    CHECK(cr.load(pki().path(c.cert).c_str(), c.key ? kp.c_str() : nullptr, err, "secret"));
    INFO(err.view());
    CHECK(cr.key_type() == c.type);
    CHECK(cr.load(pki().path(c.cert).c_str(), c.key ? kp.c_str() : nullptr, err, "Secret") == false);
    Str want("unable to decrypt the private key in ");
    want.append(c.key ? kp.view() : pki().path(c.cert).view()).append(": wrong passphrase");
    CHECK(err == want);
    CHECK_FALSE(cr.ok());
  }
  // A plain key does not mind a passphrase.
  Credentials cr;
  Str err;
  CHECK(cr.load(pki().path("ec.pem").c_str(), pki().path("ec.key").c_str(), err, "secret"));
  // scrypt is not among the schemes.
  CHECK_FALSE(cr.load(pki().path("ec.pem").c_str(), pki().path("enc-scrypt.key").c_str(), err, "secret"));
  CHECK(contains(err, "/enc-scrypt.key: unsupported encryption ("));
}

TEST_CASE("decrypt_pkcs8 and decrypt_legacy refuse broken input") {
  Str out;
  CHECK(decrypt_pkcs8("", "x", out) == Decrypted::kMalformed);
  CHECK(decrypt_pkcs8("\x30\x03\x02\x01\x00", "x", out) == Decrypted::kMalformed);
  CHECK(decrypt_legacy("AES-256-CBC,00", "0123456789abcdef", "x", out) == Decrypted::kMalformed);
  CHECK(decrypt_legacy("BF-CBC,0011223344556677", "01234567", "x", out) == Decrypted::kUnsupported);
  CHECK(decrypt_legacy("DES-CBC,0011223344556677", "0123456", "x", out) == Decrypted::kMalformed);  // not whole blocks
  CHECK(out.empty());
}

TEST_CASE("strip_pem_headers keeps the body and finds DEK-Info") {
  Str out;
  std::vector<Str> deks;
  strip_pem_headers("junk\n-----BEGIN A-----\nQUJD\n-----END A-----\n"
                    "-----BEGIN RSA PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\r\n"
                    "DEK-Info: AES-128-CBC,00FF\r\n\r\nREVG\r\n-----END RSA PRIVATE KEY-----\r\n",
                    out, deks);
  CHECK(out == "junk\n-----BEGIN A-----\nQUJD\n-----END A-----\n"
               "-----BEGIN RSA PRIVATE KEY-----\r\nREVG\r\n-----END RSA PRIVATE KEY-----\r\n");
  REQUIRE(deks.size() == 2);
  CHECK(deks[0].empty());
  CHECK(deks[1] == "AES-128-CBC,00FF");
}

TEST_CASE("read_passphrase reads to the first NUL or the end, newline included") {
  // A pipe holding `bytes`, closed behind them: its reading end.
  auto feed = [](std::string_view bytes) {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    REQUIRE(write_all(p[1], bytes) == 0);
    ::close(p[1]);
    return Fd(p[0]);
  };
  Str pass;
  CHECK(read_passphrase(feed(std::string_view("secret\0rest", 11)).get(), pass) == 0);
  CHECK(pass == "secret");
  CHECK(read_passphrase(feed("line\n").get(), pass) == 0);
  CHECK(pass == "line\n");
  CHECK(read_passphrase(feed("0123456789").get(), pass, 4) == -1);
  CHECK(errno == EFBIG);
  CHECK(read_passphrase(-1, pass) == -1);
  CHECK(errno == EBADF);
}

TEST_CASE("TrustAnchors from a CA file and from the system bundle") {
  TrustAnchors t;
  Str err;
  CHECK(t.load(pki().path("ca.pem").c_str(), err));
  CHECK(t.size() == 1);
  CHECK(t.data()[0].flags == BR_X509_TA_CA);
  CHECK(t.load(pki().path("other-ca.pem").c_str(), err));
  CHECK(t.size() == 2);

  TrustAnchors none;
  CHECK_FALSE(none.load(pki().path("ec.key").c_str(), err));
  CHECK(contains(err, "no usable CA certificate found in "));
  CHECK_FALSE(none.load(pki().path("nonexistent").c_str(), err));
  CHECK(contains(err, ": file does not exist"));

  const char* bundle = "/etc/ssl/certs/ca-certificates.crt";
  if (::access(bundle, R_OK) == 0) {
    TrustAnchors sys;
    CHECK(sys.load(bundle, err));
    CHECK(sys.size() > 50);
  }
}

// ---- distinguished names ------------------------------------------------------

namespace {
void subject_of(const char* pemfile, Str& der) {
  Str text;
  REQUIRE(read_file(pki().path(pemfile).c_str(), text) == 0);
  std::vector<PemObject> objs;
  REQUIRE(pem_decode(text, objs));
  REQUIRE(!objs.empty());
  br_x509_decoder_context dc;
  br_x509_decoder_init(&dc, [](void* ctx, const void* p, std::size_t n) {
    static_cast<Str*>(ctx)->append(static_cast<const char*>(p), n);
  }, &der);
  br_x509_decoder_push(&dc, objs[0].der.data(), objs[0].der.size());
  REQUIRE(br_x509_decoder_last_error(&dc) == 0);
}
}  // namespace

TEST_CASE("format_dn prints what openssl prints with -nameopt compat") {
  Str der, out;
  subject_of("client.pem", der);
  CHECK(format_dn(der, out));
  CHECK(out == pki().client_subject);
  CHECK(out == "/C=DE/O=Test Org/CN=client one");
}

TEST_CASE("format_dn escapes bytes and names unknown attributes by number") {
  // SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String "M\xC3\xBC\n" } }
  //            SET { SEQUENCE { OID 1.2.3.4, PrintableString "x/y" } } }
  const unsigned char dn[] = {
      0x30, 0x1f,
      0x31, 0x0e, 0x30, 0x0c, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x05, 'M', 0xc3, 0xbc, '\n', '!',
      0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x2a, 0x03, 0x04, 0x13, 0x04, 'x', '/', 'y', 0x00,
  };
  Str out;
  CHECK(format_dn(std::string_view(reinterpret_cast<const char*>(dn), sizeof dn), out));
  CHECK(out == "/CN=M\\xC3\\xBC\\x0A!/1.2.3.4=x/y\\x00");

  // BMPString "A\u00e9"
  const unsigned char bmp[] = {0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x0a,
                               0x1e, 0x04, 0x00, 'A', 0x00, 0xe9};
  out.clear();
  CHECK(format_dn(std::string_view(reinterpret_cast<const char*>(bmp), sizeof bmp), out));
  CHECK(out == "/O=A\\xC3\\xA9");

  out.clear();
  CHECK_FALSE(format_dn(std::string_view(reinterpret_cast<const char*>(dn), sizeof dn - 3), out));
  CHECK(out.back() == '?');
  out.clear();
  CHECK_FALSE(format_dn("", out));
}

// ---- sessions, both sides ours --------------------------------------------------

TEST_CASE("handshake, data both ways and close_notify, EC and RSA") {
  TrustAnchors ca = anchors("ca.pem");
  for (const char* name : {"ec", "rsa"}) {
    CAPTURE(name);
    Credentials cr = pair(name);
    ServerConfig scfg{.creds = &cr};
    SockPair sp;
    ServerThread server(scfg, sp.a.get(), "250 welcome\r\n");
    const ServerResult& res = server.res;

    ClientConfig ccfg{.server_name = "localhost", .anchors = &ca};
    Session c;
    REQUIRE(c.start_client(ccfg, sp.b.get(), sp.b.get()));
    bool hs = c.handshake(kTimeout);
    INFO(c.error());
    CHECK(hs);
    CHECK(c.peer_verified());
    CHECK(c.peer_subject() == "/CN=localhost");
    CHECK(c.write("EHLO client\r\n", kTimeout) == 0);
    CHECK(c.flush(kTimeout) == 0);
    Str got = read_to_end(c);
    CHECK_FALSE(c.truncated());
    server.join();

    CHECK(res.handshake);
    CHECK(res.error.empty());
    CHECK(res.line == "EHLO client\r\n");
    CHECK(got == "250 welcome\r\n");
    CHECK(res.version == "TLSv1.2");
    CHECK(std::string_view(c.version()) == "TLSv1.2");
    CHECK(res.cipher == c.cipher());
    bool ec = std::string_view(name) == "ec";
    CHECK(contains(res.cipher, ec ? "ECDHE-ECDSA-" : "ECDHE-RSA-"));
    CHECK((contains(res.cipher, "-GCM-") || contains(res.cipher, "CHACHA20")));
    CHECK((c.cipher_bits() == 128 || c.cipher_bits() == 256));
    CHECK_FALSE(res.verified);  // no client certificate was asked for
    CHECK(res.subject.empty());
  }
}

TEST_CASE("over TCP, ChangeCipherSpec and Finished share a segment, as do the last data and close_notify") {
  // The kernel's count of data segments each side sent. The server sends
  // its flight, ChangeCipherSpec + Finished, and the answer + close_notify:
  // 3 (5 if each record went alone); the client ClientHello, its key
  // exchange, ChangeCipherSpec + Finished, the line and its close_notify
  // in answer to the server's: 5 (6).
  auto data_segs = [](int fd) {
    tcp_info ti{};
    socklen_t n = sizeof ti;
    REQUIRE(::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &n) == 0);
    return ti.tcpi_data_segs_out;
  };
  TrustAnchors ca = anchors("ca.pem");
  Credentials cr = pair("ec");
  ServerConfig scfg{.creds = &cr};
  Listener l;
  Fd cfd = connect_to(l.port);
  Fd sfd = l.accept();
  REQUIRE(sfd.ok());
  ServerThread server(scfg, sfd.get(), "250 welcome\r\n");
  ClientConfig ccfg{.server_name = "localhost", .anchors = &ca};
  Session c;
  REQUIRE(c.start_client(ccfg, cfd.get(), cfd.get()));
  REQUIRE(c.handshake(kTimeout));
  CHECK(c.write("EHLO client\r\n", kTimeout) == 0);
  CHECK(c.flush(kTimeout) == 0);
  CHECK(read_to_end(c) == "250 welcome\r\n");
  server.join();
  CHECK(server.res.error.empty());
  CHECK(data_segs(sfd.get()) <= 3);
  CHECK(data_segs(cfd.get()) <= 5);
}

TEST_CASE("the client refuses an unknown CA and a wrong name, unless insecure") {
  TrustAnchors ca = anchors("ca.pem");
  struct Case { const char* cert; const char* name; bool insecure; const char* err; const char* alert; };
  const Case cases[] = {
      {"untrusted", "localhost", false, "certificate not trusted (unknown CA)", "unknown CA"},
      {"ec", "mail.example.org", false, "certificate does not match the server name", "bad certificate"},
      {"untrusted", "mail.example.org", true, nullptr, nullptr},
  };
  for (const auto& k : cases) {
    CAPTURE(k.cert);
    CAPTURE(k.name);
    Credentials cr = pair(k.cert);
    ServerConfig scfg{.creds = &cr};
    SockPair sp;
    ServerThread server(scfg, sp.a.get(), "ok\n");
    const ServerResult& res = server.res;
    ClientConfig ccfg{.server_name = k.name, .anchors = &ca, .insecure = k.insecure};
    Session c;
    REQUIRE(c.start_client(ccfg, sp.b.get(), sp.b.get()));
    bool hs = c.handshake(kTimeout);
    if (k.err) {
      CHECK_FALSE(hs);
      CHECK(std::string_view(c.error()) == Str("TLS handshake failed: ").append(k.err).view());
      CHECK_FALSE(c.peer_verified());
      CHECK(c.peer_subject().empty());
      CHECK(c.peer_subject_unverified() == "/CN=localhost");  // for the log
      sp.b.reset();  // the server sees the alert or EOF
    } else {
      CHECK(hs);
      CHECK_FALSE(c.peer_verified());
      CHECK(c.peer_subject().empty());
      CHECK(c.peer_subject_unverified() == "/CN=localhost");
      CHECK(c.write("hi\n", kTimeout) == 0);
      CHECK(read_to_end(c) == "ok\n");
    }
    server.join();
    CHECK(res.handshake == !k.err);
    if (k.err) CHECK(res.error == Str("TLS handshake failed: peer sent alert ").append(k.alert));
  }
}

TEST_CASE("a client without CA certificates must ask for insecure explicitly") {
  Session c;
  ClientConfig ccfg;
  ccfg.server_name = "localhost";
  CHECK_FALSE(c.start_client(ccfg, 0, 1));
  CHECK(std::string_view(c.error()) == "TLS client without CA certificates to verify the server");
  TrustAnchors empty;
  ccfg.anchors = &empty;
  CHECK_FALSE(c.start_client(ccfg, 0, 1));
}

TEST_CASE("client certificates: required, optional, missing") {
  TrustAnchors ca = anchors("ca.pem");
  Credentials server = creds("ec.pem", "ec.key");
  Credentials client = creds("client.pem", "client.key");
  Credentials stranger = creds("untrusted.pem", "untrusted.key");
  struct Case { ClientAuth auth; const Credentials* cc; bool ok; bool verified; };
  const Case cases[] = {
      {ClientAuth::kRequire, &client, true, true},
      {ClientAuth::kRequire, nullptr, false, false},
      {ClientAuth::kRequire, &stranger, false, false},
      {ClientAuth::kOptional, &client, true, true},
      {ClientAuth::kOptional, nullptr, true, false},
      {ClientAuth::kOptional, &stranger, true, false},
  };
  int i = 0;
  for (const auto& k : cases) {
    CAPTURE(i++);
    ServerConfig scfg{.creds = &server};
    scfg.client_auth = k.auth;
    scfg.client_cas = &ca;
    SockPair sp;
    ServerResult res;
    std::thread t([&] {
      serve_one(scfg, sp.a.get(), sp.a.get(), res, "hello\n");
      if (!res.handshake) sp.a.reset();
    });
    ClientConfig ccfg{.server_name = "localhost", .anchors = &ca, .creds = k.cc};
    Session c;
    REQUIRE(c.start_client(ccfg, sp.b.get(), sp.b.get()));
    bool hs = c.handshake(kTimeout);
    if (hs) {
      c.write("x\n", kTimeout);
      read_to_end(c);
    }
    t.join();
    INFO(res.error.view());
    CHECK(res.handshake == k.ok);
    CHECK(res.verified == k.verified);
    CHECK(res.subject == (k.verified ? pki().client_subject.view() : std::string_view()));
  }
  // Asking for client certificates needs CAs to check them with.
  ServerConfig bad;
  bad.creds = &server;
  bad.client_auth = ClientAuth::kRequire;
  Session s;
  CHECK_FALSE(s.start_server(bad, 0, 1));
}

TEST_CASE("a server fails cleanly on plain text and on silence") {
  Credentials cr = creds("ec.pem", "ec.key");
  ServerConfig scfg{.creds = &cr};
  {
    SockPair sp;
    REQUIRE(write_all(sp.b.get(), "EHLO example.org\r\n") == 0);
    ::shutdown(sp.b.get(), SHUT_WR);
    Session s;
    REQUIRE(s.start_server(scfg, sp.a.get(), sp.a.get()));
    CHECK_FALSE(s.handshake(kTimeout));
    CHECK(std::string_view(s.error()) == "TLS handshake failed: not TLS, or an unsupported protocol version");
  }
  {
    SockPair sp;
    Session s;
    REQUIRE(s.start_server(scfg, sp.a.get(), sp.a.get()));
    struct timespec t0, t1;
    ::clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_FALSE(s.handshake(200));
    ::clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(std::string_view(s.error()) == "TLS handshake failed: unable to read from network: timed out");
    double sec = double(t1.tv_sec - t0.tv_sec) + double(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(sec >= 0.19);
    CHECK(sec < 3);
  }
  {
    SockPair sp;
    sp.b.reset();
    Session s;
    REQUIRE(s.start_server(scfg, sp.a.get(), sp.a.get()));
    CHECK_FALSE(s.handshake(kTimeout));
    CHECK(std::string_view(s.error()) == "TLS handshake failed: connection closed by peer");
  }
}

TEST_CASE("sessions work over separate in and out descriptors (pipes), after moves") {
  TrustAnchors ca0 = anchors("ca.pem");
  TrustAnchors ca(static_cast<TrustAnchors&&>(ca0));
  Credentials cr0 = creds("ec.pem", "ec.key");
  Credentials cr1(static_cast<Credentials&&>(cr0));
  Credentials cr;
  cr = static_cast<Credentials&&>(cr1);
  CHECK_FALSE(cr0.ok());
  CHECK_FALSE(cr1.ok());
  Pipe c2s, s2c;
  ServerConfig scfg{.creds = &cr};
  ServerResult res;
  std::thread t([&] {
    serve_one(scfg, c2s.r.get(), s2c.w.get(), res, "pong\n");
    s2c.w.reset();
  });
  ClientConfig ccfg{.server_name = "localhost", .anchors = &ca};
  Session c;
  REQUIRE(c.start_client(ccfg, s2c.r.get(), c2s.w.get()));
  REQUIRE(c.handshake(kTimeout));
  CHECK(c.write("ping\n", kTimeout) == 0);
  CHECK(read_to_end(c) == "pong\n");
  t.join();
  CHECK(res.line == "ping\n");
}

// ---- STARTTLS ------------------------------------------------------------------

TEST_CASE("STARTTLS: plaintext pipelined after the command is never used") {
  TrustAnchors ca = anchors("ca.pem");
  Credentials cr = creds("ec.pem", "ec.key");
  for (Pipelined policy : {Pipelined::kDiscard, Pipelined::kRefuse}) {
    SockPair sp;
    // The attacker's bytes ride in the same segment as STARTTLS.
    std::string_view injected = "MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.org>\r\n";
    Str first("STARTTLS\r\n");
    first.append(injected);
    REQUIRE(write_all(sp.b.get(), first) == 0);

    ServerResult res;
    std::size_t discarded = 99;
    bool started = false;
    std::thread t([&] {
      char buf[512];
      Reader in(sp.a.get(), buf, kTimeout);
      Str line;
      if (in.getline(line) != 1 || line != "STARTTLS\r\n") return;
      ServerConfig scfg{.creds = &cr};
      Session s;
      started = s.start_server(scfg, in, sp.a.get(), policy);
      discarded = s.discarded();
      CHECK(in.peek().empty());
      if (!started) {
        write_all(sp.a.get(), "454 TLS not available\r\n");
        return;
      }
      write_all(sp.a.get(), "220 ready to start TLS\r\n");
      if (!s.handshake(kTimeout)) {
        res.error = s.error();
        return;
      }
      res.handshake = true;
      if (s.getline(res.line, '\n', 1000, kTimeout) < 0) res.error = s.error();
      s.write("250 ok\r\n", kTimeout);
      s.close(kTimeout);
    });

    char buf[512];
    Reader in(sp.b.get(), buf, kTimeout);
    Str reply;
    REQUIRE(in.getline(reply) == 1);
    if (policy == Pipelined::kDiscard) {
      CHECK(reply == "220 ready to start TLS\r\n");
      ClientConfig ccfg{.server_name = "localhost", .anchors = &ca};
      Session c;
      REQUIRE(c.start_client(ccfg, in, sp.b.get()));
      CHECK(c.discarded() == 0);
      REQUIRE(c.handshake(kTimeout));
      CHECK(c.write("EHLO client\r\n", kTimeout) == 0);
      CHECK(read_to_end(c) == "250 ok\r\n");
    } else {
      CHECK(reply == "454 TLS not available\r\n");
    }
    t.join();
    CHECK(discarded == injected.size());
    CHECK(started == (policy == Pipelined::kDiscard));
    if (policy == Pipelined::kDiscard) {
      CHECK(res.handshake);
      // The first line over TLS is the client's, not the injected one.
      CHECK(res.line == "EHLO client\r\n");
    }
  }
}

TEST_CASE("STARTTLS client: bytes after the server's 220 are dropped too") {
  Credentials cr = creds("ec.pem", "ec.key");
  SockPair sp;
  REQUIRE(write_all(sp.a.get(), "220 go ahead\r\n250 injected\r\n") == 0);
  char buf[256];
  Reader in(sp.b.get(), buf, kTimeout);
  Str line;
  REQUIRE(in.getline(line) == 1);
  ClientConfig ccfg;
  ccfg.insecure = true;
  Session c;
  CHECK_FALSE(c.start_client(ccfg, in, sp.b.get(), Pipelined::kRefuse));
  CHECK(c.discarded() == 14);
  CHECK(in.peek().empty());
}

// ---- the relay -------------------------------------------------------------------

namespace {
// The relay's child: pipes to and from it, and a thread playing the program.
struct RelayRig {
  SockPair net;
  Pipe to_child, from_child;
  Credentials cr = creds("ec.pem", "ec.key");
  TrustAnchors ca = anchors("ca.pem");
  int relay_rc = 99;
  Str relay_err;
  std::thread server;

  template <class F>
  explicit RelayRig(F program) {
    server = std::thread([this, program] {
      std::thread child(program, to_child.r.get(), from_child.w.get());
      ServerConfig scfg{.creds = &cr};
      Session s;
      if (s.start_server(scfg, net.a.get(), net.a.get()) && s.handshake(kTimeout)) {
        relay_rc = s.relay(to_child.w, from_child.r, kTimeout);
      }
      relay_err = s.error();
      child.join();
    });
  }
  Session client() {
    ClientConfig ccfg{.server_name = "localhost", .anchors = &ca};
    Session c;
    REQUIRE(c.start_client(ccfg, net.b.get(), net.b.get()));
    REQUIRE(c.handshake(kTimeout));
    return c;
  }
  void join() { server.join(); }
};

// Copies its input to its output, then closes its output.
void echo(int in, int out) {
  char buf[3000];
  for (;;) {
    ssize_t r = ::read(in, buf, sizeof buf);
    if (r <= 0) break;
    if (write_all(out, std::string_view(buf, static_cast<std::size_t>(r))) < 0) break;
  }
  ::close(out);
}
}  // namespace

TEST_CASE("relay: a megabyte both ways, then the client's close_notify") {
  RelayRig rig(echo);
  Session c = rig.client();
  Str chunk;
  for (int i = 0; i < 16384; ++i) chunk.push(static_cast<char>('a' + i % 26));
  Str got;
  char buf[8192];
  for (int i = 0; i < 64; ++i) {
    REQUIRE(c.write(chunk, kTimeout) == 0);
    REQUIRE(c.flush(kTimeout) == 0);
    std::size_t want = chunk.size();
    while (want > 0) {
      long r = c.read(buf, sizeof buf < want ? sizeof buf : want, kTimeout);
      REQUIRE(r > 0);
      if (std::string_view(buf, static_cast<std::size_t>(r)) != chunk.view().substr(chunk.size() - want, static_cast<std::size_t>(r)))
        FAIL("echoed data differs");
      want -= static_cast<std::size_t>(r);
    }
  }
  CHECK(c.close(kTimeout) == 0);
  rig.join();
  CHECK(rig.relay_rc == 0);
  CHECK_FALSE(rig.to_child.w.ok());  // closed by the relay
}

TEST_CASE("relay: the child answers and exits; the client gets close_notify") {
  RelayRig rig([](int in, int out) {
    write_all(out, "221 bye\r\n");
    ::close(out);
    char c;
    (void)!::read(in, &c, 1);  // EOF once the relay closes our input
  });
  Session c = rig.client();
  CHECK(read_to_end(c) == "221 bye\r\n");
  CHECK_FALSE(c.truncated());
  rig.join();
  CHECK(rig.relay_rc == 0);
}

TEST_CASE("relay: EOF from the network without close_notify, the child still talks") {
  RelayRig rig([](int in, int out) {
    Str all;
    read_all(in, all);  // until the relay passes the EOF on
    Str answer("got ");
    answer.append(all).append(" and EOF\n");
    write_all(out, answer);
    ::close(out);
  });
  Session c = rig.client();
  CHECK(c.write("question", kTimeout) == 0);
  CHECK(c.flush(kTimeout) == 0);
  ::shutdown(rig.net.b.get(), SHUT_WR);  // TCP half-close, no close_notify
  CHECK(read_to_end(c) == "got question and EOF\n");
  rig.join();
  CHECK(rig.relay_rc == 0);
}

TEST_CASE("relay: a child that stops reading does not stop the session") {
  RelayRig rig([](int in, int out) {
    ::close(in);
    struct timespec ts{0, 50000000};
    ::nanosleep(&ts, nullptr);
    write_all(out, "done\n");
    ::close(out);
  });
  Session c = rig.client();
  Str big;
  big.resize(200000);
  c.write(big, kTimeout);  // may fail once the server closes
  c.flush(kTimeout);
  Str got = read_to_end(c);
  rig.join();
  CHECK(got == "done\n");
  CHECK(rig.relay_rc == 0);
}

TEST_CASE("relay: an idle connection times out") {
  Credentials cr = creds("ec.pem", "ec.key");
  TrustAnchors ca = anchors("ca.pem");
  SockPair net;
  Pipe to_child, from_child;
  int rc = 99;
  Str err;
  std::thread t([&] {
    ServerConfig scfg{.creds = &cr};
    Session s;
    if (s.start_server(scfg, net.a.get(), net.a.get()) && s.handshake(kTimeout))
      rc = s.relay(to_child.w, from_child.r, 200);
    err = s.error();
  });
  ClientConfig ccfg{.server_name = "localhost", .anchors = &ca};
  Session c;
  REQUIRE(c.start_client(ccfg, net.b.get(), net.b.get()));
  REQUIRE(c.handshake(kTimeout));
  t.join();
  CHECK(rc == -1);
  CHECK(err == "TLS relay: timed out");
}

// ---- interoperability with OpenSSL ------------------------------------------------

TEST_CASE("OpenSSL's s_client talks to our server (EC, RSA, client certificate)") {
  TrustAnchors ca = anchors("ca.pem");
  struct Case { const char* cert; const char* key; bool client_cert; };
  const Case cases[] = {{"ec.pem", "ec.key", false}, {"rsa.pem", "rsa-pkcs1.key", false}, {"combined.pem", nullptr, true}};
  for (const auto& k : cases) {
    CAPTURE(k.cert);
    Credentials cr = creds(k.cert, k.key);
    Listener l;
    Str port = num(l.port), connect("127.0.0.1:");
    connect.append(port);
    Str cafile = pki().path("ca.pem"), ccert = pki().path("client.pem"), ckey = pki().path("client.key");
    Proc p = k.client_cert
                 ? Proc({"openssl", "s_client", "-connect", connect.c_str(), "-servername", "localhost",
                         "-CAfile", cafile.c_str(), "-verify_return_error", "-quiet", "-cert", ccert.c_str(),
                         "-key", ckey.c_str()})
                 : Proc({"openssl", "s_client", "-connect", connect.c_str(), "-servername", "localhost",
                         "-CAfile", cafile.c_str(), "-verify_return_error", "-quiet"});
    REQUIRE(write_all(p.in.get(), "hello from openssl\n") == 0);
    Fd conn = l.accept();
    REQUIRE(conn.ok());
    ServerConfig scfg{.creds = &cr};
    if (k.client_cert) {
      scfg.client_auth = ClientAuth::kRequire;
      scfg.client_cas = &ca;
    }
    ServerResult res;
    serve_one(scfg, conn.get(), conn.get(), res, "hello from qbox\n");
    INFO(res.error.view());
    CHECK(res.handshake);
    CHECK(res.line == "hello from openssl\n");
    CHECK(res.version == "TLSv1.2");
    if (k.client_cert) CHECK(res.subject == pki().client_subject);
    Str out = p.output();
    CHECK(contains(out, "hello from qbox\n"));
    p.in.reset();
    int st = p.wait();
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
  }
}

TEST_CASE("OpenSSL's s_client cannot get TLS 1.1 or CBC suites from our server") {
  Credentials cr = creds("rsa.pem", "rsa.key");
  struct Case { std::initializer_list<const char*> args; const char* err; };
  const Case cases[] = {
      {{"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"}, "sent alert protocol version"},
      {{"-tls1_2", "-cipher", "AES128-SHA256:ECDHE-RSA-AES128-SHA"}, "sent alert handshake failure"},
  };
  for (const auto& k : cases) {
    const auto& e = k.args;
    Listener l;
    Str connect("127.0.0.1:");
    connect.append(num(l.port));
    std::vector<const char*> argv{"openssl", "s_client", "-connect", connect.c_str(), "-quiet"};
    argv.insert(argv.end(), e.begin(), e.end());
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      argv.push_back(nullptr);
      ::execvp(argv[0], const_cast<char* const*>(argv.data()));
      ::_exit(127);
    }
    Fd conn = l.accept();
    ServerConfig scfg{.creds = &cr};
    Session s;
    REQUIRE(s.start_server(scfg, conn.get(), conn.get()));
    CHECK_FALSE(s.handshake(kTimeout));
    CHECK(Str(s.error()) == Str("TLS handshake failed: ").append(k.err));
    conn.reset();
    int st;
    ::waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) != 0);
  }
}

TEST_CASE("our client talks to OpenSSL's s_server, and refuses an untrusted one") {
  TrustAnchors ca = anchors("ca.pem");
  Credentials client = creds("client.pem", "client.key");
  struct Case { const char* cert; const char* key; bool trusted; bool client_cert; };
  const Case cases[] = {
      {"ec.pem", "ec.key", true, false},
      {"rsa.pem", "rsa.key", true, false},
      {"ec.pem", "ec.key", true, true},
      {"untrusted.pem", "untrusted.key", false, false},
  };
  for (const auto& k : cases) {
    CAPTURE(k.cert);
    CAPTURE(k.client_cert);
    Str cert = pki().path(k.cert), key = pki().path(k.key), cafile = pki().path("ca.pem");
    Proc p = k.client_cert
                 ? Proc({"openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", cert.c_str(), "-key",
                         key.c_str(), "-naccept", "1", "-rev", "-Verify", "2", "-CAfile", cafile.c_str()})
                 : Proc({"openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", cert.c_str(), "-key",
                         key.c_str(), "-naccept", "1", "-rev"});
    Str accept = p.line_with("ACCEPT ");
    std::size_t colon = accept.view().rfind(':');
    REQUIRE(colon != std::string_view::npos);
    int port = std::atoi(accept.c_str() + colon + 1);
    REQUIRE(port > 0);
    Fd s = connect_to(port);
    ClientConfig ccfg{.server_name = "localhost", .anchors = &ca};
    if (k.client_cert) ccfg.creds = &client;
    Session c;
    REQUIRE(c.start_client(ccfg, s.get(), s.get()));
    bool hs = c.handshake(kTimeout);
    CAPTURE(c.error());
    CHECK(hs == k.trusted);
    if (hs) {
      CHECK(c.peer_subject() == "/CN=localhost");
      CHECK(std::string_view(c.version()) == "TLSv1.2");
      CHECK(c.write("hello\n", kTimeout) == 0);
      Str line;
      CHECK(c.getline(line, '\n', 100, kTimeout) == 1);
      CHECK(line == "olleh\n");
      CHECK(c.close(kTimeout) == 0);
    } else {
      CHECK(std::string_view(c.error()) == "TLS handshake failed: certificate not trusted (unknown CA)");
    }
    s.reset();
    p.in.reset();
    p.wait();
  }
}

// ---- X25519 -------------------------------------------------------------------

namespace {

std::string_view bytes(const uint8_t b[32]) { return {reinterpret_cast<const char*>(b), 32}; }

Str x25519_of(std::string_view scalar_hex, std::string_view u_hex) {
  Str k = unhex(scalar_hex), u = unhex(u_hex);
  REQUIRE(k.size() == 32);
  REQUIRE(u.size() == 32);
  uint8_t out[32];
  x25519(out, reinterpret_cast<const uint8_t*>(k.data()), reinterpret_cast<const uint8_t*>(u.data()));
  return Str(bytes(out));
}

}  // namespace

TEST_CASE("x25519: the test vectors of RFC 7748") {
  // Section 5.2.
  CHECK(x25519_of("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                  "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c") ==
        unhex("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"));
  CHECK(x25519_of("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                  "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493") ==
        unhex("95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"));
  // k = u = 9, then (k, u) = (X25519(k, u), k), 1 and 1000 times.
  uint8_t k[32] = {9}, u[32] = {9}, r[32];
  for (int i = 1; i <= 1000; ++i) {
    x25519(r, k, u);
    std::memcpy(u, k, 32);
    std::memcpy(k, r, 32);
    if (i == 1) CHECK(bytes(k) == unhex("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"));
  }
  CHECK(bytes(k) == unhex("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"));
  // Section 6.1: Alice's and Bob's public keys and their shared secret.
  std::string_view nine = "0900000000000000000000000000000000000000000000000000000000000000";
  std::string_view alice = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
  std::string_view bob = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
  CHECK(x25519_of(alice, nine) == unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
  CHECK(x25519_of(bob, nine) == unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
  CHECK(x25519_of(alice, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f") ==
        unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"));
}

TEST_CASE("x25519 agrees with BearSSL's ec_c25519_m31, also on non-canonical points") {
  uint64_t state = 0x9e3779b97f4a7c15;
  auto next = [&]() {  // xorshift64*
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return static_cast<uint8_t>((state * 0x2545f4914f6cdd1d) >> 56);
  };
  // u = 0, 1, p - 1, p, p + 1, 2^255 - 1 and the same with the top bit
  // set (ignored), then random ones.
  const uint8_t edge_low[] = {0, 1, 0xec, 0xed, 0xee, 0xff};
  for (int i = 0; i < 300; ++i) {
    CAPTURE(i);
    uint8_t k[32], u[32], ours[32], theirs[32];
    for (auto& b : k) b = next();
    for (auto& b : u) b = next();
    if (i < 12) {
      std::memset(u, i % 6 < 2 ? 0 : 0xff, 32);
      u[0] = edge_low[i % 6];
      u[31] = i % 6 < 2 ? 0 : 0x7f;
      if (i >= 6) u[31] |= 0x80;
    }
    std::memcpy(theirs, u, 32);
    REQUIRE(br_ec_c25519_m31.mul(theirs, 32, k, 32, BR_EC_curve25519) == 1);
    x25519(ours, k, u);
    CHECK(bytes(ours) == bytes(theirs));
  }
}

TEST_CASE("cipher_impls picks what BearSSL's own CPU checks pick") {
  const tls::CipherImpls& c = tls::cipher_impls();
  const br_block_ctr_class* aes = br_aes_x86ni_ctr_get_vtable();
  CHECK(c.aesni == (aes != nullptr));
  CHECK(c.aes_ctr == (aes ? aes : &br_aes_ct64_ctr_vtable));
  br_ghash ghash = br_ghash_pclmul_get();
  CHECK((c.ghash == (ghash ? ghash : &br_ghash_ctmul64)));  // a function pointer doctest cannot print
  br_chacha20_run chacha = br_chacha20_sse2_get();
  CHECK((c.chacha20 == (chacha ? chacha : &br_chacha20_ct_run)));  // a function pointer doctest cannot print
  br_poly1305_run poly = br_poly1305_ctmulq_get();
  CHECK((c.poly1305 == (poly ? poly : &br_poly1305_ctmul_run)));  // a function pointer doctest cannot print
  CHECK(&tls::cipher_impls() == &c);  // found once
}

namespace {

Str sha_digest(const br_hash_class* h, std::string_view data, std::size_t repeat = 1) {
  br_hash_compat_context ctx;
  h->init(&ctx.vtable);
  for (std::size_t i = 0; i < repeat; ++i) h->update(&ctx.vtable, data.data(), data.size());
  unsigned char out[64];
  h->out(&ctx.vtable, out);
  return Str(std::string_view(reinterpret_cast<const char*>(out), (h->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK));
}

}  // namespace

TEST_CASE("SHA-224 and SHA-256 through BearSSL, on qbox's block function: FIPS 180-2's answers") {
  const char* two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(sha_digest(&br_sha256_vtable, "abc") ==
        unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  CHECK(sha_digest(&br_sha256_vtable, two_blocks) ==
        unhex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
  CHECK(sha_digest(&br_sha256_vtable, "a", 1000000) ==
        unhex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
  CHECK(sha_digest(&br_sha224_vtable, "abc") ==
        unhex("23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"));
  CHECK(sha_digest(&br_sha224_vtable, two_blocks) ==
        unhex("75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525"));
}

TEST_CASE("the SHA instructions and the portable code give the same blocks") {
  // What the kernel found, in /proc/cpuinfo: never SHA where it has no
  // sha_ni; SHA where it has sha_ni with the AES-NI, SSSE3 and SSE4.1 that
  // qbox asks for first (a hypervisor may hide AES-NI and show SHA).
  Str cpuinfo;
  CHECK(read_file("/proc/cpuinfo", cpuinfo) == 0);
  auto flag = [&](std::string_view f) {
    Str word(" ");
    word.append(f);
    for (std::size_t at = 0; (at = cpuinfo.view().find(word.view(), at)) != std::string_view::npos; ++at) {
      std::size_t end = at + word.size();
      if (end == cpuinfo.size() || cpuinfo.view()[end] == ' ' || cpuinfo.view()[end] == '\n') return true;
    }
    return false;
  };
  if (!flag("sha_ni")) CHECK(!tls::have_sha_ni());
  if (flag("sha_ni") && flag("aes") && flag("ssse3") && flag("sse4_1")) CHECK(tls::have_sha_ni());
  if (!tls::have_sha_ni()) return;
  std::uint32_t x = 12345;
  auto next = [&x] { return x = x * 1103515245u + 12345u; };
  for (int i = 0; i < 2000; ++i) {
    unsigned char block[64];
    std::uint32_t a[8], b[8];
    for (auto& c : block) c = static_cast<unsigned char>(next() >> 24);
    for (int j = 0; j < 8; ++j) a[j] = b[j] = next();
    tls::sha256_block_portable(block, a);
    tls::sha256_block_shani(block, b);
    REQUIRE(std::memcmp(a, b, sizeof a) == 0);
  }
}
