#!/usr/bin/python3
"""Idle supervise memory: Private_Dirty (/proc/PID/smaps_rollup) of qbox's
supervise next to s6-supervise (Debian s6) and daemontools' supervise, each
watching one service (`exec sleep`), measured after a restart and a
pause/continue so the usual code paths have run. The target for qbox is
at most 24 KiB. Exits 1 when qbox misses it.

usage: test/bench/supervise_mem.py [path/to/qbox]
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
LIMIT_KIB = 24


def wait_until(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.01)
    raise SystemExit("supervise_mem: timed out")


def children(pid):
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def private_dirty_kib(pid):
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Private_Dirty:"):
            return int(line.split()[1])
    raise SystemExit("supervise_mem: no Private_Dirty in smaps_rollup")


def measure(name, argv, control, d):
    """Starts argv on service d, restarts the service with control('t'),
    pauses and continues it, lets it settle, and returns Private_Dirty."""
    d.mkdir()
    (d / "run").write_text("#!/bin/sh\nexec sleep 1000\n")
    (d / "run").chmod(0o755)
    p = subprocess.Popen(argv + [str(d)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        first = wait_until(lambda: children(p.pid))[0]
        time.sleep(1.2)  # daemontools' supervise sleeps a second after each start
        control("t")
        wait_until(lambda: children(p.pid) and children(p.pid)[0] != first)
        control("p")
        control("c")
        time.sleep(1.5)
        return private_dirty_kib(p.pid)
    finally:
        # s6-supervise puts the service in a session of its own: kill it by pid.
        for c in children(p.pid):
            os.kill(c, signal.SIGKILL)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def main():
    qbox = Path(sys.argv[1]) if len(sys.argv) > 1 else TOP / "build" / "qbox"
    if not qbox.exists():
        raise SystemExit(f"supervise_mem: {qbox} not built")
    # A freshly linked binary's pages stay dirty in the page cache until
    # written back, and smaps counts them as dirty: write them back first.
    fd = os.open(qbox, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    tmp = Path(tempfile.mkdtemp(prefix="supervise-mem."))
    try:
        bindir = tmp / "bin"
        bindir.mkdir()
        subprocess.run([str(qbox), "--install", str(bindir)], check=True)
        rows = []

        def svc(tool, d):
            return lambda c: subprocess.run([tool, "-" + c, str(d)], check=True)

        d = tmp / "qbox"
        rows.append(("qbox supervise", measure("qbox", [str(bindir / "supervise")],
                                               svc(str(bindir / "svc"), d), d)))
        if shutil.which("s6-supervise"):
            d = tmp / "s6"
            rows.append(("s6-supervise", measure("s6", ["s6-supervise"], svc("s6-svc", d), d)))
        else:
            rows.append(("s6-supervise", None))
        if Path("/usr/bin/supervise").exists():
            d = tmp / "daemontools"
            rows.append(("daemontools supervise",
                         measure("daemontools", ["/usr/bin/supervise"], svc("/usr/bin/svc", d), d)))

        print("idle supervise, Private_Dirty (KiB):")
        for name, kib in rows:
            print(f"  {name:24s} {'not installed (apt-get install s6)' if kib is None else kib}")
        ours = rows[0][1]
        s6 = rows[1][1]
        if s6:
            print(f"  qbox / s6-supervise: {ours / s6:.2f}")
        verdict = "ok" if ours <= LIMIT_KIB else "OVER"
        print(f"  qbox target <= {LIMIT_KIB} KiB: {verdict}")
        return 0 if ours <= LIMIT_KIB else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
