"""qbox against the classic programs from Debian, in one run.

Measures tai64n and tai64nlocal over 1,000,000 lines of 100 bytes, the
start-up cost of the dispatcher (2,000 runs of a chain-loading applet), and
the size of build/qbox. Each timing is the best of a few repetitions, qbox
and the classic program taking turns. Prints a table and one PASS/FAIL line
per target; it reports and always exits 0.
"""
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
QBOX = TOP / "build" / "qbox"
CLASSIC = Path("/usr/bin")

LINES = 1_000_000
LINE_BYTES = 100
STARTS = 2000
REPEAT = 3
TZ = "Europe/Berlin"  # a zone with summer time; glibc is slower with TZ unset

rows = []     # (what, qbox, classic, ratio, target)
verdicts = []  # (ok, text)
notes = []


def best_of(n, fn):
    return min(fn() for _ in range(n))


def timed_filter(argv, infile, env=None):
    """Seconds to run argv with stdin from infile and stdout to /dev/null."""
    def once():
        with open(infile, "rb") as i, open(os.devnull, "wb") as o:
            t = time.perf_counter()
            code = subprocess.run(argv, stdin=i, stdout=o, env=env).returncode
            dt = time.perf_counter() - t
        if code != 0:
            raise SystemExit(f"{argv[0]} exited {code}")
        return dt
    return once


def timed_starts(argv, env):
    """Seconds to start argv STARTS times, one after the other."""
    def once():
        t = time.perf_counter()
        for _ in range(STARTS):
            pid = os.posix_spawn(argv[0], argv, env)
            _, status = os.waitpid(pid, 0)
            if status != 0:
                raise SystemExit(f"{' '.join(argv)}: status {status}")
        return time.perf_counter() - t
    return once


def compare(what, ours, theirs, target, unit="s"):
    """Times two callables in turn, best of REPEAT each; records the row."""
    best_o = best_t = float("inf")
    for _ in range(REPEAT):
        best_o = min(best_o, ours())
        best_t = min(best_t, theirs())
    ratio = best_o / best_t
    rows.append((what, f"{best_o:.3f} {unit}", f"{best_t:.3f} {unit}", f"{ratio:.2f}", f"<= {target}"))
    verdicts.append((ratio <= target, f"{what}: ratio {ratio:.2f}, target <= {target}"))


def run_to(argv, infile, outfile, env=None):
    with open(infile, "rb") as i, open(outfile, "wb") as o:
        subprocess.run(argv, stdin=i, stdout=o, env=env, check=True)


def make_input(path):
    # 1,000,000 lines of 99 printable bytes and a newline, not all alike.
    words = b"the quick brown fox jumps over the lazy dog 0123456789 "
    text = words * (4 * LINE_BYTES // len(words) + 2)
    with open(path, "wb") as f:
        chunk = []
        for i in range(LINES):
            k = i % 97
            chunk.append(text[k:k + LINE_BYTES - 1] + b"\n")
            if len(chunk) == 10000:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))


def main():
    if not QBOX.exists():
        print("bench: build/qbox is missing; run ninja first")
        return
    applets = subprocess.run([str(QBOX), "--list"], capture_output=True, check=True).stdout.split()
    tmp = Path(tempfile.mkdtemp(prefix="qbox-bench."))
    try:
        bindir = tmp / "bin"
        bindir.mkdir()
        for name in ["tai64n", "tai64nlocal", "envdir", "argv0"]:
            (bindir / name).symlink_to(QBOX)
        env = dict(os.environ, TZ=TZ)

        t0 = time.perf_counter()
        plain, stamped = tmp / "lines", tmp / "stamped"
        make_input(plain)
        run_to([str(CLASSIC / "tai64n")], plain, stamped)
        print(f"bench: inputs ready in {time.perf_counter() - t0:.1f} s "
              f"({LINES} lines of {LINE_BYTES} bytes), best of {REPEAT} runs each")

        # Output checks first (not timed): a fast wrong program is no result.
        ours_out, theirs_out = tmp / "ours", tmp / "theirs"
        run_to([str(bindir / "tai64n")], plain, ours_out)
        verdicts.append((ours_out.stat().st_size == stamped.stat().st_size,
                         "tai64n: output as long as the classic program's"))
        ours_out.unlink()
        run_to([str(bindir / "tai64nlocal")], stamped, ours_out, env)
        run_to([str(CLASSIC / "tai64nlocal")], stamped, theirs_out, env)
        verdicts.append((filecmp.cmp(ours_out, theirs_out, shallow=False),
                         "tai64nlocal: output identical to the classic program's"))
        ours_out.unlink()
        theirs_out.unlink()

        compare(f"tai64n, {LINES} lines x {LINE_BYTES} B", timed_filter([str(bindir / "tai64n")], plain),
                timed_filter([str(CLASSIC / "tai64n")], plain), 0.5)
        compare(f"tai64nlocal, same lines stamped, TZ={TZ}", timed_filter([str(bindir / "tai64nlocal")], stamped, env),
                timed_filter([str(CLASSIC / "tai64nlocal")], stamped, env), 0.5)

        empty = tmp / "envdir"
        empty.mkdir()
        if b"envdir" in applets:
            what = f"start-up: envdir DIR true x{STARTS}"
            ours_argv = [str(bindir / "envdir"), str(empty), "true"]
            theirs_argv = [str(CLASSIC / "envdir"), str(empty), "true"]
        else:
            what = f"start-up: argv0 /bin/true true x{STARTS}"
            ours_argv = [str(bindir / "argv0"), "/bin/true", "true"]
            theirs_argv = [str(CLASSIC / "argv0"), "/bin/true", "true"]
            notes.append("start-up: qbox has no envdir applet yet, so argv0 (against "
                         "ucspi-tcp's /usr/bin/argv0) stands in for envdir")
        compare(what, timed_starts(ours_argv, os.environ), timed_starts(theirs_argv, os.environ), 1.0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    kib = QBOX.stat().st_size / 1024
    rows.append(("size of build/qbox", f"{kib:.0f} KiB", "", "", "<= 300 KiB"))
    verdicts.append((kib <= 300, f"size of build/qbox: {kib:.0f} KiB, limit 300 KiB"))

    head = ("benchmark", "qbox", "classic", "ratio", "target")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(5)]
    for r in [head] + rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    for n in notes:
        print("note:", n)
    for ok, text in verdicts:
        print("PASS" if ok else "FAIL", text)


if __name__ == "__main__":
    main()
    sys.exit(0)
