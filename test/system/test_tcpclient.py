"""tcpclient and the programs of ucspi-tcp's scripts (tcpcat, mconnect,
mconnect-io, who@, date@, finger@, http@) against Debian's ucspi-tcp 0.88,
with small Python servers on loopback.

Every server here listens on a loopback address, on a port the kernel
picks unless a test needs a fixed one; the `listeners` fixture closes them
all at the end. A refused connection is one to a port that is bound but
not listening; a connection that times out is one to a listener whose
accept queue is full (the kernel drops the SYNs). No traffic leaves
loopback.

DNS: Debian's tcpclient uses djb's resolver ($DNSCACHEIP, port 53 fixed)
and takes about 11 s to give up on a server that is not there, so the
comparisons without a DNS server avoid every lookup (-H, -l and literal
addresses). The comparisons of host names run a DNS server
(test/system/dnsserver.py) on 127.0.0.88:53 when we are root and that port
is free; qbox is pointed at it with $DNSCACHEIP too. The tests of qbox
alone use the `dns_server` fixture ($QBOX_RESOLV_CONF).

who@, date@ and finger@ have fixed ports (11, 13, 79): their servers are
bound on 127.0.0.X at those ports, which needs root; without root only the
refused connections are compared. qbox adds no way to change those ports.
"""
import errno
import json
import os
import random
import re
import select
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import CLASSIC, run
from test_tcpserver import family, identd, needs_ipv6, needs_root, read_all  # noqa: F401

DEBIAN = str(CLASSIC / "tcpclient")
PY = "/usr/bin/python3"
NO_DNS = "127.0.0.89"   # nothing listens there: a lookup fails at once (for qbox)
BASE_ENV = {"PATH": "/usr/bin:/bin", "DNSCACHEIP": NO_DNS}
STALE = dict(BASE_ENV, TCPREMOTEHOST="stale", TCPREMOTEINFO="stale", TCPLOCALHOST="stale",
             PROTO="stale", KEEP="me")
DNSSERVER = Path(__file__).with_name("dnsserver.py")
DNS53 = "127.0.0.88"


# ---- servers ------------------------------------------------------------------------

class Listener:
    """A TCP server on host:port. Each connection, one after the other, is
    given to handler(conn) (by default: read to the end), then closed;
    `conns` collects (peer, what the handler returned)."""

    def __init__(self, host="127.0.0.1", port=0, handler=None, backlog=16):
        self.sock = socket.socket(family(host), socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(backlog)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.handler = handler or read_all
        self.conns = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                c, peer = self.sock.accept()
            except OSError:
                return
            with c:
                c.settimeout(10)
                try:
                    result = self.handler(c)
                except OSError as e:
                    result = e
            with self.cond:
                self.conns.append((peer, result))
                self.cond.notify_all()

    def wait(self, n):
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.conns) >= n, 10), "no connection"
            return list(self.conns)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(10)


class FullListener:
    """A listener whose accept queue is full: further connections hang (the
    kernel drops their SYNs) until the client gives up."""

    def __init__(self, host="127.0.0.1", port=0):
        self.sock = socket.socket(family(host), socket.SOCK_STREAM)
        self.sock.bind((host, port))
        self.sock.listen(0)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(16):
            c = socket.socket(family(host), socket.SOCK_STREAM)
            c.setblocking(False)
            c.connect_ex((host, self.port))
            self.fillers.append(c)
            if not select.select([], [c], [], 0.3)[1]:
                return  # this one hangs: the queue is full
        raise AssertionError("the accept queue did not fill")

    def close(self):
        for c in self.fillers:
            c.close()
        self.sock.close()


class Listeners:
    def __init__(self):
        self.all = []

    def add(self, x):
        self.all.append(x)
        return x

    def serve(self, *a, **kw):
        return self.add(Listener(*a, **kw))

    def full(self, *a, **kw):
        return self.add(FullListener(*a, **kw))

    def bound(self, host="127.0.0.1", port=0):
        """A socket bound to a port, not listening: connections are refused."""
        s = socket.socket(family(host), socket.SOCK_STREAM)
        s.bind((host, port))
        self.all.append(s)
        return s.getsockname()[1]


@pytest.fixture
def listeners():
    ls = Listeners()
    yield ls
    for x in ls.all:
        x.close()


def random_loopback():
    return "127.0.0.%d" % random.randint(100, 250)


def bind_fixed(listeners, port, handler):
    """A Listener on 127.0.0.X:port for a fixed port (root only)."""
    for _ in range(20):
        try:
            return listeners.serve(random_loopback(), port, handler)
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
    pytest.skip("no free loopback address for port %d" % port)


# ---- running both --------------------------------------------------------------------

def norm_env(out, cport=None):
    """env output as lines, the client's own port as CPORT."""
    lines = out.decode("latin-1").splitlines()
    return [re.sub(r"^(TCP6?LOCALPORT)=\d+$", r"\1=CPORT", l) for l in lines]


def both(applet_bin, args, env=None, input=b"", timeout=30):
    env = dict(BASE_ENV if env is None else env)
    ours = run([str(applet_bin / "tcpclient")] + list(args), input, env, timeout=timeout)
    theirs = run([DEBIAN] + list(args), input, env, timeout=timeout)
    return ours, theirs


def same(applet_bin, args, env=None, input=b"", fix=lambda b: b):
    ours, theirs = both(applet_bin, args, env, input)
    assert (ours.code, fix(ours.out), fix(ours.err)) == \
        (theirs.code, fix(theirs.out), fix(theirs.err)), f"tcpclient {args!r} differs from 0.88"
    return ours


# ---- usage and start-up errors --------------------------------------------------------

@pytest.mark.parametrize("args", [
    [], ["0"], ["0", "1"], ["-q"], ["-q", "0"], ["-q", "0", "1"], ["-Z", "0", "1", "true"],
    ["-q", "-Z", "0", "1", "true"], ["-i"], ["-i", "junk", "0", "1", "true"],
    ["-i", "1.2.3", "0", "1", "true"], ["0", "no-such-service", "true"],
    ["0", "no-such-service"], ["-q", "0", "no-such-service", "true"],
])
def test_usage_and_port_errors(applet_bin, args):
    same(applet_bin, args)


def test_refused(applet_bin, listeners):
    port = str(listeners.bound())
    for opts in ([], ["-v"], ["-q"], ["-Q"], ["-T", "5+5"]):
        r = same(applet_bin, opts + ["-RHl0", "127.0.0.1", port, "echo", "ran"])
        assert r.code == 111 and r.out == b""
    assert r.err == b"tcpclient: unable to connect to 127.0.0.1 port %s: connection refused\n" % \
        port.encode()


def test_port_names_and_wrapping(applet_bin, listeners):
    srv = listeners.serve()
    # 65536 + port wraps to port, as scan_ulong into a uint16 does.
    r = same(applet_bin, ["-v", "-RHl0", "127.0.0.1", str(65536 + srv.port), "echo", "ran"])
    assert r.out == b"ran\n"
    assert r.err == b"tcpclient: connected to 127.0.0.1 port %d\n" % srv.port
    # A name from /etc/services (smtp is 25): refused or not, the same.
    if not port_open("127.0.0.1", 25):
        same(applet_bin, ["-RHl0", "127.0.0.1", "smtp", "echo", "ran"])


def port_open(host, port):
    with socket.socket(family(host), socket.SOCK_STREAM) as s:
        s.settimeout(2)
        return s.connect_ex((host, port)) == 0


# ---- the environment and descriptors ---------------------------------------------------

@pytest.mark.parametrize("opts", [
    ["-RHl0"],
    ["-R", "-H", "-l", "local.name"],
    ["-H", "-l", "x"],                 # -r: nothing answers on port 113
    ["-H", "-l", "x", "-t", "1"],
    ["-R", "-H", "-l", ""],
    ["-R", "-H", "-D", "-l", "x"],
    ["-R", "-H", "-d", "-T", "3+4", "-l", "a:b%c d"],
    ["-hHRrl", "x", "-R", "-H"],
    ["-R", "-H", "-l", "x", "-i", "127.0.0.1"],
    ["-R", "-H", "-l", "x", "-i", "0.0.0.0"],
])
def test_environment_matches_classic(applet_bin, listeners, opts):
    srv = listeners.serve()
    r = same(applet_bin, opts + ["127.0.0.1", str(srv.port), "env"], env=STALE,
             fix=lambda b: "\n".join(norm_env(b)).encode())
    lines = norm_env(r.out)
    assert "PROTO=TCP" in lines and "KEEP=me" in lines
    assert "TCPREMOTEIP=127.0.0.1" in lines and "TCPLOCALIP=127.0.0.1" in lines
    assert "TCPREMOTEPORT=%d" % srv.port in lines and "TCPLOCALPORT=CPORT" in lines
    assert not any(l.startswith(("TCPREMOTEHOST=", "TCPREMOTEINFO=")) for l in lines)


@pytest.mark.parametrize("host", ["0", ""])
def test_host_zero_is_127_0_0_1(applet_bin, listeners, host):
    srv = listeners.serve()
    r = same(applet_bin, ["-v", "-RHl0", host, str(srv.port), "env"],
             fix=lambda b: "\n".join(norm_env(b)).encode())
    assert "TCPREMOTEIP=127.0.0.1" in norm_env(r.out)


# The child: what it finds on descriptors 6 and 7, a line read from 6 and
# an answer written to 7.
CHILD = r"""
import os, socket, stat, fcntl
st6, st7 = os.fstat(6), os.fstat(7)
print("6 and 7 sockets:", stat.S_ISSOCK(st6.st_mode), stat.S_ISSOCK(st7.st_mode))
print("same socket:", st6.st_ino == st7.st_ino)
print("close-on-exec:", [bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC) for fd in (6, 7)])
print("blocking:", [not (fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK) for fd in (6, 7)])
s = socket.socket(fileno=os.dup(6))
print("nodelay:", s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
line = b""
while not line.endswith(b"\n"):
    line += os.read(6, 1)
print("read:", line)
os.write(7, b"got " + line)
print("fds:", sorted(int(f) for f in os.listdir("/proc/self/fd") if int(f) > 2 and int(f) != 6
                     and int(f) != 7))
"""


def greet(c):
    c.sendall(b"hello\r\n")
    return read_all(c)


@pytest.mark.parametrize("flag", ["-d", "-D"])
def test_descriptors_6_and_7(applet_bin, listeners, flag):
    srv = listeners.serve(handler=greet)
    # Descriptors 6 and 7 already open are replaced, not kept.
    args = ["sh", "-c", 'exec 6</dev/null 7</dev/null; exec "$0" "$@"', "TCPCLIENT", flag,
            "-RHl0", "127.0.0.1", str(srv.port), PY, "-S", "-c", CHILD]
    outs = []
    for exe in (str(applet_bin / "tcpclient"), DEBIAN):
        args[3] = exe
        r = run(args, env=BASE_ENV)
        assert r.code == 0, r.err
        outs.append(r.out)
    assert outs[0] == outs[1]
    lines = outs[0].decode().splitlines()
    assert lines[:4] == ["6 and 7 sockets: True True", "same socket: True",
                         "close-on-exec: [False, False]", "blocking: [True, True]"]
    assert lines[4] == "nodelay: %d" % (flag == "-D")
    assert lines[5] == "read: b'hello\\r\\n'"
    assert [r for _, r in srv.wait(2)] == [b"got hello\r\n"] * 2


def test_program_errors_and_exit_codes(applet_bin, listeners, tmp_path):
    srv = listeners.serve()
    same(applet_bin, ["-RHl0", "127.0.0.1", str(srv.port), str(tmp_path / "nosuch")])
    same(applet_bin, ["-q", "-RHl0", "127.0.0.1", str(srv.port), str(tmp_path / "nosuch")])
    r = same(applet_bin, ["-RHl0", "127.0.0.1", str(srv.port), "sh", "-c", "exit 7"])
    assert r.code == 7


def test_sigpipe_is_default_for_the_program(applet_bin, listeners):
    srv = listeners.serve()
    r = same(applet_bin, ["-RHl0", "127.0.0.1", str(srv.port), "grep", "^SigIgn", "/proc/self/status"])
    ignored = int(r.out.split()[1], 16)
    assert not ignored & (1 << 12)  # SIGPIPE is 13


# ---- local address and port ------------------------------------------------------------

def free_port(host="127.0.0.1"):
    with socket.socket(family(host), socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def test_local_ip_and_port(applet_bin, listeners):
    srv = listeners.serve()
    outs = []
    for exe in (str(applet_bin / "tcpclient"), DEBIAN):
        port = free_port("127.0.0.5")
        r = run([exe, "-RHl0", "-i", "127.0.0.5", "-p", str(port), "127.0.0.1", str(srv.port),
                 "env"], env=BASE_ENV)
        assert r.code == 0, r.err
        lines = norm_env(r.out)
        assert "TCPLOCALIP=127.0.0.5" in lines and "TCPLOCALPORT=CPORT" in lines
        assert "TCPLOCALPORT=%d" % port in r.out.decode().splitlines()
        outs.append(lines)
        peer = srv.wait(len(outs))[-1][0]
        assert peer == ("127.0.0.5", port)
    assert outs[0] == outs[1]
    # -i with text after the address: 0.88's ip4_scan stops after it.
    same(applet_bin, ["-RHl0", "-i", "127.0.0.6x", "127.0.0.1", str(srv.port), "env"],
         fix=lambda b: "\n".join(norm_env(b)).encode())


def test_bind_errors(applet_bin, listeners):
    srv = listeners.serve()
    # Not an address of this machine.
    r = same(applet_bin, ["-RHl0", "-i", "192.0.2.1", "127.0.0.1", str(srv.port), "true"])
    assert r.err == b"tcpclient: fatal: unable to bind socket: address not available\n"
    # A local port in use.
    busy = listeners.serve("127.0.0.1")
    r = same(applet_bin, ["-RHl0", "-i", "127.0.0.1", "-p", str(busy.port), "127.0.0.1",
                          str(srv.port), "true"])
    assert r.err == b"tcpclient: fatal: unable to bind socket: address already used\n"
    same(applet_bin, ["-q", "-RHl0", "-i", "192.0.2.1", "127.0.0.1", str(srv.port), "true"])


# ---- timeouts ---------------------------------------------------------------------------

@pytest.mark.parametrize("timeout,seconds", [("1", 1), ("1+1", 2), ("0+1", 1), ("1x5", 1)])
def test_connect_timeout_one_address(applet_bin, listeners, timeout, seconds):
    """One address gets both rounds' time in one try ("1x5" is 1 and 0)."""
    full = listeners.full()
    for exe in (str(applet_bin / "tcpclient"), DEBIAN):
        start = time.monotonic()
        r = run([exe, "-T", timeout, "-RHl0", "127.0.0.1", str(full.port), "echo", "ran"],
                env=BASE_ENV)
        took = time.monotonic() - start
        assert (r.code, r.out) == (111, b"")
        assert r.err == b"tcpclient: unable to connect to 127.0.0.1 port %d: timed out\n" % full.port
        assert seconds - 0.1 < took < seconds + 1.5, f"{exe} took {took:.1f}s"


# ---- remote info (RFC 1413) -------------------------------------------------------------

@needs_root
def test_remote_info(applet_bin, listeners, identd):
    a = identd.addr
    srv = listeners.serve(a)
    identd.reply = lambda q: q.strip() + b" : USERID : UNIX : joe\r\n"
    fix = lambda b: "\n".join(norm_env(b)).encode()  # noqa: E731
    r = same(applet_bin, ["-H", "-l", "0", "-i", a, a, str(srv.port), "env"], fix=fix)
    assert "TCPREMOTEINFO=joe" in norm_env(r.out)
    # The question: the server's port, then ours.
    assert re.fullmatch(rb"%d , \d+\r\n" % srv.port, identd.questions[-1])
    identd.reply = lambda q: q.strip() + b" : ERROR : NO-USER\r\n"
    r = same(applet_bin, ["-H", "-l", "0", "-i", a, a, str(srv.port), "env"], fix=fix)
    assert "TCPREMOTEINFO=" in norm_env(r.out)
    # No answer within -t: unset.
    identd.reply = lambda q: None
    for exe in (str(applet_bin / "tcpclient"), DEBIAN):
        start = time.monotonic()
        r = run([exe, "-t", "1", "-H", "-l", "0", "-i", a, a, str(srv.port), "env"], env=BASE_ENV)
        assert 0.8 < time.monotonic() - start < 5
        assert r.code == 0
        assert not any(l.startswith("TCPREMOTEINFO=") for l in norm_env(r.out))


# ---- -I interface (ucspi-tcp6) ----------------------------------------------------------

def test_interface_loopback_and_unknown(applet_bin, listeners):
    srv = listeners.serve()
    r = ours(applet_bin, ["-v", "-RHl0", "-I", "lo", "127.0.0.1", str(srv.port), "env"])
    assert (r.code, r.err) == (0, b"tcpclient: connected to 127.0.0.1 port %d\n" % srv.port)
    assert "TCPREMOTEIP=127.0.0.1" in r.out.decode().splitlines()
    r = ours(applet_bin, ["-RHl0", "-I", "qbox-nosuch0", "127.0.0.1", str(srv.port), "true"])
    assert (r.code, r.err) == (111, b"tcpclient: fatal: no network interface named qbox-nosuch0\n")
    r = ours(applet_bin, ["-q", "-RHl0", "-I", "qbox-nosuch0", "127.0.0.1", str(srv.port), "true"])
    assert (r.code, r.err) == (111, b"")
    assert len(srv.conns) == 1


def make_netns():
    """A network namespace of our own with lo up and a veth pair v0/v1,
    fe80::1 on v0; its name, or None when it cannot be made."""
    if os.geteuid() != 0:
        return None
    name = "qbox-t%d" % os.getpid()
    steps = [["ip", "netns", "add", name]] + [
        ["ip", "netns", "exec", name] + c for c in (
            ["ip", "link", "set", "lo", "up"],
            ["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"],
            ["ip", "link", "set", "v0", "up"], ["ip", "link", "set", "v1", "up"],
            ["ip", "addr", "add", "fe80::1/64", "dev", "v0", "nodad"])]
    for step in steps:
        if subprocess.run(step, capture_output=True).returncode != 0:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
            return None
    return name


@pytest.fixture
def netns():
    name = make_netns()
    if not name:
        pytest.skip("needs root and a network namespace with a veth pair")
    yield name
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


def test_interface_scope_and_binding(applet_bin, netns):
    """In a namespace of our own: -I gives a link-local address its scope,
    and binds the socket to the interface (SO_BINDTODEVICE)."""
    ns = ["ip", "netns", "exec", netns]
    tcpserver, tcpclient = str(applet_bin / "tcpserver"), str(applet_bin / "tcpclient")
    servers = [subprocess.Popen(ns + [tcpserver, "-1", "-RHl0", host, "0", "sh", "-c",
                                      "echo ${TCP6INTERFACE-none}"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL, start_new_session=True)
               for host in ("fe80::1%v0", "127.0.0.1")]
    try:
        port6, port4 = (int(p.stdout.readline()) for p in servers)

        def client(*args):
            return run(ns + [tcpclient, "-RHl0"] + list(args) + ["sh", "-c", "cat <&6; env"],
                       env=BASE_ENV)

        # Without an interface a link-local address cannot be reached.
        r = client("fe80::1", str(port6))
        assert (r.code, r.err) == (111, b"tcpclient: unable to connect to fe80::1 port %d: "
                                         b"invalid argument\n" % port6)
        r = client("-I", "v0", "fe80::1", str(port6))
        assert r.code == 0, r.err
        lines = r.out.decode().splitlines()
        assert lines[0] == "v0"  # the server's TCP6INTERFACE
        assert "TCP6INTERFACE=v0" in lines and "TCP6REMOTEIP=fe80::1" in lines
        # "%v0" on the address works alike; -I lo sends it where it is not.
        assert client("-I", "v0", "fe80::1%v0", str(port6)).code == 0
        r = client("-I", "lo", "fe80::1", str(port6))
        assert (r.code, r.err) == (111, b"tcpclient: unable to connect to fe80::1 port %d: "
                                         b"network unreachable\n" % port6)
        # Bound to v0, the socket does not reach 127.0.0.1 (lo).
        assert client("-I", "lo", "127.0.0.1", str(port4)).out.startswith(b"none\n")
        r = client("-T", "1", "-I", "v0", "127.0.0.1", str(port4))
        assert (r.code, r.err) == (111, b"tcpclient: unable to connect to 127.0.0.1 port %d: "
                                         b"timed out\n" % port4)
    finally:
        for p in servers:
            os.killpg(p.pid, 9)
            p.wait()
            p.stdout.close()


# ---- IPv6 ----------------------------------------------------------------------------------

def ipv6_env(port, lname="lname"):
    return ["PATH=/usr/bin:/bin", "DNSCACHEIP=" + NO_DNS, "PROTO=TCP6",
            "TCPLOCALPORT=CPORT", "TCP6LOCALPORT=CPORT",
            "TCPLOCALIP=::1", "TCP6LOCALIP=::1",
            "TCPLOCALHOST=%s" % lname, "TCP6LOCALHOST=%s" % lname,
            "TCPREMOTEPORT=%d" % port, "TCP6REMOTEPORT=%d" % port,
            "TCPREMOTEIP=::1", "TCP6REMOTEIP=::1"]


def ours(applet_bin, args, env=None, name="tcpclient", **kw):
    return run([str(applet_bin / name)] + list(args), env=dict(BASE_ENV if env is None else env),
               **kw)


@needs_ipv6
@pytest.mark.parametrize("opts,host", [
    (["-R"], "::1"), ([], "::1"), (["-R", "-6"], "0"), (["-R", "-6"], ""), (["-R", "-6"], "::1"),
])
def test_ipv6_environment(applet_bin, listeners, opts, host):
    srv = listeners.serve("::1")
    r = ours(applet_bin, ["-v", "-H", "-l", "lname"] + opts + [host, str(srv.port), "env"])
    assert (r.code, r.err) == (0, b"tcpclient: connected to ::1 port %d\n" % srv.port)
    assert norm_env(r.out) == ipv6_env(srv.port)


@needs_ipv6
def test_ipv6_refused_timeout_and_families(applet_bin, listeners):
    port = listeners.bound("::1")
    r = ours(applet_bin, ["-RHl0", "::1", str(port), "true"])
    assert (r.code, r.err) == (111, b"tcpclient: unable to connect to ::1 port %d: "
                                     b"connection refused\n" % port)
    full = listeners.full("::1")
    r = ours(applet_bin, ["-T", "1", "-RHl0", "::1", str(full.port), "true"])
    assert (r.code, r.err) == (111, b"tcpclient: unable to connect to ::1 port %d: "
                                     b"timed out\n" % full.port)
    # -4 and an IPv4 -i leave no IPv6 address; -6 no IPv4 one.
    for opts, host in ((["-4"], "::1"), (["-i", "127.0.0.1"], "::1"), (["-6"], "127.0.0.1"),
                       (["-i", "::1"], "127.0.0.1")):
        r = ours(applet_bin, ["-RHl0"] + opts + [host, str(port), "true"])
        assert (r.code, r.err) == (111, b"tcpclient: fatal: no IP address for %s\n" % host.encode())
    # -i and -p on IPv6.
    srv = listeners.serve("::1")
    lport = free_port("::1")
    r = ours(applet_bin, ["-RHl0", "-i", "::1", "-p", str(lport), "::1", str(srv.port), "env"])
    assert "TCP6LOCALPORT=%d" % lport in r.out.decode().splitlines()
    assert srv.wait(1)[0][0][:2] == ("::1", lport)


@needs_ipv6
def test_ipv4_stays_classic_with_6_unused(applet_bin, listeners):
    srv = listeners.serve()
    r = ours(applet_bin, ["-4", "-RHl0", "0", str(srv.port), "env"])
    assert "PROTO=TCP" in norm_env(r.out)
    assert not any(l.startswith("TCP6") for l in norm_env(r.out))


# ---- host names through DNS -----------------------------------------------------------------

ZONE = {
    "1.0.0.127.in-addr.arpa": {"PTR": ["client.test"]},
    "6.0.0.127.in-addr.arpa": {"PTR": ["six.test"]},
    "7.0.0.127.in-addr.arpa": {"mode": "servfail"},
    "srv.test": {"A": ["127.0.0.3"]},
    "two.test": {"A": ["127.0.0.2", "127.0.0.3"]},
    "empty.test": {"TXT": [["no address"]]},
    "fail.test": {"mode": "servfail"},
    "six.test": {"AAAA": ["::1"]},
    "dual.test": {"A": ["127.0.0.2"], "AAAA": ["::1"]},
    "1." + "0." * 31 + "ip6.arpa": {"PTR": ["loop6.test"]},
}


class Dns53:
    """dnsserver.py serving ZONE on DNS53:53, for both programs."""

    def __init__(self, tmp):
        self.proc = subprocess.Popen([PY, str(DNSSERVER), "--host", DNS53, "--port", "53",
                                      json.dumps(ZONE)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if not self.proc.stdout.readline():
            err = self.proc.stderr.read()
            self.proc.wait()
            raise OSError(err.decode(errors="replace"))
        self.thread = threading.Thread(target=lambda: self.proc.stdout.read(), daemon=True)
        self.thread.start()
        conf = tmp / "resolv.conf"
        conf.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        self.env = dict(BASE_ENV, DNSCACHEIP=DNS53, QBOX_RESOLV_CONF=str(conf))

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        self.thread.join(10)
        self.proc.stderr.close()


@pytest.fixture(scope="module")
def dns53(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("a DNS server on port 53 needs root")
    try:
        server = Dns53(tmp_path_factory.mktemp("dns53"))
    except OSError as e:
        pytest.skip(f"no DNS server on {DNS53}:53: {e}")
    yield server
    server.stop()


def test_host_names_match_classic(applet_bin, listeners, dns53):
    fix = lambda b: "\n".join(norm_env(b)).encode()  # noqa: E731
    srv = listeners.serve("127.0.0.3")
    port = str(srv.port)
    # The server by name; -h and the local name from DNS.
    r = same(applet_bin, ["-v", "-R", "-i", "127.0.0.1", "srv.test", port, "env"], dns53.env, fix=fix)
    lines = norm_env(r.out)
    assert "TCPREMOTEIP=127.0.0.3" in lines and "TCPLOCALHOST=client.test" in lines
    # 127.0.0.3 has no name (NXDOMAIN): set, but empty, as 0.88 does.
    assert "TCPREMOTEHOST=" in lines
    assert r.err == b"tcpclient: connected to 127.0.0.3 port %s\n" % port.encode()
    # A local address with a name, a remote one without; -H.
    r = same(applet_bin, ["-R", "-i", "127.0.0.6", "127.0.0.3", port, "env"], dns53.env, fix=fix)
    assert "TCPLOCALHOST=six.test" in norm_env(r.out)
    r = same(applet_bin, ["-R", "-H", "-i", "127.0.0.6", "127.0.0.3", port, "env"], dns53.env, fix=fix)
    assert not any(l.startswith("TCPREMOTEHOST") for l in norm_env(r.out))
    # -l wins over DNS.
    r = same(applet_bin, ["-R", "-l", "mine", "-i", "127.0.0.6", "127.0.0.3", port, "env"],
             dns53.env, fix=fix)
    assert "TCPLOCALHOST=mine" in norm_env(r.out)


def test_host_without_address_matches_classic(applet_bin, dns53):
    for host in ("nosuch.test", "empty.test"):
        r = same(applet_bin, ["-RHl0", host, "25", "true"], dns53.env)
        assert (r.code, r.err) == (111, b"tcpclient: fatal: no IP address for %s\n" % host.encode())


def same_lines_unordered(ours, theirs):
    """Debian tries a host's addresses in a random order (dns_sortip)."""
    assert (ours.code, ours.out, sorted(ours.err.splitlines())) == \
        (theirs.code, theirs.out, sorted(theirs.err.splitlines()))


def two_addresses(listeners, first, second):
    """Listeners of kinds first and second ("full", "bound", "serve") on
    127.0.0.2 and 127.0.0.3 with the same port."""
    for _ in range(20):
        port = free_port("127.0.0.2")
        made = []
        try:
            for addr, kind in (("127.0.0.2", first), ("127.0.0.3", second)):
                if kind == "full":
                    made.append(FullListener(addr, port))
                elif kind == "serve":
                    made.append(Listener(addr, port))
                else:
                    s = socket.socket()
                    s.bind((addr, port))
                    made.append(s)
        except OSError as e:
            for m in made:
                m.close()
            if e.errno == errno.EADDRINUSE:
                continue
            raise
        for m in made:
            listeners.add(m)
        return port
    pytest.skip("no port free on both 127.0.0.2 and 127.0.0.3")


def test_several_addresses_match_classic(applet_bin, listeners, dns53):
    port = str(two_addresses(listeners, "bound", "serve"))
    ours_r, theirs = both(applet_bin, ["-v", "-RHl0", "two.test", port, "echo", "ran"], dns53.env)
    assert ours_r.out == theirs.out == b"ran\n"
    assert ours_r.err == (b"tcpclient: unable to connect to 127.0.0.2 port %s: connection refused\n"
                          b"tcpclient: connected to 127.0.0.3 port %s\n" % (port.encode(), port.encode()))
    # Debian may try 127.0.0.3 first and never see the refusal.
    assert theirs.err.endswith(b"tcpclient: connected to 127.0.0.3 port %s\n" % port.encode())


def test_timeout_rounds_match_classic(applet_bin, listeners, dns53):
    """Two addresses that time out: 1 s each in the first round, without a
    message, then 1 s each in the second, with one."""
    port = two_addresses(listeners, "full", "full")
    results = []
    for exe in (str(applet_bin / "tcpclient"), DEBIAN):
        start = time.monotonic()
        results.append(run([exe, "-T", "1+1", "-RHl0", "two.test", str(port), "true"],
                           env=dns53.env))
        took = time.monotonic() - start
        assert 3.8 < took < 6.5, f"{exe} took {took:.1f}s"
    same_lines_unordered(*results)
    assert results[0].err == b"".join(b"tcpclient: unable to connect to 127.0.0.%d port %d: "
                                      b"timed out\n" % (n, port) for n in (2, 3))


def test_dns_qbox_alone(applet_bin, listeners, dns_server):
    dns = dns_server(ZONE)
    env = dict(BASE_ENV, **dns.env)
    del env["DNSCACHEIP"]
    # The first address times out in the first round (1 s), the second
    # answers: connected after about a second, without a message.
    port = two_addresses(listeners, "full", "serve")
    start = time.monotonic()
    r = ours(applet_bin, ["-v", "-T", "1+5", "-RHl0", "two.test", str(port), "echo", "ran"], env)
    assert 0.9 < time.monotonic() - start < 3
    assert (r.code, r.out, r.err) == (0, b"ran\n", b"tcpclient: connected to 127.0.0.3 port %d\n"
                                      % port)
    # A failed lookup.
    r = ours(applet_bin, ["-RHl0", "fail.test", "25", "true"], env)
    assert (r.code, r.err) == (111, b"tcpclient: fatal: temporarily unable to figure out IP address "
                                    b"for fail.test: temporary failure\n")
    r = ours(applet_bin, ["-q", "-RHl0", "fail.test", "25", "true"], env)
    assert (r.code, r.err) == (111, b"")
    # A failed PTR lookup leaves the name unset (no PTR at all: empty).
    srv = listeners.serve()
    r = ours(applet_bin, ["-R", "-i", "127.0.0.7", "127.0.0.1", str(srv.port), "env"], env)
    lines = norm_env(r.out)
    assert "TCPREMOTEHOST=client.test" in lines
    assert not any(l.startswith("TCPLOCALHOST") for l in lines)


@needs_ipv6
def test_dns_ipv6(applet_bin, listeners, dns_server):
    dns = dns_server(ZONE)
    env = dict(BASE_ENV, **dns.env)
    del env["DNSCACHEIP"]
    srv = listeners.serve("::1")
    r = ours(applet_bin, ["-v", "-R", "six.test", str(srv.port), "env"], env)
    lines = norm_env(r.out)
    assert "TCP6REMOTEHOST=loop6.test" in lines and "TCPLOCALHOST=loop6.test" in lines
    # IPv4 first: 127.0.0.2 is refused, then ::1 answers; -6 skips 127.0.0.2.
    r = ours(applet_bin, ["-v", "-RHl0", "dual.test", str(srv.port), "true"], env)
    assert r.err == (b"tcpclient: unable to connect to 127.0.0.2 port %d: connection refused\n"
                     b"tcpclient: connected to ::1 port %d\n" % (srv.port, srv.port))
    r = ours(applet_bin, ["-v", "-6", "-RHl0", "dual.test", str(srv.port), "true"], env)
    assert r.err == b"tcpclient: connected to ::1 port %d\n" % srv.port


# ---- tcpcat, mconnect, mconnect-io -------------------------------------------------------------

def scripts_same(applet_bin, name, args, input=b"", env=None):
    env = dict(BASE_ENV if env is None else env)
    o = run([str(applet_bin / name)] + list(args), input, env)
    t = run([str(CLASSIC / name)] + list(args), input, env)
    assert (o.code, o.out, o.err) == (t.code, t.out, t.err), f"{name} {args!r} differs from 0.88"
    return o


BINARY = bytes(range(256)) * 3 + b"\r\nend\r"


def test_tcpcat(applet_bin, listeners):
    def send(c):
        c.sendall(BINARY)
    srv = listeners.serve(handler=send)
    r = scripts_same(applet_bin, "tcpcat", ["127.0.0.1", str(srv.port)])
    assert (r.code, r.out, r.err) == (0, BINARY, b"")
    port = str(listeners.bound())
    r = scripts_same(applet_bin, "tcpcat", ["127.0.0.1", port])
    assert (r.code, r.err) == (111, b"tcpclient: unable to connect to 127.0.0.1 port %s: "
                                     b"connection refused\n" % port.encode())
    # The default port, 17, where nothing listens.
    host = random_loopback()
    if not port_open(host, 17):
        scripts_same(applet_bin, "tcpcat", [host])
    scripts_same(applet_bin, "tcpcat", ["127.0.0.1", "no-such-service"])


def smtp(c):
    """A tiny SMTP-like server: a greeting, a reply per line, QUIT ends."""
    c.sendall(b"220 hi\r\n")
    got = b""
    buf = b""
    while True:
        chunk = c.recv(4096)
        if not chunk:
            return got
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            got += line + b"\n"
            if line.rstrip(b"\r") == b"QUIT":
                c.sendall(b"221 bye\r\n")
                return got
            c.sendall(b"250 ok \x01\r\n")


def test_mconnect(applet_bin, listeners):
    srv = listeners.serve(handler=smtp)
    talk = b"HELO there\nMAIL FROM:<a@b>\r\n\nQUIT\n"
    r = scripts_same(applet_bin, "mconnect", ["127.0.0.1", str(srv.port)], input=talk)
    assert (r.code, r.out, r.err) == (0, b"220 hi\r\n" + b"250 ok \x01\r\n" * 3 + b"221 bye\r\n", b"")
    sent = [g for _, g in srv.wait(2)]
    assert sent[0] == sent[1] == b"HELO there\r\nMAIL FROM:<a@b>\r\r\n\r\nQUIT\r\n"
    port = str(listeners.bound())
    r = scripts_same(applet_bin, "mconnect", ["127.0.0.1", port], input=talk)
    assert r.code == 111
    host = random_loopback()
    if not port_open(host, 25):
        scripts_same(applet_bin, "mconnect", [host], input=talk)


def test_mconnect_ends_when_the_server_closes(applet_bin, listeners):
    """The server closes while standard input stays open: mconnect ends."""
    def hello_bye(c):
        c.sendall(b"220 hi\r\n221 bye\r\n")
    srv = listeners.serve(handler=hello_bye)
    for exe in (applet_bin / "mconnect", CLASSIC / "mconnect"):
        p = subprocess.Popen([str(exe), "127.0.0.1", str(srv.port)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, env=BASE_ENV)
        try:
            assert p.stdout.read() == b"220 hi\r\n221 bye\r\n"
            assert p.wait(timeout=10) == 0
        finally:
            p.stdin.close()
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()


def test_mconnect_io_under_tcpclient(applet_bin, listeners):
    srv = listeners.serve(handler=smtp)
    talk = b"NOOP\nQUIT\n"
    outs = []
    for tc, io in ((applet_bin / "tcpclient", applet_bin / "mconnect-io"),
                   (CLASSIC / "tcpclient", CLASSIC / "mconnect-io")):
        r = run([str(tc), "-RHl0", "127.0.0.1", str(srv.port), str(io)], talk, BASE_ENV)
        outs.append((r.code, r.out, r.err))
    assert outs[0] == outs[1] == (0, b"220 hi\r\n250 ok \x01\r\n221 bye\r\n", b"")
    # Our tcpclient with the classic mconnect-io and the other way round.
    r = run([str(applet_bin / "tcpclient"), "-RHl0", "127.0.0.1", str(srv.port),
             str(CLASSIC / "mconnect-io")], talk, BASE_ENV)
    assert (r.code, r.out, r.err) == outs[0]
    assert [g for _, g in srv.wait(3)] == [b"NOOP\r\nQUIT\r\n"] * 3


# ---- who@, date@, finger@, http@ ------------------------------------------------------------

# A reply with CR LF lines, a bare CR, control and high bytes, a lone CR at the end.
REPLY = b"user1  tty1\r\nuser2\tpts/0\r\n\x00\x07\x1b[1m\x7f\x80\x9f\xa0\xff caf\xc3\xa9\r\nx\ry\r\n\r"


@pytest.mark.parametrize("name,port", [("who@", 11), ("date@", 13), ("finger@", 79)])
def test_fixed_port_scripts_refused(applet_bin, name, port):
    host = random_loopback()
    if port_open(host, port):
        pytest.skip(f"something listens on {host}:{port}")
    r = scripts_same(applet_bin, name, [host, "someone"])
    assert (r.code, r.out) == (0, b"")
    assert r.err == b"tcpclient: unable to connect to %s port %d: connection refused\n" % \
        (host.encode(), port)


@needs_root
@pytest.mark.parametrize("name,port", [("who@", 11), ("date@", 13)])
def test_who_and_date(applet_bin, listeners, name, port):
    def reply(c):
        c.sendall(REPLY)
        return b""
    srv = bind_fixed(listeners, port, reply)
    r = scripts_same(applet_bin, name, [srv.host])
    assert r.code == 0 and r.err == b""
    assert r.out == (b"user1  tty1\nuser2\tpts/0\n^@^G^[[1m^?M-^@M-^_M- M-^? cafM-CM-)\nx^My\n^M")


@needs_root
@pytest.mark.parametrize("args,sent", [
    ([], b"\r\n"), (["joe"], b"joe\r\n"), (["two\nlines"], b"two\r\nlines\r\n"), ([""], b"\r\n"),
])
def test_finger(applet_bin, listeners, args, sent):
    def finger(c):
        got = b""
        while not got.endswith(b"\n"):
            chunk = c.recv(100)
            if not chunk:
                break
            got += chunk
        c.sendall(b"Login: " + got.rstrip(b"\r\n") + b"\r\n" + REPLY)
        return got
    srv = bind_fixed(listeners, 79, finger)
    r = scripts_same(applet_bin, "finger@", [srv.host] + args)
    assert r.code == 0 and r.err == b""
    assert r.out.startswith(b"Login: ")
    got = [g for _, g in srv.wait(2)]
    assert got[0] == got[1] == sent


def http(status=b"HTTP/1.0 200 OK", body=b"line 1\r\n\r\nline 3\r\nlast", headers=(b"X: y",)):
    def serve(c):
        req = b""
        while b"\r\n\r\n" not in req:
            chunk = c.recv(4096)
            if not chunk:
                break
            req += chunk
        c.sendall(b"\r\n".join((status,) + tuple(headers)) + b"\r\n\r\n" + body)
        return req
    return serve


@pytest.mark.parametrize("body", [
    b"line 1\r\n\r\nline 3\r\nlast",
    b"",
    b"\r\n\r\n",
    b"no newline at the end",
    b"bare\rcr\r\n\x00nul\x80\xff\n",
    b"x" * 10000 + b"\r\n" + b"y" * 5000,
], ids=["lines", "empty", "blank lines", "no LF", "bytes", "long"])
def test_http(applet_bin, listeners, body):
    srv = listeners.serve(handler=http(body=body))
    port = str(srv.port)
    for args in (["127.0.0.1", "path/to?x=1", port], ["127.0.0.1", "", port]):
        r = scripts_same(applet_bin, "http@", args)
        assert r.code == 0 and r.err == b""
    expect = b"".join(l + b"\n" for l in body.replace(b"\r\n", b"\n").split(b"\n") if l)
    assert r.out == expect
    reqs = [g for _, g in srv.wait(4)]
    assert reqs[0] == reqs[1] == b"GET /path/to?x=1 HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n" % \
        port.encode()
    assert reqs[2] == reqs[3] == b"GET / HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n" % port.encode()


def test_http_host_zero_and_errors(applet_bin, listeners):
    srv = listeners.serve(handler=http())
    r = scripts_same(applet_bin, "http@", ["0", "", str(srv.port)])
    assert r.out == b"line 1\nline 3\nlast\n"
    assert [g for _, g in srv.wait(2)][0] == b"GET / HTTP/1.0\r\nHost: 0:%d\r\n\r\n" % srv.port
    # No header/body separator: nothing printed.
    srv2 = listeners.serve(handler=lambda c: (c.recv(4096), c.sendall(b"HTTP/1.0 200 OK\r\nX: y")))
    r = scripts_same(applet_bin, "http@", ["127.0.0.1", "", str(srv2.port)])
    assert (r.code, r.out) == (0, b"")
    port = str(listeners.bound())
    r = scripts_same(applet_bin, "http@", ["127.0.0.1", "x", port])
    assert (r.code, r.out) == (0, b"")
    assert r.err == b"tcpclient: unable to connect to 127.0.0.1 port %s: connection refused\n" % \
        port.encode()
    r = scripts_same(applet_bin, "http@", ["127.0.0.1", "x", "no-such-service"])
    assert r.code == 0


# ---- output errors, as the scripts meet them -------------------------------------------------

BIG = b"HTTP/1.0 200 OK\r\n\r\n" + b"0123456789abcdef\r\n" * 200000


def test_output_errors(applet_bin, listeners):
    """A full disk: cat's exit code 1 (tcpcat), awk's 2 (http@); the
    messages are each program's own."""
    srv = listeners.serve(handler=lambda c: c.sendall(BIG))
    for name, argv, code in (("tcpcat", ["127.0.0.1", str(srv.port)], 1),
                             ("http@", ["127.0.0.1", "x", str(srv.port)], 2)):
        for exe in (applet_bin / name, CLASSIC / name):
            with open("/dev/full", "wb") as full:
                p = subprocess.run([str(exe)] + argv, stdout=full, stderr=subprocess.PIPE,
                                   env=BASE_ENV, timeout=30)
            assert p.returncode == code, (exe, p.stderr)
            assert p.stderr


def test_closed_pipe(applet_bin, listeners):
    """The reader goes away: tcpcat dies of SIGPIPE as cat does; http@
    exits 141 as the shell does when the last program of its pipeline died
    of SIGPIPE."""
    srv = listeners.serve(handler=lambda c: c.sendall(BIG))
    for name, argv, want in (("tcpcat", ["127.0.0.1", str(srv.port)], -13),
                             ("http@", ["127.0.0.1", "x", str(srv.port)], 141)):
        for exe in (applet_bin / name, CLASSIC / name):
            p = subprocess.Popen([str(exe)] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=BASE_ENV)
            assert p.stdout.read(10)
            p.stdout.close()
            assert p.wait(timeout=30) == want, exe
            assert p.stderr.read() == b""
            p.stderr.close()
