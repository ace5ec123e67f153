"""tcpserver against Debian's ucspi-tcp 0.88, with real sockets on loopback.

Every server is started with port 0 and -1 (the kernel picks the port, the
server prints it), in a session of its own; the `servers` fixture kills
each of those process groups at the end of the test, pass or fail, so no
server or child outlives its test. Waits are bounded polls.

The environment a child sees (the child runs `env`) and the -v log are
compared with /usr/bin/tcpserver started the same way, after replacing
ports and pids by placeholders. IPv6 has no Debian peer installed: its
environment and log are checked against ucspi-tcp6's conventions
(PROTO=TCP6, TCP6* next to TCP*, colons kept in the log).
"""
import errno
import os
import random
import re
import select
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import CLASSIC, run
from conftest import wait_for as wait_until

DEBIAN = str(CLASSIC / "tcpserver")
BASE_ENV = {"PATH": "/usr/bin:/bin"}
PY = "/usr/bin/python3"


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


needs_ipv6 = pytest.mark.skipif(not have_ipv6(), reason="no IPv6 loopback")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


# ---- servers and clients ------------------------------------------------------

class Server:
    """One tcpserver with -1, its port, and its stderr as a list of lines
    (sslserver's tests use it too: `name` starts the log lines)."""

    def __init__(self, exe, args, env=None, cwd=None):
        self.name = os.path.basename(exe)
        env = dict(BASE_ENV if env is None else env)
        self.proc = subprocess.Popen([exe, "-1"] + list(args), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, cwd=cwd, start_new_session=True)
        self.lines = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.reader.start()

    def wait_port(self):
        exe = self.proc.args[0]
        out = b""
        deadline = time.monotonic() + 10
        fd = self.proc.stdout.fileno()
        while b"\n" not in out:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise AssertionError(f"{exe} printed no port; stderr: {self.text()!r}")
            chunk = os.read(fd, 100)
            if not chunk:
                time.sleep(0.1)
                raise AssertionError(f"{exe} printed no port; stderr: {self.text()!r}")
            out += chunk
        self.port = int(out.split(b"\n")[0])

    def _read_stderr(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line.decode("latin-1").rstrip("\n"))
                self.cond.notify_all()

    def text(self):
        with self.cond:
            return "\n".join(self.lines)

    def log(self):
        with self.cond:
            return list(self.lines)

    def wait_log(self, pred, timeout=10.0, what="log line"):
        """Waits until pred(lines) is true; returns the lines."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred(self.lines):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}; log: {self.lines!r}")
                self.cond.wait(left)
            return list(self.lines)

    def wait_count(self, word, n, timeout=10.0):
        """Waits for n lines starting "tcpserver: WORD "."""
        pre = self.name + ": " + word + " "
        return self.wait_log(lambda ls: sum(1 for l in ls if l.startswith(pre)) >= n, timeout,
                             f"{n} {word!r} lines")

    def wait_idle(self, ends, limit=40):
        """Waits for `ends` children to have ended and the status line after."""
        self.wait_count("end", ends)
        last = self.name + ": status: 0/%d" % limit
        return self.wait_log(lambda ls: ls[-1] == last, what=repr(last))

    def kill(self):
        if self.proc.returncode is not None and not self.reader.is_alive():
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.reader.join(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()


class Servers:
    def __init__(self, qbox_exe):
        self.qbox = qbox_exe
        self.all = []

    def start(self, exe, args, env=None, cwd=None):
        s = Server(exe, args, env, cwd)
        self.all.append(s)
        s.wait_port()
        return s

    def ours(self, args, env=None, cwd=None):
        return self.start(self.qbox, args, env, cwd)

    def debian(self, args, env=None, cwd=None):
        return self.start(DEBIAN, args, env, cwd)


@pytest.fixture
def servers(applet_bin):
    s = Servers(str(applet_bin / "tcpserver"))
    yield s
    for srv in s.all:
        srv.kill()


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def connect(port, host="127.0.0.1", source=None, timeout=10.0):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect((host, port))
    return s


def read_all(s):
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def fetch(port, host="127.0.0.1", source=None, send=b""):
    """Connects, sends, reads to EOF: (data, the client's port)."""
    with connect(port, host, source) as s:
        cport = s.getsockname()[1]
        if send:
            s.sendall(send)
        return read_all(s), cport


def norm_env(data, sport, cport):
    """The env output as a list of lines, ports replaced."""
    out = []
    for line in data.decode("latin-1").splitlines():
        line = re.sub(r"^(TCP6?LOCALPORT)=%d$" % sport, r"\1=SPORT", line)
        line = re.sub(r"^(TCP6?REMOTEPORT)=%d$" % cport, r"\1=CPORT", line)
        out.append(line)
    return out


def norm_log(lines, sport, cports=()):
    out = []
    for l in lines:
        l = re.sub(r"^tcpserver: (pid|ok|deny|end) \d+", r"tcpserver: \1 PID", l)
        l = re.sub(r":%d( |$)" % sport, r":SPORT\1", l)
        for c in cports:
            l = re.sub(r":%d( |$)" % c, r":CPORT\1", l)
        out.append(l)
    return sorted(out)


def env_through(servers, exe, opts, host="0", connect_host="127.0.0.1", env=None, source=None,
                cwd=None, prog=("env",)):
    srv = servers.start(exe, list(opts) + [host, "0"] + list(prog), env=env, cwd=cwd)
    data, cport = fetch(srv.port, connect_host, source)
    return norm_env(data, srv.port, cport)


def same_env(servers, opts, **kw):
    ours = env_through(servers, servers.qbox, opts, **kw)
    theirs = env_through(servers, DEBIAN, opts, **kw)
    assert ours == theirs
    return ours


def tcprules(exe, cdb, source):
    tmp = str(cdb) + ".tmp"
    r = run([exe, str(cdb), tmp], input=source)
    assert r.code == 0, r.err


# ---- usage and start-up errors ------------------------------------------------

@pytest.mark.parametrize("args", [
    [], ["0"], ["0", "0"], ["-q"], ["-q", "0", "0"], ["-Z", "0", "0", "true"],
    ["-q", "-Z", "0", "0", "true"], ["-c"], ["0", "no-such-service", "true"],
    ["-q", "0", "no-such-service", "true"], ["0", "no-such-service"],
])
def test_usage_and_port_errors(compare, args):
    compare.same("tcpserver", args, env=BASE_ENV)


def test_bind_error(compare):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = str(busy.getsockname()[1])
        compare.same("tcpserver", ["127.0.0.1", port, "true"], env=BASE_ENV)
        compare.same("tcpserver", ["-q", "127.0.0.1", port, "true"], env=BASE_ENV)


def test_port_from_services_and_wrapping(servers):
    # tcpmux is port 1 in /etc/services; 65537 wraps to 1 as well, as the
    # classic scan_ulong into a uint16 does. Bound on loopback for a moment.
    if os.geteuid() != 0:
        pytest.skip("needs root for port 1")
    for exe in (servers.qbox, DEBIAN):
        for port in ("tcpmux", "65537"):
            srv = servers.start(exe, ["127.0.0.1", port, "true"])
            assert srv.port == 1
            srv.kill()


def test_sigterm_ends_the_server_not_the_children(servers):
    for exe in (servers.qbox, DEBIAN):
        srv = servers.start(exe, ["-v", "-R", "-H", "-l", "0", "127.0.0.1", "0", "cat"])
        with connect(srv.port) as c:
            c.sendall(b"one\n")
            assert c.recv(100) == b"one\n"
            srv.proc.send_signal(signal.SIGTERM)
            assert srv.proc.wait(timeout=10) == 0
            c.sendall(b"two\n")
            assert c.recv(100) == b"two\n"


# ---- the environment ------------------------------------------------------------

STALE = {"PATH": "/usr/bin:/bin", "TCPREMOTEHOST": "stale", "TCPREMOTEINFO": "stale",
         "TCPLOCALHOST": "stale", "PROTO": "stale", "KEEP": "me"}


@pytest.mark.parametrize("opts", [
    ["-R", "-H", "-l", "lname"],
    ["-H", "-l", "0"],                    # -r: nothing answers on port 113
    ["-R", "-H", "-p", "-l", "x.example"],
    ["-R", "-H", "-P", "-l", "x"],
    ["-R", "-H", "-l", "a:b%c d"],
    ["-R", "-H", "-D", "-o", "-l", "lname"],
    ["-R", "-H", "-d", "-O", "-c", "3", "-b", "5", "-t", "1", "-l", "lname"],
])
def test_environment_matches_classic(servers, opts):
    lines = same_env(servers, opts, env=STALE)
    assert "PROTO=TCP" in lines
    assert "TCPREMOTEIP=127.0.0.1" in lines
    assert "TCPREMOTEPORT=CPORT" in lines and "TCPLOCALPORT=SPORT" in lines
    assert not any(l.startswith(("TCPREMOTEHOST=", "TCPREMOTEINFO=")) for l in lines)
    assert "KEEP=me" in lines


def test_environment_other_loopback_address(servers):
    lines = same_env(servers, ["-R", "-H", "-l", "lname"], host="127.0.0.1", source="127.0.0.9")
    assert "TCPREMOTEIP=127.0.0.9" in lines and "TCPLOCALIP=127.0.0.1" in lines


def test_banner(servers):
    for host in ("0", "127.0.0.1"):
        ours = env_through(servers, servers.qbox, ["-R", "-H", "-l", "0", "-B", "hello\r\n"], host=host)
        theirs = env_through(servers, DEBIAN, ["-R", "-H", "-l", "0", "-B", "hello\r\n"], host=host)
        assert ours == theirs
        assert ours[0] == "hello"


NODELAY = ("import socket; s = socket.socket(fileno=0); "
           "print('nodelay', s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))")


@pytest.mark.parametrize("flag,want", [("-d", "nodelay 0"), ("-D", "nodelay 1"), ("-o", "nodelay 0")])
def test_nagle(servers, flag, want):
    lines = same_env(servers, ["-R", "-H", "-l", "0", flag], prog=(PY, "-S", "-c", NODELAY))
    assert lines == [want]


def test_burst_each_child_gets_its_own_environment(servers):
    """Many connections at once: the children start on the server's memory
    before their exec (a few slots, then vfork), so a mix-up between one
    connection's environment and the next would show as a wrong port."""
    srv = servers.ours(["-v", "-c", "60", "-b", "100", "-R", "-H", "-l", "0", "127.0.0.1", "0",
                        "sh", "-c", 'echo "$TCPREMOTEPORT $N"'], env={**os.environ, "N": "x" * 300})
    results = {}

    def one(i):
        data, cport = fetch(srv.port)
        results[i] = (data, cport)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 50
    for data, cport in results.values():
        assert data == b"%d %s\n" % (cport, b"x" * 300)
    lines = srv.wait_idle(50, limit=60)
    assert sum(1 for l in lines if l.startswith("tcpserver: ok ")) == 50
    assert sum(1 for l in lines if re.match(r"tcpserver: end \d+ status 0$", l)) == 50


def test_environment_too_big_for_a_slot(servers):
    """An environment of 100 KB does not fit the fast start's slot: the
    child is started the classic way and gets all of it, as Debian's does."""
    big = {**os.environ, **{f"BIG{i}": "y" * 1000 for i in range(100)}}
    lines = same_env(servers, ["-R", "-H", "-l", "0"], env=big)
    assert sum(1 for l in lines if l.startswith("BIG")) == 100


def test_program_not_found_and_exit_codes(servers, tmp_path):
    logs = []
    for exe in (servers.qbox, DEBIAN):
        srv = servers.start(exe, ["-v", "-R", "-H", "-l", "0", "127.0.0.1", "0", "./nosuch"],
                            cwd=tmp_path)
        data, cport = fetch(srv.port)
        assert data == b""
        lines = srv.wait_idle(1)
        logs.append(norm_log(lines, srv.port, [cport]))
    assert logs[0] == logs[1]
    assert ("tcpserver: warning: dropping connection, unable to run ./nosuch: file does not exist"
            in logs[0])
    assert "tcpserver: end PID status 28416" in logs[0]  # exit 111


# ---- the -v log ------------------------------------------------------------------

def test_verbose_log_matches_classic(servers, tmp_path):
    rules = tmp_path / "rules.cdb"
    tcprules(str(CLASSIC / "tcprules"), rules,
             b"127.0.0.3:deny\n127.0.0.4:allow,X=\"1\"\n:allow\n")
    logs = []
    for exe in (servers.qbox, DEBIAN):
        srv = servers.start(exe, ["-v", "-R", "-H", "-l", "local.name", "-x", str(rules), "0", "0",
                                  "sh", "-c", "echo hi; exit 3"])
        cports = []
        for n, src in enumerate(["127.0.0.1", "127.0.0.3", "127.0.0.4"], 1):
            data, cport = fetch(srv.port, source=src)
            cports.append(cport)
            srv.wait_idle(n)
        logs.append(norm_log(srv.log(), srv.port, cports))
    assert logs[0] == logs[1]
    assert "tcpserver: ok PID local.name:127.0.0.1:SPORT :127.0.0.1::CPORT" in logs[0]
    assert "tcpserver: deny PID local.name:127.0.0.1:SPORT :127.0.0.3::CPORT" in logs[0]
    assert "tcpserver: end PID status 768" in logs[0]
    assert "tcpserver: end PID status 25600" in logs[0]


def test_quiet_and_normal_verbosity(servers, tmp_path):
    missing = str(tmp_path / "missing.cdb")
    for flag in ("-q", "-Q"):
        logs = []
        for exe in (servers.qbox, DEBIAN):
            srv = servers.start(exe, [flag, "-R", "-H", "-l", "0", "-x", missing, "127.0.0.1", "0",
                                      "echo", "hi"])
            data, _ = fetch(srv.port)
            assert data == b""
            if flag == "-Q":
                srv.wait_log(lambda ls: len(ls) >= 1)
            logs.append(srv.log())
        assert logs[0] == logs[1]
    assert logs[0] == ["tcpserver: warning: dropping connection, unable to read %s: "
                       "file does not exist" % missing]


def test_quiet_silences_fatal_errors(compare):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = str(busy.getsockname()[1])
        r = compare.same("tcpserver", ["-v", "-q", "127.0.0.1", port, "true"], env=BASE_ENV)
        assert (r.code, r.err) == (111, b"")


# ---- rules ------------------------------------------------------------------------

RULES = b"""\
127.0.0.5:deny
127.0.0.6:allow,WHO="six",EMPTY=""
127.0.0.:allow,NET=/loop back/
:allow,DEFAULT="1"
"""


@pytest.mark.parametrize("maker", ["qbox", "debian"])
def test_rules_allow_deny_and_variables(servers, tmp_path, applet_bin, maker):
    rules = tmp_path / "rules.cdb"
    tcprules(str(applet_bin / "tcprules") if maker == "qbox" else str(CLASSIC / "tcprules"),
             rules, RULES)
    opts = ["-R", "-H", "-l", "0", "-x", str(rules)]
    six = same_env(servers, opts, source="127.0.0.6")
    assert "WHO=six" in six and "EMPTY=" in six
    loop = same_env(servers, opts, source="127.0.0.7")
    assert "NET=loop back" in loop
    assert same_env(servers, opts, source="127.0.0.5") == []
    # The default rule, for an address outside 127.0.0.
    if have_ipv6():
        ours = env_through(servers, servers.qbox, opts, host="::1", connect_host="::1")
        assert "DEFAULT=1" in ours


def test_rules_replaced_between_connections(servers, tmp_path, applet_bin):
    rules = tmp_path / "rules.cdb"
    for exe in (servers.qbox, DEBIAN):
        tcprules(str(applet_bin / "tcprules"), rules, b":allow,VERSION=\"1\"\n")
        srv = servers.start(exe, ["-R", "-H", "-l", "0", "-x", str(rules), "127.0.0.1", "0", "env"])
        assert "VERSION=1" in norm_env(fetch(srv.port)[0], srv.port, 0)
        tcprules(str(CLASSIC / "tcprules"), rules, b":allow,VERSION=\"2\"\n")
        assert "VERSION=2" in norm_env(fetch(srv.port)[0], srv.port, 0)
        tcprules(str(applet_bin / "tcprules"), rules, b"127.0.0.1:deny\n")
        assert fetch(srv.port)[0] == b""
        rules.unlink()
        assert fetch(srv.port)[0] == b""  # no file and no -X: dropped


def test_missing_rules_with_X(servers, tmp_path):
    lines = same_env(servers, ["-X", "-R", "-H", "-l", "0", "-x", str(tmp_path / "none.cdb")])
    assert "PROTO=TCP" in lines


def test_unreadable_rules(servers, tmp_path):
    bad = tmp_path / "bad.cdb"
    bad.write_bytes(b"")
    logs = []
    for exe in (servers.qbox, DEBIAN):
        srv = servers.start(exe, ["-X", "-R", "-H", "-l", "0", "-x", str(bad), "127.0.0.1", "0", "env"])
        assert fetch(srv.port)[0] == b""
        logs.append(srv.wait_log(lambda ls: len(ls) >= 1))
    assert logs[0] == logs[1] == ["tcpserver: warning: dropping connection, unable to read %s: "
                                  "invalid argument" % bad]
    # A directory: Debian's child crashes (SIGSEGV in cdb_init); qbox drops
    # the connection with a message.
    adir = tmp_path / "dir.cdb"
    adir.mkdir()
    srv = servers.ours(["-X", "-R", "-H", "-l", "0", "-x", str(adir), "127.0.0.1", "0", "env"])
    assert fetch(srv.port)[0] == b""
    assert srv.wait_log(lambda ls: len(ls) >= 1) == [
        "tcpserver: warning: dropping connection, unable to read %s: "
        "device does not support operation" % adir]


# ---- remote info (RFC 1413) -------------------------------------------------------

class Identd:
    """A fake identd on ADDR:113 (needs root): answers each query with
    reply(question), or never when reply is None."""

    def __init__(self, addr):
        self.addr = addr
        self.reply = lambda q: b""
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, 113))
        self.sock.listen(16)
        self.held = []
        self.questions = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            q = b""
            c.settimeout(5)
            try:
                while not q.endswith(b"\n"):
                    chunk = c.recv(100)
                    if not chunk:
                        break
                    q += chunk
            except OSError:
                pass
            self.questions.append(q)
            answer = self.reply(q)
            if answer is None:
                self.held.append(c)
                continue
            try:
                c.sendall(answer)
            except OSError:
                pass
            c.close()

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        for c in self.held:
            c.close()


@pytest.fixture
def identd():
    for _ in range(20):
        addr = "127.0.0.%d" % random.randint(100, 250)
        try:
            d = Identd(addr)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                continue
            raise
        yield d
        d.close()
        return
    pytest.skip("no free loopback address for port 113")


@needs_root
def test_remote_info(servers, identd, tmp_path):
    a = identd.addr
    identd.reply = lambda q: q.strip() + b" : USERID : UNIX : joe\r\n"
    lines = same_env(servers, ["-H", "-l", "0"], host=a, connect_host=a, source=a)
    assert "TCPREMOTEINFO=joe" in lines
    assert re.fullmatch(rb"\d+ , \d+\r\n", identd.questions[-1])

    # An ERROR answer: set, but empty.
    identd.reply = lambda q: q.strip() + b" : ERROR : NO-USER\r\n"
    assert "TCPREMOTEINFO=" in same_env(servers, ["-H", "-l", "0"], host=a, connect_host=a, source=a)

    # info@ rules, and the info in the log line.
    identd.reply = lambda q: q.strip() + b" : USERID : UNIX : j o%e\r\n"
    rules = tmp_path / "rules.cdb"
    tcprules(str(CLASSIC / "tcprules"), rules, b"jo%%e@%s:allow,WHO=\"ident\"\n" % a.encode())
    lines = same_env(servers, ["-H", "-l", "0", "-x", str(rules)], host=a, connect_host=a, source=a)
    assert "WHO=ident" in lines and "TCPREMOTEINFO=jo%e" in lines
    identd.reply = lambda q: q.strip() + b" : USERID : UNIX : j:o%e\r\n"
    logs = []
    for exe in (servers.qbox, DEBIAN):
        srv = servers.start(exe, ["-v", "-H", "-l", "0", a, "0", "true"])
        _, cport = fetch(srv.port, a, a)
        logs.append(norm_log(srv.wait_idle(1), srv.port, [cport]))
    assert logs[0] == logs[1]
    assert "tcpserver: ok PID 0:%s:SPORT :%s:j?o?e:CPORT" % (a, a) in logs[0]


@needs_root
def test_remote_info_timeout(servers, identd):
    a = identd.addr
    identd.reply = lambda q: None  # never answers
    for exe in (servers.qbox, DEBIAN):
        start = time.monotonic()
        lines = env_through(servers, exe, ["-t", "1", "-H", "-l", "0"], host=a, connect_host=a,
                            source=a)
        took = time.monotonic() - start
        assert "PROTO=TCP" in lines
        assert not any(l.startswith("TCPREMOTEINFO=") for l in lines)
        assert 0.8 < took < 5


# ---- concurrency, backlog, reaping ------------------------------------------------

def echo_ok(s, word):
    s.sendall(word + b"\n")
    return s.recv(100) == word + b"\n"


def silent_for(s, seconds):
    r, _, _ = select.select([s], [], [], seconds)
    return not r


@pytest.mark.parametrize("which", ["qbox", "debian"])
def test_concurrency_limit(servers, which):
    exe = servers.qbox if which == "qbox" else DEBIAN
    srv = servers.start(exe, ["-v", "-c", "2", "-R", "-H", "-l", "0", "127.0.0.1", "0", "cat"])
    a, b = connect(srv.port), connect(srv.port)
    assert echo_ok(a, b"a") and echo_ok(b, b"b")
    c = connect(srv.port)  # completes in the backlog, but is not served
    c.sendall(b"c\n")
    assert silent_for(c, 0.5)
    assert "tcpserver: status: 2/2" in srv.log()
    assert sum(1 for l in srv.log() if l.startswith("tcpserver: pid ")) == 2
    a.close()
    assert c.recv(100) == b"c\n"
    srv.wait_count("pid", 3)
    for s in (b, c):
        s.close()
    srv.wait_count("end", 3)
    srv.wait_log(lambda ls: ls[-1] == "tcpserver: status: 0/2")


def backlog_room(srv, most=12):
    """How many connections complete while the only child is busy."""
    held = [connect(srv.port)]
    assert echo_ok(held[0], b"x")
    n = 0
    try:
        for _ in range(most):
            try:
                held.append(connect(srv.port, timeout=0.3))
                n += 1
            except (socket.timeout, TimeoutError):
                break
    finally:
        for s in held:
            s.close()
    return n


@pytest.mark.parametrize("backlog", ["0", "2", "5"])
def test_backlog_matches_classic(servers, backlog):
    rooms = []
    for exe in (servers.qbox, DEBIAN):
        srv = servers.start(exe, ["-c", "1", "-b", backlog, "-R", "-H", "-l", "0", "127.0.0.1", "0",
                                  "cat"])
        rooms.append(backlog_room(srv))
    assert rooms[0] == rooms[1]
    assert 1 <= rooms[0] < 12


def zombies_of(pid):
    n = 0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] == "Z" and int(fields[1]) == pid:
            n += 1
    return n


def test_children_reaped(servers):
    srv = servers.ours(["-v", "-c", "8", "-R", "-H", "-l", "0", "127.0.0.1", "0", "echo", "hi"])
    total = 200
    results = []

    def client(k):
        for _ in range(k):
            results.append(fetch(srv.port)[0])

    threads = [threading.Thread(target=client, args=(total // 10,)) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [b"hi\n"] * total
    srv.wait_count("end", total, timeout=30)
    srv.wait_log(lambda ls: ls[-1] == "tcpserver: status: 0/8")
    assert zombies_of(srv.proc.pid) == 0
    log = srv.log()
    assert sum(1 for l in log if l.startswith("tcpserver: ok ")) == total
    counts = [int(m.group(1)) for m in map(re.compile(r"tcpserver: status: (\d+)/8$").match, log) if m]
    assert max(counts) <= 8


# ---- uid and gid -------------------------------------------------------------------

@needs_root
@pytest.mark.parametrize("opts,env", [
    (["-u", "65534", "-g", "65534"], {}),
    (["-U"], {"UID": "65534", "GID": "65534"}),
    (["-U", "-u", "1"], {"UID": "65534", "GID": "65534"}),
    (["-g", "65534"], {}),
])
def test_uid_gid(servers, opts, env):
    prog = ("sh", "-c", "echo $(id -u) $(id -g) $(id -G)")
    lines = same_env(servers, ["-R", "-H", "-l", "0"] + opts, env=dict(BASE_ENV, **env), prog=prog)
    uid = "1" if "1" in opts else "65534" if ("-u" in opts or "-U" in opts) else "0"
    assert lines == ["%s 65534 65534" % uid]


# ---- IPv6 ---------------------------------------------------------------------------

def ipv6_env(lname="lname", info=False):
    return ["PATH=/usr/bin:/bin", "PROTO=TCP6",
            "TCPLOCALIP=::1", "TCP6LOCALIP=::1",
            "TCPLOCALPORT=SPORT", "TCP6LOCALPORT=SPORT",
            "TCPLOCALHOST=%s" % lname, "TCP6LOCALHOST=%s" % lname,
            "TCPREMOTEIP=::1", "TCP6REMOTEIP=::1",
            "TCPREMOTEPORT=CPORT", "TCP6REMOTEPORT=CPORT"]


@needs_ipv6
@pytest.mark.parametrize("host", ["::1", "::", "0", ""])
def test_ipv6_environment(servers, host):
    lines = env_through(servers, servers.qbox, ["-R", "-H", "-l", "lname"], host=host,
                        connect_host="::1")
    assert lines == ipv6_env()
    # -r: the ident query goes to [::1]:113, where nothing answers.
    lines = env_through(servers, servers.qbox, ["-H", "-l", "lname"], host=host, connect_host="::1")
    assert lines == ipv6_env()


@needs_ipv6
@pytest.mark.parametrize("host", ["::", "0", ""])
def test_dual_stack_ipv4_client_is_classic(servers, host):
    ours = env_through(servers, servers.qbox, ["-R", "-H", "-l", "lname"], host=host)
    theirs = env_through(servers, DEBIAN, ["-R", "-H", "-l", "lname"], host="0")
    assert ours == theirs


@needs_ipv6
def test_ipv6_log_and_rules(servers, tmp_path, applet_bin):
    rules = tmp_path / "rules.cdb"
    tcprules(str(applet_bin / "tcprules"), rules,
             b"::1:allow,SIX=\"yes\"\n127.0.0.1:deny\n:deny\n")
    srv = servers.ours(["-v", "-R", "-H", "-l", "lname", "-x", str(rules), "::", "0", "env"])
    data, c6 = fetch(srv.port, "::1")
    lines = norm_env(data, srv.port, c6)
    assert lines[:len(ipv6_env())] == ipv6_env() and lines[-1] == "SIX=yes"
    data, c4 = fetch(srv.port, "127.0.0.1")
    assert data == b""
    log = norm_log(srv.wait_count("end", 2), srv.port, [c6, c4])
    assert "tcpserver: pid PID from ::1" in log
    assert "tcpserver: ok PID lname:::1:SPORT :::1::CPORT" in log
    assert "tcpserver: pid PID from 127.0.0.1" in log
    assert "tcpserver: deny PID lname:127.0.0.1:SPORT :127.0.0.1::CPORT" in log


def link_local():
    """A link-local address of this machine and its interface, or None."""
    try:
        lines = Path("/proc/net/if_inet6").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        hexaddr, _, _, scope, _, ifname = line.split()
        if scope == "20":
            return (":".join(hexaddr[i:i + 4] for i in range(0, 32, 4)), ifname)
    return None


@pytest.mark.skipif(not link_local(), reason="no link-local IPv6 address")
@pytest.mark.parametrize("listen", ["::", "link"])
def test_ipv6_link_local_interface(servers, listen):
    addr, ifname = link_local()
    host = "%s%%%s" % (addr, ifname) if listen == "link" else listen
    srv = servers.ours(["-R", "-H", "-l", "0", host, "0", "env"])
    ai = socket.getaddrinfo("%s%%%s" % (addr, ifname), srv.port, socket.AF_INET6,
                            socket.SOCK_STREAM)[0]
    with socket.socket(socket.AF_INET6) as s:
        s.settimeout(10)
        s.connect(ai[4])
        lines = read_all(s).decode().splitlines()
    short = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, addr))
    assert "PROTO=TCP6" in lines
    assert "TCP6INTERFACE=%s" % ifname in lines
    assert "TCP6LOCALIP=%s" % short in lines and "TCP6REMOTEIP=%s" % short in lines


def test_listen_on_unknown_interface(compare):
    r = run([str(compare.bindir / "tcpserver"), "fe80::1%no-such-if", "0", "true"], env=BASE_ENV)
    assert (r.code, r.err) == (111, b"tcpserver: fatal: no IP address for fe80::1%no-such-if\n")


@needs_ipv6
def test_ipv4_only_listener(servers):
    srv = servers.ours(["-R", "-H", "-l", "0", "0.0.0.0", "0", "env"])
    assert fetch(srv.port)[0]
    with pytest.raises(ConnectionRefusedError):
        fetch(srv.port, "::1")


# ---- the limits patch ----------------------------------------------------------------

def hold(port, source=None, host="127.0.0.1"):
    s = connect(port, host, source)
    assert echo_ok(s, b"held")
    return s


def limit_server(servers, env=(), opts=(), host="127.0.0.1"):
    return servers.ours(["-v", "-R", "-H", "-l", "0"] + list(opts) + [host, "0", "cat"],
                        env=dict(BASE_ENV, **dict(env)))


def refused_with(port, source=None):
    """Connects and reads what a denied connection gets, and how long it took."""
    start = time.monotonic()
    with connect(port, source=source) as s:
        data = read_all(s)
    return data, time.monotonic() - start


def deny_lines(srv):
    return [l for l in srv.log() if l.startswith("tcpserver: deny ")]


def test_maxconnip(servers):
    srv = limit_server(servers, {"MAXCONNIP": "2", "DIEMSG": "421 generic",
                                 "DIEMSG_MAXCONNIP": "421 too many from your IP"})
    a, b = hold(srv.port), hold(srv.port)
    data, took = refused_with(srv.port)
    assert data == b"421 too many from your IP\r\n"
    assert took >= 0.9
    srv.wait_count("deny", 1)
    assert re.fullmatch(r"tcpserver: deny \d+ 0:127\.0\.0\.1:%d :127\.0\.0\.1::\d+ MAXCONNIP:2"
                        % srv.port, deny_lines(srv)[0])
    # Another address is not counted.
    c = hold(srv.port, source="127.0.0.2")
    # Once one ends, the count is right again.
    a.close()
    srv.wait_count("end", 2)  # the denied one and a
    d = hold(srv.port)
    for s in (b, c, d):
        s.close()


def test_diemsg_fallback_and_none(servers):
    srv = limit_server(servers, {"MAXCONNIP": "1", "DIEMSG": "421 generic",
                                 "DIEMSG_MAXCONNC": "421 not this one"})
    a = hold(srv.port)
    assert refused_with(srv.port)[0] == b"421 generic\r\n"
    a.close()
    srv2 = limit_server(servers, {"MAXCONNIP": "0"})
    data, took = refused_with(srv2.port)
    assert data == b"" and took >= 0.9
    srv2.wait_count("deny", 1)
    assert deny_lines(srv2)[0].endswith(" MAXCONNIP:0")


def test_maxconnc(servers):
    srv = limit_server(servers, {"MAXCONNC": "2", "DIEMSG": "421 generic",
                                 "DIEMSG_MAXCONNC": "421 too many from your network"})
    a = hold(srv.port, "127.0.0.2")
    b = hold(srv.port, "127.0.0.3")
    assert refused_with(srv.port, "127.0.0.4")[0] == b"421 too many from your network\r\n"
    c = hold(srv.port, "127.0.1.4")  # another /24
    srv.wait_count("deny", 1)
    assert re.search(r" :127\.0\.0\.4::\d+ MAXCONNC:2$", deny_lines(srv)[0])
    for s in (a, b, c):
        s.close()


def test_maxconnip_wins_over_maxconnc(servers):
    srv = limit_server(servers, {"MAXCONNC": "1", "MAXCONNIP": "1", "DIEMSG_MAXCONNC": "C",
                                 "DIEMSG_MAXCONNIP": "IP"})
    a = hold(srv.port, "127.0.0.2")
    assert refused_with(srv.port, "127.0.0.2")[0] == b"IP\r\n"
    assert refused_with(srv.port, "127.0.0.3")[0] == b"C\r\n"
    srv.wait_count("deny", 2)
    ends = sorted(l.rsplit(" ", 1)[1] for l in deny_lines(srv))
    assert ends == ["MAXCONNC:1", "MAXCONNIP:1"]
    a.close()


def test_limits_from_a_rule(servers, tmp_path, applet_bin):
    rules = tmp_path / "rules.cdb"
    tcprules(str(applet_bin / "tcprules"), rules,
             b"127.0.0.9:allow\n"
             b":allow,MAXCONNIP=\"1\",DIEMSG=\"421 rule says busy\",DIEMSG_MAXCONNIP=\"\"\n")
    srv = limit_server(servers, {"MAXCONNIP": "5", "DIEMSG": "421 env"}, ["-x", str(rules)])
    a = hold(srv.port)
    assert refused_with(srv.port)[0] == b"421 rule says busy\r\n"
    # The rule for 127.0.0.9 sets nothing: tcpserver's own MAXCONNIP=5 holds.
    more = [hold(srv.port, "127.0.0.9") for _ in range(5)]
    assert refused_with(srv.port, "127.0.0.9")[0] == b"421 env\r\n"
    srv.wait_count("deny", 2)
    assert [l.rsplit(" ", 1)[1] for l in deny_lines(srv)] == ["MAXCONNIP:1", "MAXCONNIP:5"]
    for s in [a] + more:
        s.close()
    # The rule's variables reach the program too.
    srv2 = servers.ours(["-R", "-H", "-l", "0", "-x", str(rules), "127.0.0.1", "0", "env"])
    lines = norm_env(fetch(srv2.port)[0], srv2.port, 0)
    assert "MAXCONNIP=1" in lines and "DIEMSG=421 rule says busy" in lines


def test_rule_deny_and_diemsg(servers, tmp_path, applet_bin):
    rules = tmp_path / "rules.cdb"
    tcprules(str(applet_bin / "tcprules"), rules, b"127.0.0.1:deny\n")
    # A rule's deny alone closes at once, as in ucspi-tcp.
    srv = limit_server(servers, {}, ["-x", str(rules)])
    data, took = refused_with(srv.port)
    assert data == b"" and took < 0.9
    srv.wait_count("deny", 1)
    assert re.search(r" :127\.0\.0\.1::\d+$", deny_lines(srv)[0])
    # With DIEMSG set, the patched tcpserver sends it on any deny.
    srv = limit_server(servers, {"DIEMSG": "421 go away"}, ["-x", str(rules)])
    assert refused_with(srv.port)[0] == b"421 go away\r\n"


def one_minute_load():
    return float(Path("/proc/loadavg").read_text().split()[0])


def test_maxload(servers, tmp_path, applet_bin):
    # MAXLOAD=1 denies above a load of 0.01; make some load if there is none.
    spinner = None
    try:
        if one_minute_load() < 0.05:
            spinner = subprocess.Popen([PY, "-S", "-c", "while True: pass"])
            wait_until(lambda: one_minute_load() >= 0.05, 60, "some load")
        srv = limit_server(servers, {"MAXLOAD": "1", "DIEMSG": "421 generic",
                                     "DIEMSG_MAXLOAD": "421 load too high"})
        assert refused_with(srv.port)[0] == b"421 load too high\r\n"
        srv.wait_count("deny", 1)
        m = re.search(r" MAXLOAD:(\d+)$", deny_lines(srv)[0])
        assert m and int(m.group(1)) > 1
        # MAXLOAD is checked even for a connection a rule denied.
        rules = tmp_path / "rules.cdb"
        tcprules(str(applet_bin / "tcprules"), rules, b"127.0.0.1:deny\n")
        srv = limit_server(servers, {"MAXLOAD": "1"}, ["-x", str(rules)])
        refused_with(srv.port)
        srv.wait_count("deny", 1)
        assert re.search(r" MAXLOAD:\d+$", deny_lines(srv)[0])
    finally:
        if spinner:
            spinner.kill()
            spinner.wait()
    srv = limit_server(servers, {"MAXLOAD": "100000000"})
    hold(srv.port).close()


# ---- host names through the resolver (a DNS server on loopback) -------------

ZONE = {
    "1.0.0.127.in-addr.arpa": {"PTR": ["client.test"]},
    "client.test": {"A": ["127.0.0.1"]},
    "2.0.0.127.in-addr.arpa": {"PTR": ["liar.test"]},
    "liar.test": {"A": ["192.0.2.1"]},
    "srv.test": {"A": ["127.0.0.3"]},
    "4.0.0.127.in-addr.arpa": {"mode": "servfail"},
}


def env_lines(servers, opts, host, connect_host, dns, source=None):
    env = dict(BASE_ENV, **dns.env)
    return env_through(servers, servers.qbox, opts, host=host, connect_host=connect_host,
                       env=env, source=source)


def test_remote_host_name_from_dns(servers, dns_server):
    dns = dns_server(ZONE)
    lines = env_lines(servers, ["-h", "-R", "-l", "here"], "127.0.0.1", "127.0.0.1", dns)
    assert "TCPREMOTEHOST=client.test" in lines
    # -H: no lookup, no variable.
    lines = env_lines(servers, ["-H", "-R", "-l", "here"], "127.0.0.1", "127.0.0.1", dns)
    assert not any(l.startswith("TCPREMOTEHOST=") for l in lines)


def test_paranoid_drops_a_name_that_does_not_lead_back(servers, dns_server):
    dns = dns_server(ZONE)
    lines = env_lines(servers, ["-h", "-R", "-l", "here"], "0", "127.0.0.1", dns, source="127.0.0.2")
    assert "TCPREMOTEHOST=liar.test" in lines
    lines = env_lines(servers, ["-p", "-R", "-l", "here"], "0", "127.0.0.1", dns, source="127.0.0.2")
    assert not any(l.startswith("TCPREMOTEHOST=") for l in lines)
    lines = env_lines(servers, ["-p", "-R", "-l", "here"], "0", "127.0.0.1", dns, source="127.0.0.1")
    assert "TCPREMOTEHOST=client.test" in lines


def test_failed_lookup_leaves_the_name_unset(servers, dns_server):
    dns = dns_server(ZONE)
    lines = env_lines(servers, ["-h", "-R", "-l", "here"], "0", "127.0.0.1", dns, source="127.0.0.4")
    assert "TCPREMOTEIP=127.0.0.4" in lines
    assert not any(l.startswith("TCPREMOTEHOST=") for l in lines)


def test_local_host_name_without_l(servers, dns_server):
    dns = dns_server(ZONE)
    lines = env_lines(servers, ["-H", "-R"], "127.0.0.1", "127.0.0.1", dns)
    assert "TCPLOCALHOST=client.test" in lines


def test_listen_on_a_host_name(servers, dns_server):
    dns = dns_server(ZONE)
    lines = env_lines(servers, ["-H", "-R", "-l", "here"], "srv.test", "127.0.0.3", dns)
    assert "TCPLOCALIP=127.0.0.3" in lines



# ---- reliability ------------------------------------------------------------

def test_flood_against_c50_loses_nothing(servers):
    """5,000 connections, 200 at a time, against -c 50: every one is served
    (the ones over the limit wait in the backlog), none is lost."""
    import asyncio
    srv = servers.ours(["-c", "50", "-b", "100", "-R", "-H", "-l", "0", "127.0.0.1", "0",
                        "/bin/echo", "ok"])

    async def one(sem, results):
        async with sem:
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", srv.port), 60)
                line = await asyncio.wait_for(r.readline(), 60)
                w.close()
                results.append(line)
            except (ConnectionError, asyncio.TimeoutError) as e:
                results.append(repr(e).encode())

    async def flood():
        sem = asyncio.Semaphore(200)
        results = []
        await asyncio.gather(*(one(sem, results) for _ in range(5000)))
        return results

    results = asyncio.run(flood())
    assert len(results) == 5000
    assert results.count(b"ok\n") == 5000, [r for r in results if r != b"ok\n"][:5]


def test_silent_client_does_not_delay_others(servers):
    srv = servers.ours(["-c", "10", "-R", "-H", "-l", "0", "127.0.0.1", "0",
                        "/bin/sh", "-c", "read line; echo got $line"])
    silent = connect(srv.port)
    try:
        t0 = time.monotonic()
        data, _ = fetch(srv.port, send=b"hello\n")
        assert data == b"got hello\n"
        assert time.monotonic() - t0 < 5
    finally:
        silent.close()
