#!/usr/bin/python3
"""tcpserver: connection rate and idle memory, qbox next to Debian's.

Connection rate: clients connect, read one line and close, against each
server, both started with `-c 100 -b 100 -R -H -l 0` (no DNS here). The
child is a tiny static program that prints one line, so the servers' own
per-connection work is what differs. The machine is shared and noisy, so
the servers take turns in ROUNDS short rounds (DURATION seconds each in
all) and the ratio is the median of the rounds' ratios, shown with their
spread. Target: qbox >= 1.3x. Also shown: the CPU time per connection of
each server and of its children (from /proc, less noisy than the rate).

Idle memory: Private_Dirty of an idle tcpserver after it served a few
connections. Target: qbox <= 32 KiB.

Reports; exits 1 when a target is missed.
usage: test/bench/tcpserver_bench.py [seconds [rounds]]
"""
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
QBOX = TOP / "build" / "qbox"
DURATION = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 8
CLIENTS = 4
OPTS = ["-c", "100", "-b", "100", "-R", "-H", "-l", "0"]

TINY_C = r"""
#include <unistd.h>
int main(void) { write(1, "ok\n", 3); return 0; }
"""

# The load: CLIENTS processes, each connecting, reading one line and
# closing in a loop until the deadline; a C client so that the clients'
# own CPU time does not drown the servers' differences.
CLIENT_C = r"""
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  int port = atoi(argv[1]), procs = atoi(argv[2]); double secs = atof(argv[3]);
  int fds[2]; pipe(fds);
  double start = now(), until = start + secs;
  for (int p = 0; p < procs; p++) if (fork() == 0) {
    long ok = 0, bad = 0; char buf[16];
    struct sockaddr_in sa = {0}; sa.sin_family = AF_INET; sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(0x7f000001);
    while (now() < until) {
      int s = socket(AF_INET, SOCK_STREAM, 0);
      if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0 && read(s, buf, sizeof buf) == 3) ok++; else bad++;
      close(s);
    }
    long r[2] = {ok, bad}; write(fds[1], r, sizeof r); _exit(0);
  }
  long ok = 0, bad = 0, r[2];
  for (int p = 0; p < procs; p++) { read(fds[0], r, sizeof r); ok += r[0]; bad += r[1]; }
  while (wait(NULL) > 0) {}
  printf("%ld %ld %f\n", ok, bad, now() - start);
  return 0;
}
"""


def build(d, name, text, cc):
    src = d / (name + ".c")
    src.write_text(text)
    exe = d / name
    subprocess.run(cc + ["-O2", "-o", str(exe), str(src)], check=True)
    return exe


def start(argv):
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    port = int(p.stdout.readline())
    return p, port


def rate(client, port, seconds):
    """(connections, failures, elapsed seconds) of one round."""
    r = subprocess.run([str(client), str(port), str(CLIENTS), str(seconds)],
                       capture_output=True, text=True, check=True)
    ok, bad, elapsed = r.stdout.split()
    return int(ok), int(bad), float(elapsed)


def cpu_seconds(pid):
    """(the process's own CPU time, that of its reaped children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    tick = os.sysconf("SC_CLK_TCK")
    return (utime + stime) / tick, (cutime + cstime) / tick


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def private_dirty_kib(pid):
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Private_Dirty:"):
            return int(line.split()[1])
    return -1


def main():
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        tiny = build(d, "tiny", TINY_C, ["musl-gcc", "-static", "-s"])
        client = build(d, "client", CLIENT_C, ["gcc"])
        (d / "tcpserver").symlink_to(QBOX)
        # Make sure the page cache holds the binaries clean before measuring memory.
        os.sync()
        servers = {"qbox": [str(d / "tcpserver")], "daemontools": ["/usr/bin/tcpserver"]}
        procs = {}
        try:
            for name, exe in servers.items():
                procs[name] = start(exe + ["-1"] + OPTS + ["127.0.0.1", "0", str(tiny)])
            conns = {name: 0 for name in servers}
            failed = {name: 0 for name in servers}
            elapsed = {name: 0.0 for name in servers}
            ratios = []
            cpu0 = {name: cpu_seconds(p.pid) for name, (p, _) in procs.items()}
            for r in range(ROUNDS):
                # Taking turns, first one then the other, so that a drift in
                # the machine's load hits both alike.
                order = list(servers) if r % 2 == 0 else list(reversed(servers))
                round_rate = {}
                for name in order:
                    ok, bad, secs = rate(client, procs[name][1], DURATION / ROUNDS)
                    conns[name] += ok
                    failed[name] += bad
                    elapsed[name] += secs
                    round_rate[name] = ok / secs
                ratios.append(round_rate["qbox"] / round_rate["daemontools"])
            time.sleep(0.5)
            cpu = {}
            for name, (p, _) in procs.items():
                own, kids = cpu_seconds(p.pid)
                n = max(conns[name], 1)
                cpu[name] = ((own - cpu0[name][0]) / n * 1e6, (kids - cpu0[name][1]) / n * 1e6)
            mem = {name: private_dirty_kib(p.pid) for name, (p, _) in procs.items()}
        finally:
            for p, _ in procs.values():
                os.killpg(p.pid, signal.SIGTERM)
                p.wait()
    print(f"tcpserver {' '.join(OPTS)}: {CLIENTS} clients, {ROUNDS} rounds of {DURATION / ROUNDS:.2f} s "
          "each, child prints one line")
    for name in servers:
        r = conns[name] / elapsed[name]
        own, kids = cpu[name]
        print(f"  {name:12s} {r:9.0f} connections/s   ({failed[name]} failed)   CPU per connection: "
              f"server {own:5.1f} us, children {kids:5.1f} us   idle Private_Dirty {mem[name]} KiB")
    ratio = median(ratios)
    ok_rate = ratio >= 1.3
    ok_mem = 0 <= mem["qbox"] <= 32
    print(f"  qbox / daemontools: {ratio:.2f}x median of {ROUNDS} rounds (spread {min(ratios):.2f}-"
          f"{max(ratios):.2f})  (target >= 1.3x: {'met' if ok_rate else 'MISSED'})")
    print(f"  idle qbox tcpserver: {mem['qbox']} KiB  (target <= 32 KiB: {'met' if ok_mem else 'MISSED'})")
    return 0 if ok_rate and ok_mem else 1


if __name__ == "__main__":
    sys.exit(main())
