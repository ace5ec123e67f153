"""rblsmtpd against the scripted DNS server (dnsserver.py) and Debian's.

qbox's rblsmtpd finds the test server through $QBOX_RESOLV_CONF (a random
port). Debian's uses djb's resolver: $DNSCACHEIP, port 53 fixed. So the
comparisons that need DNS run a second server on 127.0.0.77:53, when we are
root and that port is free, and point both programs at it with $DNSCACHEIP
(qbox honours it as djb's library does). Without DNS (usage, $RBLSMTPD, the
SMTP dialogue) the comparisons always run.
"""
import json
import os
import re
import select
import smtplib
import socket
import struct
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import CLASSIC

DNSSERVER = Path(__file__).with_name("dnsserver.py")
DEBIAN = CLASSIC / "rblsmtpd"
DNS53 = "127.0.0.77"  # not systemd-resolved's 127.0.0.53 or .54


def rev(ip):
    return ".".join(reversed(ip.split(".")))


V6 = "2001:db8::1"
V6_REV = ".".join(reversed("20010db8" + "0" * 23 + "1"))

LONG = "x" * 150 + "y" * 150  # over 200: cut in the reply
ZONE = {
    # txt.test: a classic list, TXT records
    f"{rev('192.0.2.2')}.txt.test": {"TXT": [["Listed: see http://txt.test/192.0.2.2"]]},
    f"{rev('192.0.2.3')}.txt.test": {"TXT": [["part one, ", "part two;"], ["\x01ctrl\x7f caf\u00e9"]]},
    f"{rev('192.0.2.4')}.txt.test": {"TXT": [[LONG[:150], LONG[150:]]]},
    f"{rev('192.0.2.5')}.txt.test": {"TXT": [[""]]},                     # empty text: not listed
    f"{rev('192.0.2.6')}.txt.test": {"TXT": [[""]], "A": ["127.0.0.2"]},  # ...unless A (qbox)
    f"{rev('192.0.2.8')}.txt.test": {"CNAME": "target.other.test"},
    "target.other.test": {"TXT": [["reached through a CNAME"]]},
    f"{V6_REV}.txt.test": {"TXT": [["IPv6 listed"]]},
    # a.test: a list that publishes A records only
    f"{rev('192.0.2.2')}.a.test": {"A": ["127.0.0.2"]},
    # white.test: an anti-RBL
    f"{rev('192.0.2.2')}.white.test": {"A": ["127.0.0.2"]},
    # failing lists
    f"{rev('192.0.2.2')}.fail.test": {"mode": "servfail"},
    f"{rev('192.0.2.2')}.failwhite.test": {"mode": "servfail"},
    f"{rev('192.0.2.2')}.drop.test": {"mode": "drop"},
    # a name that exists without records: neither TXT nor A
    f"{rev('192.0.2.2')}.empty.test": {"TXT": [], "A": []},
    "sync.test": {"A": ["192.0.2.99"]},
}


class DnsServer:
    """dnsserver.py serving ZONE; records the queries it gets."""

    def __init__(self, host=None, port=0):
        argv = ["/usr/bin/python3", str(DNSSERVER)]
        if host:
            argv += ["--host", host]
        if port:
            argv += ["--port", str(port)]
        self.host = host or "127.0.0.1"
        self.proc = subprocess.Popen(argv + [json.dumps(ZONE)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = self.proc.stdout.readline()
        if not first:
            err = self.proc.stderr.read()
            self.proc.wait()
            raise OSError(err.decode(errors="replace"))
        self.port = int(first)
        self.log = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()
        self.syncs = 0

    def _drain(self):
        for line in self.proc.stdout:
            with self.cond:
                self.log.append(line.decode(errors="replace").split())
                self.cond.notify_all()

    def mark(self):
        self.sync()
        return len(self.log)

    def sync(self):
        """Sends a query of our own and waits for it in the log: every
        query sent before it has been logged by then."""
        self.syncs += 1
        name = f"n{self.syncs}.sync.test"
        q = struct.pack(">HHHHHH", self.syncs, 0x0100, 1, 0, 0, 0)
        q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
        q += struct.pack(">HH", 1, 1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            s.sendto(q, (self.host, self.port))
            s.recv(512)
        with self.cond:
            ok = self.cond.wait_for(lambda: any(len(l) > 1 and l[1] == name for l in self.log), 10)
        assert ok, "the DNS server did not log our query"

    def queries_since(self, mark):
        """(name, type) of the queries after mark, up to now."""
        self.sync()
        return [(l[1], l[2]) for l in self.log[mark:] if "sync.test" not in l[1]]

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def dns(tmp_path_factory):
    server = DnsServer()
    conf = tmp_path_factory.mktemp("dns") / "resolv.conf"
    conf.write_text(f"nameserver 127.0.0.1\noptions port:{server.port} timeout:1 attempts:1\n")
    server.conf = conf
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dns53(tmp_path_factory):
    """The same zone on 127.0.0.77:53 for Debian's rblsmtpd, if possible."""
    if os.geteuid() != 0:
        pytest.skip("a DNS server on port 53 needs root")
    try:
        server = DnsServer(DNS53, 53)
    except OSError as e:
        pytest.skip(f"no DNS server on {DNS53}:53: {e}")
    # qbox gets the same server through $DNSCACHEIP; failures fail fast.
    conf = tmp_path_factory.mktemp("dns53") / "resolv.conf"
    conf.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    server.conf = conf
    yield server
    server.stop()


def base_env(**kw):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update({k: v for k, v in kw.items() if v is not None})
    return env


def qbox_env(dns, ip="192.0.2.2", **kw):
    return base_env(QBOX_RESOLV_CONF=str(dns.conf), TCPREMOTEIP=ip, **kw)


def no_pid(err):
    return re.sub(rb" pid \d+: ", b" pid PID: ", err)


def run(argv, env, input=b"", timeout=60):
    p = subprocess.run(argv, input=input, env=env, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, no_pid(p.stderr)


SCRIPT = b"HELO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\nQUIT\r\n"
RAN = b"ran\n"


def dialogue(reply):
    """What SCRIPT gets from a blocked client's rblsmtpd."""
    return (b"220 rblsmtpd.local\r\n250 rblsmtpd.local\r\n250 rblsmtpd.local\r\n"
            + reply + b"\r\n" + reply + b"\r\n221 rblsmtpd.local\r\n")


def blocked(reply, ip="192.0.2.2"):
    return (0, dialogue(reply), b"rblsmtpd: " + ip.encode() + b" pid PID: " + reply + b"\n")


ACCEPTED = (0, RAN, b"")
TXT2 = b"Listed: see http://txt.test/192.0.2.2"

# (id, options, $TCPREMOTEIP, expected) for the classic behaviour, the
# same for qbox and Debian. The program run when accepted is "echo ran".
CLASSIC_CASES = [
    ("listed", ["-r", "txt.test"], "192.0.2.2", blocked(b"451 " + TXT2)),
    ("listed -b", ["-b", "-r", "txt.test"], "192.0.2.2", blocked(b"553 " + TXT2)),
    ("-b then -B", ["-b", "-B", "-r", "txt.test"], "192.0.2.2", blocked(b"451 " + TXT2)),
    ("-b after the list", ["-r", "txt.test", "-b"], "192.0.2.2", blocked(b"451 " + TXT2)),
    ("not listed", ["-r", "txt.test"], "192.0.2.9", ACCEPTED),
    ("second list", ["-r", "white.test", "-r", "txt.test"], "192.0.2.3",
     blocked(b"451 part one, part two;?ctrl? caf??", "192.0.2.3")),
    ("long text", ["-r", "txt.test"], "192.0.2.4", blocked(b"451 " + LONG[:200].encode(), "192.0.2.4")),
    ("empty text", ["-r", "txt.test"], "192.0.2.5", ACCEPTED),
    ("cname", ["-r", "txt.test"], "192.0.2.8", blocked(b"451 reached through a CNAME", "192.0.2.8")),
    ("first list wins", ["-r", "txt.test", "-r", "other.test"], "192.0.2.2", blocked(b"451 " + TXT2)),
    ("anti-RBL first", ["-a", "white.test", "-r", "txt.test"], "192.0.2.2", ACCEPTED),
    ("anti-RBL after", ["-r", "txt.test", "-a", "white.test"], "192.0.2.2", blocked(b"451 " + TXT2)),
    ("anti-RBL not listed", ["-a", "white.test", "-r", "txt.test"], "192.0.2.3",
     blocked(b"451 part one, part two;?ctrl? caf??", "192.0.2.3")),
    ("anti-RBL numeric", ["-a", "5", "-r", "txt.test"], "192.0.2.2", ACCEPTED),
    ("empty labels", ["-r", ".txt.test."], "192.0.2.2", blocked(b"451 " + TXT2)),
    ("no TCPREMOTEIP", ["-r", f"{rev('192.0.2.2')}.txt.test"], None,
     (0, dialogue(b"451 " + TXT2), b"rblsmtpd:  pid PID: 451 " + TXT2 + b"\n")),
    ("no lists", ["-b", "-c"], "192.0.2.2", ACCEPTED),
    # a failed lookup
    ("servfail -C", ["-r", "fail.test"], "192.0.2.2", ACCEPTED),
    ("servfail -c", ["-c", "-r", "fail.test"], "192.0.2.2", blocked(b"451 temporary RBL lookup error")),
    ("servfail -c -b", ["-b", "-c", "-r", "fail.test"], "192.0.2.2",
     blocked(b"451 temporary RBL lookup error")),
    ("servfail then listed -b", ["-b", "-r", "fail.test", "-r", "txt.test"], "192.0.2.2",
     blocked(b"451 " + TXT2)),
    ("anti-RBL servfail -C", ["-a", "failwhite.test", "-r", "txt.test"], "192.0.2.2", ACCEPTED),
    ("anti-RBL servfail -c", ["-c", "-a", "failwhite.test", "-b", "-r", "txt.test"], "192.0.2.2",
     blocked(b"451 " + TXT2)),
]

# Beyond the classic program: A-only lists, IPv6, timeouts.
QBOX_CASES = [
    ("A-only list", ["-r", "a.test"], "192.0.2.2", blocked(b"451 Blocked by a.test")),
    ("A-only list -b", ["-b", "-r", "a.test"], "192.0.2.2", blocked(b"553 Blocked by a.test")),
    ("A-only not listed", ["-r", "a.test"], "192.0.2.9", ACCEPTED),
    ("empty TXT and A", ["-r", "txt.test"], "192.0.2.6", blocked(b"451 Blocked by txt.test", "192.0.2.6")),
    ("no TXT, no A", ["-b", "-r", "empty.test"], "192.0.2.2", ACCEPTED),
    ("TXT before A", ["-r", "a.test", "-r", "txt.test"], "192.0.2.2", blocked(b"451 Blocked by a.test")),
    ("IPv6", ["-r", "txt.test"], V6, blocked(b"451 IPv6 listed", V6)),
    ("IPv4-mapped", ["-r", "txt.test"], "::ffff:192.0.2.2", blocked(b"451 " + TXT2, "::ffff:192.0.2.2")),
    ("timeout -C", ["-r", "drop.test", "-r", "txt.test"], "192.0.2.2", blocked(b"451 " + TXT2)),
    ("timeout -c", ["-c", "-r", "drop.test", "-r", "txt.test"], "192.0.2.2",
     blocked(b"451 temporary RBL lookup error")),
    ("timeout then listed -b", ["-b", "-r", "drop.test", "-r", "txt.test"], "192.0.2.2",
     blocked(b"451 " + TXT2)),
    ("timeout alone", ["-r", "drop.test"], "192.0.2.2", ACCEPTED),
]


@pytest.mark.parametrize("case", CLASSIC_CASES + QBOX_CASES, ids=lambda c: c[0])
def test_lists(applet_bin, dns, case):
    _, opts, ip, expected = case
    env = qbox_env(dns, ip)
    got = run([str(applet_bin / "rblsmtpd")] + opts + ["echo", "ran"], env, SCRIPT)
    assert got == expected


def test_lookups_asked(applet_bin, dns):
    """TXT first; A only where the name exists without text; none at all
    when $RBLSMTPD decides."""
    rbl = str(applet_bin / "rblsmtpd")

    def asked(opts, ip="192.0.2.2", **kw):
        mark = dns.mark()
        run([rbl] + opts + ["echo", "ran"], qbox_env(dns, ip, **kw), SCRIPT)
        return dns.queries_since(mark)

    r2 = rev("192.0.2.2")
    assert asked(["-r", "txt.test"]) == [(f"{r2}.txt.test", "TXT")]
    assert asked(["-r", "a.test"]) == [(f"{r2}.a.test", "TXT"), (f"{r2}.a.test", "A")]
    # not listed anywhere: NXDOMAIN for TXT, no A lookup
    assert asked(["-r", "a.test"], "192.0.2.9") == [(f"{rev('192.0.2.9')}.a.test", "TXT")]
    assert asked(["-a", "white.test", "-r", "txt.test"]) == [(f"{r2}.white.test", "A")]
    assert asked(["-a", "5", "-r", "txt.test"]) == []
    assert asked(["-r", "txt.test", "-a", "white.test"], RBLSMTPD="") == []
    assert asked(["-r", "txt.test"], RBLSMTPD="local block") == []
    assert asked(["-r", "txt.test"], V6) == [(f"{V6_REV}.txt.test", "TXT")]


def test_dnscacheip(applet_bin, dns, tmp_path):
    """$DNSCACHEIP names the servers, as in djb's library; the port stays
    the configured one."""
    conf = tmp_path / "resolv.conf"
    conf.write_text(f"nameserver 192.0.2.1\noptions port:{dns.port} timeout:1 attempts:1\n")
    env = base_env(QBOX_RESOLV_CONF=str(conf), TCPREMOTEIP="192.0.2.2", DNSCACHEIP="127.0.0.1")
    rbl = str(applet_bin / "rblsmtpd")
    assert run([rbl, "-r", "txt.test", "echo", "ran"], env, SCRIPT) == blocked(b"451 " + TXT2)
    # without it, the unreachable 192.0.2.1 of resolv.conf: a failed lookup
    del env["DNSCACHEIP"]
    assert run([rbl, "-c", "-r", "txt.test", "echo", "ran"], env, SCRIPT) == \
        blocked(b"451 temporary RBL lookup error")


def test_matches_debian_with_dns(applet_bin, dns53):
    """Every classic case against Debian's rblsmtpd, on the same server.
    Debian's resolver takes about 11 s to give up on a SERVFAIL, so the
    cases run side by side."""
    def one(case):
        _, opts, ip, _ = case
        env = base_env(DNSCACHEIP=DNS53, QBOX_RESOLV_CONF=str(dns53.conf), TCPREMOTEIP=ip)
        argv = opts + ["echo", "ran"]
        return (run([str(applet_bin / "rblsmtpd")] + argv, env, SCRIPT),
                run([str(DEBIAN)] + argv, env, SCRIPT))

    with ThreadPoolExecutor(len(CLASSIC_CASES)) as pool:
        results = list(pool.map(one, CLASSIC_CASES))
    for case, (ours, theirs) in zip(CLASSIC_CASES, results):
        assert ours == theirs, f"{case[0]}: qbox differs from Debian"
        assert ours == case[3], case[0]


# ---- without DNS: compared with Debian always ------------------------------

def both(compare, args, input=b"", **env):
    return compare.same("rblsmtpd", args, input=input, env=base_env(**env), fix_err=no_pid)


@pytest.mark.parametrize("args", [
    [], ["-b"], ["-x", "prog"], ["-t"], ["-r"], ["-a"], ["-R", "true"], ["--", "-b"],
    ["/nonexistent/prog"], ["nonexistent-prog-qbox"], ["-t", "5", "-B", "-C", "echo", "ran"],
])
def test_usage_and_exec_errors(compare, args):
    both(compare, args, TCPREMOTEIP="192.0.2.2")
    both(compare, args, TCPREMOTEIP="192.0.2.2", RBLSMTPD="")


@pytest.mark.parametrize("value", [
    "", "go away", "-go away", "-", "--", "- x", "x" * 300, "-" + "y" * 300,
    "tab\there \x01\x7f", "\u00e9t\u00e9",
])
def test_rblsmtpd_variable(compare, value):
    # the lists are not looked up: $RBLSMTPD decides first
    both(compare, ["-r", "txt.test", "-a", "white.test", "echo", "ran"], SCRIPT,
         TCPREMOTEIP="192.0.2.2", RBLSMTPD=value, DNSCACHEIP="192.0.2.1")
    both(compare, ["echo", "ran"], SCRIPT, RBLSMTPD=value)


LINES = [
    b"",
    b"quit\r\n",
    b"QuIt and more\r\nhelo\r\n",
    b"helo\nehlo x\nmail from:<>\nrset\nnoop\nrcpt to:<x>\ndata\nvrfy x\nexpn x\nhelp\nturn\n",
    b"HELO\r\r\nQUIT\r\r\nquit\r\n",
    b"helo\rx\r\n helo\r\n\r\n\n\thelo\r\nhelo\t\r\nhelo  x\r\n",
    b"he\0lo\r\nhelo\0\r\n\0\r\nquit\0\r\n",
    b"helo x\r\nquit",
    b"quit\r",
    b"h" * 100000 + b"\r\n" + b"helo " + b"a" * 100000 + b"\r\nnoop\r\n",
    b"helo \xff\xfe\r\nmail\xff\r\n\xe9helo\r\n",
    b"noop\r\n" * 2000 + b"quit\r\nhelo\r\n",
    b"data\r\nSubject: x\r\n\r\nbody\r\n.\r\nquit\r\n",
    b"quitquit\r\nquit\r\nafter quit\r\n",
]


@pytest.mark.parametrize("data", LINES, ids=range(len(LINES)))
def test_dialogue_lines(compare, data):
    both(compare, ["echo", "ran"], data, TCPREMOTEIP="192.0.2.2", RBLSMTPD="blocked here")
    both(compare, ["-t", "0", "echo", "ran"], data, TCPREMOTEIP="192.0.2.2", RBLSMTPD="-blocked")


@pytest.mark.parametrize("t", ["0", "x", "0x5", "18446744073709551616", "4294967296"])
def test_timeout_values_without_waiting(compare, t):
    # 0 (and what scans as 0): the error alone, no dialogue; 2^64 wraps to
    # 0 too; 2^32 is not 0 but alarm() gets 0: a dialogue without a limit.
    both(compare, ["-t", t, "echo", "ran"], SCRIPT, TCPREMOTEIP="192.0.2.2", RBLSMTPD="no")


def silent_client(binary, args, env, send=None, interval=0.2):
    """Runs binary with a client that sends nothing (or `send` every
    interval) and never closes; returns (seconds until the end, stdout)."""
    p = subprocess.Popen([binary] + args, env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    start = time.monotonic()
    out = b""
    try:
        while True:
            r, _, _ = select.select([p.stdout], [], [], interval)
            if r:
                chunk = os.read(p.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
            elif send:
                p.stdin.write(send)
                p.stdin.flush()
            assert time.monotonic() - start < 20, "rblsmtpd did not time out"
        took = time.monotonic() - start
        assert p.wait(timeout=10) == 0
    finally:
        p.kill()
        p.wait()
        p.stdin.close()
    return took, out


@pytest.mark.parametrize("send", [None, b"noop\r\n"], ids=["silent", "busy"])
def test_conversation_timeout(applet_bin, send):
    """-t bounds the whole conversation, busy or not, as 0.88's alarm()."""
    env = base_env(TCPREMOTEIP="192.0.2.2", RBLSMTPD="slow")
    with ThreadPoolExecutor(2) as pool:
        ours, theirs = pool.map(lambda b: silent_client(b, ["-t", "1", "echo", "ran"], env, send),
                                [str(applet_bin / "rblsmtpd"), str(DEBIAN)])
    assert 0.9 <= ours[0] < 5, ours[0]
    assert ours[1].startswith(b"220 rblsmtpd.local\r\n")
    assert set(ours[1].split(b"\r\n")[1:]) <= {b"", b"250 rblsmtpd.local"}
    if send is None:
        assert ours[1] == theirs[1] == b"220 rblsmtpd.local\r\n"
    assert 0.9 <= theirs[0] < 5


# ---- a real client over TCP -------------------------------------------------

class Served:
    """One connection on a loopback port, handed to rblsmtpd as fds 0 and 1."""

    def __init__(self, argv, env):
        self.lsock = socket.create_server(("127.0.0.1", 0))
        self.port = self.lsock.getsockname()[1]
        self.argv, self.env = argv, env
        self.proc = None
        self.thread = threading.Thread(target=self._serve)
        self.thread.start()

    def _serve(self):
        conn, _ = self.lsock.accept()
        with conn:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdin=conn, stdout=conn,
                                         stderr=subprocess.PIPE)
        self.lsock.close()

    def finish(self):
        self.thread.join(timeout=10)
        err = self.proc.stderr.read()
        return self.proc.wait(timeout=10), no_pid(err)


def transcript(argv, env, lines):
    """Talks to rblsmtpd line by line over TCP; returns every byte received
    (the reply to each line read before the next is sent), the exit code
    and stderr."""
    srv = Served(argv, env)
    got = b""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        f = s.makefile("rb")
        got += f.readline()
        for line in lines:
            s.sendall(line)
            got += f.readline()
        s.shutdown(socket.SHUT_WR)
        got += f.read()
    return (got,) + srv.finish()


SESSION = [b"EHLO client.test\r\n", b"MAIL FROM:<a@b.test>\r\n", b"RCPT TO:<c@d.test>\r\n",
           b"DATA\r\n", b"RSET\r\n", b"NOOP\r\n", b"VRFY x\r\n", b"QUIT\r\n"]


def test_tcp_session_matches_debian(applet_bin):
    env = base_env(TCPREMOTEIP="192.0.2.2", RBLSMTPD="-permanently blocked")
    ours = transcript([str(applet_bin / "rblsmtpd"), "echo", "ran"], env, SESSION)
    theirs = transcript([str(DEBIAN), "echo", "ran"], env, SESSION)
    assert ours == theirs
    assert ours[0] == (b"220 rblsmtpd.local\r\n" + b"250 rblsmtpd.local\r\n" * 2
                       + b"553 permanently blocked\r\n" * 2 + b"250 rblsmtpd.local\r\n" * 2
                       + b"553 permanently blocked\r\n221 rblsmtpd.local\r\n")


def test_tcp_session_with_dns_matches_debian(applet_bin, dns53):
    env = base_env(TCPREMOTEIP="192.0.2.2", DNSCACHEIP=DNS53, QBOX_RESOLV_CONF=str(dns53.conf))
    argv = ["-r", "txt.test", "echo", "ran"]
    ours = transcript([str(applet_bin / "rblsmtpd")] + argv, env, SESSION)
    theirs = transcript([str(DEBIAN)] + argv, env, SESSION)
    assert ours == theirs
    assert b"451 " + TXT2 + b"\r\n" in ours[0]


def test_smtplib_client(applet_bin, dns):
    """Python's smtplib against a listed client: everything up to MAIL is
    fine, RCPT and DATA get the reason, QUIT ends it."""
    srv = Served([str(applet_bin / "rblsmtpd"), "-r", "txt.test", "echo", "ran"], qbox_env(dns))
    s = smtplib.SMTP(timeout=10)
    assert s.connect("127.0.0.1", srv.port) == (220, b"rblsmtpd.local")
    assert s.ehlo("client.test") == (250, b"rblsmtpd.local")
    assert s.mail("a@b.test") == (250, b"rblsmtpd.local")
    assert s.rcpt("c@d.test") == (451, TXT2)
    assert s.docmd("DATA") == (451, TXT2)
    assert s.rset() == (250, b"rblsmtpd.local")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        s.sendmail("a@b.test", ["c@d.test"], b"Subject: x\r\n\r\nbody\r\n")
    assert s.quit() == (221, b"rblsmtpd.local")
    assert srv.finish() == (0, b"rblsmtpd: 192.0.2.2 pid PID: 451 " + TXT2 + b"\n")


def test_smtplib_client_not_listed(applet_bin, dns):
    """Not listed: the program runs on the connection."""
    srv = Served([str(applet_bin / "rblsmtpd"), "-r", "txt.test", "sh", "-c",
                  "printf '220 real.smtpd ESMTP\\r\\n'; read x; printf '221 bye\\r\\n'"],
                 qbox_env(dns, "192.0.2.9"))
    s = smtplib.SMTP(timeout=10)
    assert s.connect("127.0.0.1", srv.port) == (220, b"real.smtpd ESMTP")
    assert s.quit() == (221, b"bye")
    assert srv.finish() == (0, b"")
