#!/usr/bin/python3
"""tcpserver: connection rate and idle memory, qbox next to Debian's.

Connection rate: clients connect, read one line and close, for DURATION
seconds against each server, both started with `-c 100 -b 100 -R -H -l 0`
(no DNS here). The child is a tiny static program that prints one line, so
the servers' own per-connection work is what differs. Target: qbox >= 1.3x.

Idle memory: Private_Dirty of an idle tcpserver after it served a few
connections. Target: qbox <= 32 KiB.

Reports; exits 1 when a target is missed.
usage: test/bench/tcpserver_bench.py [seconds]
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


def rate(client, port):
    r = subprocess.run([str(client), str(port), str(CLIENTS), str(DURATION)],
                       capture_output=True, text=True, check=True)
    ok, bad, elapsed = r.stdout.split()
    return int(ok) / float(elapsed), int(bad)


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
        rates = {}
        mem = {}
        for name, exe in servers.items():
            p, port = start(exe + ["-1"] + OPTS + ["127.0.0.1", "0", str(tiny)])
            try:
                rates[name] = rate(client, port)
                time.sleep(0.5)
                mem[name] = private_dirty_kib(p.pid)
            finally:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait()
    print(f"tcpserver {' '.join(OPTS)}: {CLIENTS} clients, {DURATION:.0f} s each, child prints one line")
    for name in servers:
        r, e = rates[name]
        print(f"  {name:12s} {r:9.0f} connections/s   ({e} failed)   idle Private_Dirty {mem[name]} KiB")
    ratio = rates["qbox"][0] / rates["daemontools"][0]
    ok_rate = ratio >= 1.3
    ok_mem = 0 <= mem["qbox"] <= 32
    print(f"  qbox / daemontools: {ratio:.2f}x  (target >= 1.3x: {'met' if ok_rate else 'MISSED'})")
    print(f"  idle qbox tcpserver: {mem['qbox']} KiB  (target <= 32 KiB: {'met' if ok_mem else 'MISSED'})")
    return 0 if ok_rate and ok_mem else 1


if __name__ == "__main__":
    sys.exit(main())
