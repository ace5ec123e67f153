"""supervise, svc, svok and svstat, with real processes and fifos, next to
Debian's daemontools: every command on a real service, svstat's words and
the status bytes, interoperability both ways, the lock, broken run files,
kill -9 storms, supervise itself killed, and ./finish.

Every supervise is started in a session of its own; the fixture kills each
of those process groups at the end, so no service outlives its test.
"""
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CLASSIC, QBOX, run, wait_for

RUN_SIGNALS = """#!/usr/bin/python3 -S
import os, signal, sys
# The signals stay blocked and are taken one at a time with sigwaitinfo: no
# handler runs, so none can be interrupted by the next signal, and each one
# taken is logged, in the order taken, before the next is looked at. (As
# with handlers, a signal sent again while pending counts once, and of
# several pending the lowest number comes first.) A blocked SIGCONT still
# continues a stopped process.
SIGS = {signal.SIGHUP, signal.SIGALRM, signal.SIGINT, signal.SIGTERM, signal.SIGCONT}
signal.pthread_sigmask(signal.SIG_BLOCK, SIGS)
log = os.open("log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
os.write(log, b"ready %d\\n" % os.getpid())
while True:
    n = signal.sigwaitinfo(SIGS).si_signo
    os.write(log, b"%s %d\\n" % (signal.Signals(n).name.encode(), os.getpid()))
    if n == signal.SIGTERM and not os.path.exists("ignore-term"):
        sys.exit(0)
"""


def wait_until(cond, timeout=30.0, what="condition"):
    return wait_for(cond, timeout, what, interval=0.005)


def read_status(d):
    """Decodes supervise/status: (tai seconds, nano, pid, paused, want)."""
    try:
        b = (Path(d) / "supervise" / "status").read_bytes()
    except FileNotFoundError:
        return None
    if len(b) < 18:
        return None
    return (int.from_bytes(b[0:8], "big"), int.from_bytes(b[8:12], "big"),
            int.from_bytes(b[12:16], "little"), b[16], b[17])


def status_pid(d):
    s = read_status(d)
    return s[2] if s else None


def proc_state(pid):
    """The state letter in /proc/PID/stat, or None when gone."""
    try:
        s = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return s[s.rindex(")") + 2]


def alive(pid):
    return proc_state(pid) not in (None, "Z", "X")


def start_time(pid):
    """When the process started (field 22 of /proc/PID/stat, clock ticks
    after boot), or None when it is gone. With the pid it names one
    process: a pid can be used again, not with the same start time."""
    try:
        s = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(s[s.rindex(")") + 2:].split()[19])


def service_proc(d):
    """(pid, start time) of the process supervise/status names, or None
    while the status says down (or names a process already gone)."""
    pid = status_pid(d)
    t = start_time(pid) if pid else None
    return (pid, t) if t is not None else None


def cmdline_bytes(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def cpu_seconds(pid):
    f = Path(f"/proc/{pid}/stat").read_text()
    fields = f[f.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def procs_with_arg(marker):
    """Live processes whose command line contains marker."""
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            if marker.encode() in (p / "cmdline").read_bytes() and alive(int(p.name)):
                found.append(int(p.name))
        except OSError:
            pass
    return found


class Tools:
    """svc, svok, svstat and supervise from qbox or from Debian."""

    def __init__(self, bindir, name):
        self.name = name
        self.bindir = Path(bindir)

    def path(self, prog):
        return str(self.bindir / prog)

    def svc(self, *args, cwd=None):
        r = run([self.path("svc")] + [str(a) for a in args], cwd=cwd)
        assert (r.code, r.err) == (0, b""), r
        return r

    def svstat(self, *dirs, cwd=None):
        r = run([self.path("svstat")] + [str(d) for d in dirs], cwd=cwd)
        assert (r.code, r.err) == (0, b"")
        return r.out.decode()

    def svok(self, d):
        return run([self.path("svok"), str(d)]).code


class Supervisors:
    """Starts supervise processes and kills them and their services at the end."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.procs = []

    def start(self, tools, d, check_up=True):
        err = open(self.tmp / f"supervise-{len(self.procs)}.err", "wb")
        p = subprocess.Popen([tools.path("supervise"), str(d)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        p.errfile = Path(err.name)
        err.close()
        self.procs.append(p)
        if check_up:
            wait_until(lambda: tools.svok(d) == 0 or p.poll() is not None, what="supervise up")
            assert p.poll() is None, p.errfile.read_text()
        return p

    def cleanup(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


@pytest.fixture
def sups(tmp_path):
    s = Supervisors(tmp_path)
    yield s
    s.cleanup()


@pytest.fixture
def qtools(applet_bin):
    return Tools(applet_bin, "qbox")


@pytest.fixture
def dtools():
    return Tools(CLASSIC, "debian")


@pytest.fixture
def tools(qtools, dtools):
    return {"qbox": qtools, "debian": dtools}


def make_service(d, run_text, mode=0o755):
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    (d / "run").write_text(run_text)
    (d / "run").chmod(mode)
    return d


def ready_pids(d):
    try:
        lines = (Path(d) / "log").read_text().splitlines()
    except FileNotFoundError:
        return []
    return [int(l.split()[1]) for l in lines if l.startswith("ready ")]


def log_has(d, line):
    try:
        return line in (Path(d) / "log").read_text().splitlines()
    except FileNotFoundError:
        return False


def wait_new_ready(d, old=()):
    """Waits for a service pid that says ready and is not in old; returns it."""
    def fresh():
        pids = [p for p in ready_pids(d) if p not in old]
        return pids[-1] if pids and status_pid(d) == pids[-1] else None
    return wait_until(fresh, what="service ready")


def same_svstat(a, b, dirs, cwd=None, timeout=30.0):
    """qbox's and Debian's svstat print the same. They run one after the
    other and print whole seconds, so a second can tick over between the
    two (and Debian's reads time(), which lags the clock by up to a tick):
    retried until they agree, for up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        x, y = a.svstat(*dirs, cwd=cwd), b.svstat(*dirs, cwd=cwd)
        if x == y or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert x == y
    return x


# ---- every command on a real service, every pairing of the two daemontools ----

@pytest.mark.parametrize("sup,ctl", [("qbox", "qbox"), ("qbox", "debian"),
                                     ("debian", "qbox"), ("debian", "debian")])
def test_every_command(tools, sups, tmp_path, sup, ctl):
    t = tools[ctl]
    d = make_service(tmp_path / "s", RUN_SIGNALS)
    p = sups.start(tools[sup], d)
    pids = [wait_new_ready(d)]

    for opt, name in (("-h", "SIGHUP"), ("-a", "SIGALRM"), ("-i", "SIGINT")):
        t.svc(opt, d)
        wait_until(lambda: log_has(d, f"{name} {pids[-1]}"), what=name)
    assert alive(pids[-1])

    t.svc("-p", d)
    wait_until(lambda: proc_state(pids[-1]) == "T" and read_status(d)[3] == 1, what="paused")
    assert t.svstat(d).endswith(", paused\n")
    t.svc("-c", d)
    wait_until(lambda: log_has(d, f"SIGCONT {pids[-1]}"), what="continued")
    assert read_status(d)[3] == 0 and proc_state(pids[-1]) != "T"

    t.svc("-t", d)
    wait_until(lambda: log_has(d, f"SIGTERM {pids[-1]}"), what="term")
    pids.append(wait_new_ready(d, pids))

    t.svc("-k", d)
    wait_until(lambda: not alive(pids[-1]), what="killed")
    pids.append(wait_new_ready(d, pids))

    t.svc("-d", d)
    wait_until(lambda: read_status(d)[2:] == (0, 0, ord("d")), what="down")
    assert log_has(d, f"SIGTERM {pids[-1]}")
    assert "down" in t.svstat(d) and t.svstat(d).endswith(" seconds, normally up\n")

    t.svc("-u", d)
    pids.append(wait_new_ready(d, pids))
    assert read_status(d)[4] == ord("u")

    t.svc("-o", d)
    wait_until(lambda: read_status(d)[4] == 0, what="want nothing")
    t.svc("-t", d)
    wait_until(lambda: read_status(d)[2] == 0, what="down after once")
    # Once means once: no restart, not even after the one-second pause.
    time.sleep(1.3)
    assert read_status(d)[2] == 0 and ready_pids(d) == pids
    t.svc("-o", d)
    pids.append(wait_new_ready(d, pids))

    t.svc("-x", d)
    assert p.poll() is None  # exits only once the service is down
    t.svc("-d", d)
    assert p.wait(timeout=10) == 0
    assert not alive(pids[-1])
    assert p.errfile.read_bytes() == b""
    assert t.svok(d) == 100
    assert t.svstat(d) == f"{d}: supervise not running\n"


@pytest.mark.parametrize("sup", ["qbox", "debian"])
def test_several_commands_and_dirs_at_once(tools, sups, tmp_path, sup):
    a = make_service(tmp_path / "a", RUN_SIGNALS)
    b = make_service(tmp_path / "b", RUN_SIGNALS)
    for d in (a, b):
        sups.start(tools[sup], d)
    pa, pb = wait_new_ready(a), wait_new_ready(b)
    # Letters go once each, in the order given: "hd" hups, then takes it down.
    tools["qbox"].svc("-hhd", "-h", a, b)
    for d, pid in ((a, pa), (b, pb)):
        wait_until(lambda: read_status(d)[2] == 0, what="down")
        lines = (d / "log").read_text().splitlines()
        # A HUP sent while another is pending counts once: one to three
        # HUPs (the last "h" follows the "d": pending with the TERM, it is
        # taken first), then the TERM that ends the service.
        assert lines[0] == f"ready {pid}" and lines[-1] == f"SIGTERM {pid}", lines
        assert 1 <= len(lines[1:-1]) <= 3 and set(lines[1:-1]) == {f"SIGHUP {pid}"}, lines
    tools["qbox"].svc("-ux", a, b)
    for d in (a, b):
        wait_until(lambda: read_status(d)[2] != 0, what="up again")


# ---- svstat: qbox's words and Debian's, on the same directory ----

@pytest.mark.parametrize("sup", ["qbox", "debian"])
def test_svstat_matches_debian(tools, sups, tmp_path, sup):
    q, deb = tools["qbox"], tools["debian"]
    d = make_service(tmp_path / "s", RUN_SIGNALS)
    (d / "ignore-term").write_text("")
    p = sups.start(tools[sup], d)
    pid = wait_new_ready(d)
    out = same_svstat(q, deb, [d])
    assert out.startswith(f"{d}: up (pid {pid}) ") and out.endswith(" seconds\n")

    q.svc("-p", d)
    wait_until(lambda: read_status(d)[3] == 1, what="paused")
    assert same_svstat(q, deb, [d]).endswith(" seconds, paused\n")
    q.svc("-c", d)
    wait_until(lambda: read_status(d)[3] == 0, what="continued")

    q.svc("-d", d)  # ignored TERM: still up, want down
    wait_until(lambda: read_status(d)[4] == ord("d"), what="want down")
    assert same_svstat(q, deb, [d]).endswith(" seconds, want down\n")

    (d / "ignore-term").unlink()
    q.svc("-t", d)
    wait_until(lambda: read_status(d)[2] == 0, what="down")
    out = same_svstat(q, deb, [d])
    assert out.startswith(f"{d}: down ") and out.endswith(" seconds, normally up\n")

    (d / "down").write_text("")
    out = same_svstat(q, deb, [d])
    assert out.startswith(f"{d}: down ") and out.endswith(" seconds\n")
    old = ready_pids(d)
    q.svc("-u", d)
    pid = wait_new_ready(d, old)  # started, not still starting
    out = same_svstat(q, deb, [d])
    assert out.startswith(f"{d}: up (pid {pid}) ") and out.endswith(" seconds, normally down\n")

    # Relative names, several at once, and a missing one, from another cwd.
    out = same_svstat(q, deb, ["s", "nonexistent", "s"], cwd=tmp_path)
    assert out.splitlines()[1] == "nonexistent: unable to chdir: file does not exist"

    q.svc("-dx", d)
    assert p.wait(timeout=10) == 0
    assert same_svstat(q, deb, [d]) == f"{d}: supervise not running\n"


def test_svstat_want_up(tools, sups, tmp_path):
    """A service that keeps exiting shows "down ..., want up" during the
    one-second pause between runs. (Debian's supervise shows it only for an
    instant; the status bytes are covered by test_svstat_decodes_status_bytes.)"""
    q, deb = tools["qbox"], tools["debian"]
    d = make_service(tmp_path / "s", "#!/bin/sh\necho ran >> log\n")
    (d / "down").write_text("")
    sups.start(q, d)
    q.svc("-u", d)
    # After "svc -u" with a down file: want up; between runs: pid 0.
    wait_until(lambda: (read_status(d) or (0,) * 5)[2] == 0 and log_has(d, "ran"), what="ran")
    # Both svstat between two runs of the service, within one second:
    # tried again (each pause brings another chance) until a deadline.
    deadline = time.monotonic() + 30
    while True:
        x = q.svstat(d)
        y = deb.svstat(d)
        if (x == y and "want up" in x) or time.monotonic() > deadline:
            break
    assert x == y and x.startswith(f"{d}: down ") and x.endswith(" seconds, want up\n")


STATUS_SAMPLES = {
    "up": (1, 0, 4242, 0, "u"),
    "up-paused-want-down": (1, 0, 99, 1, "d"),
    "down-want-up": (1, 0, 0, 0, "u"),
    "down-paused-want-down": (1, 0, 0, 7, "d"),
    "once": (1, 0, 31337, 0, "\0"),
    "odd-want": (1, 0, 5, 0, "x"),
    "future": (-3600, 0, 77, 0, "u"),
    "pid-max": (1, 0, 0xFFFFFFFF, 0, "u"),
}


@pytest.mark.parametrize("name", sorted(STATUS_SAMPLES))
@pytest.mark.parametrize("down_file", [False, True])
def test_svstat_decodes_status_bytes(tools, tmp_path, name, down_file):
    """Status files written here, read by both svstat with a fake supervise
    (just the ok fifo held open)."""
    ago, nano, pid, paused, want = STATUS_SAMPLES[name]
    d = tmp_path / "s"
    (d / "supervise").mkdir(parents=True)
    if down_file:
        (d / "down").write_text("")
    os.mkfifo(d / "supervise" / "ok")
    fd = os.open(d / "supervise" / "ok", os.O_RDONLY | os.O_NONBLOCK)
    try:
        sec = (1 << 62) + 10 + int(time.time()) - ago
        b = (sec.to_bytes(8, "big") + nano.to_bytes(4, "big") + pid.to_bytes(4, "little")
             + bytes([paused]) + want.encode("latin-1"))
        assert len(b) == 18
        (d / "supervise" / "status").write_bytes(b)
        out = same_svstat(tools["qbox"], tools["debian"], [d])
        assert out.startswith(f"{d}: {'up (pid %d)' % pid if pid else 'down'} ")
    finally:
        os.close(fd)


@pytest.mark.parametrize("content", [b"", b"short", b"\0" * 17, b"\0" * 18, b"\xff" * 18,
                                     b"\x40" + b"\0" * 16 + b"u" + b"trailing bytes"],
                         ids=["empty", "short", "17", "zeros", "ones", "long"])
def test_svstat_odd_status_files(tools, tmp_path, content):
    d = tmp_path / "s"
    (d / "supervise").mkdir(parents=True)
    os.mkfifo(d / "supervise" / "ok")
    fd = os.open(d / "supervise" / "ok", os.O_RDONLY | os.O_NONBLOCK)
    try:
        (d / "supervise" / "status").write_bytes(content)
        out = same_svstat(tools["qbox"], tools["debian"], [d])
        if len(content) < 18:
            assert out == f"{d}: unable to read supervise/status: bad format\n"
        (d / "supervise" / "status").unlink()
        out = same_svstat(tools["qbox"], tools["debian"], [d])
        assert out == f"{d}: unable to open supervise/status: file does not exist\n"
    finally:
        os.close(fd)


# ---- errors and usage, byte for byte ----

def test_usage_and_errors(compare, tmp_path):
    compare.same("supervise", [])
    compare.same("supervise", ["a", "b"])
    compare.same("supervise", [str(tmp_path / "nonexistent")])
    loop = tmp_path / "loop"
    loop.mkdir()
    (loop / "down").symlink_to("down")
    compare.same("supervise", [str(loop)])
    notdir = tmp_path / "notdir"
    notdir.mkdir()
    (notdir / "supervise").write_text("")
    compare.same("supervise", [str(notdir)])

    compare.same("svok", [])
    compare.same("svok", [str(tmp_path / "nonexistent")])
    compare.same("svok", [str(tmp_path)])
    compare.same("svstat", [])
    compare.same("svstat", [str(tmp_path / "nonexistent"), str(tmp_path), str(loop)])
    compare.same("svc", [])
    compare.same("svc", ["-u"])
    compare.same("svc", ["-z", str(tmp_path)])
    compare.same("svc", ["-uz", str(tmp_path)])
    compare.same("svc", ["-u", str(tmp_path / "nonexistent"), str(tmp_path)])

    # A supervise directory whose supervise is gone: fifos without readers.
    gone = tmp_path / "gone"
    (gone / "supervise").mkdir(parents=True)
    os.mkfifo(gone / "supervise" / "ok")
    os.mkfifo(gone / "supervise" / "control")
    compare.same("svc", ["-d", str(gone)])
    r = compare.same("svok", [str(gone)])
    assert r.code == 100
    compare.same("svstat", [str(gone)])
    r = compare.same("svc", ["-d", str(gone), str(tmp_path), "gone"], cwd=tmp_path)
    assert r.err.count(b"\n") == 3


def test_debian_supervise_dir_symlink(tools, sups, tmp_path):
    """Debian's supervise makes the target of a dangling supervise symlink."""
    for name, t in tools.items():
        d = make_service(tmp_path / name, "#!/bin/sh\nexec sleep 1000\n")
        target = tmp_path / f"{name}-state"
        (d / "supervise").symlink_to(target)
        sups.start(t, d)
        assert (target / "status").exists() and stat.S_ISFIFO((target / "ok").stat().st_mode)
        t.svc("-dx", d)


# ---- the lock ----

@pytest.mark.parametrize("first,second", [("qbox", "qbox"), ("qbox", "debian"),
                                          ("debian", "qbox"), ("debian", "debian")])
def test_second_supervise_fails(tools, sups, tmp_path, first, second):
    d = make_service(tmp_path / "s", "#!/bin/sh\nexec sleep 1000\n")
    sups.start(tools[first], d)
    r = run([tools[second].path("supervise"), str(d)], timeout=10)
    assert r.code == 111
    assert r.err == f"supervise: fatal: unable to acquire {d}/supervise/lock: temporary failure\n".encode()
    assert r.out == b""


# ---- broken run files: a clear message, about one a second, no busy loop ----

@pytest.mark.parametrize("sup", ["qbox", "debian"])
@pytest.mark.parametrize("problem", ["missing", "not-executable", "bad-interpreter"])
def test_broken_run_does_not_spin(tools, sups, tmp_path, sup, problem):
    d = tmp_path / "s"
    d.mkdir()
    if problem == "not-executable":
        make_service(d, "#!/bin/sh\nexec sleep 1000\n", mode=0o644)
    elif problem == "bad-interpreter":
        make_service(d, "#!/nonexistent/sh\n")
    p = sups.start(tools[sup], d)
    start = time.monotonic()
    line = (f"supervise: fatal: unable to start {d}/run: "
            f"{'access denied' if problem == 'not-executable' else 'file does not exist'}\n")
    wait_until(lambda: p.errfile.read_text().count(line) >= 3, timeout=10, what="three tries")
    elapsed = time.monotonic() - start
    text = p.errfile.read_text()
    assert set(text.splitlines(keepends=True)) == {line}
    tries = text.count(line)
    assert tries <= elapsed + 2, f"{tries} tries in {elapsed:.1f}s"
    assert cpu_seconds(p.pid) < 0.2
    assert p.poll() is None
    # Fixing the run file is enough: the next try starts it.
    make_service(d, "#!/bin/sh\necho ready $$ >> log\nexec sleep 1000\n")
    wait_new_ready(d)


def test_one_second_pause_between_restarts(qtools, sups, tmp_path):
    d = make_service(tmp_path / "s", "#!/bin/sh\necho ready $$ >> log\nexec sleep 1000\n")
    sups.start(qtools, d)
    pids = [wait_new_ready(d)]
    starts = [time.monotonic()]
    for _ in range(3):
        os.kill(pids[-1], signal.SIGKILL)
        pids.append(wait_new_ready(d, pids))
        starts.append(time.monotonic())
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert all(0.9 < g < 3 for g in gaps), gaps
    # A run that exits at once is tried about once a second.
    (d / "run").write_text("#!/bin/sh\necho ready $$ >> log\n")
    os.kill(pids[-1], signal.SIGKILL)
    n = len(ready_pids(d))
    wait_until(lambda: len(ready_pids(d)) >= n + 3, what="three more tries")
    t0 = time.monotonic()
    wait_until(lambda: len(ready_pids(d)) >= n + 5, what="five more tries")
    assert time.monotonic() - t0 > 1.5


# ---- reliability ----

def test_kill_9_storm(qtools, sups, tmp_path):
    """kill -9 the service over and over; it comes back every time. "svc -u"
    once it is seen down skips the one-second pause. QBOX_KILL_STORM sets
    the count (1000 by default, as the issue asks; about 12 s).

    Each service process is known by its pid and its start time (a pid can
    be used again). Should this test not look between the kill and the end
    of the one-second pause, supervise has restarted the service itself:
    that new process will do."""
    marker = f"{time.time_ns()}"
    d = make_service(tmp_path / "s", f"#!/bin/sh\nexec sleep 1000 {marker}\n")
    p = sups.start(qtools, d)
    cur = wait_until(lambda: service_proc(d), what="up")
    seen = {cur}
    svc = qtools.path("svc")
    for i in range(int(os.environ.get("QBOX_KILL_STORM", "1000"))):
        wait_until(lambda: service_proc(d) == cur and cmdline_bytes(cur[0]).startswith(b"sleep"),
                   what=f"service exec'd ({i})")
        os.kill(cur[0], signal.SIGKILL)

        def after_kill():
            new = service_proc(d)
            return None if new == cur else (new or "down")
        new = wait_until(after_kill, what=f"down or restarted after kill {i}")
        if new == "down":
            subprocess.run([svc, "-u", str(d)], check=True)
            new = wait_until(lambda: (lambda n: n if n not in (None, cur) else None)(service_proc(d)),
                             what=f"restart {i}")
        assert new not in seen
        seen.add(new)
        cur = new
    wait_until(lambda: service_proc(d) == cur and cmdline_bytes(cur[0]).startswith(b"sleep"),
               what="the last service exec'd")
    assert p.poll() is None
    assert p.errfile.read_bytes() == b""
    assert procs_with_arg(marker) == [cur[0]]
    qtools.svc("-dx", d)
    assert p.wait(timeout=10) == 0


def test_supervise_killed_and_restarted(qtools, dtools, sups, tmp_path):
    marker = f"{time.time_ns()}"
    d = make_service(tmp_path / "s", f"#!/bin/sh\nexec sleep 1000 {marker}\n")
    p1 = sups.start(qtools, d)
    pid = wait_until(lambda: status_pid(d), what="up")
    wait_until(lambda: procs_with_arg(marker) == [pid], what="service exec'd")
    when = read_status(d)[0]

    os.kill(p1.pid, signal.SIGKILL)
    p1.wait()
    assert alive(pid)  # the service outlives its supervise, as with daemontools
    assert qtools.svok(d) == 100

    p2 = sups.start(qtools, d)
    # Picked up: same pid, same start time, no second copy.
    assert read_status(d)[0] == when and status_pid(d) == pid
    assert procs_with_arg(marker) == [pid]
    assert dtools.svstat(d).startswith(f"{d}: up (pid {pid}) ")

    # Commands reach the picked-up process, and its end is noticed.
    qtools.svc("-p", d)
    wait_until(lambda: proc_state(pid) == "T", what="paused")
    qtools.svc("-c", d)
    wait_until(lambda: proc_state(pid) not in ("T", None), what="continued")
    qtools.svc("-k", d)
    new = wait_until(lambda: status_pid(d) not in (0, pid) and status_pid(d), what="restart")
    wait_until(lambda: procs_with_arg(marker) == [new], what="one copy")

    # Killed again, and the service dies while no supervise watches: the
    # next supervise starts exactly one fresh copy.
    os.kill(p2.pid, signal.SIGKILL)
    p2.wait()
    os.kill(new, signal.SIGKILL)
    wait_until(lambda: not alive(new), what="service gone")
    sups.start(qtools, d)
    third = wait_until(lambda: status_pid(d) not in (0, new) and status_pid(d), what="fresh start")
    wait_until(lambda: procs_with_arg(marker) == [third], what="one fresh copy")


def test_stale_status_pid_is_not_adopted(qtools, sups, tmp_path):
    """A status naming a live process that started at another time (a reused
    pid) does not stop supervise from starting the service."""
    d = make_service(tmp_path / "s", "#!/bin/sh\nexec sleep 1000\n")
    (d / "supervise").mkdir()
    sec = (1 << 62) + 10 + int(time.time()) - 3600
    (d / "supervise" / "status").write_bytes(
        sec.to_bytes(8, "big") + bytes(4) + os.getpid().to_bytes(4, "little") + b"\0u")
    sups.start(qtools, d)
    wait_until(lambda: status_pid(d) not in (None, 0, os.getpid()), what="own service")


# ---- ./finish ----

def test_finish(qtools, sups, tmp_path):
    d = make_service(tmp_path / "s", "#!/bin/sh\necho run $$ >> log\n"
                     "if [ -e exit-code ]; then exit $(cat exit-code); fi\nexec sleep 1000\n")
    (d / "finish").write_text("#!/bin/sh\necho finish \"$@\" >> log\n")
    (d / "finish").chmod(0o755)
    (d / "down").write_text("")
    sups.start(qtools, d)

    def log():
        return (d / "log").read_text().splitlines() if (d / "log").exists() else []

    (d / "exit-code").write_text("3")
    qtools.svc("-o", d)
    wait_until(lambda: "finish 3 0" in log(), what="finish after exit 3")
    assert log()[-2].startswith("run ")

    (d / "exit-code").unlink()
    qtools.svc("-u", d)
    pid = wait_until(lambda: status_pid(d), what="up")
    # Killed before it has written its line, the run would leave no trace.
    wait_until(lambda: f"run {pid}" in log(), what="the run line")
    qtools.svc("-k", d)
    wait_until(lambda: "finish -1 9" in log(), what="finish after kill")
    # finish ran before the restart
    wait_until(lambda: len([l for l in log() if l.startswith("run ")]) == 3, what="restart")
    lines = log()
    assert lines.index("finish -1 9") < lines.index([l for l in lines if l.startswith("run ")][2])

    qtools.svc("-d", d)
    wait_until(lambda: "finish -1 15" in log(), what="finish on down")
    # A finish that is not executable is ignored.
    (d / "finish").chmod(0o644)
    n = len(log())
    qtools.svc("-o", d)
    wait_until(lambda: len(log()) == n + 1, what="run")
    qtools.svc("-k", d)
    wait_until(lambda: status_pid(d) == 0, what="down")
    qtools.svc("-u", d)
    wait_until(lambda: len(log()) == n + 2, what="run again")
    assert all(not l.startswith("finish") for l in log()[n:])


# ---- the status file ----

def test_status_written_through_rename(qtools, sups, tmp_path):
    d = make_service(tmp_path / "s", "#!/bin/sh\nexec sleep 1000\n")
    sups.start(qtools, d)
    wait_until(lambda: status_pid(d), what="up")
    st = d / "supervise" / "status"
    ino = st.stat().st_ino
    qtools.svc("-p", d)
    wait_until(lambda: read_status(d)[3] == 1, what="paused")
    assert st.stat().st_ino != ino and st.stat().st_size == 18
    assert not (d / "supervise" / "status.new").exists()
    modes = {f.name: stat.S_IMODE(f.lstat().st_mode) for f in (d / "supervise").iterdir()}
    assert modes == {"status": 0o644, "lock": 0o600, "control": 0o600, "ok": 0o600}
    assert stat.S_IMODE((d / "supervise").stat().st_mode) == 0o700


def test_idle_memory(qtools, sups, tmp_path):
    # A freshly linked binary's pages are dirty in the page cache until
    # written back, and smaps counts them: write them back first.
    fd = os.open(QBOX, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    d = make_service(tmp_path / "s", "#!/bin/sh\nexec sleep 1000\n")
    p = sups.start(qtools, d)
    wait_until(lambda: status_pid(d), what="up")
    qtools.svc("-p", d)
    qtools.svc("-c", d)
    wait_until(lambda: read_status(d)[3] == 0 and proc_state(status_pid(d)) != "T", what="idle")
    rollup = Path(f"/proc/{p.pid}/smaps_rollup").read_text()
    kib = int(next(l for l in rollup.splitlines() if l.startswith("Private_Dirty:")).split()[1])
    assert kib <= 24, rollup
