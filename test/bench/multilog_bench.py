#!/usr/bin/python3
"""multilog throughput: qbox against daemontools' multilog and s6-log.

Each program runs `PROG t s16777215 n10 DIR` over the same input (by
default 1,000,000 lines of 100 bytes, from a file on standard input) into a
fresh directory; the best wall time of a few rounds counts. Prints the
times and the ratios to the targets of issue 3 (qbox at most 0.6x
daemontools and 0.8x s6-log) and exits 1 when a target is missed.

The log directories go to /dev/shm when it exists, so that the disk (and
the fsync() each of them does at every rotation) does not hide the
programs' own cost; --dir chooses another place.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
TARGETS = {"daemontools": 0.6, "s6-log": 0.8}


def make_input(path, n, width):
    body = b"x" * (width - 1 - 16)
    with open(path, "wb") as f:
        chunk = []
        for i in range(n):
            chunk.append(b"line %010d " % i + body + b"\n")
            if len(chunk) == 10000:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))


def find_s6_log():
    p = shutil.which("s6-log")
    if p:
        return p
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("s6-log missing: apt-get install -y s6", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "s6"], stdout=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return shutil.which("s6-log")


def run_once(argv, input_path, logdir, pipe):
    shutil.rmtree(logdir, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(input_path, "rb") as f:
        if pipe:
            cat = subprocess.Popen(["cat"], stdin=f, stdout=subprocess.PIPE)
            p = subprocess.run(argv, stdin=cat.stdout)
            cat.stdout.close()
            cat.wait()
        else:
            p = subprocess.run(argv, stdin=f)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"{argv[0]} exited {p.returncode}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def logged_bytes(logdir):
    return sum(f.stat().st_size for f in Path(logdir).iterdir()
               if f.name == "current" or f.name.startswith("@"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1000000)
    ap.add_argument("--width", type=int, default=100, help="bytes per line, newline included")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", help="where the input and the log directories go")
    ap.add_argument("--pipe", action="store_true", help="feed the input through cat and a pipe")
    ap.add_argument("--qbox", default=str(TOP / "build" / "qbox"))
    args = ap.parse_args()

    if not os.access(args.qbox, os.X_OK):
        sys.exit(f"no {args.qbox}: build it first (ninja)")
    progs = {"qbox": [args.qbox, "multilog"], "daemontools": ["/usr/bin/multilog"]}
    s6 = find_s6_log()
    if s6:
        progs["s6-log"] = [s6]
    else:
        print("s6-log not found (Debian package s6): no ratio to it", file=sys.stderr)

    base = args.dir or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    work = Path(tempfile.mkdtemp(prefix="multilog-bench-", dir=base))
    try:
        src = work / "input"
        make_input(src, args.lines, args.width)
        expect = args.lines * (args.width + 26)  # "@" + 24 hex digits + " "
        best = {}
        for _ in range(args.rounds):
            for name, cmd in progs.items():
                logdir = work / ("log-" + name)
                wall, cpu = run_once(cmd + ["t", "s16777215", "n10", str(logdir)], src, logdir,
                                     args.pipe)
                got = logged_bytes(logdir)
                if got != expect:
                    sys.exit(f"{name}: logged {got} bytes, expected {expect}")
                if name not in best or wall < best[name][0]:
                    best[name] = (wall, cpu)
        shutil.rmtree(work, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    how = "a pipe" if args.pipe else "a file"
    print(f"multilog t s16777215 n10 DIR: {args.lines} lines of {args.width} bytes from {how}, "
          f"logs in {base or tempfile.gettempdir()}, best of {args.rounds}")
    for name, (wall, cpu) in best.items():
        print(f"  {name:12s} {wall:7.3f} s wall  {cpu:7.3f} s cpu  "
              f"{args.lines / wall / 1e6:6.2f} M lines/s")
    ok = True
    q = best["qbox"][0]
    for name, target in TARGETS.items():
        if name not in best:
            continue
        ratio = q / best[name][0]
        met = ratio <= target
        ok = ok and met
        print(f"  qbox / {name:12s} {ratio:5.2f}x  (target <= {target}x: "
              f"{'met' if met else 'MISSED'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
