"""svscan, svscanboot, readproctitle and fghack, with real processes.

svscan runs whatever `supervise` is first in PATH, as 0.76 does; the tests
put a directory first in PATH that holds qbox's applets and, for the
daemontools programs qbox does not have yet, Debian's (see proctools).
"""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CLASSIC, run
from proctools import (alive, child_pid, children, cmdline, kill_under, make_service,
                       make_svbin, read_cmdline, stat_fields, stop_services, wait_for)

SLEEPER = "#!/bin/sh\nexec sleep 1000\n"


@pytest.fixture(scope="module")
def svbin(tmp_path_factory, qbox):
    return make_svbin(qbox, tmp_path_factory.mktemp("svbin"))


def svok(svbin, d):
    return subprocess.run([str(svbin / "svok"), str(d)]).returncode == 0


def svc(svbin, *args):
    r = subprocess.run([str(svbin / "svc")] + [str(a) for a in args], capture_output=True)
    assert r.returncode == 0 and r.stderr == b"", r.stderr


class Scanner:
    """One svscan (not process id 1) on a directory of its own."""

    def __init__(self, svbin, top, program=None, path=None):
        self.svbin = svbin
        self.top = top
        self.dir = top / "service"
        self.dir.mkdir(exist_ok=True)
        self.errfile = top / "svscan.err"
        self.env = {"PATH": path or f"{svbin}:/usr/bin:/bin"}
        self.program = program or svbin / "svscan"
        self.proc = None

    def start(self):
        with open(self.errfile, "wb") as err:
            self.proc = subprocess.Popen([str(self.program), str(self.dir)],
                                         stdout=err, stderr=subprocess.STDOUT, env=self.env)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def err(self):
        return self.errfile.read_bytes()

    def service(self, name, run=SLEEPER, log_run=None):
        return make_service(self.dir / name, run, log_run)

    def start_with(self, *names):
        """A sleeping service for each name; starts svscan and waits for them."""
        for n in names:
            self.service(n)
        self.start()
        for n in names:
            wait_for(lambda: self.up(n), 10, f"{n} to start")
        return self

    def supervise(self, name):
        return child_pid(self.pid, ["supervise", name])

    def up(self, name):
        return svok(self.svbin, self.dir / name)

    def rescan(self, marker):
        """SIGALRM, and waits for the scan it causes: a new service named
        marker must come up."""
        self.service(marker)
        os.kill(self.pid, signal.SIGALRM)
        wait_for(lambda: self.up(marker), 3, f"{marker} to start after SIGALRM")

    def close(self):
        """Takes every service out of svscan's sight, stops them while
        svscan still reaps, then stops svscan; kills what is left."""
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None and self.dir.is_dir():
                grave = self.top / "grave"
                grave.mkdir(exist_ok=True)
                for e in os.listdir(self.dir):
                    os.rename(self.dir / e, grave / e)
                stop_services(self.svbin, [grave / e for e in os.listdir(grave)
                                           if (grave / e / "run").exists()])
                wait_for(lambda: not children(self.pid), 10, "svscan's children to exit")
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(10)
            kill_under(self.top)


@pytest.fixture
def scanner(svbin, tmp_path):
    made = []

    def make(**kw):
        s = Scanner(svbin, tmp_path, **kw)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


def lines(path):
    try:
        return Path(path).read_text().splitlines()
    except FileNotFoundError:
        return []


# ---- svscan ----------------------------------------------------------------

def test_log_pipe_survives_restarts_of_service_and_logger(scanner, svbin, tmp_path):
    out = tmp_path / "out"
    sc = scanner()
    a = sc.service("a", "#!/bin/sh\necho start $$\nexec sleep 1000\n",
                   f"#!/bin/sh\nexec cat >> {out}\n")
    sc.start()
    wait_for(lambda: len(lines(out)) == 1, 10, "the first line in the log")

    svc(svbin, "-k", a)  # the service restarts, the logger keeps reading
    wait_for(lambda: len(lines(out)) == 2, 10, "the line of the restarted service")

    svc(svbin, "-k", a / "log")  # the logger restarts, the service keeps writing
    wait_for(lambda: svok(svbin, a / "log") and b"up" in run(
        [str(svbin / "svstat"), str(a / "log")]).out, 10, "the logger back up")
    svc(svbin, "-k", a)
    wait_for(lambda: len(lines(out)) == 3, 10, "a line through the new logger")

    # The service writes while no logger runs: svscan holds the pipe, so the
    # line waits in it and the next logger reads it.
    svc(svbin, "-d", a / "log")
    wait_for(lambda: b"down" in run([str(svbin / "svstat"), str(a / "log")]).out, 10,
             "the logger down")
    svc(svbin, "-k", a)
    wait_for(lambda: b"up (pid" in run([str(svbin / "svstat"), str(a)]).out and
             len(lines(out)) == 3, 10, "the service restarted")
    svc(svbin, "-u", a / "log")
    wait_for(lambda: len(lines(out)) == 4, 10, "the line written while no logger ran")

    pids = [line.split()[1] for line in lines(out)]
    assert all(line.startswith("start ") for line in lines(out))
    assert len(set(pids)) == 4
    assert sc.err() == b""


def test_alarm_rescans_at_once_and_dot_names_are_ignored(scanner, svbin):
    sc = scanner().start_with("a")

    sc.service(".hidden")
    (sc.dir / "file").write_text("not a directory\n")
    sc.rescan("b")
    assert sc.proc.poll() is None, "svscan died of SIGALRM"
    assert not (sc.dir / ".hidden" / "supervise").exists()
    assert not any(cmd[:1] == ["supervise"] and cmd[1:] == [".hidden"]
                   for _, cmd in children(sc.pid))

    # The periodic scan is 5 seconds after the last one: a directory made now
    # stays unseen for a while (absence cannot be polled: observe 1 second),
    # and SIGALRM picks it up at once.
    sc.service("c")
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        assert not (sc.dir / "c" / "supervise").exists(), "scanned without SIGALRM"
        time.sleep(0.05)
    os.kill(sc.pid, signal.SIGALRM)
    wait_for(lambda: sc.up("c"), 3, "c to start after SIGALRM")
    assert sc.err() == b""


def test_vanished_directory_is_forgotten_not_killed(scanner, svbin, tmp_path):
    sc = scanner().start_with("b")
    pid = sc.supervise("b")
    assert pid

    away = tmp_path / "away"
    away.mkdir()
    os.rename(sc.dir / "b", away / "b")
    sc.rescan("m1")
    assert alive(pid), "svscan killed the supervise of a vanished directory"

    # Once its supervise exits it is not started again...
    svc(svbin, "-dx", away / "b")
    wait_for(lambda: not alive(pid), 10, "supervise b to exit")
    sc.rescan("m2")
    assert sc.supervise("b") is None
    assert not svok(svbin, away / "b")

    # ...and coming back makes it a new service.
    os.rename(away / "b", sc.dir / "b")
    os.kill(sc.pid, signal.SIGALRM)
    wait_for(lambda: sc.up("b"), 3, "b to start again")
    assert sc.supervise("b") not in (None, pid)
    assert sc.err() == b""


def test_supervise_that_exits_is_started_again(scanner, svbin):
    sc = scanner().start_with("a")
    a = sc.dir / "a"
    pid = sc.supervise("a")
    svc(svbin, "-x", a)
    svc(svbin, "-k", a)  # the service dies and supervise exits with it
    wait_for(lambda: not alive(pid), 10, "supervise a to exit")
    os.kill(sc.pid, signal.SIGALRM)
    wait_for(lambda: sc.up("a"), 3, "a supervised again")
    assert sc.supervise("a") not in (None, pid)


def test_sigterm_outside_pid1_is_classic(scanner, svbin):
    """Not process id 1: SIGTERM kills svscan as in 0.76, the services stay."""
    sc = scanner().start_with("a")
    os.kill(sc.pid, signal.SIGTERM)
    assert sc.proc.wait(5) == -signal.SIGTERM
    assert sc.up("a")
    stop_services(svbin, [sc.dir / "a"])


def test_reaps_children_at_once(scanner, svbin):
    """A supervise that exits does not stay a zombie until the next scan."""
    sc = scanner().start_with("a")
    a = sc.dir / "a"
    pid = sc.supervise("a")
    svc(svbin, "-dx", a)
    wait_for(lambda: stat_fields(pid) is None, 2, "the exited supervise to be reaped")


def first_scan_warnings(program, top, expect, path="/nonexistent"):
    """Runs an svscan on top/service with no supervise in PATH; returns its
    warnings once `expect(lines)` holds."""
    with open(top / "err", "wb") as err:
        p = subprocess.Popen([str(program), str(top / "service")], stdout=err,
                             stderr=subprocess.STDOUT, env={"PATH": path})
    try:
        return wait_for(lambda: (lambda ls: ls if expect(ls) else None)(
            (top / "err").read_bytes().splitlines()), 60, f"warnings of {program}")
    finally:
        p.kill()
        p.wait()


def test_warnings_match_daemontools(svbin, tmp_path):
    top = tmp_path
    (top / "service").mkdir()
    make_service(top / "service" / "a", SLEEPER, SLEEPER)
    make_service(top / "service" / "b", SLEEPER)
    (top / "service" / "dangling").symlink_to(top / "nowhere")

    def expect(ls):
        return len(ls) >= 4
    theirs = first_scan_warnings(CLASSIC / "svscan", top, expect)
    ours = first_scan_warnings(svbin / "svscan", top, expect)
    assert sorted(ours[:4]) == sorted(theirs[:4])
    assert set(ours[:4]) == {
        b"svscan: warning: unable to stat dangling: file does not exist",
        b"svscan: warning: unable to start supervise a: file does not exist",
        b"svscan: warning: unable to start supervise a/log: file does not exist",
        b"svscan: warning: unable to start supervise b: file does not exist"}


def test_at_most_1000_services(svbin, tmp_path):
    (tmp_path / "service").mkdir()
    for i in range(1001):
        (tmp_path / "service" / f"s{i:04}").mkdir()

    def expect(ls):
        starts = [x for x in ls if b"unable to start supervise" in x]
        return len(starts) >= 1000 and any(b"too many" in x for x in ls)
    theirs = first_scan_warnings(CLASSIC / "svscan", tmp_path, expect)
    ours = first_scan_warnings(svbin / "svscan", tmp_path, expect)
    too_many = [x for x in ours if b"too many" in x]
    assert too_many == [x for x in theirs if b"too many" in x]
    assert len(too_many) == 1
    assert too_many[0].startswith(b"svscan: warning: unable to start s")
    assert too_many[0].endswith(b": running too many services")


@pytest.mark.parametrize("args", [["/nonexistent"], ["/nonexistent", "extra"]])
def test_chdir_failure(compare, args):
    compare.same("svscan", args)


# ---- svscan as process id 1 -------------------------------------------------

def can_unshare():
    if os.geteuid() != 0:
        return False
    r = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"],
                       capture_output=True)
    return r.returncode == 0


needs_unshare = pytest.mark.skipif(not can_unshare(),
                                   reason="needs root and unshare --pid --mount-proc")


class Init:
    """svscan as process id 1 of a PID namespace made by unshare."""

    def __init__(self, svbin, top):
        self.top = top
        self.dir = top / "service"
        self.dir.mkdir()
        self.err = open(top / "svscan.err", "wb")

    def start(self, svbin):
        self.unshare = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", str(svbin / "svscan"),
             str(self.dir)],
            stdout=self.err, stderr=subprocess.STDOUT, env={"PATH": f"{svbin}:/usr/bin:/bin"})
        self.pid = wait_for(lambda: (children(self.unshare.pid) or [(None,)])[0][0], 10,
                            "svscan in the namespace")
        self.ns = os.readlink(f"/proc/{self.pid}/ns/pid")

    def in_namespace(self):
        out = []
        for pid in [int(n) for n in os.listdir("/proc") if n.isdigit()]:
            try:
                if os.readlink(f"/proc/{pid}/ns/pid") == self.ns:
                    out.append(pid)
            except OSError:
                pass
        return out

    def zombies(self):
        return [p for p in self.in_namespace() if (stat_fields(p) or ("",))[0] == "Z"]

    def close(self):
        try:
            if self.unshare.poll() is None:
                os.kill(self.pid, signal.SIGKILL)  # the whole namespace goes with it
                self.unshare.wait(10)
        finally:
            self.err.close()
            kill_under(self.top)


@pytest.fixture
def init(svbin, tmp_path):
    i = Init(svbin, tmp_path)
    yield i
    if hasattr(i, "unshare"):
        i.close()


REPORTER = """import os, sys, time
out = sys.argv[1]
seq = 0
while True:
    seq += 1
    z = []
    for n in os.listdir("/proc"):
        if n.isdigit():
            try:
                with open("/proc/%s/stat" % n, "rb") as f:
                    s = f.read()
            except OSError:
                continue
            if s[s.rindex(b")") + 2:][:1] == b"Z":
                z.append(n)
    with open(out + ".tmp", "w") as f:
        f.write("%d %d\\n" % (seq, len(z)))
    os.rename(out + ".tmp", out)
    time.sleep(0.05)
"""


@needs_unshare
def test_pid1_reaps_orphans_and_stops_cleanly(init, svbin, tmp_path):
    out, rec, marks, report = (tmp_path / n for n in ("out", "rec", "marks", "report"))
    marks.mkdir()
    # A service that leaves a child behind when TERM stops it (the orphan
    # keeps the log pipe open), and says goodbye on the pipe.
    make_service(init.dir / "a",
                 f"#!/bin/sh\ntrap 'echo bye; echo term >> {rec}; exit 0' TERM\n"
                 "echo hello\nsleep 1000 & wait\n",
                 f"#!/bin/sh\nexec cat >> {out}\n")
    # A service whose grandchildren are orphaned and exit later.
    make_service(init.dir / "z",
                 "#!/bin/sh\nfor i in 1 2 3 4 5; do\n"
                 f"  ( sh -c \"sleep 0.$i; : > {marks}/$i\" & )\ndone\nexec sleep 1000\n")
    (tmp_path / "reporter.py").write_text(REPORTER)
    make_service(init.dir / "report",
                 f"#!/bin/sh\nexec /usr/bin/python3 {tmp_path}/reporter.py {report}\n")
    init.start(svbin)

    wait_for(lambda: lines(out) == ["hello"], 10, "the service's first line in the log")
    wait_for(lambda: len(os.listdir(marks)) == 5, 10, "the orphans to finish")
    seq0 = int(wait_for(lambda: report.exists() and lines(report), 10, "a report")[0].split()[0])

    # Inside the namespace, as the reporting service sees it...
    def clean_report():
        r = lines(report)
        return r and int(r[0].split()[0]) >= seq0 + 2 and int(r[0].split()[1]) == 0
    wait_for(clean_report, 2, "a report without zombies")
    # ...and from outside.
    wait_for(lambda: not init.zombies(), 2, "no zombie in the namespace")

    t0 = time.monotonic()
    os.kill(init.pid, signal.SIGTERM)
    rc = init.unshare.wait(15)
    elapsed = time.monotonic() - t0
    assert rc == 0
    assert lines(rec) == ["term"]
    assert lines(out) == ["hello", "bye"]  # the logger drained the pipe
    # Orphans holding the log pipe were stopped at once, not after 5 seconds.
    assert elapsed < 4.5, elapsed
    assert (tmp_path / "svscan.err").read_bytes() == b""


@needs_unshare
def test_pid1_stop_is_bounded(init, svbin, tmp_path):
    # A service that ignores SIGTERM: its supervise waits for it forever.
    make_service(init.dir / "stubborn", "#!/bin/sh\ntrap '' TERM\nexec sleep 1000\n")
    init.start(svbin)
    wait_for(lambda: svok(svbin, init.dir / "stubborn"), 10, "stubborn to start")
    wait_for(lambda: any(cmdline(p) == ["sleep", "1000"] for p in init.in_namespace()), 10,
             "the stubborn service to run")
    t0 = time.monotonic()
    os.kill(init.pid, signal.SIGINT)
    rc = init.unshare.wait(20)
    elapsed = time.monotonic() - t0
    assert rc == 0
    assert 9.5 < elapsed < 13, elapsed


# ---- svscanboot --------------------------------------------------------------

def test_svscanboot(svbin, tmp_path):
    """svscanboot DIR: stops leftover supervises, then runs svscan DIR with
    its messages in readproctitle's title, both with only PATH set."""
    d = tmp_path / "service"
    d.mkdir()
    envfile = tmp_path / "env"
    a = make_service(d / "a", f"#!/bin/sh\nenv > {envfile}\necho hello-boot >&2\n"
                              "exec sleep 1000\n")
    # A supervise left from an earlier boot: svscanboot must tell it to go.
    old = subprocess.Popen(["/usr/bin/supervise", str(a)], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    boot = None
    try:
        wait_for(lambda: svok(svbin, a), 10, "the old supervise")
        wait_for(envfile.exists, 10, "the old service")
        envfile.unlink()
        boot = subprocess.Popen([str(svbin / "svscanboot"), str(d)],
                                env={"PATH": "/usr/bin:/bin", "QBOX_TEST_MARK": "leak"})
        assert old.wait(10) == 0
        # A child just forked still shows svscanboot's command line, and
        # /proc/PID/cmdline reads empty while a process starts or exits:
        # both are read again until they show the programs.
        def by_name():
            kids = children(boot.pid)
            names = {cmd[0]: pid for pid, cmd in kids if cmd}
            return names if len(kids) == 2 and set(names) == {"svscan", "readproctitle"} else None
        by_name = wait_for(by_name, 10, "svscan and readproctitle")
        assert read_cmdline(by_name["svscan"]) == ["svscan", str(d)]
        title = by_name["readproctitle"]
        assert read_cmdline(title)[:3] == ["readproctitle", "service", "errors:"]
        assert len(read_cmdline(title)[3]) == 400

        def title_text():
            c = cmdline(title)
            return c[3] if c and len(c) > 3 else ""
        # The service's stderr goes through svscan's into the title.
        wait_for(lambda: "hello-boot\n" in title_text(), 10, "the message in the title")
        assert read_cmdline(title)[3].startswith("...")
        env = wait_for(lambda: envfile.exists() and envfile.read_text(), 10, "the new service")
        assert "QBOX_TEST_MARK" not in env
        assert ("PATH=/command:/usr/local/bin:/usr/local/sbin:/bin:/sbin:/usr/bin:"
                "/usr/sbin:/usr/X11R6/bin") in env.splitlines()
        scan = by_name["svscan"]
        grave = tmp_path / "grave"
        grave.mkdir()
        os.rename(a, grave / "a")
        stop_services(svbin, [grave / "a"])
        wait_for(lambda: not children(scan), 10, "svscan's children to exit")
        os.kill(scan, signal.SIGTERM)
        # readproctitle then reads the end of its input; svscanboot reports it.
        assert boot.wait(10) == 0
    finally:
        for p in (old, boot):
            if p and p.poll() is None:
                for pid, _ in children(p.pid):
                    os.kill(pid, signal.SIGKILL)
                p.kill()
                p.wait()
        kill_under(tmp_path)


# ---- readproctitle -----------------------------------------------------------

@pytest.mark.parametrize("args", [[], ["abcd"], ["io", "abc"], ["....."],
                                  ["io", "errors:", "...................."]])
def test_readproctitle_exit_codes(compare, args):
    compare.same("readproctitle", args, input=b"some\0input\n")


def test_readproctitle_read_error(applet_bin, tmp_path):
    codes = []
    for prog in (applet_bin / "readproctitle", CLASSIC / "readproctitle"):
        fd = os.open(tmp_path, os.O_RDONLY)  # reading a directory fails
        try:
            r = subprocess.run([str(prog), "io", "....."], stdin=fd, capture_output=True)
        finally:
            os.close(fd)
        codes.append((r.returncode, r.stdout, r.stderr))
    assert codes[0] == codes[1] == (111, b"", b"")


def title_model(length, data):
    t = "." * length
    for ch in data.decode("latin-1"):
        if ch != "\0":
            t = t[:3] + t[4:] + ch
    return t


def test_readproctitle_shows_input_in_cmdline(applet_bin):
    dots = "." * 20
    procs = [subprocess.Popen([str(prog), "io", "errors:", dots], stdin=subprocess.PIPE)
             for prog in (applet_bin / "readproctitle", CLASSIC / "readproctitle")]
    try:
        sent = b""
        for chunk in (b"abc", b"\0de\0f", b"0123456789abcdefghij-long-line\n", b"x",
                      bytes(range(1, 40))):
            sent += chunk
            want = title_model(len(dots), sent)
            for p in procs:
                p.stdin.write(chunk)
                p.stdin.flush()
            for p in procs:
                # An empty read (cmdline can read empty for an instant) is
                # not the title: read again.
                wait_for(lambda: (cmdline(p.pid) or [])[1:] == ["io", "errors:", want],
                         30, f"title {want!r}")
        for p in procs:
            p.stdin.close()
            assert p.wait(5) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


# ---- fghack ------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    [], ["/nonexistent/prog"], ["nonexistent-prog"],
    ["sh", "-c", "exit 7"], ["sh", "-c", "echo out; echo err >&2"],
    ["sh", "-c", "kill -9 $$"],
    ["ls", "/proc/self/fd"],  # the 30 extra descriptors, at the same numbers
])
def test_fghack_matches(compare, args):
    compare.same("fghack", args)


@pytest.mark.parametrize("prog", ["qbox", "classic"])
def test_fghack_waits_for_background_child(applet_bin, tmp_path, prog):
    exe = applet_bin / "fghack" if prog == "qbox" else CLASSIC / "fghack"
    mark = tmp_path / "mark"
    r = subprocess.run([str(exe), "sh", "-c", f"(sleep 0.5; : > {mark}) & exit 3"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=10)
    assert r.returncode == 3
    assert mark.exists()
