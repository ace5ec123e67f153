"""envdir, envuidgid, setuidgid, softlimit, setlock and pgrphack against
Debian's daemontools: the same stdout, stderr and exit code, with children
that print what the program changed (env, id, /proc/self/limits...)."""
import fcntl
import os
import pwd
import resource
import shutil
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import CLASSIC, QBOX, run

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="needs root")

BASE_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C"}


def poll(cond, timeout=10.0):
    """Waits until cond() is true; fails the test after `timeout` seconds."""
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not reached in time"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def public_bin():
    """A copy of qbox and its applet links in a directory every user can
    reach, for the tests that run both programs as an unprivileged user."""
    d = tempfile.mkdtemp(prefix="qbox-public-")
    try:
        os.chmod(d, 0o755)
        exe = os.path.join(d, "qbox")
        shutil.copy(QBOX, exe)
        os.chmod(exe, 0o755)
        subprocess.run([exe, "--install", d], check=True)
        yield d
    finally:
        shutil.rmtree(d)


def as_nobody(argv):
    """Runs argv as nobody:nogroup without supplementary groups (if root)."""
    if not ROOT:
        return argv
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + argv


def same_as_nobody(public_bin, name, args, cwd=None):
    ours = run(as_nobody([os.path.join(public_bin, name)] + args), env=BASE_ENV, cwd=cwd)
    theirs = run(as_nobody([str(CLASSIC / name)] + args), env=BASE_ENV, cwd=cwd)
    assert (ours.code, ours.out, ours.err) == (theirs.code, theirs.out, theirs.err)
    return ours


# ---- envdir ------------------------------------------------------------------

def make_envdir(d, files):
    d.mkdir()
    for name, data in files.items():
        (d / name).write_bytes(data)
    return d


ENVDIR_FILES = {
    "PLAIN": b"value\n",
    "NOEOL": b"no newline",
    "MULTI": b"first line\nsecond line\n",
    "BLANKS": b"trailing blanks \t \t\n",
    "BLANKS_NOEOL": b"trailing \t",
    "LEADING": b"  leading kept\n",
    "NUL": b"a\0b\0\0c\n",
    "NUL_BLANK": b"x\0 \n",
    "ONLYNL": b"\n",
    "ONLYBLANKS": b" \t \n",
    "EMPTY": b"",
    "REPLACED": b"new value\n",
    "REMOVED": b"",
    ".hidden": b"skipped\n",
    "WITH=EQUALS": b"odd name\n",
    "BIG": b"x" * 100000 + b"\nsecond\n",
}


def test_envdir_env_output(compare, tmp_path):
    d = make_envdir(tmp_path / "env", ENVDIR_FILES)
    env = dict(BASE_ENV, REPLACED="old", REMOVED="gone soon", KEPT="kept", WITH="w")
    r = compare.same("envdir", [str(d), "env"], env=env)
    lines = r.out.split(b"\n")
    assert b"PLAIN=value" in lines
    assert b"NUL=a\nb\n\nc" in r.out
    assert b"BLANKS=trailing blanks" in lines
    assert b"ONLYNL=" in lines and b"ONLYBLANKS=" in lines
    assert b"KEPT=kept" in lines and b"REPLACED=new value" in lines
    assert not any(x.startswith((b"REMOVED=", b"EMPTY=", b".hidden")) for x in lines)


def test_envdir_relative_dir_and_empty_dir(compare, tmp_path):
    make_envdir(tmp_path / "env", {"A": b"1\n", "B": b""})
    (tmp_path / "none").mkdir()
    compare.same("envdir", ["env", "env"], env=dict(BASE_ENV, B="x"), cwd=tmp_path)
    compare.same("envdir", ["none", "env"], env=BASE_ENV, cwd=tmp_path)


def test_envdir_child_runs_in_starting_directory(compare, tmp_path):
    make_envdir(tmp_path / "env", {"A": b"1\n"})
    compare.same("envdir", ["env", "sh", "-c", 'pwd; echo "$A"'], env=BASE_ENV, cwd=tmp_path)


def test_envdir_special_entries(compare, tmp_path):
    """A dangling symlink (open says "does not exist") and a FIFO without a
    writer (opened non-blocking, reads as empty). The classic envdir gives a
    vanished file what is left of the value before it, so mix them."""
    d = make_envdir(tmp_path / "env", {f"F{i}": b"a\0value%d \n" % i for i in range(8)})
    for i in range(8):
        (d / f"DANGLING{i}").symlink_to(tmp_path / "nowhere")
    os.mkfifo(d / "FIFO")
    r = compare.same("envdir", [str(d), "env"], env=dict(BASE_ENV, FIFO="x"))
    assert b"DANGLING" in r.out and b"FIFO" not in r.out
    only = make_envdir(tmp_path / "only", {})
    (only / "DANGLING").symlink_to(tmp_path / "nowhere")
    compare.same("envdir", [str(only), "env"], env=dict(BASE_ENV, DANGLING="x"))


@pytest.mark.parametrize("args", [[], ["dir"], ["--", "x"]])
def test_envdir_usage(compare, tmp_path, args):
    compare.same("envdir", args, cwd=tmp_path)


def test_envdir_errors(compare, tmp_path):
    d = make_envdir(tmp_path / "env", {"A": b"1\n"})
    compare.same("envdir", [str(tmp_path / "missing"), "env"])
    compare.same("envdir", [str(d / "A"), "env"])                     # not a directory
    compare.same("envdir", [str(d), "nonexistent-program"], env=BASE_ENV)
    compare.same("envdir", [str(d), str(tmp_path / "missing-prog")])
    (d / "SUB").mkdir()
    compare.same("envdir", [str(d), "env"], env=BASE_ENV)               # is a directory


def test_envdir_unreadable(public_bin):
    with tempfile.TemporaryDirectory() as top:
        os.chmod(top, 0o755)
        d = os.path.join(top, "env")
        os.mkdir(d)
        with open(os.path.join(d, "SECRET"), "w") as f:
            f.write("x\n")
        os.chmod(os.path.join(d, "SECRET"), 0)
        r = same_as_nobody(public_bin, "envdir", [d, "env"])
        assert r.code == 111 and b"access denied" in r.err
        os.chmod(d, 0o311)  # can enter, cannot list
        r = same_as_nobody(public_bin, "envdir", [d, "env"])
        assert r.code == 111 and b"unable to read directory" in r.err
        os.chmod(d, 0o755)
        os.chmod(os.path.join(d, "SECRET"), 0o644)
        dark = os.path.join(top, "dark")
        os.mkdir(dark, 0o311)  # a starting directory that cannot be opened
        r = same_as_nobody(public_bin, "envdir", [d, "env"], cwd=dark)
        assert r.code == 111 and b"current directory" in r.err


# ---- envuidgid and setuidgid -------------------------------------------------

@pytest.mark.parametrize("account", ["nobody", "daemon", "root"])
def test_envuidgid(compare, account):
    env = dict(BASE_ENV, UID="old", OTHER="x")
    r = compare.same("envuidgid", [account, "env"], env=env)
    pw = pwd.getpwnam(account)
    assert f"UID={pw.pw_uid}\n".encode() in r.out
    assert f"GID={pw.pw_gid}\n".encode() in r.out


@pytest.mark.parametrize("args", [[], ["nobody"], ["no-such-account-x", "env"],
                                  ["nobody", "nonexistent-program"],
                                  ["nobody", "/nonexistent/prog"]])
def test_envuidgid_errors(compare, args):
    compare.same("envuidgid", args, env=BASE_ENV)


PRINT_IDS = ["sh", "-c", "id; grep -E '^(Uid|Gid|Groups):' /proc/self/status"]


@needs_root
@pytest.mark.parametrize("account", ["nobody", "daemon"])
def test_setuidgid_switches_ids_and_groups(compare, account):
    r = compare.same("setuidgid", [account] + PRINT_IDS, env=BASE_ENV, cwd="/")
    pw = pwd.getpwnam(account)
    assert f"Groups:\t{pw.pw_gid} \n".encode() in r.out
    assert f"Uid:\t{pw.pw_uid}\t{pw.pw_uid}\t".encode() in r.out


def test_setuidgid_without_privileges(public_bin):
    r = same_as_nobody(public_bin, "setuidgid", ["daemon", "true"])
    assert (r.code, r.err) == (111, b"setuidgid: fatal: unable to setgid: permission denied\n")


@pytest.mark.parametrize("args", [[], ["nobody"], ["no-such-account-x", "id"]])
def test_setuidgid_errors(compare, args):
    compare.same("setuidgid", args, env=BASE_ENV)


@needs_root
def test_setuidgid_missing_child(compare):
    compare.same("setuidgid", ["nobody", "nonexistent-program"], env=BASE_ENV, cwd="/")


# ---- softlimit ---------------------------------------------------------------

LIMITS = ["cat", "/proc/self/limits"]


def hard_limits():
    """Lowers some hard limits in the child so capping at the hard limit
    and "=" can be seen."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 200))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 1 << 20))
    resource.setrlimit(resource.RLIMIT_CPU, (30, 60))
    resource.setrlimit(resource.RLIMIT_STACK, (1 << 20, 64 << 20))


@pytest.mark.parametrize("args", [
    ["-a", "500000000"], ["-c", "4096"], ["-d", "300000000"], ["-f", "1000000"],
    ["-l", "32768"], ["-m", "400000000"], ["-o", "50"], ["-p", "1000"],
    ["-r", "100000000"], ["-s", "2000000"], ["-t", "20"],
    ["-o", "100"], ["-o", "1000"], ["-c", "99999999"], ["-t", "1000"], ["-s", "999999999"],
    ["-o", "="], ["-c", "="], ["-t", "="], ["-s", "="], ["-a", "="], ["-m", "="],
    ["-c", ""], ["-c", "007"], ["-c", "18446744073709551615"],
    ["-c", "18446744073709551616"], ["-c", "99999999999999999999999999"],
    ["-o", "40", "-o", "60"], ["-c1000", "-t5", "-f", "=", "--"],
])
def test_softlimit_sets_limits(compare, args):
    r = compare.same("softlimit", args + LIMITS, env=BASE_ENV, preexec_fn=hard_limits)
    assert r.code == 0


def test_softlimit_values_seen_by_child(applet_bin):
    r = run([str(applet_bin / "softlimit"), "-o", "50", "-t", "1000", "-c", "=",
             "sh", "-c", "ulimit -n; ulimit -t; ulimit -c"], env=BASE_ENV,
            preexec_fn=hard_limits)
    assert (r.code, r.out) == (0, b"50\n60\n2048\n")


@pytest.mark.parametrize("args", [
    [], ["-o", "10"], ["-o"], ["-z", "true"], ["-o", "abc", "true"], ["-o", "12x", "true"],
    ["-o", "-1", "true"], ["-o", " 5", "true"], ["-o", "+5", "true"], ["-o", "==", "true"],
    ["-t", "5", "-q", "true"], ["-o", "20", "nonexistent-program"],
    ["/nonexistent/program"], ["-"],
])
def test_softlimit_errors(compare, args):
    compare.same("softlimit", args, env=BASE_ENV, preexec_fn=hard_limits)


# ---- setlock -----------------------------------------------------------------

@pytest.mark.parametrize("args", [[], ["f"], ["-n", "f"], ["-y", "f", "true"], ["-nx"]])
def test_setlock_usage(compare, tmp_path, args):
    compare.same("setlock", args, cwd=tmp_path)


def test_setlock_creates_file_and_runs(applet_bin, tmp_path):
    results = []
    for exe, name in [(applet_bin / "setlock", "ours"), (CLASSIC / "setlock", "theirs")]:
        r = run([str(exe), name, "sh", "-c", "echo ran; exit 3"], cwd=tmp_path)
        mode = stat.S_IMODE(os.stat(tmp_path / name).st_mode)
        results.append((r.code, r.out, r.err, mode))
    assert results[0] == results[1]
    assert results[0][:3] == (3, b"ran\n", b"")


def test_setlock_existing_file_kept(compare, tmp_path):
    f = tmp_path / "lock"
    f.write_bytes(b"data")
    compare.same("setlock", ["-n", str(f), "cat", str(f)])
    assert f.read_bytes() == b"data"


def test_setlock_contention(compare, tmp_path):
    f = tmp_path / "lock"
    with open(f, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        r = compare.same("setlock", ["-n", str(f), "echo", "no"])
        assert (r.code, r.err) == (111, f"setlock: fatal: unable to lock {f}: temporary failure\n".encode())
        r = compare.same("setlock", ["-nx", str(f), "echo", "no"])
        assert (r.code, r.out, r.err) == (0, b"", b"")
        compare.same("setlock", ["-x", "-n", "-X", str(f), "echo", "no"])
        compare.same("setlock", ["-N", "-n", str(f), "echo", "no"])


def test_setlock_open_errors(compare, tmp_path):
    missing = str(tmp_path / "no" / "such" / "dir")
    r = compare.same("setlock", [missing, "echo", "no"])
    assert r.code == 111 and b"unable to open" in r.err
    r = compare.same("setlock", ["-x", missing, "echo", "no"])
    assert (r.code, r.out, r.err) == (0, b"", b"")
    compare.same("setlock", ["-xX", missing, "echo", "no"])
    compare.same("setlock", [str(tmp_path), "echo", "no"])      # a directory
    compare.same("setlock", ["-x", str(tmp_path), "echo", "no"])


def test_setlock_missing_child(compare, tmp_path):
    compare.same("setlock", ["-x", str(tmp_path / "l"), "nonexistent-program"], env=BASE_ENV)
    compare.same("setlock", [str(tmp_path / "l"), "/nonexistent/program"], env=BASE_ENV)


def test_setlock_lock_is_inherited_across_exec(compare, tmp_path):
    """The child holds the lock: a second setlock -n inside it fails."""
    f = str(tmp_path / "lock")
    inner = ["sh", "-c", f'{CLASSIC}/setlock -n {f} echo inner; echo "inner exit $?"']
    r = compare.same("setlock", [f] + inner)
    assert b"inner exit 111" in r.out and b"temporary failure" in r.err


@pytest.mark.parametrize("prog", ["qbox", "classic"])
def test_setlock_holds_lock_while_child_runs(applet_bin, tmp_path, prog):
    exe = str(applet_bin / "setlock") if prog == "qbox" else str(CLASSIC / "setlock")
    f = tmp_path / "lock"
    p = subprocess.Popen([exe, str(f), "sh", "-c", "echo locked; read x; echo bye"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"locked\n"
        with open(f, "a") as probe:
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            p.stdin.close()
            assert p.stdout.read() == b"bye\n"
            assert p.wait(timeout=10) == 0
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def blocked_on(path):
    """True when /proc/locks shows a process waiting for a lock on path."""
    ino = os.stat(path).st_ino
    with open("/proc/locks") as locks:
        return any("->" in line and line.split()[-3].endswith(f":{ino}") for line in locks)


@pytest.mark.parametrize("prog", ["qbox", "classic"])
def test_setlock_waits_for_the_lock(applet_bin, tmp_path, prog):
    exe = str(applet_bin / "setlock") if prog == "qbox" else str(CLASSIC / "setlock")
    f = tmp_path / "lock"
    with open(f, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        p = subprocess.Popen([exe, str(f), "echo", "got it"], stdout=subprocess.PIPE)
        try:
            poll(lambda: blocked_on(f))
            assert p.poll() is None
            fcntl.flock(held, fcntl.LOCK_UN)
            assert p.stdout.read() == b"got it\n"
            assert p.wait(timeout=10) == 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()


# ---- pgrphack ----------------------------------------------------------------

SHOW_SESSION = ["python3", "-c",
                "import os; p = os.getpid(); print(os.getpgid(0) == p, os.getsid(0) == p)"]


def test_pgrphack_new_session(compare):
    r = compare.same("pgrphack", SHOW_SESSION, env=BASE_ENV)
    assert r.out == b"True True\n"


def test_pgrphack_already_leader(compare):
    """A session leader cannot make a new session; the child runs anyway."""
    r = compare.same("pgrphack", SHOW_SESSION, env=BASE_ENV, start_new_session=True)
    assert r.out == b"True True\n"


def test_pgrphack_different_from_parent(applet_bin):
    r = run([str(applet_bin / "pgrphack"), "sh", "-c", "cut -d' ' -f5,6 /proc/$$/stat"],
            env=BASE_ENV)
    pgrp, sid = r.out.split()
    assert int(pgrp) != os.getpgrp() and int(sid) != os.getsid(0)


@pytest.mark.parametrize("args", [[], ["nonexistent-program"], ["/nonexistent/program", "x"]])
def test_pgrphack_errors(compare, args):
    compare.same("pgrphack", args, env=BASE_ENV)
