#!/usr/bin/python3
"""Memory of one qmail-smtpd session: VmRSS, RssAnon and Private_Dirty
(/proc/PID/status and smaps_rollup) of the qmail-smtpd that tcpserver runs,
after EHLO, MAIL and RCPT in plain text, then again after STARTTLS and the
same commands, and a third time after a 1 MB message went through DATA.
The whole session runs under `softlimit -m 2000000`, as the Life with
qmail run script starts it.

VmRSS is RssAnon + RssFile + RssShmem. RssFile counts the pages of the
static binary the session has mapped (the kernel maps the neighbours of
every page touched, up to 64 KiB), which are the page cache's, shared
with tcpserver and every other session; the link puts the code
qmail-smtpd can run first, in one block (src/rt/link.sh), so that those
are a part of the binary, not all of it. RssAnon and Private_Dirty are
what one more session costs. The issue's limit is 512 KiB of resident
memory per session. Reports, never fails.

usage: test/bench/smtpd_mem.py [path/to/qbox]
"""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
LIMIT_KIB = 512


def status(pid):
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            out[k] = int(v.split()[0])
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Private_Dirty:"):
            out["Private_Dirty"] = int(line.split()[1])
    return out


def child_of(pid):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            kids = []
        if kids:
            return int(kids[0])
        time.sleep(0.01)
    raise SystemExit("smtpd_mem: no session process")


def replies(f, n):
    for _ in range(n):
        while True:
            line = f.readline()
            if not line:
                raise SystemExit("smtpd_mem: connection closed")
            if line[3:4] != b"-":
                break


def main():
    qbox = Path(sys.argv[1] if len(sys.argv) > 1 else TOP / "build" / "qbox").resolve()
    # Pages of a freshly linked binary are dirty in the page cache until
    # written back, and would count as Private_Dirty.
    os.sync()
    d = Path(tempfile.mkdtemp(prefix="qbox-smtpd-mem-"))
    try:
        (d / "bin").mkdir()
        (d / "control").mkdir()
        subprocess.run([str(qbox), "--install", str(d / "bin")], check=True)
        (d / "control" / "me").write_text("mx.example\n")
        (d / "control" / "rcpthosts").write_text("mx.example\n")
        subprocess.run(["sh", "-c", "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
                        "-nodes -keyout k -out c -subj /CN=mx.example -days 2 2>/dev/null && "
                        "cat c k >servercert.pem && rm c k"], cwd=d / "control", check=True)
        # Queue into a filter that reads the message and accepts it: the
        # measure is qmail-smtpd's, not the queue's.
        (d / "bin" / "sink").write_text("#!/bin/sh\ncat >/dev/null; cat <&1 >/dev/null; exit 0\n")
        (d / "bin" / "sink").chmod(0o755)
        env = {"PATH": "/usr/bin:/bin", "QMAILHOME": str(d), "QMAILQUEUE": str(d / "bin" / "sink")}
        p = subprocess.Popen([str(d / "bin" / "softlimit"), "-m", "2000000", str(d / "bin" / "tcpserver"),
                              "-1", "-H", "-R", "-l", "mx.example", "127.0.0.1", "0",
                              str(d / "bin" / "qmail-smtpd")],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                             start_new_session=True)
        try:
            port = int(p.stdout.readline())
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            f = s.makefile("rb")
            replies(f, 1)
            pid = child_of(p.pid)
            s.sendall(b"EHLO bench\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<joe@mx.example>\r\n")
            replies(f, 3)
            rows = [("plain text", status(pid))]
            s.sendall(b"RSET\r\nSTARTTLS\r\n")
            replies(f, 2)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            t = ctx.wrap_socket(s, server_hostname="mx.example")
            tf = t.makefile("rb")
            t.sendall(b"EHLO bench\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<joe@mx.example>\r\n")
            replies(tf, 3)
            rows.append(("after STARTTLS", status(pid)))
            t.sendall(b"DATA\r\n")
            replies(tf, 1)
            t.sendall(b"Subject: x\r\n\r\n" + (b"x" * 78 + b"\r\n") * 13000 + b".\r\n")
            replies(tf, 1)
            rows.append(("after a 1 MB DATA", status(pid)))
            t.sendall(b"QUIT\r\n")
            replies(tf, 1)
            t.close()
        finally:
            p.kill()
            p.wait()
        print(f"  {'qmail-smtpd session':22s} {'VmRSS':>8s} {'RssAnon':>8s} {'RssFile':>8s} "
              f"{'RssShmem':>8s} {'Priv.Dirty':>10s}")
        for name, m in rows:
            print(f"  {name:22s} {m['VmRSS']:6d} kB {m['RssAnon']:5d} kB {m['RssFile']:5d} kB "
                  f"{m['RssShmem']:5d} kB {m['Private_Dirty']:7d} kB")
        worst = max(m["VmRSS"] for _, m in rows)
        print(f"  largest VmRSS {worst} kB (limit {LIMIT_KIB} KiB): "
              f"{'within' if worst <= LIMIT_KIB else 'ABOVE'}")
    finally:
        shutil.rmtree(d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
