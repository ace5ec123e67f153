"""tai64n and tai64nlocal against Debian's daemontools.

tai64nlocal is compared byte for byte on many inputs and time zones.
tai64n's stamps depend on the clock, so its output is checked for its
structure instead, and by converting it with both tai64nlocal programs.
"""
import calendar
import os
import random
import re
import resource
import select
import subprocess
import time

import pytest

from conftest import CLASSIC, run

TAI_UNIX = (1 << 62) + 10
STAMPED = re.compile(rb"@([0-9a-f]{24}) (.*)", re.S)


def stamp(unix, nano=0):
    """The tai64n label of a unix time, as text."""
    return "@%016x%08x" % ((unix + TAI_UNIX) % (1 << 64), nano)


def utc(*args):
    return calendar.timegm(args + (0,) * (6 - len(args)))


def civil_days(y, m, d):
    """Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def tz_env(tz):
    env = {k: v for k, v in os.environ.items() if k != "TZ"}
    if tz is not None:
        env["TZ"] = tz
    return env


def no_core():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


TZS = ["UTC", "Europe/Berlin", "America/New_York", ":Europe/Berlin", None]

# DST changes: Berlin 2024-03-31 01:00 UTC and 2024-10-27 01:00 UTC,
# New York 2024-03-10 07:00 UTC and 2024-11-03 06:00 UTC.
CHANGES = [utc(2024, 3, 31, 1), utc(2024, 10, 27, 1), utc(2024, 3, 10, 7), utc(2024, 11, 3, 6)]


def dst_lines():
    out = []
    for c in CHANGES:
        for d in range(-5, 6):
            out.append(stamp(c + d, 1000 * (d + 5)) + " second %d" % d)
        for m in range(-180, 181, 10):
            out.append(stamp(c + 60 * m, 999999999) + " minute %d" % m)
    return "\n".join(out).encode() + b"\n"


def random_lines(seed, n):
    r = random.Random(seed)
    out = []
    for _ in range(n):
        kind = r.randrange(4)
        if kind == 0:  # any time in years -200..4000, any nanoseconds
            out.append(stamp(r.randint(-(1 << 36), 1 << 36), r.randint(0, 0xffffffff)) + " r")
        elif kind == 1:  # around now
            out.append(stamp(r.randint(utc(2000, 1, 1), utc(2040, 1, 1)),
                             r.randint(0, 999999999)) + " now")
        elif kind == 2:
            out.append("plain line %d" % r.randrange(10 ** 6))
        else:
            out.append("")
    return "\n".join(out).encode() + b"\n"


VALID = [
    b"",
    b"\n",
    b"no stamp here\n",
    b"no newline at the end",
    (stamp(utc(2024, 1, 2, 3, 4, 5), 123456789) + " hello\n").encode(),
    (stamp(0) + " epoch\n" + stamp(-1, 999999999) + " before\n").encode(),
    # not followed by a space: the byte that ends the stamp is kept
    (stamp(utc(2024, 6, 1)) + "x rest\n" + stamp(utc(2024, 6, 1)) + "\n"
     + stamp(utc(2024, 6, 1)) + "\t" + stamp(utc(2024, 6, 1)) + "@\n").encode(),
    (stamp(utc(2024, 6, 1)) + "A upper case after 24 digits\n").encode(),
    (stamp(utc(2024, 6, 1)) + "\x00nul\n").encode(),
    (stamp(utc(2024, 6, 1)) + "\xff\n").encode("latin-1"),
    # more than 24 digits: the last 24 count
    ("@00" + stamp(utc(2024, 6, 1))[1:] + " two more zeros\n").encode(),
    ("@" + "f" * 40 + stamp(utc(1999, 12, 31, 23, 59, 59))[1:] + " many\n").encode(),
    # stamps only count at the start of a line
    (" " + stamp(utc(2024, 6, 1)) + " space first\nx" + stamp(0) + "\n").encode(),
    (stamp(utc(2024, 6, 1)) + " " + stamp(0) + " second stamp kept\n").encode(),
    # nanoseconds past 999999999 print with 10 digits
    (stamp(utc(2024, 6, 1), 0xffffffff) + " big nano\n" + stamp(utc(2024, 6, 1), 1000000000) + "\n").encode(),
    # a partial last line is converted without a newline
    (stamp(utc(2024, 6, 1)) + " partial").encode(),
    (stamp(utc(2024, 6, 1)) + "\n" + stamp(utc(2024, 6, 2))).encode(),  # cut after the digits
    b"first\n@4000000065",  # cut inside the stamp
    b"first\n@",
    # far dates: before 1900, negative and wrapping years
    (stamp(utc(1800, 1, 1)) + " 1800\n" + stamp(utc(1600, 7, 1)) + " 1600\n").encode(),
    "".join(stamp(civil_days(y, 6, 1) * 86400) + " y%d\n" % y for y in
            [0, 1, -1, -100, -401, 9999, 10000, 123456, 5000000]).encode(),
]

# Years whose int wraps when the classic program adds 1900. Only in zones
# without summer time: past the year 5881580 glibc stops applying DST rules
# (an int overflow in its rule code) and musl does not.
HUGE_YEARS = "".join(stamp(civil_days(y, m, 1) * 86400 + 3599) + " y%d\n" % y
                     for y in [2147481747, 2147483647, 2147483648, 2147485547,
                               -2147481748, -1000000000] for m in [1, 7]).encode()

# localtime() fails: daemontools follows its NULL and dies of SIGSEGV; qbox
# prints the lines before it and fails cleanly with the line number.
CRASHING = [
    b"@\n",
    b"@ hello\n",
    b"ok\n@1f short\n",
    b"@4000000065000000000003E8 upper case inside\n",
    b"@A\n",
    ("@" + stamp(utc(2024, 6, 1))[1:] + "0 one digit too many\n").encode(),
    "".join(stamp(civil_days(y, 6, 1) * 86400) + "\n" for y in [2024, 2147485548]).encode(),
    "".join(stamp(civil_days(y, 6, 1) * 86400) + "\n" for y in [2024, -2147481749]).encode(),
    (stamp(utc(2024, 6, 1)) + " fine\n" + stamp(1 << 62) + " too far\n").encode(),
]


@pytest.mark.parametrize("tz", TZS)
@pytest.mark.parametrize("data", VALID, ids=range(len(VALID)))
def test_tai64nlocal_inputs(compare, tz, data):
    compare.same("tai64nlocal", [], input=data, env=tz_env(tz))


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kolkata", "Africa/Monrovia"])
def test_tai64nlocal_huge_years(compare, tz):
    r = compare.same("tai64nlocal", [], input=HUGE_YEARS, env=tz_env(tz))
    assert b"\n18446744071562067968-07-01 " in r.out


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "America/New_York"])
def test_tai64nlocal_dst_changes(compare, tz):
    r = compare.same("tai64nlocal", [], input=dst_lines(), env=tz_env(tz))
    if tz == "Europe/Berlin":  # the test does cross the change
        assert b"2024-03-31 01:59:59.000004000 second -1\n" in r.out
        assert b"2024-03-31 03:00:00.000005000 second 0\n" in r.out
        assert b"2024-10-27 02:59:59.000004000 second -1\n" in r.out
        assert b"2024-10-27 02:00:00.000005000 second 0\n" in r.out


@pytest.mark.parametrize("tz", TZS)
def test_tai64nlocal_random(compare, tz):
    compare.same("tai64nlocal", [], input=random_lines(tz or "local", 20000), env=tz_env(tz))


@pytest.mark.parametrize("data", CRASHING, ids=range(len(CRASHING)))
def test_tai64nlocal_unconvertible_stamp(compare, tmp_path, data):
    ours, theirs = compare.both("tai64nlocal", [], input=data, env=tz_env("UTC"), cwd=tmp_path,
                                preexec_fn=no_core)
    assert theirs.code == -11
    assert ours.code == 100
    # The lines before the bad one were converted and written; the message
    # names the bad one, which is a stamped line.
    done = ours.out.count(b"\n")
    assert data.split(b"\n")[done].startswith(b"@")
    assert ours.err == b"tai64nlocal: fatal: line %d: stamp out of range for local time\n" % (done + 1)
    assert theirs.out == ours.out[:len(theirs.out)]


def run_stdin_file(argv, path, env=None):
    with open(path, "rb") as f:
        p = subprocess.run(argv, stdin=f, capture_output=True, env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr


def test_tai64nlocal_chunk_boundaries(applet_bin, tmp_path):
    # From a file, reads fill whole buffers: cut a stamp line at every
    # offset by the boundaries at 64 KiB and 128 KiB, then a very long line.
    s = (stamp(utc(2024, 6, 1, 12), 123456789) + " line\n").encode()
    for off in range(0, len(s) + 1):
        data = bytearray()
        for boundary in [1 << 16, 1 << 17]:
            data += b"x" * (boundary - off - len(data) - 1) + b"\n" + s
        data += (stamp(utc(2024, 6, 1)) + " " + "y" * 300000 + "\n").encode() + s
        f = tmp_path / "in"
        f.write_bytes(bytes(data))
        for tz in ["UTC", "Europe/Berlin"]:
            ours = run_stdin_file([str(applet_bin / "tai64nlocal")], f, tz_env(tz))
            theirs = run_stdin_file([str(CLASSIC / "tai64nlocal")], f, tz_env(tz))
            assert ours == theirs, off
            assert ours[1].count(b"2024-06-01 ") == 4


def test_tai64nlocal_ignores_arguments(compare):
    compare.same("tai64nlocal", ["-x", "y"], input=(stamp(utc(2024, 6, 1)) + " a\n").encode(),
                 env=tz_env("UTC"))


# ---- tai64n --------------------------------------------------------------

def check_stamped(out, data, before, after, program="tai64n"):
    """out is data with a stamp before every line, taken between the times."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    got = out.split(b"\n")
    if got[-1] == b"":
        got.pop()
    assert len(got) == len(lines), program
    assert out.endswith(b"\n") == data.endswith(b"\n")
    prev = None
    for g, want in zip(got, lines):
        m = STAMPED.fullmatch(g)
        assert m, (program, g[:60])
        assert m.group(2) == want
        label = bytes.fromhex(m.group(1).decode())
        sec = int.from_bytes(label[:8], "big") - TAI_UNIX
        nano = int.from_bytes(label[8:], "big")
        assert nano < 10 ** 9 and nano % 1000 == 500  # microseconds, as taia_now
        t = sec + nano / 1e9
        assert before - 0.01 <= t <= after + 0.01, program
        assert prev is None or t >= prev, program
        prev = t


TAI64N_INPUTS = [
    b"one line\n",
    b"a\nb\nc\n",
    b"\n\n\n",
    b"partial last line",
    b"x\npartial",
    b"\x00\xff\r\n@400000006b02374f075bcd15 already stamped\n",
    b"long " * 30000 + b"\n" + b"short\n" * 20000,
]


@pytest.mark.parametrize("data", TAI64N_INPUTS, ids=range(len(TAI64N_INPUTS)))
def test_tai64n_structure(applet_bin, data):
    for prog in [applet_bin / "tai64n", CLASSIC / "tai64n"]:  # the classic one too, to check the check
        before = time.time()
        r = run([str(prog)], input=data)
        after = time.time()
        assert (r.code, r.err) == (0, b"")
        check_stamped(r.out, data, before, after, str(prog))


def test_tai64n_empty_input(compare):
    r = compare.same("tai64n", [], input=b"")
    assert r.out == b""
    compare.same("tai64n", ["ignored", "args"], input=b"")


def test_tai64n_through_both_tai64nlocals(applet_bin, compare):
    data = random_lines(3, 5000) + b"last without newline"
    r = run([str(applet_bin / "tai64n")], input=data)
    assert r.code == 0
    for tz in ["UTC", "Europe/Berlin", "America/New_York"]:
        compare.same("tai64nlocal", [], input=r.out, env=tz_env(tz))


def test_tai64n_chunk_boundaries(applet_bin, tmp_path):
    data = b"".join(b"%d" % i + b"z" * (i % 300) + b"\n" for i in range(20000)) + b"end"
    f = tmp_path / "in"
    f.write_bytes(data)
    before = time.time()
    code, out, err = run_stdin_file([str(applet_bin / "tai64n")], f)
    after = time.time()
    assert (code, err) == (0, b"")
    check_stamped(out, data, before, after)


# ---- prompt output and errors --------------------------------------------

def read_until(fd, want, timeout=10):
    """Reads from fd until the bytes read end with `want`; fails after timeout."""
    got = b""
    deadline = time.monotonic() + timeout
    while not got.endswith(want):
        left = deadline - time.monotonic()
        assert left > 0, f"no prompt output: got {got!r}, waiting for {want!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            assert chunk, f"output ended: got {got!r}"
            got += chunk
    return got


def interactive(prog, steps, env=None):
    """Writes each input of steps while stdin stays open, and waits for its output."""
    p = subprocess.Popen([str(prog)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        outs = []
        for data, want_end in steps:
            p.stdin.write(data)
            p.stdin.flush()
            outs.append(read_until(p.stdout.fileno(), want_end))
        p.stdin.close()
        assert p.wait(timeout=10) == 0
        assert p.stdout.read() == b""
        return outs
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.parametrize("where", ["qbox", "classic"])
def test_tai64n_flushes_before_waiting(applet_bin, where):
    prog = applet_bin / "tai64n" if where == "qbox" else CLASSIC / "tai64n"
    outs = interactive(prog, [(b"first\n", b" first\n"), (b"par", b" par"), (b"tial\n", b"tial\n"),
                              (b"next\n", b" next\n")])
    assert STAMPED.fullmatch(outs[0][:-1])
    assert STAMPED.fullmatch(outs[1])
    assert outs[2] == b"tial\n"  # the rest of a line gets no stamp of its own
    assert STAMPED.fullmatch(outs[3][:-1])


@pytest.mark.parametrize("where", ["qbox", "classic"])
def test_tai64nlocal_flushes_before_waiting(applet_bin, where):
    prog = applet_bin / "tai64nlocal" if where == "qbox" else CLASSIC / "tai64nlocal"
    s = stamp(utc(2024, 6, 1, 12), 5).encode()
    outs = interactive(prog, [(s + b" one\n", b"one\n"), (b"plain ", b"plain "), (b"rest\n", b"rest\n"),
                              (s + b" two", b" two")], env=tz_env("UTC"))
    assert outs == [b"2024-06-01 12:00:00.000000005 one\n", b"plain ", b"rest\n",
                    b"2024-06-01 12:00:00.000000005 two"]


def run_redirected(argv, stdin, stdout):
    p = subprocess.run(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, timeout=30)
    return p.returncode, p.stderr


@pytest.mark.parametrize("name", ["tai64n", "tai64nlocal"])
def test_write_error_exits_111(applet_bin, tmp_path, name):
    f = tmp_path / "in"
    f.write_bytes((stamp(utc(2024, 6, 1)) + " line\n").encode() * 1000)
    results = []
    for prog in [applet_bin / name, CLASSIC / name]:
        with open(f, "rb") as i, open("/dev/full", "wb") as o:
            results.append(run_redirected([str(prog)], i, o))
    assert results[0] == results[1] == (111, b"")


@pytest.mark.parametrize("name", ["tai64n", "tai64nlocal"])
def test_read_error_exits_111(applet_bin, tmp_path, name):
    results = []
    for prog in [applet_bin / name, CLASSIC / name]:
        fd = os.open(tmp_path, os.O_RDONLY)  # read() on a directory: EISDIR
        try:
            results.append(run_redirected([str(prog)], fd, subprocess.PIPE))
        finally:
            os.close(fd)
    assert results[0] == results[1] == (111, b"")
