"""multilog against Debian's daemontools multilog (0.76).

Both programs get the same script and the same input, each in a directory
of its own; the log directories they leave must be the same: file names
(archive timestamps replaced by @T), modes and contents (with `t`, the
timestamps removed). Then the two take turns on one log directory, recover
each other's leftovers after a kill -9, and qbox's multilog survives write
failures from a file size limit and a full disk.
"""
import fcntl
import os
import random
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import conftest

DEBIAN = "/usr/bin/multilog"
SOFTLIMIT = "/usr/bin/softlimit"
STAMP = re.compile(rb"^@[0-9a-f]{24} ", re.M)
ARCHIVE = re.compile(r"^@[0-9a-f]{24}\.([su])$")


# ---- helpers ----------------------------------------------------------------

def wait_for(cond, timeout=30.0, what="condition"):
    return conftest.wait_for(cond, timeout, what)




def read(path):
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return None


def archives(d):
    """The archive names in d, oldest first."""
    return sorted(n for n in os.listdir(d) if ARCHIVE.match(n))


def snapshot(d, strip=False):
    """Names (archive stamps as @T), modes and contents of a log directory."""
    out = []
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        st = os.lstat(p)
        data = Path(p).read_bytes()
        if strip:
            data = STAMP.sub(b"", data)
        m = ARCHIVE.match(name)
        out.append(("@T." + m.group(1) if m else name, oct(st.st_mode & 0o7777), data))
    return out


def logged(d, strip=False):
    """Everything in d's archives and current, in order."""
    data = b"".join(Path(d, n).read_bytes() for n in archives(d))
    data += read(os.path.join(d, "current")) or b""
    return STAMP.sub(b"", data) if strip else data


def signal_pending(pid, sig):
    bit = 1 << (sig - 1)
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("SigPnd:", "ShdPnd:")) and int(line.split()[1], 16) & bit:
                return True
    return False


def send(p, sig):
    """Sends sig and waits until the process has taken it."""
    p.send_signal(sig)
    wait_for(lambda: p.poll() is not None or not signal_pending(p.pid, sig),
             what=f"signal {sig} taken")


def lines(n, width=100, seed=1, prefix=b""):
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        head = prefix + b"%06d " % i
        body = bytes(rnd.choice(b"abcdefghij xyz*-") for _ in range(max(0, width - 1 - len(head))))
        out.append(head + body + b"\n")
    return b"".join(out)


class Live:
    """A multilog fed through a pipe whose read end the test keeps too, so
    that what multilog leaves unread can be read afterwards."""

    def __init__(self, argv, cwd, errpath=None):
        self.r, self.w = os.pipe()
        self.errpath = Path(errpath or Path(cwd) / "stderr")
        with open(self.errpath, "wb") as err:
            self.p = subprocess.Popen(argv, stdin=self.r, stderr=err, cwd=cwd)

    def write(self, data):
        os.write(self.w, data)

    def close(self):
        if self.w >= 0:
            os.close(self.w)
            self.w = -1

    def leftover(self):
        os.set_blocking(self.r, False)
        try:
            return os.read(self.r, 65536)
        except BlockingIOError:
            return b""

    def err(self):
        return self.errpath.read_bytes()

    def wait(self, timeout=20):
        return self.p.wait(timeout=timeout)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.close()
        if self.r >= 0:
            os.close(self.r)
            self.r = -1


@pytest.fixture
def ml(applet_bin):
    return {"qbox": str(applet_bin / "multilog"), "debian": DEBIAN}


@pytest.fixture
def live():
    started = []
    pids = []

    def start(argv, cwd, errpath=None):
        lv = Live(argv, cwd, errpath)
        started.append(lv)
        return lv

    start.pids = pids
    yield start
    for lv in started:
        lv.kill()
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_ml(binary, script, data, cwd, timeout=60):
    cwd = Path(cwd)
    cwd.mkdir(parents=True, exist_ok=True)
    src = cwd / "input"
    src.write_bytes(data)
    with open(src, "rb") as f:
        p = subprocess.run([binary] + script, stdin=f, cwd=cwd, capture_output=True,
                           timeout=timeout)
    src.unlink()
    return p


def both(ml, tmp_path, script, data, strip=False):
    """Runs both on the same input; asserts the same exit, output and files."""
    res = {}
    for who in ("qbox", "debian"):
        p = run_ml(ml[who], script, data, tmp_path / who)
        res[who] = (p.returncode, p.stdout, p.stderr)
    assert res["qbox"] == res["debian"]
    for a in script:
        if a[:1] == ".":
            assert snapshot(tmp_path / "qbox" / a, strip) == snapshot(tmp_path / "debian" / a, strip), a
        if a[:1] == "=":
            ours, theirs = (read(tmp_path / w / a[1:]) for w in ("qbox", "debian"))
            if strip:
                ours, theirs = STAMP.sub(b"", ours), STAMP.sub(b"", theirs)
            assert ours == theirs, a
    return res["qbox"]


def mixed_input(seed, n=300):
    """Lines of many lengths: empty, around 512 and 1000, and longer than
    a whole log file."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        k = rnd.choice([0, 1, 7, 60, 100, 100, 100, 511, 512, 513, 973, 974, 975,
                        999, 1000, 1001, 2100, 5000])
        out.append(bytes(rnd.choice(b"abcxyz *-:") for _ in range(k)))
    return b"\n".join(out)


# ---- the same logs as 0.76 -----------------------------------------------

def test_plain_log_and_modes(ml, tmp_path):
    both(ml, tmp_path, ["./log"], b"one\ntwo\n\nthree")
    d = tmp_path / "qbox" / "log"
    assert read(d / "current") == b"one\ntwo\n\nthree\n"
    assert oct(d.stat().st_mode & 0o777) == "0o700"
    assert oct((d / "current").stat().st_mode & 0o777) == "0o744"
    assert oct((d / "lock").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("script", [
    ["-*", "+*a*", "./a", "-*b*", "./b"],
    ["+*", "-*x*", "./log", "+*x", "./x"],
    ["-*", "+a*b", "./ab", "+*:*", "-* *", "./colon"],
    ["./all", "-*", "+", "./empty-lines"],
    ["-**", "./nostar", "+*", "-***", "./star"],
])
def test_patterns(ml, tmp_path, script):
    both(ml, tmp_path, script, mixed_input(7) + b"\na*b\nab\naxb\na-b-b\nx:y\n")


@pytest.mark.parametrize("script", [
    ["e"],
    ["-*", "+*a*", "e", "./log"],
    ["=status"],
    ["+*z*", "=status", "-*", "+*x*", "=other", "./log"],
    ["e", "-*", "=status"],
])
def test_alert_and_status(ml, tmp_path, script):
    data = mixed_input(3, 40) + b"\n" + b"\n".join(b"a" * k for k in (199, 200, 201, 1000, 1001))
    data += b"\nlast z line\n"
    both(ml, tmp_path, script, data)
    if "=status" in script and script[0] != "e":
        st = read(tmp_path / "qbox" / "status")
        assert len(st) == 1001


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("script", [
    ["s4096", "n3", "./log"],
    ["s5000", "./log"],
    ["s4097", "n100", "./log", "s6000", "n2", "./other"],
    ["sfoo", "n", "./log"],
    ["s99999999999999999999999", "n1", "./log"],
])
def test_rotation(ml, tmp_path, script, seed):
    both(ml, tmp_path, script, mixed_input(seed) + random.Random(seed).choice([b"\n", b"", b"x"]))


def test_rotation_long_run(ml, tmp_path):
    # 100-byte lines through many rotations, the oldest removed by n5.
    both(ml, tmp_path, ["s4096", "n5", "./log"], lines(2000))
    assert len(archives(tmp_path / "qbox" / "log")) == 4


def test_long_lines(ml, tmp_path):
    # Patterns, e and = see the first 1000 bytes; the directory gets it all.
    data = b"x" * 1200 + b"M\n" + b"y" * 999 + b"M\n" + b"short M\n" + b"z" * 3000
    both(ml, tmp_path, ["-*", "+*M*", "./m", "e", "=st", "+*", "./all"], data)
    d = tmp_path / "qbox"
    assert read(d / "m" / "current") == b"y" * 999 + b"M\n" + b"short M\n"
    assert read(d / "all" / "current") == data + b"\n"
    assert read(d / "st") == b"short M" + b"\n" * (1001 - 7)


def test_absolute_directory(ml, tmp_path):
    data = lines(100)
    for who in ("qbox", "debian"):
        d = tmp_path / who / "abs"
        d.parent.mkdir()
        p = run_ml(ml[who], ["s4096", str(d)], data, tmp_path / "elsewhere")
        assert p.returncode == 0
    assert snapshot(tmp_path / "qbox" / "abs") == snapshot(tmp_path / "debian" / "abs")
    assert logged(tmp_path / "qbox" / "abs") == data


def test_timestamps(ml, tmp_path):
    data = mixed_input(11, 200)
    # (a pattern with a-f could match the timestamp itself)
    both(ml, tmp_path, ["t", "s4096", "n4", "./log", "-*", "+*z*", "=st"], data, strip=True)
    d = tmp_path / "qbox" / "log"
    now = time.time()
    for line in (d / "current").read_bytes().splitlines():
        m = re.match(rb"^@([0-9a-f]{16})([0-9a-f]{8}) ", line)
        assert m, line
        assert abs(int(m.group(1), 16) - (1 << 62) - 10 - now) < 60
        assert int(m.group(2), 16) < 10**9
    for name in archives(d):
        assert abs(int(name[1:17], 16) - (1 << 62) - 10 - now) < 60


def test_timestamp_only_first(ml, tmp_path):
    both(ml, tmp_path, ["./log", "t"], b"no stamps\n")
    assert read(tmp_path / "qbox" / "log" / "current") == b"no stamps\n"


@pytest.mark.parametrize("processor", [
    "sh -c 'cat; echo done'",
    "cat; (cat <&4; echo rotated) >&5",
    "tr a-z A-Z; echo state >&5",
])
def test_processor(ml, tmp_path, processor):
    both(ml, tmp_path, ["s4096", "n4", "!" + processor, "./log"], lines(200, seed=4))
    d = tmp_path / "qbox" / "log"
    assert not {"previous", "processed", "newstate"} & set(os.listdir(d))
    if "rotated" in processor:
        state = read(d / "state")
        assert state == b"rotated\n" * state.count(b"\n") and state.count(b"\n") >= 5


def test_processor_sees_its_descriptors(ml, tmp_path):
    # In the log directory, with previous on 0, processed on 1, state on 4
    # and newstate on 5, and nothing else of multilog's.
    proc = "!cat; (test -f lock && echo in-log; ls /proc/$$/fd | sort -n | tr '\\n' ' ') >&5"
    both(ml, tmp_path, ["s4096", proc, "./log"], lines(60))
    assert read(tmp_path / "qbox" / "log" / "state") == b"in-log\n0 1 2 4 5 "


def test_processor_failure_retries(ml, tmp_path, live):
    # The processor fails once, then works: a warning and a 5 second pause.
    proc = "!test -e ../ok || { touch ../ok; exit 1; }; cat"
    runs = {}
    for who in ("qbox", "debian"):
        (tmp_path / who).mkdir()
        runs[who] = live([ml[who], "s4096", proc, "./log"], tmp_path / who)
        runs[who].write(lines(30))
        runs[who].close()
    for who, lv in runs.items():
        assert lv.wait(30) == 0
    assert runs["qbox"].err() == runs["debian"].err() == \
        b"multilog: warning: processor failed in ./log, pausing\n"
    assert snapshot(tmp_path / "qbox" / "log") == snapshot(tmp_path / "debian" / "log")


# ---- signals ---------------------------------------------------------------

@pytest.mark.parametrize("script", [["./log"], ["!cat; echo done", "./log"]])
def test_alarm_rotates(ml, tmp_path, live, script):
    runs = {}
    for who in ("qbox", "debian"):
        (tmp_path / who).mkdir()
        runs[who] = live([ml[who]] + script, tmp_path / who)
    for who, lv in runs.items():
        d = tmp_path / who / "log"
        lv.write(b"one\ntwo\n")
        wait_for(lambda: read(d / "current") == b"one\ntwo\n", what="lines in current")
        send(lv.p, signal.SIGALRM)
        wait_for(lambda: len(archives(d)) == 1 and read(d / "current") == b"", what="rotation")
        # Nothing in current: an ALRM does not rotate.
        send(lv.p, signal.SIGALRM)
        lv.write(b"three\n")
        wait_for(lambda: read(d / "current") == b"three\n", what="three")
        lv.close()
        assert lv.wait() == 0
    assert snapshot(tmp_path / "qbox" / "log") == snapshot(tmp_path / "debian" / "log")
    assert runs["qbox"].err() == runs["debian"].err() == b""


def test_term_finishes_the_line(ml, tmp_path, live):
    runs = {}
    for who in ("qbox", "debian"):
        (tmp_path / who).mkdir()
        lv = runs[who] = live([ml[who], "./log"], tmp_path / who)
        d = tmp_path / who / "log"
        lv.write(b"a\npar")
        wait_for(lambda: read(d / "current") == b"a\n", what="first line")
        send(lv.p, signal.SIGTERM)
        assert lv.p.poll() is None  # still reading the line
        lv.write(b"tial\nb\n")
        assert lv.wait() == 0
        assert lv.leftover() == b"b\n"  # not read: for the next multilog
    assert snapshot(tmp_path / "qbox" / "log") == snapshot(tmp_path / "debian" / "log")
    assert read(tmp_path / "qbox" / "log" / "current") == b"a\npartial\n"


def test_term_between_lines_exits_at_once(ml, tmp_path, live):
    for who in ("qbox", "debian"):
        (tmp_path / who).mkdir()
        lv = live([ml[who], "./log"], tmp_path / who)
        d = tmp_path / who / "log"
        lv.write(b"a\n")
        wait_for(lambda: read(d / "current") == b"a\n", what="first line")
        lv.p.send_signal(signal.SIGTERM)
        assert lv.wait() == 0
        assert oct((d / "current").stat().st_mode & 0o777) == "0o744"
    assert snapshot(tmp_path / "qbox" / "log") == snapshot(tmp_path / "debian" / "log")


# ---- taking turns with Debian's multilog ---------------------------------

@pytest.mark.parametrize("order", [("debian", "qbox"), ("qbox", "debian")])
def test_continue_each_others_log(ml, tmp_path, order):
    script = ["s4096", "n20", "./log"]
    part1, part2 = lines(70, seed=1, prefix=b"p1 "), lines(70, seed=2, prefix=b"p2 ")
    run_ml(ml[order[0]], script, part1, tmp_path / "mixed")
    assert run_ml(ml[order[1]], script, part2, tmp_path / "mixed").returncode == 0
    # The same as one program doing both parts.
    run_ml(DEBIAN, script, part1, tmp_path / "alone")
    run_ml(DEBIAN, script, part2, tmp_path / "alone")
    assert snapshot(tmp_path / "mixed" / "log") == snapshot(tmp_path / "alone" / "log")
    assert logged(tmp_path / "mixed" / "log") == part1 + part2


HANGING = "cat; echo $$ >../processor.pid; exec sleep 600"


def crash_in_processor(binary, cwd, live):
    """Runs multilog until its processor runs, then kills both with -9."""
    cwd.mkdir(parents=True, exist_ok=True)
    lv = live([binary, "s4096", "!" + HANGING, "./log"], cwd)
    lv.write(lines(30, seed=5))  # 3000 bytes: rotates after 2500
    pid = int(wait_for(lambda: (read(cwd / "processor.pid") or b"").strip(), what="processor"))
    live.pids.append(pid)
    lv.p.kill()
    lv.p.wait()
    os.kill(pid, signal.SIGKILL)
    (cwd / "processor.pid").unlink()
    return cwd / "log"


@pytest.mark.parametrize("crasher", ["qbox", "debian"])
def test_recover_after_crash_in_processor(ml, tmp_path, live, crasher):
    d = crash_in_processor(ml[crasher], tmp_path / "crash", live)
    names = set(os.listdir(d))
    assert {"previous", "processed", "newstate", "state", "current"} <= names
    # Both leave the same leftovers...
    other = "debian" if crasher == "qbox" else "qbox"
    d2 = crash_in_processor(ml[other], tmp_path / "crash2", live)
    assert snapshot(d) == snapshot(d2)
    # ...and each recovers them as the other does: previous and current
    # become .u files, the unfinished processed goes.
    for variant in ("unfinished", "finished"):
        for who in ("qbox", "debian"):
            w = tmp_path / variant / who
            shutil.copytree(d, w / "log")
            if variant == "finished":
                os.chmod(w / "log" / "processed", 0o744)
            assert run_ml(ml[who], ["s4096", "./log"], b"after\n", w).returncode == 0
        assert snapshot(tmp_path / variant / "qbox" / "log") == \
            snapshot(tmp_path / variant / "debian" / "log")
        got = tmp_path / variant / "qbox" / "log"
        kinds = [n[-1] for n in archives(got)]
        assert kinds == (["u", "u"] if variant == "unfinished" else ["s", "u"])
        assert logged(got) == lines(30, seed=5)[:2500] + b"after\n"
        assert not {"previous", "processed", "newstate"} & set(os.listdir(got))


@pytest.mark.parametrize("crasher,recoverer",
                         [("qbox", "qbox"), ("qbox", "debian"), ("debian", "qbox")])
def test_recover_after_kill(ml, tmp_path, live, crasher, recoverer):
    lv = live([ml[crasher], "t", "./log"], tmp_path)
    d = tmp_path / "log"
    data = lines(20)
    lv.write(data)
    wait_for(lambda: read(d / "current") and STAMP.sub(b"", read(d / "current")) == data,
             what="lines in current")
    lv.p.kill()
    lv.p.wait()
    assert oct((d / "current").stat().st_mode & 0o777) == "0o644"
    assert run_ml(ml[recoverer], ["t", "./log"], b"after\n", tmp_path).returncode == 0
    assert [n[-1] for n in archives(d)] == ["u"]
    assert logged(d, strip=True) == data + b"after\n"


def test_lock(ml, tmp_path, applet_bin):
    (tmp_path / "log").mkdir()
    with open(tmp_path / "log" / "lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        for who in ("qbox", "debian"):
            p = run_ml(ml[who], ["./log"], b"x\n", tmp_path)
            assert (p.returncode, p.stderr) == \
                (111, b"multilog: fatal: unable to lock directory ./log: temporary failure\n")


def test_lock_held_by_the_other(ml, tmp_path, live):
    for holder, other in (("qbox", "debian"), ("debian", "qbox")):
        w = tmp_path / holder
        w.mkdir()
        lv = live([ml[holder], "./log"], w)
        wait_for(lambda: (w / "log" / "current").exists(), what="log started")
        p = run_ml(ml[other], ["./log"], b"x\n", w)
        assert p.returncode == 111
        assert p.stderr == b"multilog: fatal: unable to lock directory ./log: temporary failure\n"
        lv.close()
        assert lv.wait() == 0


# ---- write failures ----------------------------------------------------------

@pytest.mark.parametrize("how", ["alarm", "wait"])
def test_file_size_limit(ml, tmp_path, live, how):
    # softlimit -f 3000: current stops growing at 3000 bytes, writes fail
    # with EFBIG. multilog says so and pauses; then (after an ALRM, or by
    # itself after the pause) it goes on in a new current.
    data = lines(50, seed=9)
    lv = live([SOFTLIMIT, "-f", "3000", ml["qbox"], "./log"], tmp_path)
    lv.write(data)
    warning = b"multilog: warning: unable to write to ./log/current, pausing: file too big\n"
    wait_for(lambda: lv.err() == warning, what="the warning")
    if how == "alarm":
        send(lv.p, signal.SIGALRM)
    lv.close()
    assert lv.wait(timeout=30) == 0
    d = tmp_path / "log"
    assert lv.err() == warning
    assert logged(d) == data
    assert all((d / n).stat().st_size <= 3000 for n in os.listdir(d))
    assert [n[-1] for n in archives(d)] == ["s"]


def test_file_size_limit_with_ulimit(ml, tmp_path, live):
    # The same through the shell's ulimit (512-byte blocks): the limit falls
    # inside a line, which is taken back and goes whole to the new current.
    data = lines(60, seed=10, width=97)
    lv = live(["sh", "-c", 'ulimit -f 8 && exec "$0" ./log', ml["qbox"]], tmp_path)
    lv.write(data)
    warning = b"multilog: warning: unable to write to ./log/current, pausing: file too big\n"
    wait_for(lambda: lv.err() == warning, what="the warning")
    send(lv.p, signal.SIGALRM)
    lv.close()
    assert lv.wait(timeout=30) == 0
    d = tmp_path / "log"
    assert logged(d) == data
    (first,) = archives(d)
    assert (d / first).stat().st_size == 4096 // 97 * 97
    assert read(d / "current") == data[4096 // 97 * 97:]


@pytest.fixture
def tiny_fs(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=True)


def test_disk_full(ml, live, tiny_fs):
    lv = live([ml["qbox"], "./log"], tiny_fs, errpath=tiny_fs.parent / "stderr")
    wait_for(lambda: (tiny_fs / "log" / "current").exists(), what="log started")
    # Fill the file system.
    fd = os.open(tiny_fs / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096) > 0:
            pass
    except OSError:
        pass
    os.close(fd)
    data = lines(100, seed=12)
    lv.write(data)
    warning = b"multilog: warning: unable to write to ./log/current, pausing: out of disk space\n"
    wait_for(lambda: lv.err().startswith(warning), what="the warning")
    (tiny_fs / "filler").unlink()
    lv.close()
    assert lv.wait(timeout=30) == 0
    assert set(lv.err().splitlines(keepends=True)) == {warning}
    assert logged(tiny_fs / "log") == data


# ---- errors -------------------------------------------------------------------

def same_error(ml, cwd, script, data=b"x\n"):
    res = [run_ml(ml[who], script, data, cwd) for who in ("qbox", "debian")]
    assert (res[0].returncode, res[0].stdout, res[0].stderr) == \
        (res[1].returncode, res[1].stdout, res[1].stderr)
    return res[0]


@pytest.mark.parametrize("script,message", [
    (["./nodir/log"], b"multilog: fatal: unable to open directory ./nodir/log: file does not exist\n"),
    (["./file"], b"multilog: fatal: unable to open directory ./file: not a directory\n"),
    (["./file/log"], b"multilog: fatal: unable to open directory ./file/log: not a directory\n"),
    (["=nodir/st"], b"multilog: fatal: unable to create nodir/st: file does not exist\n"),
    (["=adir"], b"multilog: fatal: unable to create adir: is a directory\n"),
    (["./ok", "=nodir/st"], b"multilog: fatal: unable to create nodir/st: file does not exist\n"),
])
def test_fatal_errors(ml, tmp_path, script, message):
    (tmp_path / "file").write_bytes(b"")
    (tmp_path / "adir").mkdir()
    p = same_error(ml, tmp_path, script)
    assert (p.returncode, p.stderr) == (111, message)
    # =files are opened before any directory is made.
    assert not (tmp_path / "ok").exists()


@pytest.mark.parametrize("script", [[], ["x", "", "9", "t"], ["e", "xyz"], ["-*", "e"]])
def test_scripts_without_directories(ml, tmp_path, script):
    p = same_error(ml, tmp_path, script, b"a\nb\n" + b"c" * 300 + b"\n")
    assert p.returncode == 0
