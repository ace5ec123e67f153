"""sslserver: TLS on loopback, against Python's ssl module and openssl s_client.

The keys and certificates are made here with openssl (a test CA, an ECDSA
P-256 and an RSA 2048 server certificate for "localhost", a client
certificate), in every PEM form the issue names: PKCS#8 ("PRIVATE KEY"),
SEC1 ("EC PRIVATE KEY") and PKCS#1 ("RSA PRIVATE KEY"), in their own files
and combined with the certificate. Clients verify the server's chain
against the test CA and insist on close_notify at the end (no ragged EOF).

Every server runs with -1 on port 0 in a session of its own and is killed
at the end of its test; waits are bounded polls. There is no ucspi-ssl in
Debian to compare with; the -v lines are compared with Debian's tcpserver
started the same way (sslserver adds its "ssl PID accept" line).
"""
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import CLASSIC, run
from conftest import wait_for as wait_until
from test_tcpserver import Server
from test_tcpserver import have_ipv6, tcprules

BASE_ENV = {"PATH": "/usr/bin:/bin"}
TIMEOUT = 10
needs_ipv6 = pytest.mark.skipif(not have_ipv6(), reason="no IPv6 loopback")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


# ---- keys and certificates ------------------------------------------------------

PKI_SCRIPT = r"""
set -e
days=30
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n' >san.cnf
openssl req -x509 $ec -keyout ca.key -out ca.pem -subj "/CN=qbox test CA" -days $days
openssl req $ec -keyout ec.key -out ec.csr -subj /CN=localhost
openssl x509 -req -in ec.csr -CA ca.pem -CAkey ca.key -CAcreateserial -extfile san.cnf -days $days -out ec.pem
openssl ec -in ec.key -out ec-sec1.key
openssl req -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.csr -subj /CN=localhost
openssl x509 -req -in rsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -extfile san.cnf -days $days -out rsa.pem
openssl rsa -in rsa.key -traditional -out rsa-pkcs1.key
openssl req $ec -keyout client.key -out client.csr -subj "/C=DE/O=Test Org/CN=client one"
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days $days -out client.pem
openssl req -x509 $ec -keyout other-ca.key -out other-ca.pem -subj "/CN=other CA" -days $days
openssl req $ec -keyout stranger.key -out stranger.csr -subj "/CN=stranger"
openssl x509 -req -in stranger.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial -days $days -out stranger.pem
openssl ecparam -name prime256v1 -genkey -noout -out other.key
cat ec.pem ec.key >ec-combined.pem
cat rsa-pkcs1.key rsa.pem >rsa-combined.pem
openssl pkcs8 -topk8 -v2 aes-256-cbc -in ec.key -passout pass:secret -out ec-enc.key
openssl rsa -in rsa.key -aes256 -passout pass:secret -out rsa-enc.key
openssl rsa -in rsa.key -traditional -aes256 -passout pass:secret -out rsa-enc-legacy.key
openssl rsa -in rsa.key -traditional -des3 -passout pass:secret -out rsa-enc-des3.key
cat ec.pem ec-enc.key >ec-enc-combined.pem
printf 'secret\0' >pass
printf 'secret\n' >pass-newline
printf 'this is not PEM\n' >garbage.pem
head -n 3 ec.pem >truncated.pem
"""


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    r = subprocess.run(["sh", "-c", PKI_SCRIPT], cwd=d, capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    # The forms the tests claim to cover, checked rather than assumed.
    for name, head in [("ec.key", "PRIVATE KEY"), ("ec-sec1.key", "EC PRIVATE KEY"),
                       ("rsa.key", "PRIVATE KEY"), ("rsa-pkcs1.key", "RSA PRIVATE KEY"),
                       ("ec-enc.key", "ENCRYPTED PRIVATE KEY"), ("rsa-enc.key", "ENCRYPTED PRIVATE KEY"),
                       ("rsa-enc-legacy.key", "RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC"),
                       ("rsa-enc-des3.key", "RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: DES-EDE3-CBC")]:
        if "\n" not in head:
            head += "-----\n"
        assert (d / name).read_text().startswith(f"-----BEGIN {head}"), name
    return d


def cert_env(pki, cert, key=None, **more):
    env = dict(BASE_ENV, CERTFILE=str(pki / cert))
    if key is not None:
        env["KEYFILE"] = str(pki / key) if key else ""
    env.update(more)
    return env


# ---- servers and clients --------------------------------------------------------------

@pytest.fixture
def servers(applet_bin):
    started = []

    def start(args, env, exe=None):
        s = Server(exe or str(applet_bin / "sslserver"), args, env)
        started.append(s)
        s.wait_port()
        return s
    yield start
    for s in started:
        s.kill()


def client_context(pki, cert=None, key=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(pki / "ca.pem"))
    # Python ignores a missing close_notify by default; these tests see it.
    ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    if cert:
        ctx.load_cert_chain(str(pki / cert), str(pki / key))
    return ctx


def tls_connect(pki, port, host="127.0.0.1", cert=None, key=None):
    ctx = client_context(pki, cert, key)
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    try:
        return ctx.wrap_socket(s, server_hostname="localhost", suppress_ragged_eofs=False)
    except BaseException:
        s.close()
        raise


def read_to_end(t):
    """Everything up to the end: on a TLS socket the server's close_notify
    (SSLEOFError without it), on a plain one its FIN (a reset raises)."""
    data = b""
    while True:
        chunk = t.recv(65536)
        if not chunk:
            return data
        data += chunk


def tls_fetch(pki, port, send=b"", **kw):
    with tls_connect(pki, port, **kw) as t:
        if send:
            t.sendall(send)
        return read_to_end(t), t.getsockname()[1], t.cipher()


def env_lines(data):
    return data.decode("latin-1").splitlines()


# ---- start-up: usage and credentials ------------------------------------------------------

def test_usage(applet_bin):
    exe = str(applet_bin / "sslserver")
    usage = (b"sslserver: usage: sslserver [ -13UXpPhHrRoOdDqQvViIeEsSaAnN ] [ -c limit ] "
             b"[ -x rules.cdb ] [ -B banner ] [ -g gid ] [ -u uid ] [ -b backlog ] "
             b"[ -l localname ] [ -t timeout ] [ -T ssltimeout ] [ -w progtimeout ] "
             b"host port program\n")
    for args in ([], ["0"], ["0", "0"]):
        r = run([exe] + args, env=BASE_ENV)
        assert (r.code, r.out, r.err) == (100, b"", usage)
        r = run([exe, "-q"] + args, env=BASE_ENV)
        assert (r.code, r.out, r.err) == (100, b"", b"")
    r = run([exe, "-Z", "0", "0", "true"], env=BASE_ENV)
    assert (r.code, r.err) == (100, b"sslserver: illegal option -- Z\n" + usage)


def fatal_of(applet_bin, env, args=("127.0.0.1", "0", "true")):
    """Starts sslserver with credentials that must not do: nothing is
    served, one clear line, exit 111."""
    r = run([str(applet_bin / "sslserver"), "-1"] + list(args), env=env, timeout=10)
    assert r.code == 111 and r.out == b"", (r.code, r.out, r.err)
    return r.err.decode()


def test_fatal_credentials(applet_bin, pki):
    p = str(pki)
    cases = [
        (dict(BASE_ENV), "unable to load certificate: $CERTFILE is not set"),
        (cert_env(pki, "nosuch.pem", "ec.key"), f"unable to read {p}/nosuch.pem: file does not exist"),
        (cert_env(pki, "ec.pem", "nosuch.key"), f"unable to read {p}/nosuch.key: file does not exist"),
        (cert_env(pki, "ec.pem", "other.key"),
         f"the private key in {p}/other.key does not match the certificate in {p}/ec.pem"),
        (cert_env(pki, "ec.pem", "rsa.key"),
         f"the private key in {p}/rsa.key does not match the certificate in {p}/ec.pem"),
        (cert_env(pki, "rsa-combined.pem", "ec-sec1.key"),
         f"the private key in {p}/ec-sec1.key does not match the certificate in {p}/rsa-combined.pem"),
        (cert_env(pki, "garbage.pem", "ec.key"), f"no certificate found in {p}/garbage.pem"),
        (cert_env(pki, "truncated.pem", "ec.key"), f"unable to parse {p}/truncated.pem: malformed PEM data"),
        (cert_env(pki, "ec.pem", "garbage.pem"), f"no private key found in {p}/garbage.pem"),
        (cert_env(pki, "ec.pem", "truncated.pem"), f"unable to parse {p}/truncated.pem: malformed PEM data"),
        (cert_env(pki, "ec.pem"), f"no private key found in {p}/ec.pem"),   # $KEYFILE unset
        (cert_env(pki, "ec.pem", ""), f"no private key found in {p}/ec.pem"),  # $KEYFILE empty
        (dict(cert_env(pki, "ec.pem", "ec.key"), CERTFILE=p), f"unable to read {p}: is a directory"),
        (cert_env(pki, "ca.key", "ca.key"), f"no certificate found in {p}/ca.key"),
    ]
    for env, msg in cases:
        assert fatal_of(applet_bin, env) == f"sslserver: fatal: {msg}\n"


def test_fatal_is_silent_with_q(applet_bin, pki):
    r = run([str(applet_bin / "sslserver"), "-q", "127.0.0.1", "0", "true"],
            env=cert_env(pki, "ec.pem", "other.key"))
    assert (r.code, r.out, r.err) == (111, b"", b"")


def test_client_certificates_need_a_ca_file(applet_bin, pki):
    assert fatal_of(applet_bin, cert_env(pki, "ec.pem", "ec.key"), ["-i", "127.0.0.1", "0", "true"]) == \
        "sslserver: fatal: unable to load CA list: -i needs $CAFILE\n"
    env = cert_env(pki, "ec.pem", "ec.key", CAFILE=str(pki / "garbage.pem"))
    assert fatal_of(applet_bin, env, ["-i", "127.0.0.1", "0", "true"]) == \
        f"sslserver: fatal: no usable CA certificate found in {pki}/garbage.pem\n"


@needs_root
def test_unreadable_key(qbox, pki):
    # Read as the user sslserver starts as (before -u): a key only root may
    # read stops a server started as nobody. Outside pytest's private
    # directories, so that nobody can get at the rest.
    if not shutil.which("setpriv"):
        pytest.skip("no setpriv")
    d = Path(tempfile.mkdtemp(prefix="qbox-sslserver."))
    try:
        d.chmod(0o755)
        shutil.copy(pki / "ec.pem", d / "cert.pem")
        (d / "cert.pem").chmod(0o644)
        shutil.copy(pki / "ec.key", d / "secret.key")
        (d / "secret.key").chmod(0o600)
        env = dict(BASE_ENV, CERTFILE=str(d / "cert.pem"), KEYFILE=str(d / "secret.key"))
        r = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                 str(qbox), "sslserver", "127.0.0.1", "0", "true"], env=env)
    finally:
        shutil.rmtree(d)
    assert (r.code, r.err.decode()) == (111, f"sslserver: fatal: unable to read {d}/secret.key: access denied\n")


# ---- -3: encrypted keys, the passphrase on descriptor 3 ------------------------------------

def with_fd3(applet_bin, tmp_path, passfile):
    """A wrapper that starts sslserver with `passfile` on descriptor 3."""
    w = tmp_path / ("sslserver-fd3-" + Path(passfile).name)
    w.write_text('#!/bin/sh\nexec "%s" "$@" 3<"%s"\n' % (applet_bin / "sslserver", passfile))
    w.chmod(0o755)
    return str(w)


@pytest.mark.parametrize("cert,key", [
    ("ec.pem", "ec-enc.key"), ("rsa.pem", "rsa-enc.key"), ("rsa.pem", "rsa-enc-legacy.key"),
    ("rsa.pem", "rsa-enc-des3.key"), ("ec-enc-combined.pem", None),
])
def test_encrypted_key_with_passphrase_on_fd3(servers, applet_bin, pki, tmp_path, cert, key):
    exe = with_fd3(applet_bin, tmp_path, pki / "pass")
    srv = servers(["-3", "-RHl0", "127.0.0.1", "0", "sh", "-c",
                   "echo hello; if [ -e /proc/$$/fd/3 ]; then echo fd 3 open; fi"],
                  cert_env(pki, cert, key), exe=exe)
    data, _, _ = tls_fetch(pki, srv.port)
    assert data == b"hello\n"  # and the passphrase's descriptor is closed


def test_encrypted_key_errors(applet_bin, pki, tmp_path):
    p = str(pki)
    env = cert_env(pki, "ec.pem", "ec-enc.key")
    # Without -3.
    assert fatal_of(applet_bin, env) == \
        f"sslserver: fatal: the private key in {p}/ec-enc.key is encrypted, and no passphrase was given\n"
    # A wrong passphrase: the newline is part of it, as in ucspi-ssl.
    for key in ("ec-enc.key", "rsa-enc-legacy.key"):
        r = run([with_fd3(applet_bin, tmp_path, pki / "pass-newline"), "-3", "-1", "127.0.0.1", "0", "true"],
                env=cert_env(pki, "ec.pem" if key.startswith("ec") else "rsa.pem", key), timeout=10)
        assert (r.code, r.out, r.err.decode()) == (
            111, b"", f"sslserver: fatal: unable to decrypt the private key in {p}/{key}: wrong passphrase\n")
    # -3 with nothing on descriptor 3.
    r = run([str(applet_bin / "sslserver"), "-3", "-1", "127.0.0.1", "0", "true"], env=env, timeout=10,
            close_fds=True)
    assert (r.code, r.err) == (111, b"sslserver: fatal: unable to read the passphrase from descriptor 3: "
                                    b"file descriptor not open\n")


# ---- -n: UCSPI-TLS ----------------------------------------------------------------------

# A UCSPI-TLS program: greets in plain text on 0/1; on "STARTTLS" it
# answers, asks sslserver for TLS on $SSLCTLFD ('Y' also returns the
# session variables there), then talks through $SSLREADFD/$SSLWRITEFD.
UCSPI_TLS_PROG = r"""
import os, sys
def line(fd):
    b = b""
    while not b.endswith(b"\n"):
        c = os.read(fd, 1)
        if not c:
            break
        b += c
    return b
os.write(1, b"220 plain\r\n")
cmd = line(0)
if not cmd.startswith(b"STARTTLS"):
    os.write(1, b"plain: " + cmd)
    sys.exit(3)
os.write(1, b"220 go ahead\r\n")
ctl = int(os.environ["SSLCTLFD"])
os.write(ctl, cmd[8:9])
vars = b""
if cmd[8:9] == b"Y":
    while not vars.endswith(b"\0\0"):
        vars += os.read(ctl, 4096)
rd, wr = int(os.environ["SSLREADFD"]), int(os.environ["SSLWRITEFD"])
got = line(rd)
names = sorted(v.split(b"=")[0] for v in vars.split(b"\0") if v)
os.write(wr, b"tls: " + got + b" ".join(names) + b"\n" + os.environ.get("SSL_CIPHER", "-").encode() + b"\n")
sys.exit(4)
"""


def end_statuses(log):
    return [l.split()[-1] for l in log if l.startswith("sslserver: end ")]


def ucspi_tls_session(pki, port, cmd):
    """Plain greeting, STARTTLS (cmd), the TLS part: what came over TLS."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        f = s.makefile("rb", buffering=0)
        assert f.readline() == b"220 plain\r\n"
        s.sendall(cmd)
        assert f.readline() == b"220 go ahead\r\n"
        ctx = client_context(pki)
        with ctx.wrap_socket(s, server_hostname="localhost", suppress_ragged_eofs=False) as t:
            t.sendall(b"hello\n")
            return read_to_end(t), t.cipher()


def test_ucspi_tls_starttls(servers, pki):
    srv = servers(["-n", "-v", "-RHl0", "127.0.0.1", "0", "/usr/bin/python3", "-S", "-c", UCSPI_TLS_PROG],
                  cert_env(pki, "ec.pem", "ec.key"))
    # 'Y': the session variables come over the control socket.
    data, cipher = ucspi_tls_session(pki, srv.port, b"STARTTLSY\r\n")
    lines = env_lines(data)
    assert lines[0] == "tls: hello"
    assert lines[1].split() == ["SSL_CIPHER", "SSL_CIPHER_ALGKEYSIZE", "SSL_CIPHER_EXPORT",
                                "SSL_CIPHER_USEKEYSIZE", "SSL_PROTOCOL", "SSL_SERVER_S_DN",
                                "SSL_SESSION_ID", "SSL_VERSION_INTERFACE", "SSL_VERSION_LIBRARY"]
    assert lines[2] == "-"  # nothing about TLS in the environment: it came later
    srv.wait_count("end", 1)
    # 'y': TLS without the variables.
    data, cipher = ucspi_tls_session(pki, srv.port, b"STARTTLSy\r\n")
    assert env_lines(data) == ["tls: hello", "", "-"]
    log = srv.wait_count("end", 2)
    assert sum(1 for l in log if re.fullmatch(r"sslserver: ssl \d+ accept ", l)) == 2
    assert end_statuses(log) == [str(4 << 8)] * 2


def test_ucspi_tls_plain_only_and_failed_handshake(servers, pki):
    srv = servers(["-n", "-v", "-RHl0", "-B", "banner\r\n", "127.0.0.1", "0", "/usr/bin/python3", "-S", "-c",
                   UCSPI_TLS_PROG], cert_env(pki, "ec.pem", "ec.key"))
    # No STARTTLS: plain text to the end, the program's exit code.
    with socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT) as s:
        s.sendall(b"QUIT\r\n")
        assert read_to_end(s) == b"banner\r\n220 plain\r\nplain: QUIT\r\n"
    assert end_statuses(srv.wait_count("end", 1)) == [str(3 << 8)]
    # STARTTLS, then no TLS from the client: the program is stopped.
    with socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT) as s:
        f = s.makefile("rb", buffering=0)
        assert f.readline() == b"banner\r\n"
        assert f.readline() == b"220 plain\r\n"
        s.sendall(b"STARTTLSy\r\n")
        assert f.readline() == b"220 go ahead\r\n"
        s.sendall(b"not TLS at all\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        read_to_end(s)
    log = srv.wait_count("end", 2)
    assert any("dropping connection, unable to accept SSL: " in l for l in log)
    assert end_statuses(log) == [str(3 << 8), str(111 << 8)]


# ---- handshakes: every kind of key -----------------------------------------------------------

@pytest.mark.parametrize("cert,key,suite", [
    ("ec.pem", "ec.key", "ECDHE-ECDSA-"),            # PKCS#8, separate files
    ("ec.pem", "ec-sec1.key", "ECDHE-ECDSA-"),       # SEC1
    ("ec-combined.pem", None, "ECDHE-ECDSA-"),       # one file, $KEYFILE unset
    ("ec-combined.pem", "", "ECDHE-ECDSA-"),         # one file, $KEYFILE empty
    ("rsa.pem", "rsa.key", "ECDHE-RSA-"),            # PKCS#8
    ("rsa.pem", "rsa-pkcs1.key", "ECDHE-RSA-"),      # PKCS#1
    ("rsa-combined.pem", None, "ECDHE-RSA-"),        # PKCS#1 key before the certificate
])
def test_python_client_every_key_form(servers, pki, cert, key, suite):
    srv = servers(["-RHl0", "127.0.0.1", "0", "sh", "-c", "read line; echo \"got $line\""],
                  cert_env(pki, cert, key))
    data, _, cipher = tls_fetch(pki, srv.port, b"hello\n")
    assert data == b"got hello\n"
    name, version, _ = cipher
    assert version == "TLSv1.2" and name.startswith(suite)
    assert "GCM" in name or "CHACHA20" in name


@pytest.mark.parametrize("cert,key,want", [("ec.pem", "ec-sec1.key", "ECDSA"),
                                           ("rsa-combined.pem", None, "RSA")])
def test_openssl_s_client(servers, pki, cert, key, want):
    srv = servers(["-RHl0", "127.0.0.1", "0", "sh", "-c", "read line; echo \"got $line\""],
                  cert_env(pki, cert, key))
    r = run(["openssl", "s_client", "-connect", f"127.0.0.1:{srv.port}", "-servername", "localhost",
             "-CAfile", str(pki / "ca.pem"), "-verify_return_error", "-brief", "-ign_eof"],
            input=b"hello\n", timeout=20)
    assert r.code == 0, r.err
    assert r.out == b"got hello\n"
    err = r.err.decode()
    assert "Verification: OK" in err
    assert "Protocol version: TLSv1.2" in err
    assert re.search(r"Ciphersuite: ECDHE-%s-(AES128-GCM-SHA256|CHACHA20-POLY1305)" % want, err), err


def test_no_tls13_no_cbc_no_static_rsa(servers, pki):
    srv = servers(["-RHl0", "127.0.0.1", "0", "true"], cert_env(pki, "rsa.pem", "rsa.key"))
    for opts in (["-tls1_3"], ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
                 ["-tls1_2", "-cipher", "AES128-SHA:AES256-GCM-SHA384"],
                 ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA256"]):
        r = run(["openssl", "s_client", "-connect", f"127.0.0.1:{srv.port}", "-brief"] + opts,
                input=b"", timeout=20)
        assert r.code != 0, opts
    # The server kept serving.
    data, _, _ = tls_fetch(pki, srv.port)
    assert data == b""


# ---- the environment --------------------------------------------------------------------------

STALE = dict(BASE_ENV, PROTO="stale", TCPREMOTEHOST="stale", SSLREMOTEHOST="stale",
             SSL_CLIENT_S_DN="stale", KEEP="me")


def test_environment(servers, pki):
    env = dict(STALE, CERTFILE=str(pki / "ec.pem"), KEYFILE=str(pki / "ec.key"))
    srv = servers(["-R", "-H", "-l", "lname", "127.0.0.1", "0", "env"], env)
    data, cport, (cipher, _, bits) = tls_fetch(pki, srv.port)
    lines = env_lines(data)
    sport = srv.port
    for prefix in ("SSL", "TCP"):
        for want in (f"{prefix}LOCALIP=127.0.0.1", f"{prefix}LOCALPORT={sport}",
                     f"{prefix}LOCALHOST=lname", f"{prefix}REMOTEIP=127.0.0.1",
                     f"{prefix}REMOTEPORT={cport}"):
            assert want in lines
        assert not any(l.startswith((f"{prefix}REMOTEHOST=", f"{prefix}REMOTEINFO=")) for l in lines)
    assert "PROTO=SSL" in lines
    assert "SSL_PROTOCOL=TLSv1.2" in lines
    assert f"SSL_CIPHER={cipher}" in lines
    assert f"SSL_CIPHER_USEKEYSIZE={bits}" in lines and f"SSL_CIPHER_ALGKEYSIZE={bits}" in lines
    assert "SSL_CIPHER_EXPORT=false" in lines
    assert "SSL_SERVER_S_DN=/CN=localhost" in lines
    assert any(re.fullmatch(r"SSL_SESSION_ID=[0-9a-f]{64}", l) for l in lines)
    assert not any(l.startswith("SSL_CLIENT_S_DN=") for l in lines)  # none was asked for
    assert not any(l.startswith(("SSL6", "TCP6")) for l in lines)
    assert "KEEP=me" in lines


FDS = ("import os, stat; "
       "print([f for f in range(3, 256) if os.path.exists('/proc/self/fd/%d' % f)], "
       "[stat.S_ISFIFO(os.fstat(f).st_mode) for f in (0, 1)])")


def test_program_gets_pipes_and_no_socket(servers, pki):
    srv = servers(["-RHl0", "127.0.0.1", "0", "/usr/bin/python3", "-S", "-c", FDS],
                  cert_env(pki, "ec.pem", "ec.key"))
    assert tls_fetch(pki, srv.port)[0] == b"[] [True, True]\n"


def test_environment_without_tcp_or_ssl_variables(servers, pki):
    env = dict(BASE_ENV, CERTFILE=str(pki / "ec.pem"), KEYFILE=str(pki / "ec.key"))
    srv = servers(["-E", "-S", "-RHl0", "127.0.0.1", "0", "env"], env)
    lines = env_lines(tls_fetch(pki, srv.port)[0])
    assert "PROTO=SSL" in lines and "SSLREMOTEIP=127.0.0.1" in lines
    assert not any(l.startswith(("TCP", "SSL_")) for l in lines)
    srv = servers(["-E", "-S", "-e", "-s", "-RHl0", "127.0.0.1", "0", "env"], env)
    lines = env_lines(tls_fetch(pki, srv.port)[0])
    assert "TCPREMOTEIP=127.0.0.1" in lines and "SSL_PROTOCOL=TLSv1.2" in lines


@needs_ipv6
def test_environment_ipv6(servers, pki):
    env = dict(BASE_ENV, CERTFILE=str(pki / "ec.pem"), KEYFILE=str(pki / "ec.key"))
    srv = servers(["-RHl0", "::1", "0", "env"], env)
    data, cport, _ = tls_fetch(pki, srv.port, host="::1")
    lines = env_lines(data)
    assert "PROTO=SSL" in lines
    for name in ("SSLREMOTEIP", "TCPREMOTEIP", "TCP6REMOTEIP", "SSLLOCALIP", "TCP6LOCALIP"):
        assert f"{name}=::1" in lines
    assert f"TCP6REMOTEPORT={cport}" in lines
    assert not any(l.startswith("SSL6") for l in lines)


def test_rules_set_variables_and_deny(servers, pki, tmp_path, applet_bin):
    cdb = tmp_path / "rules.cdb"
    tcprules(str(applet_bin / "tcprules"), cdb, b"127.0.0.1:allow,RELAYCLIENT=\"\",TCPREMOTEHOST=\"ruled\"\n"
             b":deny\n")
    env = dict(BASE_ENV, CERTFILE=str(pki / "ec.pem"), KEYFILE=str(pki / "ec.key"))
    srv = servers(["-v", "-RHl0", "-x", str(cdb), "0", "0", "env"], env)
    lines = env_lines(tls_fetch(pki, srv.port)[0])
    assert "RELAYCLIENT=" in lines
    assert "TCPREMOTEHOST=ruled" in lines  # a rule overrides sslserver's own variables
    # Denied before any TLS: the connection just ends, the handshake fails.
    if have_ipv6():
        with pytest.raises((ssl.SSLError, OSError)):
            tls_fetch(pki, srv.port, host="::1")
        srv.wait_log(lambda ls: any(l.startswith("sslserver: deny ") for l in ls))


# ---- client certificates ----------------------------------------------------------------------

def test_client_certificate_required(servers, pki):
    env = cert_env(pki, "ec.pem", "ec.key", CAFILE=str(pki / "ca.pem"))
    srv = servers(["-i", "-RHl0", "127.0.0.1", "0", "env"], env)
    lines = env_lines(tls_fetch(pki, srv.port, cert="client.pem", key="client.key")[0])
    assert "SSL_CLIENT_S_DN=/C=DE/O=Test Org/CN=client one" in lines
    # No certificate, or one from another CA: no session, no program.
    for cert, key in ((None, None), ("stranger.pem", "stranger.key")):
        with pytest.raises((ssl.SSLError, OSError)):
            tls_fetch(pki, srv.port, cert=cert, key=key)
    lines = srv.wait_log(lambda ls: sum("unable to accept SSL" in l for l in ls) >= 2)
    drops = [l for l in lines if "unable to accept SSL" in l]
    assert all(l.startswith("sslserver: warning: dropping connection, unable to accept SSL: ")
               for l in drops), drops
    # And it still serves those who have one.
    lines = env_lines(tls_fetch(pki, srv.port, cert="client.pem", key="client.key")[0])
    assert "SSL_CLIENT_S_DN=/C=DE/O=Test Org/CN=client one" in lines


def test_client_certificate_not_asked_for_without_i(servers, pki):
    env = cert_env(pki, "ec.pem", "ec.key", CAFILE=str(pki / "ca.pem"))
    srv = servers(["-I", "-RHl0", "127.0.0.1", "0", "env"], env)
    lines = env_lines(tls_fetch(pki, srv.port, cert="client.pem", key="client.key")[0])
    assert not any(l.startswith("SSL_CLIENT_S_DN=") for l in lines)


# ---- bad and slow clients ------------------------------------------------------------------------

def plain_client(port, send):
    """Speaks plain text to the TLS port; returns what came back before
    the server's FIN (a reset fails the test)."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(send)
        return read_to_end(s)


@pytest.mark.parametrize("send", [b"EHLO client.example\r\n", b"GET / HTTP/1.0\r\n\r\n",
                                  b"\x16\x03\x01\x00\x05hello", bytes(range(256)) * 64],
                         ids=["smtp", "http", "bad-hello", "binary"])
def test_plain_text_client_is_closed_cleanly(servers, pki, send):
    srv = servers(["-v", "-RHl0", "127.0.0.1", "0", "echo", "secret"], cert_env(pki, "ec.pem", "ec.key"))
    data = plain_client(srv.port, send)
    assert b"secret" not in data
    lines = srv.wait_idle(1)
    drop = [l for l in lines if "dropping" in l]
    assert len(drop) == 1 and drop[0].startswith(
        "sslserver: warning: dropping connection, unable to accept SSL: TLS handshake failed: "), lines
    assert any(re.fullmatch(r"sslserver: end \d+ status 28416", l) for l in lines)  # exit 111
    # The server goes on serving.
    assert tls_fetch(pki, srv.port)[0] == b"secret\n"


def test_silent_client_does_not_delay_others(servers, pki):
    srv = servers(["-v", "-T", "2", "-RHl0", "127.0.0.1", "0", "echo", "hi"],
                  cert_env(pki, "ec.pem", "ec.key"))
    with socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT) as silent:
        t0 = time.monotonic()
        assert tls_fetch(pki, srv.port)[0] == b"hi\n"
        assert time.monotonic() - t0 < 1.5  # not behind the silent one's 2 s
        # The silent one is dropped after -T seconds, with a FIN.
        assert silent.recv(100) == b""
        waited = time.monotonic() - t0
        assert 1.5 <= waited < 8, waited
    lines = srv.wait_idle(2)
    assert any(l.startswith("sslserver: warning: dropping connection, unable to accept SSL: ")
               and "timed out" in l for l in lines), lines


def test_concurrency_limit(servers, pki):
    srv = servers(["-v", "-c", "1", "-RHl0", "127.0.0.1", "0", "sh", "-c", "read x; echo \"got $x\""],
                  cert_env(pki, "ec.pem", "ec.key"))
    first = tls_connect(pki, srv.port)
    srv.wait_log(lambda ls: "sslserver: status: 1/1" in ls)
    # The second connection waits in the backlog: no handshake yet.
    second = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
    second.sendall(client_hello_probe())
    assert not select.select([second], [], [], 0.5)[0]
    first.sendall(b"one\n")
    assert read_to_end(first) == b"got one\n"
    first.close()
    second.close()
    with tls_connect(pki, srv.port) as third:
        third.sendall(b"three\n")
        assert read_to_end(third) == b"got three\n"
    srv.wait_idle(3, limit=1)
    assert max(int(l.split("/")[0].split()[-1]) for l in srv.log() if l.startswith("sslserver: status:")) == 1


def client_hello_probe():
    """The first bytes of a TLS ClientHello, from a real client."""
    a, b = socket.socketpair()
    a.setblocking(False)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(a, do_handshake_on_connect=False)
    try:
        t.do_handshake()
    except ssl.SSLWantReadError:
        pass
    b.settimeout(5)
    hello = b.recv(65536)
    t.close()
    b.close()
    return hello


# ---- -v lines, banner, programs ----------------------------------------------------------------------

def norm_log(lines, sport, cport, prog):
    out = []
    for l in lines:
        l = re.sub(r"^%s: (pid|ok|deny|end|ssl) \d+" % prog, r"PROG: \1 PID", l)
        l = re.sub(r"^%s: " % prog, "PROG: ", l)
        l = re.sub(r":%d( |$)" % sport, r":SPORT\1", l)
        l = re.sub(r":%d( |$)" % cport, r":CPORT\1", l)
        out.append(l)
    return out


def test_verbose_lines_like_tcpserver(servers, pki):
    opts = ["-v", "-c", "3", "-R", "-H", "-l", "0", "127.0.0.1", "0", "sh", "-c", "echo x; exit 3"]
    env = cert_env(pki, "ec.pem", "ec.key")
    srv = servers(opts, env)
    data, cport, _ = tls_fetch(pki, srv.port)
    assert data == b"x\n"
    ours = norm_log(srv.wait_idle(1, limit=3), srv.port, cport, "sslserver")
    classic = servers(opts, env, exe=str(CLASSIC / "tcpserver"))
    with socket.create_connection(("127.0.0.1", classic.port), timeout=TIMEOUT) as s:
        cport2 = s.getsockname()[1]
        while s.recv(100):
            pass
    classic.wait_log(lambda ls: ls[-1] == "tcpserver: status: 0/3" and len(ls) > 2)
    theirs = norm_log(classic.log(), classic.port, cport2, "tcpserver")
    # sslserver's lines are tcpserver's, plus one after the handshake.
    assert ours == theirs[:4] + ["PROG: ssl PID accept "] + theirs[4:], (ours, theirs)
    assert "PROG: end PID status 768" in ours  # the program's exit code


def test_V_names_protocol_and_cipher(servers, pki):
    srv = servers(["-V", "-RHl0", "127.0.0.1", "0", "true"], cert_env(pki, "ec.pem", "ec.key"))
    _, _, (cipher, _, _) = tls_fetch(pki, srv.port)
    lines = srv.wait_idle(1)
    assert any(re.fullmatch(r"sslserver: ssl \d+ accept TLSv1\.2:%s" % re.escape(cipher), l) for l in lines)


def test_quiet_and_default_verbosity(servers, pki):
    env = cert_env(pki, "ec.pem", "ec.key")
    srv = servers(["-RHl0", "127.0.0.1", "0", "true"], env)
    plain_client(srv.port, b"junk\r\n")
    wait_until(lambda: srv.log(), what="the warning")
    assert len(srv.log()) == 1 and srv.log()[0].startswith("sslserver: warning: dropping connection, ")
    srv = servers(["-q", "-RHl0", "127.0.0.1", "0", "true"], env)
    plain_client(srv.port, b"junk\r\n")
    assert tls_fetch(pki, srv.port)[0] == b""
    assert srv.log() == []


def test_banner_goes_through_tls(servers, pki):
    srv = servers(["-B", "220 hello\r\n", "-RHl0", "127.0.0.1", "0", "sh", "-c", "read x; echo \"got $x\""],
                  cert_env(pki, "ec.pem", "ec.key"))
    with tls_connect(pki, srv.port) as t:
        assert t.recv(100) == b"220 hello\r\n"
        t.sendall(b"QUIT\r\n")
        assert read_to_end(t) == b"got QUIT\r\n"


def test_program_not_found(servers, pki):
    srv = servers(["-v", "-RHl0", "127.0.0.1", "0", "./nosuch"], cert_env(pki, "ec.pem", "ec.key"))
    with pytest.raises((ssl.SSLError, OSError)):
        tls_fetch(pki, srv.port)  # the session ends without close_notify
    lines = srv.wait_idle(1)
    assert "sslserver: warning: dropping connection, unable to run ./nosuch: file does not exist" in lines


def test_data_both_ways(servers, pki):
    size = 300000
    srv = servers(["-RHl0", "127.0.0.1", "0", "head", "-c", str(size)], cert_env(pki, "ec.pem", "ec.key"))
    payload = bytes((i * 7 + i // 251) % 256 for i in range(size))
    got = []
    with tls_connect(pki, srv.port) as t:
        reader = threading.Thread(target=lambda: got.append(read_to_end(t)))
        reader.start()
        t.sendall(payload)
        reader.join(timeout=30)
    assert got == [payload]


def test_idle_timeout(servers, pki):
    srv = servers(["-v", "-w", "1", "-RHl0", "127.0.0.1", "0", "sleep", "30"],
                  cert_env(pki, "ec.pem", "ec.key"))
    t0 = time.monotonic()
    with pytest.raises((ssl.SSLError, OSError)):
        tls_fetch(pki, srv.port)  # dropped without close_notify
    assert time.monotonic() - t0 < 8
    srv.wait_log(lambda ls: any("unable to speak SSL: TLS relay: timed out" in l for l in ls))
