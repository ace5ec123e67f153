"""Helpers for tests that run supervision trees: bounded polling, reading
/proc, service directories, and killing what a test left behind.

Used by test_svscan.py and by test/bench/svscan_bench.py.
"""
import os
import signal
import subprocess
import time

from conftest import wait_for  # noqa: F401  (re-exported for the tests)
from pathlib import Path

# The daemontools programs svscan runs or the tests drive. Where qbox does
# not have one yet, Debian's takes its place, so the tests keep working
# unchanged once qbox's lands.
DAEMONTOOLS = ("supervise", "svc", "svok", "svstat", "multilog")


def make_svbin(qbox, d):
    """A directory of qbox's applet links, completed with Debian's
    daemontools programs that qbox does not provide yet."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(qbox), "--install", str(d)], check=True)
    have = subprocess.run([str(qbox), "--list"], check=True, capture_output=True,
                          text=True).stdout.split()
    for name in DAEMONTOOLS:
        if name not in have:
            (d / name).symlink_to(Path("/usr/bin") / name)
    return d


def _read(path, mode="rb"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return None


def stat_fields(pid):
    """(state, ppid) of a process, or None when it is gone."""
    s = _read(f"/proc/{pid}/stat")
    if not s:
        return None
    rest = s[s.rindex(b")") + 2:].split()
    return rest[0].decode(), int(rest[1])


def cmdline(pid):
    s = _read(f"/proc/{pid}/cmdline")
    if s is None:
        return None
    return [a.decode(errors="replace") for a in s.split(b"\0")[:-1]]


def read_cmdline(pid, timeout=10.0):
    """cmdline(pid) of a process that is running: /proc/PID/cmdline can
    read empty for an instant (as the process execs or exits), so an empty
    read is read again, until a deadline."""
    return wait_for(lambda: cmdline(pid), timeout, f"the command line of process {pid}")


def pids():
    return [int(n) for n in os.listdir("/proc") if n.isdigit()]


def children(ppid):
    """[(pid, cmdline)] of the live children of ppid."""
    out = []
    for pid in pids():
        f = stat_fields(pid)
        if f and f[1] == ppid and f[0] != "Z":
            out.append((pid, cmdline(pid) or []))
    return out


def child_pid(ppid, argv):
    """The pid of ppid's child running argv (a list), or None."""
    for pid, cmd in children(ppid):
        if cmd == list(argv):
            return pid
    return None


def alive(pid):
    f = stat_fields(pid)
    return f is not None and f[0] != "Z"


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks."""
    s = _read(f"/proc/{pid}/stat")
    rest = s[s.rindex(b")") + 2:].split()
    return int(rest[11]) + int(rest[12])


def under(pid, top):
    """True when the process's current directory is inside top."""
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    return cwd == str(top) or cwd.startswith(str(top) + "/")


def kill_under(top, timeout=5.0):
    """SIGKILLs every process working inside top (supervise and services
    chdir into their directories) until none is left."""
    def sweep():
        left = [p for p in pids() if p != os.getpid() and under(p, top) and alive(p)]
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return not left
    wait_for(sweep, timeout, f"processes in {top} to die", interval=0.05)


def make_service(d, run, log_run=None):
    """A service directory with an executable run script (and log/run)."""
    d = Path(d)
    d.mkdir(parents=True)
    (d / "run").write_text(run)
    (d / "run").chmod(0o755)
    if log_run is not None:
        (d / "log").mkdir()
        (d / "log" / "run").write_text(log_run)
        (d / "log" / "run").chmod(0o755)
    return d


def stop_services(svbin, dirs, timeout=10.0):
    """svc -dx every directory and its log; waits until their supervises
    are gone (a directory's supervise/control then has no reader)."""
    dirs = [Path(d) for d in dirs]
    targets = [d for d in dirs] + [d / "log" for d in dirs if (d / "log").is_dir()]
    if targets:
        subprocess.run([str(Path(svbin) / "svc"), "-dx"] + [str(t) for t in targets],
                       capture_output=True, timeout=30)

    def gone():
        return all(subprocess.run([str(Path(svbin) / "svok"), str(t)]).returncode != 0
                   for t in targets)
    wait_for(gone, timeout, "supervises to exit", interval=0.05)
