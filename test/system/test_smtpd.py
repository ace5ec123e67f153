"""qmail-smtpd on loopback, behind qbox's tcpserver (and sslserver), with
real clients: Python's smtplib (also starttls()), swaks, openssl s_client
and raw sockets for what no polite client sends.

One QMAILHOME per module (qmailhome.py, single-uid mode) with qmail-send
running (qmail-start, as in test_send.py): each accepted message is
followed through qmail-queue and qmail-send to a maildir of its own
(joe-NAME@mx.example, delivered by ~joe/.qmail-NAME to ~joe/NAME/).
Every test starts its own tcpserver with the environment it needs and
stops it at the end; control files a test writes are removed after it.
"""
import contextlib
import os
import re
import select
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import wait_for
from qmailhome import ROOT, QmailHome, as_user
from test_send import GID, UID, Send, assign, home_with_maildir

ME = "mx.example"
TIMEOUT = 10


# ---- the installation and its servers ---------------------------------------------

@pytest.fixture(scope="module")
def mx(tmp_path_factory):
    with QmailHome() as q:
        q.control("me", ME + "\n")
        q.control("locals", ME + "\n")
        q.control("rcpthosts", ME + "\n")
        home = home_with_maildir(q)
        assign(q, [f"=joe:joe:{UID}:{GID}:{home}:::\n", f"+joe-:joe:{UID}:{GID}:{home}:-::\n"])
        q.home = home
        q.servers = []
        q.pki = make_pki(tmp_path_factory.mktemp("smtpd-pki"))
        send = Send(q)
        q.send = send
        try:
            yield q
        finally:
            for s in q.servers:
                s.stop()
            send.stop()


PKI_SCRIPT = r"""
set -e
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $ec -keyout ca.key -out ca.pem -subj "/CN=qbox smtpd test CA" -days 30
printf 'subjectAltName=DNS:localhost,DNS:mx.example,IP:127.0.0.1\n' >san.cnf
openssl req $ec -keyout server.key -out server.csr -subj /CN=mx.example
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -extfile san.cnf -days 30 -out server.pem
cat server.pem server.key >servercert.pem
"""


def make_pki(d):
    r = subprocess.run(["sh", "-c", PKI_SCRIPT], cwd=d, capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    return d


def install_cert(q):
    """control/servercert.pem: certificate and key in one file, as the guides make it."""
    p = q.dir / "control" / "servercert.pem"
    p.write_bytes((q.pki / "servercert.pem").read_bytes())
    q.chown_all(p)
    os.chmod(p, 0o640)


class SmtpServer:
    """tcpserver (or sslserver) with -1 on a free loopback port running
    qmail-smtpd as the test user; qmail-smtpd's log lines in a file."""

    def __init__(self, q, env=None, server="tcpserver", server_args=(), smtpd_args=(), prefix=()):
        self.q = q
        self.logpath = q.dir / f"smtpd-{len(q.servers)}.log"
        self.logfile = open(self.logpath, "wb")
        argv = as_user(list(prefix) +
            [str(q.bin / server), "-1", "-H", "-R", "-l", ME] + list(server_args)
            + ["127.0.0.1", "0", str(q.bin / "qmail-smtpd")] + list(smtpd_args))
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.logfile, env=q.env(env), start_new_session=True)
        q.servers.append(self)
        line = b""
        deadline = time.monotonic() + TIMEOUT
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            assert left > 0 and select.select([self.proc.stdout], [], [], left)[0], self.log()
            chunk = os.read(self.proc.stdout.fileno(), 100)
            assert chunk, f"{server} exited: {self.log()}"
            line += chunk
        self.port = int(line)

    def log(self):
        return self.logpath.read_text(errors="replace")

    def wait_log(self, pattern, timeout=TIMEOUT):
        return wait_for(lambda: re.search(pattern, self.log(), re.M), timeout,
                        f"{pattern!r} in the log:\n{self.log()}")

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 15)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=TIMEOUT)
        self.proc.stdout.close()
        self.logfile.close()


@pytest.fixture
def server(mx):
    started = []

    def start(env=None, **kw):
        s = SmtpServer(mx, env, **kw)
        started.append(s)
        return s
    yield start
    for s in started:
        s.stop()
        mx.servers.remove(s)


@contextlib.contextmanager
def controls(q, **files):
    """Control files for the duration of a test (names with _ for .)."""
    paths = []
    for name, content in files.items():
        p = q.dir / "control" / name.replace("_", ".")
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)
        q.chown_all(p)
        paths.append(p)
    try:
        yield
    finally:
        for p in paths:
            p.unlink()


def cdb(q, name, records):
    """control/NAME made by qbox's cdbmake from {key: value}."""
    src = b"".join(b"+%d,%d:%s->%s\n" % (len(k), len(v), k, v)
                   for k, v in ((k.encode(), v.encode()) for k, v in records.items())) + b"\n"
    path = q.dir / "control" / name
    r = subprocess.run([str(q.bin / "cdbmake"), str(path), str(path) + ".tmp"], input=src,
                       capture_output=True)
    assert r.returncode == 0, r.stderr
    q.chown_all(path)
    return path


def tcprules(q, text):
    path = q.dir / "tcp.smtp.cdb"
    r = subprocess.run([str(q.bin / "tcprules"), str(path), str(path) + ".tmp"],
                       input=text.encode(), capture_output=True)
    assert r.returncode == 0, r.stderr
    q.chown_all(path)
    return str(path)


_boxes = set()


def mailbox(q, name):
    """joe-NAME@mx.example, delivered to the maildir ~joe/NAME/."""
    if name not in _boxes:
        r = q.run("maildirmake", [q.home / name])
        assert r.code == 0, r
        (q.home / f".qmail-{name}").write_text(f"./{name}/\n")
        q.chown_all(q.home)
        _boxes.add(name)
    return f"joe-{name}@{ME}"


def delivered(q, name, n=1, timeout=20):
    """Waits for n messages in ~joe/NAME/new and returns them, oldest first."""
    d = q.home / name / "new"

    def ready():
        files = sorted(os.listdir(d), key=lambda f: os.stat(d / f).st_mtime_ns)
        return files if len(files) >= n else None
    try:
        files = wait_for(ready, timeout, f"{n} messages in {d}")
    except AssertionError:
        raise AssertionError(f"no delivery; qmail-send log:\n{q.send.text()}")
    return [(d / f).read_bytes() for f in files]


def count(q, name):
    return len(os.listdir(q.home / name / "new"))


class Raw:
    """A raw SMTP client: bytes exactly as given, replies as they come."""

    def __init__(self, port, sock=None):
        self.s = sock or socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def reply(self):
        """One reply, all its lines: (code, text of the lines)."""
        lines = []
        while True:
            line = self._line()
            lines.append(line)
            if line[3:4] != b"-":
                return int(line[:3]), b"".join(lines)

    def expect(self, code, text=None):
        c, t = self.reply()
        assert c == code, t
        if text is not None:
            assert t == text, t
        return t

    def eof(self):
        """Reads to the end; the bytes that were left."""
        data = self.buf
        while True:
            try:
                chunk = self.s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        self.buf = b""
        return data

    def close(self):
        self.s.close()


def envelope(raw, sender, rcpts):
    raw.send(b"MAIL FROM:<%s>\r\n" % sender.encode())
    raw.expect(250)
    for r in rcpts:
        raw.send(b"RCPT TO:<%s>\r\n" % r.encode())
        raw.expect(250)


def smtp(port, **kw):
    return smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=TIMEOUT, **kw)


# ---- the protocol ---------------------------------------------------------------------

def test_delivery_through_the_queue_with_qmails_received_line(mx, server):
    s = server()
    rcpt = mailbox(mx, "basic")
    with smtp(s.port) as c:
        code, text = c.ehlo()
        assert code == 250
        assert text.split(b"\n")[0] == ME.encode()
        for ext in (b"PIPELINING", b"8BITMIME", b"SIZE", b"STARTTLS"):
            assert (ext in text) == (ext != b"STARTTLS"), text
        c.sendmail("sender@remote.example", [rcpt], b"Subject: basic\r\n\r\nline 1\r\n.dot\r\n")
    (msg,) = delivered(mx, "basic")
    assert re.search(rb"^Received: from unknown \(HELO client\.example\) \(127\.0\.0\.1\)\n"
                     rb"  by mx\.example with SMTP; \d+ \w+ \d{4} \d\d:\d\d:\d\d -0000\n", msg, re.M), msg
    assert msg.endswith(b"Subject: basic\n\nline 1\n.dot\n"), msg
    assert b"Return-Path: <sender@remote.example>\n" in msg
    s.wait_log(r"^qmail-smtpd\[\d+\]: message accepted \[127\.0\.0\.1\] qp \d+ bytes \d+ rcpts 1 "
               r"from <sender@remote\.example>$")


def test_replies_are_qmails(mx, server):
    s = server()
    r = Raw(s.port)
    r.expect(220, b"220 mx.example ESMTP\r\n")
    for cmd, reply in [
        (b"HELO x\r\n", b"250 mx.example\r\n"),
        (b"RCPT TO:<joe@mx.example>\r\n", b"503 MAIL first (#5.5.1)\r\n"),
        (b"DATA\r\n", b"503 MAIL first (#5.5.1)\r\n"),
        (b"MAIL FROM:<a@b.example>\r\n", b"250 ok\r\n"),
        (b"DATA\r\n", b"503 RCPT first (#5.5.1)\r\n"),
        (b"VRFY joe\r\n", b"252 send some mail, i'll try my best\r\n"),
        (b"NOOP\r\n", b"250 ok\r\n"),
        (b"HELP\r\n", b"214 qmail home page: http://pobox.com/~djb/qmail.html\r\n"),
        (b"XYZZY\r\n", b"502 unimplemented (#5.5.1)\r\n"),
        (b"RSET\r\n", b"250 flushed\r\n"),
        (b"RCPT TO:<joe@mx.example>\r\n", b"503 MAIL first (#5.5.1)\r\n"),
        (b"MAIL FROM:<" + b"a" * 900 + b">\r\n", b"555 syntax error (#5.5.4)\r\n"),
        (b"NOOP " + b"x" * 1000 + b"\r\n", b"500 command line too long (#5.5.2)\r\n"),
        (b"NOOP " + b"x" * 20000 + b"\r\n", b"500 command line too long (#5.5.2)\r\n"),
        (b"helo bare-lf-in-a-command\n", b"250 mx.example\r\n"),
        (b"MAIL FROM:<a@b.example>\r\n", b"250 ok\r\n"),
        (b"RCPT TO:<x@elsewhere.example>\r\n",
         b"553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)\r\n"),
        (b"STARTTLS\r\n", b"454 TLS not available (#4.3.0)\r\n"),
        (b"QUIT\r\n", b"221 mx.example\r\n"),
    ]:
        r.send(cmd)
        r.expect(int(reply[:3]), reply)
    assert r.eof() == b""
    s.wait_log(r"rcpthosts \[127\.0\.0\.1\] relaying denied: <x@elsewhere\.example>")


def test_pipelined_commands_get_their_replies_in_order(mx, server):
    s = server()
    rcpt = mailbox(mx, "pipelined")
    r = Raw(s.port)
    r.expect(220)
    r.send(b"EHLO c\r\nMAIL FROM:<p@remote.example>\r\nRCPT TO:<nobody@elsewhere.example>\r\n"
           b"RCPT TO:<" + rcpt.encode() + b">\r\nDATA\r\n")
    assert r.reply()[0] == 250
    assert [r.reply()[0] for _ in range(4)] == [250, 553, 250, 354]
    r.send(b"Subject: pipelined\r\n\r\nhi\r\n.\r\nQUIT\r\n")
    assert r.reply()[0] == 250
    assert r.reply()[0] == 221
    (msg,) = delivered(mx, "pipelined")
    assert msg.endswith(b"Subject: pipelined\n\nhi\n")


def test_relay_allowed_by_relayclient_in_tcp_smtp_cdb(mx, server):
    rules = tcprules(mx, '127.:allow,RELAYCLIENT=""\n')
    s = server(server_args=["-x", rules])
    with smtp(s.port) as c:
        refused = c.sendmail("joe@mx.example", ["friend@remote.example"], b"Subject: relayed\r\n\r\nx\r\n")
        assert refused == {}
    mx.send.wait_log(r"starting delivery \d+: msg \d+ to remote friend@remote\.example")
    # RELAYCLIENT's value is appended to every recipient.
    rules = tcprules(mx, '127.:allow,RELAYCLIENT="@mx.example"\n')
    s2 = server(server_args=["-x", rules])
    mailbox(mx, "suffix")
    with smtp(s2.port) as c:
        c.sendmail("a@remote.example", ["joe-suffix"], b"Subject: suffix\r\n\r\nx\r\n")
    (msg,) = delivered(mx, "suffix")
    assert b"Subject: suffix" in msg


def test_databytes_at_mail_and_in_data(mx, server):
    rcpt = mailbox(mx, "databytes")
    with controls(mx, databytes="1000\n"):
        s = server()
        with smtp(s.port) as c:
            code, text = c.ehlo()
            assert b"SIZE 1000" in text
            assert c.mail("a@remote.example", ["SIZE=1001"]) == \
                (552, b"sorry, that message size exceeds my databytes limit (#5.3.4)")
            assert c.mail("a@remote.example", ["SIZE=1000"])[0] == 250
            assert c.rcpt(rcpt)[0] == 250
            code, text = c.data(b"Subject: big\r\n\r\n" + b"x" * 2000 + b"\r\n")
            assert (code, text) == (552, b"sorry, that message size exceeds my databytes limit (#5.3.4)")
            # The session goes on: a small one passes.
            c.sendmail("a@remote.example", [rcpt], b"Subject: small\r\n\r\nsmall\r\n")
        s.wait_log(r"DATABYTES exceeded \[127\.0\.0\.1\]")
        s.wait_log(r"message refused \[127\.0\.0\.1\] from <a@remote\.example>: 552 ")
    # DATABYTES in the environment overrides the control file.
    s2 = server(env={"DATABYTES": "100"})
    with smtp(s2.port) as c:
        assert b"SIZE 100" in c.ehlo()[1]
        with pytest.raises(smtplib.SMTPSenderRefused):  # smtplib sends SIZE=
            c.sendmail("a@remote.example", [rcpt], b"Subject: big\r\n\r\n" + b"y" * 200 + b"\r\n")
        c.mail("a@remote.example")
        c.rcpt(rcpt)
        assert c.data(b"Subject: big\r\n\r\n" + b"y" * 200 + b"\r\n")[0] == 552
    (msg,) = delivered(mx, "databytes")
    assert msg.endswith(b"small\n")
    time.sleep(0.2)
    assert count(mx, "databytes") == 1


def test_badmailfrom_and_badrcptto(mx, server):
    rcpt = mailbox(mx, "badlists")
    with controls(mx, badmailfrom="spammer@spam.example\n@junk.example\n",
                  badrcptto=f"joe-blocked@{ME}\n"):
        s = server()
        r = Raw(s.port)
        r.expect(220)
        for sender in ("spammer@spam.example", "SPAMMER@Spam.Example", "anyone@junk.example"):
            r.send(b"MAIL FROM:<%s>\r\n" % sender.encode())
            r.expect(250)  # qmail answers at RCPT
            r.send(b"RCPT TO:<%s>\r\n" % rcpt.encode())
            r.expect(553, b"553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)\r\n")
        r.send(b"MAIL FROM:<fine@spam.example>\r\nRCPT TO:<joe-blocked@mx.example>\r\n")
        r.expect(250)
        r.expect(553, b"553 sorry, your envelope recipient is in my badrcptto list (#5.7.1)\r\n")
        r.send(b"RCPT TO:<%s>\r\nDATA\r\n" % rcpt.encode())
        r.expect(250)
        r.expect(354)
        r.send(b"Subject: fine\r\n\r\n.\r\nQUIT\r\n")
        r.expect(250)
        s.wait_log(r"badmailfrom: <anyone@junk\.example> at 127\.0\.0\.1")
        s.wait_log(r"badrcptto: <joe-blocked@mx\.example> at 127\.0\.0\.1")
    (msg,) = delivered(mx, "badlists")
    assert b"Subject: fine" in msg


def test_validrcptto_and_its_limit(mx, server):
    rcpt = mailbox(mx, "valid")
    cdb(mx, "validrcptto.cdb", {rcpt: "", f"joe-list-default@{ME}": "", f"gone@{ME}": "-"})
    try:
        s = server(env={"VALIDRCPTTO_LIMIT": "3"})
        r = Raw(s.port)
        r.expect(220)
        r.send(b"MAIL FROM:<a@remote.example>\r\n")
        r.expect(250)
        not_listed = b"553 sorry, this recipient is not in my validrcptto list (#5.7.1)\r\n"
        r.send(b"RCPT TO:<Joe-Valid@MX.example>\r\n")
        r.expect(250)
        r.send(b"RCPT TO:<nosuchuser@mx.example>\r\n")
        r.expect(553, not_listed)
        r.send(b"RCPT TO:<gone@mx.example>\r\n")
        r.expect(553, not_listed)
        r.send(b"RCPT TO:<joe-list-anything@mx.example>\r\n")
        r.expect(250)
        r.send(b"RCPT TO:<third@mx.example>\r\n")
        r.expect(421, b"421 too many invalid addresses, goodbye (#4.3.0)\r\n")
        assert r.eof() == b""
        s.wait_log(r"validrcptto \[127\.0\.0\.1\] not found: nosuchuser@mx\.example")
        s.wait_log(r"validrcptto \[127\.0\.0\.1\] excessive violations, hanging up")
        # A relay client is not checked; VALIDRCPTTO_CDB= turns the check off.
        s2 = server(env={"VALIDRCPTTO_CDB": ""})
        with smtp(s2.port) as c:
            assert c.sendmail("a@remote.example", [rcpt, f"unlisted@{ME}"],
                              b"Subject: valid\r\n\r\nx\r\n") == {}
        delivered(mx, "valid")
    finally:
        os.unlink(mx.dir / "control" / "validrcptto.cdb")


def test_maxrcpt_defaults_to_100(mx, server):
    rcpt = mailbox(mx, "maxrcpt")
    s = server()
    r = Raw(s.port)
    r.expect(220)
    r.send(b"MAIL FROM:<a@remote.example>\r\n" + b"RCPT TO:<%s>\r\n" % rcpt.encode() * 101)
    r.expect(250)
    for _ in range(100):
        r.expect(250)
    r.expect(452, b"452 sorry, too many recipients (#4.5.3)\r\n")
    s.wait_log(r"MAXRCPT fail \[127\.0\.0\.1\]")
    # MAXRCPT=0: no limit; MAXRCPT below 100 counts as 100 (RFC 5321).
    for env, n in (({"MAXRCPT": "0"}, 150), ({"MAXRCPT": "5"}, 100)):
        s = server(env=env)
        r = Raw(s.port)
        r.expect(220)
        r.send(b"MAIL FROM:<a@remote.example>\r\n" + b"RCPT TO:<x@mx.example>\r\n" * n + b"RSET\r\n")
        codes = [r.reply()[0] for _ in range(n + 2)]
        assert codes == [250] * (n + 2)


def test_envelope_memory_is_bounded_without_maxrcpt(mx, server):
    s = server(env={"MAXRCPT": "0"})
    r = Raw(s.port)
    r.expect(220)
    rcpt = b"RCPT TO:<" + b"x" * 800 + b"@mx.example>\r\n"
    r.send(b"MAIL FROM:<a@remote.example>\r\n" + rcpt * 400 + b"NOOP\r\n")
    codes = [r.reply()[0] for _ in range(402)]
    assert codes[0] == 250 and codes[-1] == 250
    accepted = codes[1:-1].count(250)
    assert 300 < accepted < 400 and codes[1 + accepted:-1] == [452] * (400 - accepted)


def test_morercpthosts_cdb(mx, server):
    cdb(mx, "morercpthosts.cdb", {"more.example": "", ".wild.example": ""})
    try:
        s = server()
        r = Raw(s.port)
        r.expect(220)
        r.send(b"MAIL FROM:<a@remote.example>\r\n")
        r.expect(250)
        for rcpt, code in ((b"x@more.example", 250), (b"x@MORE.Example", 250), (b"x@a.wild.example", 250),
                           (b"x@wild.example", 553), (b"x@other.example", 553)):
            r.send(b"RCPT TO:<" + rcpt + b">\r\n")
            r.expect(code)
        r.send(b"QUIT\r\n")
        r.expect(221)
    finally:
        os.unlink(mx.dir / "control" / "morercpthosts.cdb")


def test_localiphost_rewrites_our_address_literal(mx, server):
    rcpt = mailbox(mx, "literal")
    with controls(mx, localiphost=ME + "\n"):
        s = server(env={"QMAILSMTPD_LOG_RCPT": "1"})
        with smtp(s.port) as c:
            c.sendmail("a@remote.example", ["joe-literal@[127.0.0.1]"], b"Subject: literal\r\n\r\nx\r\n")
        s.wait_log(rf"RCPT TO:<{re.escape(rcpt)}>")
    (msg,) = delivered(mx, "literal")
    assert f"Delivered-To: {rcpt}".encode() in msg


def test_qmailqueue_filter_custom_error_reaches_the_client(mx, server):
    filt = mx.script("bin/smtpd-filter", f"""
case "$(cat)" in
  *refuse-me*) printf 'DThis message smells (#5.7.1)' >&6; exit 82 ;;
  *later*) printf 'ZTry again tomorrow (#4.3.0)' >&6; exit 82 ;;
  *plain-temp*) exit 71 ;;
esac
exit 31
""")
    s = server(env={"QMAILQUEUE": str(filt)})
    with smtp(s.port) as c:
        for body, want in ((b"refuse-me", (554, b"This message smells (#5.7.1)")),
                           (b"later", (451, b"Try again tomorrow (#4.3.0)")),
                           (b"plain-temp", (451, b"mail server temporarily rejected message (#4.3.0)")),
                           (b"other", (554, b"mail server permanently rejected message (#5.3.0)"))):
            c.mail("a@remote.example")
            c.rcpt(f"joe@{ME}")
            assert c.data(b"Subject: x\r\n\r\n" + body + b"\r\n") == want
            c.rset()
    s.wait_log(r"message refused \[127\.0\.0\.1\] from <a@remote\.example>: 554 This message smells")


def test_hop_count_stops_a_loop(mx, server):
    s = server()
    with smtp(s.port) as c:
        c.mail("a@remote.example")
        c.rcpt(f"joe@{ME}")
        code, text = c.data(b"Received: x\r\n" * 60 + b"Delivered-To: y\r\n" * 40 + b"\r\nbody\r\n")
        assert (code, text) == (554, b"too many hops, this message is looping (#5.4.6)")


def test_greetdelay_and_drop_pre_greet(mx, server):
    s = server(env={"GREETDELAY": "2", "DROP_PRE_GREET": "1"})
    r = Raw(s.port)
    r.send(b"EHLO impatient\r\n")
    assert r.eof() == b"554 SMTP protocol violation\r\n"
    s.wait_log(r"before greeting: \[127\.0\.0\.1\] client sent data")
    # A patient client is served after the delay.
    s2 = server(env={"GREETDELAY": "1"})
    t = time.monotonic()
    with smtp(s2.port) as c:
        assert c.noop()[0] == 250
    assert time.monotonic() - t >= 0.9
    # Without DROP_PRE_GREET, early talk waits for the delay and is answered.
    r = Raw(s2.port)
    r.send(b"HELO early\r\n")
    r.expect(220)
    r.expect(250)


def test_smtpgreeting_and_logging_of_the_envelope(mx, server):
    rcpt = mailbox(mx, "greeting")
    with controls(mx, smtpgreeting="greeting.example NO UCE\n"):
        s = server(env={"QMAILSMTPD_LOG_MAIL": "1", "QMAILSMTPD_LOG_RCPT": "1"})
        r = Raw(s.port)
        r.expect(220, b"220 greeting.example NO UCE ESMTP\r\n")
        r.close()
        s2 = server(env={"SMTPGREETING": "env.example", "QMAILSMTPD_LOG_MAIL": "1",
                         "QMAILSMTPD_LOG_RCPT": "1"})
        with smtp(s2.port) as c:
            assert c.ehlo()[1].split(b"\n")[0] == b"env.example"
            c.sendmail("logged@remote.example", [rcpt], b"Subject: g\r\n\r\nx\r\n")
        s2.wait_log(r"^qmail-smtpd\[\d+\]: MAIL FROM:<logged@remote\.example>$")
        s2.wait_log(rf"^qmail-smtpd\[\d+\]: RCPT TO:<{re.escape(rcpt)}>$")
    delivered(mx, "greeting")


def test_mfcheck(mx, server, dns_server):
    dns = dns_server({"mx.good.example": {"MX": [[10, "in.good.example"]]},
                      "a-only.example": {"A": ["192.0.2.1"]},
                      "nullmx.example": {"MX": [[0, "."]]},
                      "broken.example": {"mode": "servfail"}})
    rcpt = mailbox(mx, "mfcheck")
    conf = mx.dir / "resolv.conf"  # where the test user can read it
    conf.write_text(dns.conf.read_text())
    s = server(env={"QBOX_RESOLV_CONF": str(conf), "MFCHECK": "3"})
    r = Raw(s.port)
    r.expect(220)
    for sender, reply in [
        ("a@mx.good.example", b"250 ok\r\n"),
        ("a@a-only.example", b"250 ok\r\n"),
        ("", b"250 ok\r\n"),
        ("a@[192.0.2.7]", b"250 ok\r\n"),
        ("a@nowhere.example", b"553 sorry, your envelope sender domain must exist (#5.7.1)\r\n"),
        ("a@nullmx.example", b"553 sorry, your envelope sender domain must exist (#5.7.1)\r\n"),
        ("nodomain", b"553 sorry, your envelope sender domain must exist (#5.7.1)\r\n"),
        ("a@broken.example", b"451 DNS temporary failure (#4.3.0)\r\n"),
    ]:
        r.send(b"MAIL FROM:<%s>\r\n" % sender.encode())
        r.expect(int(reply[:3]), reply)
    r.send(b"MAIL FROM:<a@mx.good.example>\r\nRCPT TO:<%s>\r\nDATA\r\n" % rcpt.encode())
    r.expect(250)
    r.expect(250)
    r.expect(354)
    r.send(b"Subject: mfcheck\r\n\r\n.\r\n")
    r.expect(250)
    s.wait_log(r"MFCHECK pass \[127\.0\.0\.1\] mx\.good\.example")
    s.wait_log(r"MFCHECK fail \[127\.0\.0\.1\] nowhere\.example")
    delivered(mx, "mfcheck")


def test_timeouts_end_idle_and_trickling_clients(mx, server):
    with controls(mx, timeoutsmtpd="1\n"):
        s = server()
        r = Raw(s.port)
        r.expect(220)
        t = time.monotonic()
        assert r.eof() == b"451 timeout (#4.4.2)\r\n"
        assert time.monotonic() - t < 5
        # A byte every 0.3 s never makes a line within the timeout.
        r = Raw(s.port)
        r.expect(220)
        t = time.monotonic()
        got = b""
        try:
            for _ in range(30):
                r.send(b"N")
                time.sleep(0.3)
                ready = select.select([r.s], [], [], 0)[0]
                if ready:
                    got = r.eof()
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert got == b"451 timeout (#4.4.2)\r\n"
        assert time.monotonic() - t < 5
        s.wait_log(r"timeout \[127\.0\.0\.1\]")


# ---- DATA: bare LF and SMTP smuggling ---------------------------------------------------

SMUGGLED = [
    b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r.\r\n", b"\r\n.\r", b"\r.\n", b"\n.\r",
    b"\r\n\x00.\r\n", b"\r\r\n.\r\r\n", b"\r\n.\r\r\n",
]


@pytest.mark.parametrize("variant", SMUGGLED, ids=lambda v: v.hex())
def test_smuggling_variants_never_end_data(mx, server, variant):
    """The client's end-of-data variant is followed by a second message's
    envelope: a server that ended the data there would queue two messages.
    qmail-smtpd either kills the session at a bare LF (451, nothing
    queued) or keeps everything as data of the one message."""
    name = "smuggle-" + variant.hex()
    rcpt = mailbox(mx, name)
    s = server()
    r = Raw(s.port)
    r.expect(220)
    r.send(b"EHLO c\r\n")
    r.expect(250)
    envelope(r, "a@remote.example", [rcpt])
    r.send(b"DATA\r\n")
    r.expect(354)
    smuggled = (b"MAIL FROM:<evil@remote.example>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                b"Subject: smuggled\r\n\r\nsmuggled body\r\n" % rcpt.encode())
    r.send(b"Subject: first\r\n\r\nfirst body" + variant + smuggled)
    if b"\n" in variant.replace(b"\r\n", b""):
        assert r.eof() == b"451 See http://pobox.com/~djb/docs/smtplf.html.\r\n"
        s.wait_log(r"bare LF \[127\.0\.0\.1\]")
        # Nothing was queued: the next message is the only one there.
        with smtp(s.port) as c:
            c.sendmail("a@remote.example", [rcpt], b"Subject: marker\r\n\r\nm\r\n")
        (msg,) = delivered(mx, name)
        assert b"Subject: marker" in msg
    else:
        r.send(b".\r\nQUIT\r\n")
        assert r.reply()[0] == 250
        assert r.reply()[0] == 221
        (msg,) = delivered(mx, name)
        assert b"Subject: first" in msg and b"smuggled body" in msg
        assert b"MAIL FROM:<evil@remote.example>" in msg
    time.sleep(0.2)
    assert count(mx, name) == 1


def test_bare_lf_in_body_is_refused_as_qmail_does(mx, server):
    s = server()
    r = Raw(s.port)
    r.expect(220)
    envelope(r, "a@remote.example", [f"joe@{ME}"])
    r.send(b"DATA\r\n")
    r.expect(354)
    r.send(b"Subject: lf\n\nunix line ends\n.\n")
    assert r.eof() == b"451 See http://pobox.com/~djb/docs/smtplf.html.\r\n"


def test_ten_megabyte_message(mx, server):
    rcpt = mailbox(mx, "big")
    s = server()
    line = b"0123456789" * 9 + b"\r\n"
    body = line * (10 * 1024 * 1024 // len(line) + 1)
    with smtp(s.port) as c:
        assert c.sendmail("a@remote.example", [rcpt], b"Subject: big\r\n\r\n" + body) == {}
    (msg,) = delivered(mx, "big", timeout=60)
    assert msg.endswith(body.replace(b"\r\n", b"\n"))


def test_runs_under_softlimit_as_life_with_qmail_runs_it(mx, server):
    install_cert(mx)
    rcpt = mailbox(mx, "softlimit")
    try:
        s = server(prefix=[str(mx.bin / "softlimit"), "-m", "2000000"])
        with smtp(s.port) as c:
            c.sendmail("a@remote.example", [rcpt], b"Subject: plain\r\n\r\nx\r\n")
        with smtp(s.port) as c:
            c.starttls(context=client_context(mx))
            c.sendmail("a@remote.example", [rcpt], b"Subject: tls\r\n\r\nx\r\n")
        msgs = delivered(mx, "softlimit", 2)
        assert any(b"encrypted) SMTP" in m for m in msgs)
    finally:
        os.unlink(mx.dir / "control" / "servercert.pem")


# ---- TLS -------------------------------------------------------------------------------------

def client_context(q):
    ctx = ssl.create_default_context(cafile=str(q.pki / "ca.pem"))
    return ctx


@pytest.fixture
def tls_mx(mx):
    install_cert(mx)
    yield mx
    os.unlink(mx.dir / "control" / "servercert.pem")


def test_starttls_with_smtplib(tls_mx, server):
    mx = tls_mx
    rcpt = mailbox(mx, "starttls")
    s = server()
    with smtp(s.port) as c:
        c.ehlo()
        assert c.has_extn("starttls")
        c.mail("before@remote.example")
        c.starttls(context=client_context(mx))
        code, text = c.ehlo()
        assert b"STARTTLS" not in text
        # The MAIL before STARTTLS is forgotten (RFC 3207).
        assert c.rcpt(rcpt) == (503, b"MAIL first (#5.5.1)")
        c.sendmail("a@remote.example", [rcpt], b"Subject: over tls\r\n\r\nsecret\r\n")
        assert c.docmd("STARTTLS") == (454, b"TLS not available: TLS already active (#4.3.0)")
    (msg,) = delivered(mx, "starttls")
    assert re.search(rb"^  by mx\.example with \(ECDHE-ECDSA-[A-Z0-9-]+ encrypted\) SMTP; ", msg, re.M), msg


def test_starttls_injection_is_discarded(tls_mx, server):
    mx = tls_mx
    rcpt = mailbox(mx, "injection")
    s = server()
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=TIMEOUT)
    r = Raw(s.port, sock)
    r.expect(220)
    r.send(b"EHLO c\r\n")
    r.expect(250)
    # One packet: the MAIL after STARTTLS must never run, in clear or in TLS.
    r.send(b"STARTTLS\r\nMAIL FROM:<evil@remote.example>\r\nRCPT TO:<" + rcpt.encode() + b">\r\n")
    r.expect(220, b"220 ready for tls\r\n")
    assert r.buf == b""
    tls = client_context(mx).wrap_socket(sock, server_hostname="mx.example")
    t = Raw(s.port, tls)
    t.send(b"RCPT TO:<" + rcpt.encode() + b">\r\n")
    t.expect(503, b"503 MAIL first (#5.5.1)\r\n")
    t.send(b"MAIL FROM:<good@remote.example>\r\nRCPT TO:<" + rcpt.encode() + b">\r\nDATA\r\n")
    t.expect(250)
    t.expect(250)
    t.expect(354)
    t.send(b"Subject: after injection\r\n\r\n.\r\nQUIT\r\n")
    t.expect(250)
    t.expect(221)
    s.wait_log(r"STARTTLS \[127\.0\.0\.1\] dropped \d+ bytes sent before the TLS handshake")
    (msg,) = delivered(mx, "injection")
    assert b"Return-Path: <good@remote.example>" in msg


def test_starttls_with_openssl_s_client_and_swaks(tls_mx, server):
    mx = tls_mx
    rcpt = mailbox(mx, "sclient")
    s = server()
    script = (f"EHLO sclient\nMAIL FROM:<a@remote.example>\nRCPT TO:<{rcpt}>\nDATA\n"
              "Subject: s_client\n\nhello\n.\nQUIT\n")
    p = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-crlf", "-quiet",
                        "-CAfile", str(mx.pki / "ca.pem"), "-verify_return_error",
                        "-connect", f"127.0.0.1:{s.port}"],
                       input=script.encode(), capture_output=True, timeout=30)
    assert b"\n250 ok " in p.stdout and b"221 mx.example" in p.stdout, p
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(s.port), "--tls",
                        "--from", "b@remote.example", "--to", rcpt, "--header", "Subject: swaks",
                        "--body", "via swaks", "--helo", "swaks.example", "--timeout", "20"],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    msgs = delivered(mx, "sclient", 2)
    assert any(b"Subject: s_client" in m for m in msgs)
    assert any(b"via swaks" in m and b"(HELO swaks.example)" in m for m in msgs)


def test_force_tls(tls_mx, server):
    mx = tls_mx
    rcpt = mailbox(mx, "forcetls")
    s = server(env={"FORCE_TLS": "1"})
    with smtp(s.port) as c:
        assert c.mail("a@remote.example") == (530, b"must issue STARTTLS first (#5.7.0)")
        c.starttls(context=client_context(mx))
        c.sendmail("a@remote.example", [rcpt], b"Subject: forced\r\n\r\nx\r\n")
    delivered(mx, "forcetls")


def test_smtps_through_sslserver(tls_mx, server):
    mx = tls_mx
    rcpt = mailbox(mx, "smtps")
    env = {"CERTFILE": str(mx.dir / "control" / "servercert.pem")}
    s = server(env=env, server="sslserver")
    with smtplib.SMTP_SSL("127.0.0.1", s.port, local_hostname="client.example", timeout=TIMEOUT,
                          context=client_context(mx)) as c:
        code, text = c.ehlo()
        assert b"STARTTLS" not in text
        assert c.docmd("STARTTLS")[0] == 454
        c.sendmail("a@remote.example", [rcpt], b"Subject: smtps\r\n\r\nx\r\n")
    (msg,) = delivered(mx, "smtps")
    assert re.search(rb"with \(ECDHE-ECDSA-[A-Z0-9-]+ encrypted\) SMTP; ", msg), msg


def swaks(port, rcpt, *extra):
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--from",
                        "b@remote.example", "--to", rcpt, "--timeout", "20"] + list(extra),
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    return p.stdout


def test_swaks_plain_and_smtps_and_postfix_smtp_source(tls_mx, server):
    mx = tls_mx
    rcpt = mailbox(mx, "clients")
    plain = server()
    swaks(plain.port, rcpt, "--header", "Subject: swaks plain", "--body", "plain swaks")
    smtps = server(env={"CERTFILE": str(mx.dir / "control" / "servercert.pem")},
                   server="sslserver")
    swaks(smtps.port, rcpt, "--tlsc", "--header", "Subject: swaks tlsc", "--body", "tlsc swaks")
    # Postfix's smtp-source: 20 messages over 4 sessions at once.
    p = subprocess.run(["smtp-source", "-s", "4", "-m", "20", "-l", "1024", "-f",
                        "src@remote.example", "-t", rcpt, f"127.0.0.1:{plain.port}"],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    msgs = delivered(mx, "clients", 22)
    assert len(msgs) == 22
    assert any(b"plain swaks" in m and b"with SMTP" in m for m in msgs)
    assert any(b"tlsc swaks" in m and b"encrypted) SMTP" in m for m in msgs)
    assert sum(b"Return-Path: <src@remote.example>" in m for m in msgs) == 20


def test_servercert_problems_are_reported(mx, server):
    with controls(mx, servercert_pem="not a certificate\n"):
        s = server()
        with smtp(s.port) as c:
            c.ehlo()
            assert c.has_extn("starttls")
            assert c.docmd("STARTTLS") == (454, b"TLS not available: missing certificate (#4.3.0)")
            assert c.noop()[0] == 250
        s.wait_log(r"STARTTLS \[127\.0\.0\.1\] .*servercert\.pem")


# ---- AUTH ---------------------------------------------------------------------------------

import base64  # noqa: E402

CHECKPASSWORD = r"""
# djb's interface: user, password (or CRAM-MD5 digest), timestamp (or
# challenge), NUL-terminated, on descriptor 3.
data=$(head -c 1024 <&3 | tr '\0' '\n')
user=$(printf '%s\n' "$data" | sed -n 1p)
pass=$(printf '%s\n' "$data" | sed -n 2p)
chal=$(printf '%s\n' "$data" | sed -n 3p)
[ "$user" = cpuser ] || exit 1
if [ -n "$chal" ]; then
  want=$(printf '%s' "$chal" | openssl dgst -md5 -hmac cppass | sed 's/.*= //')
  [ "$pass" = "$want" ] || exit 1
else
  [ "$pass" = cppass ] || exit 1
fi
exec "$@"
"""


@pytest.fixture(scope="module")
def authdb(mx):
    """An auth.cdb made by mkauth, outside control/ ($AUTH_CDB names it)."""
    src = mx.dir / "auth-users"
    src.write_text("joe@mx.example:secret pass\nann:ann's password\n")
    out = mx.dir / "auth.cdb"
    r = mx.run("mkauth", ["-f", src, "-o", out])
    assert r.code == 0, r
    mx.chown_all(out)
    return str(out)


def plain(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())


def test_auth_is_offered_only_over_tls(tls_mx, server, authdb):
    mx = tls_mx
    s = server(env={"AUTH_CDB": authdb})
    with smtp(s.port) as c:
        c.ehlo()
        assert not c.has_extn("auth")
        assert c.docmd("AUTH", "PLAIN " + plain("joe@mx.example", "secret pass").decode()) == \
            (538, b"encryption required for requested authentication mechanism (#5.7.11)")
        c.starttls(context=client_context(mx))
        c.ehlo()
        assert c.esmtp_features["auth"].split() == ["LOGIN", "PLAIN", "CRAM-MD5"]
    s2 = server(env={"AUTH_CDB": authdb, "ALLOW_INSECURE_AUTH": "1"})
    with smtp(s2.port) as c:
        c.ehlo()
        assert c.has_extn("auth")
        c.login("joe@mx.example", "secret pass")
        assert c.docmd("AUTH", "PLAIN x") == (503, b"you're already authenticated (#5.5.0)")
        # STARTTLS forgets the authentication (RFC 3207): no relaying after it.
        c.starttls(context=client_context(mx))
        c.ehlo()
        c.mail("joe@mx.example")
        assert c.rcpt("friend@remote.example")[0] == 553
        assert c.docmd("AUTH", "PLAIN x") == (503, b"no auth during mail transaction (#5.5.0)")
    # No backend: no AUTH at all.
    s3 = server(env={"ALLOW_INSECURE_AUTH": "1"})
    with smtp(s3.port) as c:
        c.ehlo()
        assert not c.has_extn("auth")
        assert c.docmd("AUTH", "PLAIN x") == (503, b"auth not available (#5.3.3)")


def test_auth_relays_and_marks_the_message(tls_mx, server, authdb):
    mx = tls_mx
    rcpt = mailbox(mx, "authuser")
    seen = mx.dir / "filter-env"
    filt = mx.script("bin/authuser-filter", f"""
printf '%s|%s\\n' "$TCPREMOTEINFO" "$SMTP_AUTH_USER" >>{seen}
exec {mx.bin / 'qmail-queue'}
""")
    s = server(env={"AUTH_CDB": authdb, "QMAILQUEUE": str(filt)})
    with smtp(s.port) as c:
        c.starttls(context=client_context(mx))
        c.ehlo()
        c.mail("joe@mx.example")
        assert c.rcpt("friend@remote.example")[0] == 553
        c.rset()
        c.login("joe@mx.example", "secret pass")
        assert c.sendmail("joe@mx.example", ["friend@remote.example", rcpt],
                          b"X-AuthUser: someone-else\r\nSubject: authenticated\r\n\r\nhi\r\n") == {}
    (msg,) = delivered(mx, "authuser")
    assert msg.count(b"X-AuthUser:") == 1, msg
    assert re.search(rb"^Received: from unknown \(HELO client\.example\) \(joe@mx\.example@127\.0\.0\.1\)\n"
                     rb"  by mx\.example with \(ECDHE-ECDSA-[A-Z0-9-]+ encrypted\) SMTP; .*\n"
                     rb"X-AuthUser: joe@mx\.example\nSubject: authenticated\n", msg, re.M), msg
    assert seen.read_text() == "joe@mx.example|joe@mx.example\n"
    mx.send.wait_log(r"starting delivery \d+: msg \d+ to remote friend@remote\.example")
    s.wait_log(r"AUTH successful \[127\.0\.0\.1\] joe@mx\.example$")
    s.wait_log(r"message accepted \[127\.0\.0\.1\] qp \d+ bytes \d+ rcpts 2 from <joe@mx\.example> "
               r"auth joe@mx\.example$")


def test_auth_failures_are_logged_slowed_and_end_the_session(tls_mx, server, authdb):
    mx = tls_mx
    s = server(env={"AUTH_CDB": authdb, "ALLOW_INSECURE_AUTH": "1"})
    r = Raw(s.port)
    r.expect(220)
    failed = b"535 authentication failed (#5.7.1)\r\n"
    r.send(b"AUTH PLAIN " + plain("joe@mx.example", "wrong") + b"\r\n")
    r.expect(535, failed)
    t = time.monotonic()
    r.send(b"NOOP\r\n")
    r.expect(250)
    assert time.monotonic() - t >= 0.9
    r.send(b"AUTH LOGIN\r\n")
    r.expect(334, b"334 VXNlcm5hbWU6\r\n")
    r.send(base64.b64encode(b"nobody-here") + b"\r\n")
    r.expect(334, b"334 UGFzc3dvcmQ6\r\n")
    r.send(base64.b64encode(b"x") + b"\r\n")
    r.expect(535, failed)
    r.send(b"AUTH PLAIN " + plain("ann", "nope") + b"\r\n")
    r.expect(535, failed)
    r.expect(421, b"421 too many failed AUTH attempts, goodbye (#4.7.0)\r\n")
    assert r.eof() == b""
    s.wait_log(r"AUTH failed \[127\.0\.0\.1\] PLAIN user joe@mx\.example: wrong password")
    s.wait_log(r"AUTH failed \[127\.0\.0\.1\] LOGIN user nobody-here: no such user")
    s.wait_log(r"AUTH \[127\.0\.0\.1\] too many failures, hanging up")


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_auth_with_swaks_and_control_auth_cdb(tls_mx, server, mech):
    mx = tls_mx
    rcpt = mailbox(mx, "swaks-" + mech.lower())
    src = mx.dir / "control" / "auth"
    src.write_text("ann:ann's password\n")
    r = mx.run("mkauth")
    assert r.code == 0, r
    try:
        s = server()
        p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(s.port), "--tls",
                            "--auth", mech, "--auth-user", "ann", "--auth-password", "ann's password",
                            "--from", "ann@mx.example", "--to", f"{rcpt},friend@remote.example",
                            "--header", f"Subject: swaks {mech}", "--timeout", "20"],
                           capture_output=True, timeout=60)
        out = p.stdout.decode()
        assert p.returncode == 0, out + p.stderr.decode()
        assert "<~  235 ok, go ahead (#2.0.0)" in out
        (msg,) = delivered(mx, "swaks-" + mech.lower())
        assert b"X-AuthUser: ann\n" in msg
        p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(s.port), "--tls",
                            "--auth", mech, "--auth-user", "ann", "--auth-password", "wrong",
                            "--from", "ann@mx.example", "--to", rcpt, "--timeout", "20"],
                           capture_output=True, timeout=60)
        assert p.returncode != 0
        assert "535 authentication failed (#5.7.1)" in p.stdout.decode()
    finally:
        for f in ("auth", "auth.cdb"):
            os.unlink(mx.dir / "control" / f)


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_auth_with_checkpassword(tls_mx, server, mech):
    mx = tls_mx
    rcpt = mailbox(mx, "checkpw-" + mech.lower())
    checkpw = mx.script("bin/test-checkpassword", CHECKPASSWORD)
    s = server(smtpd_args=[ME, str(checkpw), "/bin/true"])
    for password, ok in (("cppass", True), ("bad", False)):
        p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(s.port), "--tls",
                            "--auth", mech, "--auth-user", "cpuser", "--auth-password", password,
                            "--from", "cp@remote.example", "--to", rcpt, "--timeout", "20"],
                           capture_output=True, timeout=60)
        assert (p.returncode == 0) == ok, p.stdout.decode()
    (msg,) = delivered(mx, "checkpw-" + mech.lower())
    assert b"X-AuthUser: cpuser\n" in msg
    s.wait_log(rf"AUTH failed \[127\.0\.0\.1\] {mech} user cpuser: checkpassword exit 1")


def test_require_auth(tls_mx, server, authdb):
    mx = tls_mx
    rcpt = mailbox(mx, "requireauth")
    s = server(env={"AUTH_CDB": authdb, "REQUIRE_AUTH": "1"})
    with smtp(s.port) as c:
        c.starttls(context=client_context(mx))
        c.ehlo()
        assert c.mail("joe@mx.example") == (530, b"authentication required (#5.7.1)")
        c.login("joe@mx.example", "secret pass")
        c.sendmail("joe@mx.example", [rcpt], b"Subject: required\r\n\r\nx\r\n")
    delivered(mx, "requireauth")
    # REQUIRE_AUTH without any way to authenticate refuses everyone.
    s2 = server(env={"REQUIRE_AUTH": "1"})
    r = Raw(s2.port)
    assert r.eof() == b"421 REQUIRE_AUTH set without valid AUTH program (#4.3.0)\r\n"
