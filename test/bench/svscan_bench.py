#!/usr/bin/python3
"""svscan with 200 services: the CPU time one rescan costs, for qbox's
svscan next to daemontools' (Debian's /usr/bin/svscan).

Both scan the same directory of 200 services (`run` is `exec sleep 1000`),
with the same `supervise`. A rescan is triggered with SIGALRM; the cost is
the svscan process's own utime + stime from /proc, averaged over many
rescans. daemontools' svscan dies of SIGALRM, so it runs with a tiny
LD_PRELOAD library that only installs a SIGALRM handler: the signal then
cuts its sleep(5) short and it rescans, running its own unchanged code.

usage: svscan_bench.py [--services N] [--seconds S]
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "test" / "system"))
from proctools import (children, cpu_ticks, kill_under, make_service, make_svbin,  # noqa: E402
                       stop_services, wait_for)

QBOX = TOP / "build" / "qbox"
CLASSIC = Path("/usr/bin/svscan")
TICK = os.sysconf("SC_CLK_TCK")

SHIM = r"""
#include <signal.h>
#include <stdlib.h>
static void on_alarm(int sig) { (void)sig; }
__attribute__((constructor)) static void shim(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, 0);
  unsetenv("LD_PRELOAD");  /* not for the supervises */
}
"""


def status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split()[1]
    return None


def rescan(pid):
    """One SIGALRM, and waits until svscan sleeps again after it."""
    before = int(status_field(pid, "voluntary_ctxt_switches"))
    os.kill(pid, signal.SIGALRM)
    while not (int(status_field(pid, "voluntary_ctxt_switches")) > before and
               status_field(pid, "State") == "S"):
        time.sleep(0.0002)


def measure(name, argv, env, scandir, services, seconds):
    p = subprocess.Popen(argv + [str(scandir)], env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: sum(1 for _, c in children(p.pid) if c[:1] == ["supervise"])
                 == services, 60, f"{services} supervises under {name}")
        for _ in range(20):  # settle: every entry known, caches warm
            rescan(p.pid)
        ticks0 = cpu_ticks(p.pid)
        n = 0
        t0 = time.monotonic()
        while n < 200 or time.monotonic() - t0 < seconds:
            rescan(p.pid)
            n += 1
        ticks = cpu_ticks(p.pid) - ticks0
        assert p.poll() is None, f"{name} died"
        return ticks, n
    finally:
        # Take the services out of sight, stop them while svscan reaps,
        # then stop svscan.
        grave = scandir.parent / "grave"
        grave.mkdir(exist_ok=True)
        for e in os.listdir(scandir):
            os.rename(scandir / e, grave / e)
        if p.poll() is None:
            stop_services(env["PATH"].split(":")[0], [grave / e for e in os.listdir(grave)],
                          timeout=60)

            def reaped():
                os.kill(p.pid, signal.SIGALRM)
                return not children(p.pid)
            wait_for(reaped, 30, f"{name}'s supervises to exit", interval=0.2)
            p.kill()
        p.wait()
        kill_under(grave)
        for e in os.listdir(grave):
            os.rename(grave / e, scandir / e)
        for e in os.listdir(scandir):
            shutil.rmtree(scandir / e / "supervise", ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    if not QBOX.exists():
        sys.exit("svscan_bench: build build/qbox first (ninja)")

    with tempfile.TemporaryDirectory(prefix="svscan-bench-") as tmp:
        tmp = Path(tmp)
        svbin = make_svbin(QBOX, tmp / "bin")
        scandir = tmp / "service"
        scandir.mkdir()
        for i in range(args.services):
            make_service(scandir / f"s{i:03}", "#!/bin/sh\nexec sleep 1000\n")
        env = {"PATH": f"{svbin}:/usr/bin:/bin"}
        supervise = os.path.realpath(svbin / "supervise")
        print(f"svscan: CPU time (utime+stime) of one rescan, {args.services} services, "
              f"supervise = {supervise}")

        results = {}
        results["qbox"] = measure("qbox svscan", [str(svbin / "svscan")], env, scandir,
                                  args.services, args.seconds)

        cc = shutil.which("cc") or shutil.which("gcc")
        if CLASSIC.exists() and cc:
            (tmp / "shim.c").write_text(SHIM)
            subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(tmp / "shim.so"),
                            str(tmp / "shim.c")], check=True)
            results["daemontools"] = measure(
                "daemontools svscan", [str(CLASSIC)], dict(env, LD_PRELOAD=str(tmp / "shim.so")),
                scandir, args.services, args.seconds)
        else:
            print("  daemontools svscan: not measured (needs /usr/bin/svscan and a C compiler)")

        per = {}
        for name, (ticks, n) in results.items():
            per[name] = ticks / TICK / n * 1000
            print(f"  {name + ' svscan':20} {per[name]:8.3f} ms per rescan "
                  f"({n} rescans, {ticks} ticks of 1/{TICK} s)")
        if len(per) == 2 and per["daemontools"] > 0:
            print(f"  ratio qbox/daemontools: {per['qbox'] / per['daemontools']:.2f}")


if __name__ == "__main__":
    main()
