#!/usr/bin/python3
"""Full TLS handshakes per second: qbox sslserver against stunnel4 (Debian).

Both servers get the same ECDSA P-256 certificate (made here with openssl)
and do the same job for each connection: a TLS 1.2 handshake, then a tiny
program (a static "hi" printer made here with musl-gcc, else /bin/echo)
run for the connection, whose line goes back to the client, then the close.

N clients connect, handshake (a new session every time: no resumption),
read the line and close, as fast as they can. By default they are
`openssl s_time -new -www /` processes (C, so that the clients cost little
next to the servers); with --client python, Python ssl clients that also
check the line. The servers take turns (ROUNDS short runs each, SECONDS in
all per server), which spreads out the noise of a busy machine.

With two or more CPUs, the servers (and everything they start) run on CPU 0
and the clients on the others (taskset), so that what is measured is the
servers' cost per handshake and not the clients'. Prints handshakes/s for
each, the ratio qbox/stunnel (the target is >= 1.0), and the servers' CPU
time per handshake. Reports, never fails the build (exit 0), unless asked
with --strict.

usage: test/bench/tls_bench.py [--seconds S] [--rounds R] [--clients N] [--client s_time|python] [--strict]
"""
import argparse
import multiprocessing
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
from postfix_peer import wait_reaped  # noqa: E402

TOP = Path(__file__).resolve().parents[2]
QBOX = TOP / "build" / "qbox"
STUNNEL = shutil.which("stunnel4") or shutil.which("stunnel")
TARGET = 1.0

TINY_C = r"""
#include <unistd.h>
int main(void) { write(1, "hi\n", 3); return 0; }
"""


def sh(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, **kw)


def make_cert(d):
    sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", str(d / "ec.key"), "-out", str(d / "ec.pem"),
        "-subj", "/CN=localhost", "-days", "30"])


def make_tiny(d):
    """A static program that prints one line: the child's cost is then the
    same small fork+exec for both servers."""
    if shutil.which("musl-gcc"):
        src = d / "tiny.c"
        src.write_text(TINY_C)
        try:
            sh(["musl-gcc", "-static", "-Os", "-s", "-o", str(d / "tiny"), str(src)])
            return [str(d / "tiny")], "static musl program"
        except subprocess.CalledProcessError:
            pass
    return ["/bin/echo", "hi"], "/bin/echo"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"tls_bench: server exited {proc.returncode}: "
                             f"{proc.stderr.read().decode(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.02)
    raise SystemExit("tls_bench: server did not listen")


def pin(cpus):
    return ["taskset", "-c", cpus] if cpus and shutil.which("taskset") else []


def start_qbox(d, prog, cpus):
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "CERTFILE": str(d / "ec.pem"), "KEYFILE": str(d / "ec.key")}
    argv = pin(cpus) + [str(d / "sslserver"), "-q", "-RHl0", "-c", "200", "-b", "200",
                        "127.0.0.1", str(port)] + prog
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True)
    wait_port(port, p)
    return p, port


def start_stunnel(d, prog, cpus):
    port = free_port()
    conf = d / "stunnel.conf"
    conf.write_text(
        "foreground = yes\n"
        "pid =\n"
        "debug = 0\n"
        f"output = {d / 'stunnel.log'}\n"
        "[bench]\n"
        f"accept = 127.0.0.1:{port}\n"
        f"cert = {d / 'ec.pem'}\n"
        f"key = {d / 'ec.key'}\n"
        f"exec = {prog[0]}\n"
        f"execArgs = {' '.join([Path(prog[0]).name] + prog[1:])}\n")
    p = subprocess.Popen(pin(cpus) + [STUNNEL, str(conf)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    wait_port(port, p)
    return p, port


def server_cpu(p):
    """CPU seconds the server and its reaped children used, once its
    children have ended (each connection's processes are reaped by it)."""
    wait_reaped(p.pid, 5)
    fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def stop(p):
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    p.stderr.close()


def client(port, start_at, seconds, cpus, out):
    """One client process: full handshakes in a loop. Puts (ok, failed)."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # qbox speaks TLS 1.2 only
    ctx.options |= ssl.OP_NO_TICKET
    while time.monotonic() < start_at:
        time.sleep(0.001)
    end = start_at + seconds
    ok = failed = 0
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                with ctx.wrap_socket(s) as t:  # a new session each time
                    data = b""
                    while not data.endswith(b"\n"):
                        chunk = t.recv(64)
                        if not chunk:
                            break
                        data += chunk
                    if data == b"hi\n":
                        ok += 1
                    else:
                        failed += 1
        except (OSError, ssl.SSLError):
            failed += 1
    out.put((ok, failed))


def measure_python(port, clients, seconds, client_cpus):
    q = multiprocessing.Queue()
    start_at = time.monotonic() + 0.5
    procs = [multiprocessing.Process(target=client, args=(port, start_at, seconds, client_cpus, q))
             for _ in range(clients)]
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    ok = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    return ok, 3 * ok, failed, seconds


S_TIME = re.compile(rb"(\d+) connections in [\d.]+s; [\d.]+ connections/user sec, bytes read (\d+)")


def measure_s_time(port, clients, seconds, client_cpus):
    """(handshakes, reply bytes, failed client processes, seconds)."""
    cpus = ",".join(str(c) for c in sorted(client_cpus)) if client_cpus else ""
    argv = pin(cpus) + ["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new", "-tls1_2",
                        "-www", "/", "-time", str(max(1, int(seconds + 0.5)))]
    t0 = time.monotonic()
    procs = [subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL) for _ in range(clients)]
    outs = [p.communicate()[0] for p in procs]
    elapsed = time.monotonic() - t0
    ok = nbytes = failed = 0
    for out in outs:
        m = S_TIME.search(out)
        if not m:
            failed += 1
            continue
        ok += int(m.group(1))
        nbytes += int(m.group(2))
    return ok, nbytes, failed, elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0, help="per server, in all")
    ap.add_argument("--rounds", type=int, default=5, help="turns per server")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--client", choices=["s_time", "python"], default="s_time")
    ap.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = ap.parse_args()
    measure = measure_s_time if args.client == "s_time" else measure_python
    if not QBOX.exists():
        print("tls_bench: build/qbox is missing; run ninja first")
        return 0
    if not STUNNEL:
        print("tls_bench: stunnel4 is not installed (apt-get install stunnel4); skipped")
        return 0
    ncpu = os.cpu_count() or 1
    server_cpus = "0" if ncpu >= 2 else ""
    client_cpus = set(range(1, ncpu)) if ncpu >= 2 else None

    d = Path(tempfile.mkdtemp(prefix="qbox-tls-bench."))
    try:
        (d / "sslserver").symlink_to(QBOX)
        make_cert(d)
        prog, progname = make_tiny(d)
        per_run = args.seconds / args.rounds
        print(f"tls_bench: {args.clients} {args.client} clients, {args.rounds} runs of {per_run:g} s "
              f"per server, ECDSA P-256, TLS 1.2 full handshakes, program: {progname}; "
              + (f"servers on CPU {server_cpus}, clients on CPUs {sorted(client_cpus)}"
                 if client_cpus else "one CPU shared by all"))
        names = ["qbox sslserver", "stunnel4"]
        starters = {"qbox sslserver": start_qbox, "stunnel4": start_stunnel}
        total = {n: [0, 0.0, 0.0, 0] for n in names}  # handshakes, seconds, CPU seconds, failed
        pairs = []  # qbox/stunnel of each round: the two ran one after the other
        for rnd in range(args.rounds):
            this = {}
            for name in (names if rnd % 2 == 0 else names[::-1]):
                p, port = starters[name](d, prog, server_cpus)
                try:
                    ok, nbytes, failed, elapsed = measure(port, args.clients, per_run, client_cpus)
                    used = server_cpu(p)
                finally:
                    stop(p)
                note = f" ({failed} failed)" if failed else ""
                per = f"{1000 * used / ok:.2f} ms" if ok else "-"
                reply = f"{nbytes / ok:.1f}" if ok else "-"
                print(f"  run {rnd + 1}: {name:15s} {ok / elapsed:8.1f} handshakes/s, "
                      f"server CPU {per} per handshake, {reply} reply bytes each{note}")
                this[name] = ok / elapsed
                t = total[name]
                t[0] += ok
                t[1] += elapsed
                t[2] += used
                t[3] += failed
            if this["stunnel4"]:
                pairs.append(this["qbox sslserver"] / this["stunnel4"])
        rate = {n: total[n][0] / total[n][1] for n in names}
        eff = {n: (total[n][0] / total[n][2] if total[n][2] else 0.0) for n in names}
        q, s = rate["qbox sslserver"], rate["stunnel4"]
        ratio = q / s if s else float("inf")
        print(f"qbox sslserver: {q:.1f} handshakes/s; stunnel4: {s:.1f} handshakes/s; "
              f"ratio {ratio:.2f} (target >= {TARGET}); median ratio of the rounds "
              f"{sorted(pairs)[len(pairs) // 2] if pairs else float('nan'):.2f}")
        print(f"server CPU per handshake: qbox sslserver {1000 / eff['qbox sslserver']:.2f} ms, "
              f"stunnel4 {1000 / eff['stunnel4']:.2f} ms; handshakes per CPU second ratio "
              f"{eff['qbox sslserver'] / eff['stunnel4']:.2f}")
        print("(the reply is \"hi\\n\", 3 bytes; a server that closes before it has"
              " passed it on does less work than one that delivers it)")
        kib = QBOX.stat().st_size / 1024
        print(f"size of build/qbox: {kib:.0f} KiB (limit 600 KiB)")
        ok = ratio >= TARGET
        print(("PASS" if ok else "FAIL") + f" sslserver handshakes/s vs stunnel4: ratio {ratio:.2f}, "
              f"target >= {TARGET}")
        return 0 if ok or not args.strict else 1
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
