/* starttls_client PORT SECONDS: STARTTLS sessions against 127.0.0.1:PORT,
 * one after the other for SECONDS: connect, greeting, EHLO, STARTTLS, a
 * full TLS 1.2 handshake (no tickets, no session reuse: a new SSL each
 * time), EHLO, QUIT. Prints "OK FAILED" and the version, cipher suite and
 * key exchange group of the last session. A bench helper, built by
 * test/bench/smtpd_bench.py with the host's cc and OpenSSL: a client in C
 * costs little next to the servers, a Python one as much as they do. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

/* Reads one reply (all its lines) from the socket or the TLS session:
 * its code, or -1. The server says nothing more until the next command,
 * so whatever arrives belongs to this reply. */
static int reply(int fd, SSL *ssl) {
  char buf[4096];
  size_t n = 0;
  for (;;) {
    int r = ssl ? SSL_read(ssl, buf + n, (int)(sizeof buf - 1 - n))
                : (int)read(fd, buf + n, sizeof buf - 1 - n);
    if (r <= 0) return -1;
    n += (size_t)r;
    buf[n] = 0;
    /* The last complete line: "NNN text" ends the reply, "NNN-" goes on. */
    if (n < 2 || buf[n - 1] != '\n') {
      if (n == sizeof buf - 1) return -1;
      continue;
    }
    char *start = buf + n - 1;
    while (start > buf && start[-1] != '\n') start--;
    if (strlen(start) >= 4 && start[3] == ' ') return atoi(start);
    if (n == sizeof buf - 1) return -1;
  }
}

static int say(int fd, SSL *ssl, const char *s) {
  int len = (int)strlen(s);
  return ssl ? SSL_write(ssl, s, len) == len : write(fd, s, len) == len;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: starttls_client PORT SECONDS\n");
    return 100;
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  double end = now() + atof(argv[2]);
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return 111;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION); /* BearSSL speaks TLS 1.2 */
  SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256");
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  long ok = 0, failed = 0;
  char last[200] = "- - -";
  while (now() < end) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    SSL *ssl = NULL;
    int good = 0;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && reply(fd, NULL) == 220 &&
        say(fd, NULL, "EHLO client.example\r\n") && reply(fd, NULL) == 250 &&
        say(fd, NULL, "STARTTLS\r\n") && reply(fd, NULL) == 220) {
      ssl = SSL_new(ctx);
      SSL_set_fd(ssl, fd);
      if (SSL_connect(ssl) == 1 && say(fd, ssl, "EHLO client.example\r\n") &&
          reply(fd, ssl) == 250 && say(fd, ssl, "QUIT\r\n") && reply(fd, ssl) == 221) {
        good = 1;
        const char *group = SSL_group_to_name(ssl, SSL_get_negotiated_group(ssl));
        snprintf(last, sizeof last, "%s %s %s%s", SSL_get_version(ssl), SSL_get_cipher_name(ssl),
                 group ? group : "?", SSL_session_reused(ssl) ? " (resumed)" : "");
      }
      SSL_shutdown(ssl);
      SSL_free(ssl);
      ERR_clear_error();
    }
    close(fd);
    if (good) ok++;
    else failed++;
  }
  printf("%ld %ld %s\n", ok, failed, last);
  return 0;
}
