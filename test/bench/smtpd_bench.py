#!/usr/bin/python3
"""qmail-smtpd next to Debian's Postfix smtpd: messages received per
second, and STARTTLS sessions per second.

Receive rate: Postfix's smtp-source -s 20 -m N -l 1024 (20 sessions at a
time, one message of 1 KB each) against
  qbox:    tcpserver -c 100 -R -H -l bench 127.0.0.1 PORT qmail-smtpd, in a
           QMAILHOME of its own (queue made by queue-fix, single-uid mode:
           everything runs as nobody), qmail-smtpd queueing through
           qmail-queue (which fsyncs the message, the envelope and their
           directories before it exits 0, and only then is there a 250);
           qmail-send does not run: the messages stay in todo/;
  Postfix: a private instance (lib/postfix_peer.py) whose smtpd on
           127.0.0.1:PORT puts every message on hold (check_client_access
           static:HOLD): cleanup writes it to the queue and fsyncs it before
           the 250, and nothing delivers it; no DNS (smtpd_peername_lookup
           = no) and no in-flow delay (in_flow_delay = 0: with nothing
           delivered, Postfix would otherwise slow the clients down);
           default process limit 100.
The two take turns: ROUNDS rounds each, the first with --messages (10000)
messages, the others with --round-messages; the queues keep the
messages of all rounds. Prints messages/s and the CPU time per message of each server (all
its processes), the ratio of each round, their median and spread. The
target is qbox >= 1.5 times Postfix.

STARTTLS rate: sessions that do EHLO, STARTTLS (a full TLS 1.2 handshake,
ECDHE, the same ECDSA P-256 certificate for both, made here with openssl;
no session cache, no tickets), EHLO, QUIT, from --clients processes of
lib/starttls_client.c (C and OpenSSL, built here with the host's cc: the
client must not be the bottleneck), against qbox (qmail-smtpd with
control/servercert.pem) and Postfix (smtpd_tls_chain_files, security
level may, smtpd_tls_session_cache_timeout = 0). With two or more CPUs
the servers run on CPU 0 and the clients on the others (taskset). Turns
as above; prints sessions/s, the server's and the clients' CPU per session
and the ratio; the target is qbox >= 1.0 times Postfix. 8 clients by
default: on a 2-CPU machine 4 left both CPUs partly idle (the rate then
measures each session's latency, not the server's capacity) and 16 made
the clients' CPU the limit; the server CPU per session is the steadier
figure either way.

Then qbox's receiving side runs --strace-messages messages under strace -f
and the bench prints the system calls per message of tcpserver,
qmail-smtpd and qmail-queue (fsyncs, opens, forks and execs, reads and
writes), and Postfix's fsyncs per message for the same run.

The load average is printed at the start and the end: other programs on
the machine make the rates noisy; the CPU times per message are steadier.
So is the file system the queues are on: qmail-queue fsyncs four times a
message (two files, two directories), Postfix's cleanup once, which costs
more where every fsync flushes the disk's cache.
Needs root (Postfix, and nobody for qbox); reports, never fails.

usage: smtpd_bench.py [--messages N] [--round-messages N] [--rounds R]
                      [--tls-seconds S] [--clients N] [--strace-messages N]
                      [--no-postfix] [--no-receive] [--no-tls] [--keep]
                      [--qmailqueue PROGRAM]

--qmailqueue PROGRAM runs qbox's side with $QMAILQUEUE=PROGRAM: with a
program that only reads its two inputs, the receive rate shows what
everything but qmail-queue costs (the queue then stays empty, and the
bench says so).
"""
import argparse
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
import postfix_peer  # noqa: E402
from postfix_peer import IO, OPEN, PROCESS, SYNC, strace_counts, tree_cpu, wait_reaped  # noqa: E402

TOP = Path(__file__).resolve().parents[2]
QBOX = TOP / "build" / "qbox"
CLIENT_C = Path(__file__).resolve().parent / "lib" / "starttls_client.c"
DOMAIN = "bench.example"
SENDER = f"sender@{DOMAIN}"
RCPT = f"rcpt@{DOMAIN}"
NOBODY = 65534
RECEIVE_TARGET = 1.5
TLS_TARGET = 1.0


def say(*a):
    print(*a, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"smtpd_bench: {what} exited {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.recv(100)  # the greeting: the server is up
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"smtpd_bench: {what} does not answer on port {port}")


def pin(cpus):
    return ["taskset", "-c", cpus] if cpus and shutil.which("taskset") else []


def load():
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def filesystem(path):
    """What the queues are written to, e.g. "ext4 on vda, without a
    journal": an ext4 without one makes each fsync write the inode and the
    new entry's directory and flush the disk's cache."""
    mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    best = max((m for m in mounts if str(path).startswith(m[1].rstrip("/") + "/") or m[1] == "/"),
               key=lambda m: len(m[1]), default=None)
    if best is None:
        return "?"
    dev = os.stat(path).st_dev
    name = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}").resolve().name
    what = f"{best[2]} on {name}"
    if best[2] in ("ext3", "ext4") and Path("/proc/fs/jbd2").is_dir():
        journaled = any(e.name.startswith(name + "-") for e in Path("/proc/fs/jbd2").iterdir())
        what += ", with a journal" if journaled else ", without a journal"
    return what


def make_cert(d):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem"), "-subj", f"/CN={DOMAIN}", "-days", "30"],
                   check=True, capture_output=True)


# ---- qbox ----------------------------------------------------------------------------

class Qbox:
    name = "qbox"

    def __init__(self, top, certs, qmailqueue=None):
        self.qmailqueue = qmailqueue
        self.home = top / "qmail"
        (self.home / "bin").mkdir(parents=True)
        (self.home / "control").mkdir()
        subprocess.run([str(QBOX), "--install", str(self.home / "bin")], check=True)
        c = self.home / "control"
        (c / "me").write_text(f"{DOMAIN}\n")
        (c / "rcpthosts").write_text(f"{DOMAIN}\n")
        (c / "servercert.pem").write_bytes((certs / "cert.pem").read_bytes() +
                                           (certs / "key.pem").read_bytes())
        for root, dirs, files in os.walk(self.home):
            for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                os.lchown(n, NOBODY, NOBODY)
        os.chmod(c / "servercert.pem", 0o640)
        self.queue = self.home / "queue"
        self.run_as_nobody([str(self.home / "bin" / "queue-fix"), str(self.queue)])
        self.proc = None
        self.log = None
        self.port = 0

    def env(self):
        env = {"PATH": f"{self.home / 'bin'}:/usr/bin:/bin", "QMAILHOME": str(self.home)}
        if self.qmailqueue:
            env["QMAILQUEUE"] = self.qmailqueue
        return env

    def run_as_nobody(self, argv):
        r = subprocess.run(self.as_nobody(argv), env=self.env(), capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"{argv[0]}: exit {r.returncode}: {r.stderr.strip()}")

    @staticmethod
    def as_nobody(argv):
        return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] + argv

    def start(self, prefix=()):
        self.log = open(self.home / "smtpd.log", "ab")
        b = self.home / "bin"
        argv = list(prefix) + self.as_nobody(
            [str(b / "tcpserver"), "-1", "-c", "100", "-R", "-H", "-l", "bench", "127.0.0.1", "0",
             str(b / "qmail-smtpd")])
        self.proc = subprocess.Popen(argv, env=self.env(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self.log,
                                     start_new_session=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            raise SystemExit("smtpd_bench: tcpserver did not start")
        self.port = int(line)
        wait_port(self.port, self.proc, "tcpserver")

    def pid(self):
        return self.proc.pid  # setpriv (and taskset) became tcpserver

    def settle(self):
        """Waits until tcpserver has reaped its children (their CPU time
        counts once they are reaped)."""
        wait_reaped(self.pid())

    def stop(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc.stdout.close()
        self.proc = None
        self.log.close()

    def queued(self):
        return len(os.listdir(self.queue / "todo"))

    def empty_queue(self):
        for d in [self.queue / "todo", self.queue / "intd", self.queue / "pid"] + \
                 list((self.queue / "mess").iterdir()):
            for n in os.listdir(d):
                os.unlink(d / n)


# ---- Postfix ---------------------------------------------------------------------------

class Postfix(postfix_peer.Postfix):
    name = "postfix"

    def __init__(self, top, certs):
        self.port = free_port()
        super().__init__(top, DOMAIN, main_cf=f"""\
mydestination = {DOMAIN}
local_recipient_maps =
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
in_flow_delay = 0
smtpd_recipient_restrictions = check_client_access static:HOLD, permit_mynetworks,
    reject_unauth_destination
smtpd_tls_security_level = may
smtpd_tls_chain_files = {certs / 'key.pem'}, {certs / 'cert.pem'}
smtpd_tls_session_cache_database =
smtpd_tls_session_cache_timeout = 0
""", services=[f"127.0.0.1:{self.port} inet n - n - - smtpd"])

    def start(self, prefix=()):
        super().start(prefix)
        wait_port(self.port, None, "postfix smtpd")

    def pid(self):
        return self.daemon_pid()

    def settle(self):
        pass

    def queued(self):
        return sum(len(files) for _, _, files in os.walk(self.spool / "hold"))

    def empty_queue(self):
        for root, _, files in os.walk(self.spool / "hold"):
            for n in files:
                os.unlink(os.path.join(root, n))


# ---- the runs ------------------------------------------------------------------------------

def receive(system, messages):
    """(messages/s, server CPU ms per message) of one smtp-source run. The
    queue keeps what earlier runs left: deleting thousands of files would
    slow down the next ones' file creation (ext4 without a journal skips
    the inodes deleted in the last 30 s), unevenly for the two."""
    before = system.queued()
    cpu0 = tree_cpu(system.pid())
    t0 = time.monotonic()
    r = subprocess.run(["smtp-source", "-s", "20", "-m", str(messages), "-l", "1024",
                        "-f", SENDER, "-t", RCPT, f"127.0.0.1:{system.port}"],
                       capture_output=True, text=True)
    elapsed = time.monotonic() - t0
    system.settle()
    cpu = tree_cpu(system.pid()) - cpu0
    if r.returncode != 0:
        say(f"  warning: smtp-source against {system.name}: exit {r.returncode}: "
            f"{r.stderr.strip()[:300]}")
    got = system.queued() - before
    if got < messages:
        say(f"  warning: {system.name} has {got} of {messages} messages in its queue")
    return messages / elapsed, 1000 * cpu / messages


def starttls(system, client, clients, seconds, client_cpus):
    """(sessions/s, server CPU ms per session, client CPU ms per session,
    failed, what was negotiated)."""
    cpu0 = tree_cpu(system.pid())
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    procs = [subprocess.Popen(pin(client_cpus) + [str(client), str(system.port), str(seconds)],
                              stdout=subprocess.PIPE, text=True) for _ in range(clients)]
    outs = [p.communicate()[0].split(None, 2) for p in procs]
    elapsed = time.monotonic() - t0
    system.settle()
    cpu = tree_cpu(system.pid()) - cpu0
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
    ok = sum(int(o[0]) for o in outs if len(o) == 3)
    failed = sum(int(o[1]) for o in outs if len(o) == 3) + sum(1 for o in outs if len(o) != 3)
    what = next((o[2].strip() for o in outs if len(o) == 3 and int(o[0])), "-")
    per = (lambda t: 1000 * t / ok if ok else 0.0)
    return ok / elapsed, per(cpu), per(client_cpu), failed, what


def ratios_line(pairs):
    s = sorted(pairs)
    return (f"median {statistics.median(s):.2f}, spread {s[0]:.2f}..{s[-1]:.2f} "
            f"over {len(s)} rounds")


def receive_rounds(systems, args):
    say(f"receive rate: smtp-source -s 20 -l 1024, {args.rounds} rounds "
        f"({args.messages} messages in the first, {args.round_messages} in the others)")
    rates = {s.name: [] for s in systems}
    cpus = {s.name: [] for s in systems}
    pairs = []
    for rnd in range(args.rounds):
        n = args.messages if rnd == 0 else args.round_messages
        this = {}
        for system in (systems if rnd % 2 == 0 else systems[::-1]):
            rate, cpu = receive(system, n)
            this[system.name] = rate
            rates[system.name].append(rate)
            cpus[system.name].append(cpu)
            say(f"  round {rnd + 1}: {system.name:8} {n:6} messages: {rate:7.1f} messages/s, "
                f"server CPU {cpu:.2f} ms per message")
        if len(this) == 2:
            pairs.append(this["qbox"] / this["postfix"])
            say(f"  round {rnd + 1}: qbox/postfix {pairs[-1]:.2f}")
    return rates, cpus, pairs


def tls_rounds(systems, client, args, server_cpus, client_cpus):
    per = args.tls_seconds
    say(f"STARTTLS rate: {args.clients} clients (lib/starttls_client.c), {args.rounds} rounds of "
        f"{per:g} s per server; EHLO, STARTTLS (full TLS 1.2 handshake, ECDSA P-256), EHLO, QUIT; "
        + (f"servers on CPU {server_cpus}, clients on CPUs {client_cpus}" if server_cpus
           else "one CPU shared by all"))
    rates = {s.name: [] for s in systems}
    cpus = {s.name: [] for s in systems}
    pairs = []
    for rnd in range(args.rounds):
        this = {}
        for system in (systems if rnd % 2 == 0 else systems[::-1]):
            rate, cpu, client_cpu, failed, what = starttls(system, client, args.clients, per,
                                                           client_cpus)
            this[system.name] = rate
            rates[system.name].append(rate)
            cpus[system.name].append(cpu)
            say(f"  round {rnd + 1}: {system.name:8} {rate:7.1f} sessions/s, server CPU "
                f"{cpu:.2f} ms, clients' CPU {client_cpu:.2f} ms per session ({what}" + (f"; {failed} failed" if failed else "")
                + ")")
        if len(this) == 2 and this["postfix"]:
            pairs.append(this["qbox"] / this["postfix"])
            say(f"  round {rnd + 1}: qbox/postfix {pairs[-1]:.2f}")
    return rates, cpus, pairs


# ---- strace: system calls per message ----------------------------------------------------

QBOX_MINIMUM_FSYNC = {"tcpserver": 0, "qmail-smtpd": 0, "qmail-queue": 4}
COLUMNS = [("fsync", SYNC), ("open", OPEN), ("fork/exec", PROCESS), ("read/write/poll", IO)]


def traced(system, top, messages):
    """The strace -f -ff files of `messages` messages from smtp-source
    against the system, started afresh under strace with an empty queue."""
    out = top / f"strace-{system.name}"
    out.mkdir()
    system.stop()
    system.empty_queue()
    system.start(prefix=["strace", "-f", "-ff", "-qq", "-o", str(out / "t")])
    try:
        subprocess.run(["smtp-source", "-s", "20", "-m", str(messages), "-l", "1024", "-f", SENDER,
                        "-t", RCPT, f"127.0.0.1:{system.port}"], capture_output=True, check=True)
        time.sleep(1)  # the last sessions end after their QUIT
    finally:
        system.stop()
    return list(out.iterdir())


def strace_qbox(q, top, messages):
    counts = strace_counts(traced(q, top, messages), list(QBOX_MINIMUM_FSYNC), COLUMNS)
    say(f"qbox under strace, {messages} messages: system calls per message")
    say(f"  {'program':12} {'fsync':>6} {'(min)':>5} {'open':>6} {'fork/exec':>9} "
        f"{'read/write/poll':>15} {'all':>6}")
    for prog, minimum in QBOX_MINIMUM_FSYNC.items():
        c = counts.get(prog, {"all": 0} | {k: 0 for k, _ in COLUMNS})
        say(f"  {prog:12} {c['fsync'] / messages:6.2f} {minimum:5} {c['open'] / messages:6.2f} "
            f"{c['fork/exec'] / messages:9.2f} {c['read/write/poll'] / messages:15.2f} "
            f"{c['all'] / messages:6.1f}")
    say("  (qmail-queue's 4: the message and the envelope, and the directories mess/N and todo "
        "after their new entries; each connection is one fork of tcpserver and one exec of "
        "qmail-smtpd, each message one fork and exec of qmail-queue)")


def strace_postfix(pf, top, messages):
    progs = ["master", "smtpd", "cleanup", "trivial-rewrite", "qmgr", "anvil", "postlogd",
             "tlsmgr", "proxymap"]
    counts = strace_counts(traced(pf, top, messages), progs, COLUMNS)
    total = {k: sum(c[k] for c in counts.values()) for k in ("fsync", "all")}
    say(f"postfix under strace, {messages} messages: fsyncs per message "
        f"{total['fsync'] / messages:.2f}, system calls per message {total['all'] / messages:.1f} ("
        + ", ".join(f"{p} {c['all'] / messages:.1f}" for p, c in counts.items() if c["all"])
        + ")")


# ---- main ----------------------------------------------------------------------------------

def build_client(top):
    exe = top / "starttls_client"
    r = subprocess.run(["cc", "-O2", "-o", str(exe), str(CLIENT_C), "-lssl", "-lcrypto"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        say("smtpd_bench: cannot build lib/starttls_client.c (libssl-dev, from configure.sh): "
            + r.stderr.strip()[:300])
        return None
    return exe


def summary(what, unit, rates, cpus, pairs, target):
    if "postfix" not in rates or not pairs:
        return
    med = {n: statistics.median(v) for n, v in rates.items()}
    cpu = {n: statistics.median(v) for n, v in cpus.items()}
    ratio = statistics.median(pairs)
    say(f"  {what}: qbox {med['qbox']:.1f}, postfix {med['postfix']:.1f} {unit}/s (medians); "
        f"qbox/postfix {ratios_line(pairs)}")
    say(f"    server CPU per {unit[:-1]}: qbox {cpu['qbox']:.2f} ms, postfix {cpu['postfix']:.2f} ms "
        f"(qbox does {cpu['postfix'] / cpu['qbox']:.2f} times as many per CPU second)")
    say(f"  {'PASS' if ratio >= target else 'FAIL'} {what}: qbox/postfix {ratio:.2f}, "
        f"target >= {target}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=10000, help="the first round's messages")
    ap.add_argument("--round-messages", type=int, default=3000, help="the other rounds'")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tls-seconds", type=float, default=5.0, help="per round and server")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--strace-messages", type=int, default=200)
    ap.add_argument("--no-postfix", dest="postfix", action="store_false", help="qbox alone")
    ap.add_argument("--no-receive", dest="receive", action="store_false")
    ap.add_argument("--no-tls", dest="tls", action="store_false")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--qmailqueue", metavar="PROGRAM",
                    help="qmail-smtpd queues through PROGRAM instead (to see what qmail-queue "
                         "costs: a program that reads descriptors 0 and 1 and exits 0)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        say("smtpd_bench: skipped: needs root (Postfix, and nobody for qbox)")
        return 0
    if not QBOX.exists():
        say("smtpd_bench: skipped: build/qbox is missing")
        return 0
    for prog in ("smtp-source", "setpriv", "openssl"):
        if not shutil.which(prog):
            say(f"smtpd_bench: skipped: {prog} is missing (configure.sh installs it)")
            return 0
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda n, _: sys.exit(128 + n))
    top = Path(tempfile.mkdtemp(prefix="qbox-smtpd-bench-"))
    os.chmod(top, 0o755)
    systems = []
    results = []
    try:
        certs = top / "certs"
        certs.mkdir()
        make_cert(certs)
        q = Qbox(top, certs, args.qmailqueue)
        systems.append(q)
        if not args.postfix:
            pass
        elif postfix_peer.available():
            systems.append(Postfix(top, certs))
        else:
            say("smtpd_bench: Postfix is not installed (configure.sh installs it); qbox alone")
        say(f"smtpd_bench: qbox and postfix {postfix_peer.version()}; queues on "
            f"{filesystem(top)}; {os.cpu_count()} CPUs, {load()}")
        ncpu = os.cpu_count() or 1
        for s in systems:
            s.start()
        if args.receive:
            results.append(("receive rate", "messages") + receive_rounds(systems, args)
                           + (RECEIVE_TARGET,))
        client = build_client(top) if args.tls else None
        if client:
            server_cpus = "0" if ncpu >= 2 else ""
            client_cpus = f"1-{ncpu - 1}" if ncpu >= 2 else ""
            for s in systems:
                s.stop()
                s.start(prefix=pin(server_cpus))
            results.append(("STARTTLS rate", "sessions")
                           + tls_rounds(systems, client, args, server_cpus, client_cpus)
                           + (TLS_TARGET,))
        say(f"summary ({load()}):")
        for what, unit, rates, cpus, pairs, target in results:
            summary(what, unit, rates, cpus, pairs, target)
        if args.strace_messages and shutil.which("strace"):
            strace_qbox(q, top, args.strace_messages)
            if len(systems) > 1:
                strace_postfix(systems[1], top, args.strace_messages)
    finally:
        postfix_peer.stop_all(systems, top, args.keep, say)
    return 0


if __name__ == "__main__":
    sys.exit(main())
