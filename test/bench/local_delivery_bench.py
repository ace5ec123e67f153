#!/usr/bin/python3
"""Local delivery: qbox's qmail (qmail-queue, qmail-start and friends) next
to Debian's Postfix, both delivering to the same 100 Maildirs.

Each system gets MESSAGES messages of about 1 KB, each to one of 100 local
users (bench0..bench99, message i to bench(i % 100)), from 4 injectors
running in parallel: qbox through qmail-queue (as qmailq, as installed),
Postfix through its sendmail (which runs postdrop). The time runs from the
first injection until the last message is in a Maildir's new/ (the latest
modification time of the 100 new/ directories). Both run with their
defaults: qmail's concurrencylocal 10, Postfix's process limit 100; both
fsync as they always do. Each run also reports the CPU time per message of
the delivery side (the daemons and their children) and of the injection
side. That end-to-end rate is the one with a target (qbox at least 1.5
times Postfix's). To tell the two halves apart, each system then gets the
same messages again with its delivery side stopped, and delivers the full
queue once started: injection alone and delivery alone.

Then the whole qbox pipeline (injection and delivery) of a small run runs
under strace, and the bench prints the fsyncs and file-system calls per
message of each program, next to the minimum that durability needs; and
Postfix's fsyncs per message for the same small run, for comparison.

Everything happens in a private mount namespace: qmail's users and the 100
bench users exist only in copies of /etc/passwd and /etc/group mounted
there, the homes, the QMAILHOME and the Postfix instance (its own
config_directory, queue_directory and data_directory, no smtpd listener)
live in one temporary directory, and all of it goes away at the end.
Needs root (and Postfix, from configure.sh); reports, never fails.

usage: local_delivery_bench.py [--messages N] [--strace-messages N] [--no-postfix]
                               [--no-end-to-end] [--no-split] [--keep]
"""
import argparse
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "system"))
import postfix_peer  # noqa: E402
from postfix_peer import COLUMNS, SYNCED, strace_counts, tree_cpu  # noqa: E402
from qmailhome import start_qmail, stop_qmail  # noqa: E402

TOP = Path(__file__).resolve().parents[2]
QBOX = TOP / "build" / "qbox"
SENDMAIL = Path("/usr/sbin/sendmail")
INSIDE = "QBOX_LOCAL_BENCH_NS"

USERS = 100
INJECTORS = 4
DOMAIN = "bench.example"
SENDER = f"sender@{DOMAIN}"
TARGET = 1.5
DEADLINE = 900  # seconds for one system to deliver everything

# Ids that only exist in the namespace's passwd and group.
QMAIL_UIDS = {"alias": 64010, "qmaild": 64011, "qmaill": 64012, "qmailp": 64013,
              "qmailq": 64014, "qmailr": 64015, "qmails": 64016}
GID_QMAIL, GID_NOFILES, GID_BENCH = 64020, 64021, 64022
BENCH_UID0 = 64100


def say(*a):
    print(*a, flush=True)


# ---- the namespace -----------------------------------------------------------

def enter_namespace():
    """Runs this script again in a new mount namespace; returns its exit code."""
    env = dict(os.environ, **{INSIDE: "1"})
    argv = ["unshare", "-m", "--propagation", "private", sys.executable, __file__] + sys.argv[1:]
    return subprocess.run(argv, env=env).returncode


def accounts(top):
    """passwd and group with qmail's users and bench0..bench99, mounted over
    /etc's inside the namespace."""
    passwd = Path("/etc/passwd").read_text()
    group = Path("/etc/group").read_text()
    taken = set(re.findall(r"^[^:]*:[^:]*:(\d+):", passwd, re.M))
    names = set(re.findall(r"^([^:]*):", passwd, re.M))
    wanted = {str(u) for u in QMAIL_UIDS.values()} | \
        {str(BENCH_UID0 + i) for i in range(USERS)}
    if taken & wanted or names & (set(QMAIL_UIDS) | {f"bench{i}" for i in range(USERS)}):
        raise SystemExit("local_delivery_bench: uids or names already in /etc/passwd")
    for n, u in QMAIL_UIDS.items():
        g = GID_QMAIL if n in ("qmailq", "qmailr", "qmails") else GID_NOFILES
        passwd += f"{n}:x:{u}:{g}::/nonexistent:/usr/sbin/nologin\n"
    homes = top / "home"
    for i in range(USERS):
        passwd += f"bench{i}:x:{BENCH_UID0 + i}:{GID_BENCH}::{homes}/bench{i}:/usr/sbin/nologin\n"
    group += f"qmail:x:{GID_QMAIL}:\nnofiles:x:{GID_NOFILES}:\nbench:x:{GID_BENCH}:\n"
    (top / "passwd").write_text(passwd)
    (top / "group").write_text(group)
    os.chmod(top / "passwd", 0o644)
    os.chmod(top / "group", 0o644)
    for f in ("passwd", "group"):
        subprocess.run(["mount", "--bind", str(top / f), f"/etc/{f}"], check=True)
    return homes


def make_homes(homes):
    homes.mkdir()
    os.chmod(homes, 0o755)
    for i in range(USERS):
        h = homes / f"bench{i}"
        h.mkdir()
        for sub in ("", "/tmp", "/new", "/cur"):
            (h / f"Maildir{sub}").mkdir(mode=0o700)
        for p in (h, h / "Maildir", h / "Maildir/tmp", h / "Maildir/new", h / "Maildir/cur"):
            os.chown(p, BENCH_UID0 + i, GID_BENCH)
        os.chmod(h, 0o755)


def new_dirs(homes):
    return [homes / f"bench{i}" / "Maildir" / "new" for i in range(USERS)]


def empty_maildirs(homes):
    for i in range(USERS):
        for sub in ("new", "cur", "tmp"):
            d = homes / f"bench{i}" / "Maildir" / sub
            for n in os.listdir(d):
                os.unlink(d / n)


# ---- the message and the injectors ----------------------------------------------

def make_inputs(top):
    inp = top / "inject"
    inp.mkdir()
    os.chmod(inp, 0o755)
    head = (f"From: Bench Sender <{SENDER}>\nTo: bench users <bench@{DOMAIN}>\n"
            f"Subject: local delivery benchmark\nDate: Thu, 1 Jan 2026 00:00:00 +0000\n"
            f"Message-ID: <bench@{DOMAIN}>\n\n")
    line = "The quick brown fox jumps over the lazy dog, again and again.\n"
    body = (line * (1024 // len(line) + 1))[: 1024 - len(head) - 1] + "\n"
    (inp / "message").write_text(head + body)
    for i in range(USERS):
        (inp / f"env{i}").write_bytes(f"F{SENDER}\0Tbench{i}@{DOMAIN}\0\0".encode())
    for p in inp.iterdir():
        os.chmod(p, 0o644)
    return inp


def injector_main(kind, inp, first, step, count, program, errors):
    """One injector: waits for a byte on stdin, then injects messages
    first, first+step, ... (count in all), one after the other; prints the
    number of failures and the time it finished."""
    msg = str(inp / "message")
    env = {"PATH": "/usr/bin:/bin"}
    if kind == "qmail":
        # qmail-queue as qmailq, what an installed setuid qmail-queue runs
        # as (setuid, it would ignore $QMAILHOME and use /var/qmail).
        os.setgroups([])
        os.setgid(GID_QMAIL)
        os.setuid(QMAIL_UIDS["qmailq"])
        env["QMAILHOME"] = str(Path(program).parent.parent)
    sys.stdin.buffer.read(1)
    failed = 0
    for n in range(count):
        i = first + n * step
        user = i % USERS
        actions = [(os.POSIX_SPAWN_OPEN, 0, msg, os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 2, errors, os.O_WRONLY | os.O_APPEND, 0)]
        if kind == "qmail":
            argv = [program]
            actions.append((os.POSIX_SPAWN_OPEN, 1, str(inp / f"env{user}"), os.O_RDONLY, 0))
        else:
            argv = [program, "-C", str(inp.parent / "postfix" / "etc"), "-i", "-f", SENDER,
                    f"bench{user}@{DOMAIN}"]
            actions.append((os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0))
        pid = os.posix_spawn(program, argv, env, file_actions=actions)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            failed += 1
    print(failed, time.time(), flush=True)


class Injectors:
    """INJECTORS processes, started ahead and released together by go()."""

    def __init__(self, kind, inp, messages, program, prefix=()):
        self.procs = []
        self.errors = inp / f"{kind}.errors"
        self.errors.write_bytes(b"")
        os.chmod(self.errors, 0o666)
        per = [messages // INJECTORS + (1 if k < messages % INJECTORS else 0)
               for k in range(INJECTORS)]
        for k in range(INJECTORS):
            argv = list(prefix) + [sys.executable, __file__, "--inject", kind, str(inp), str(k),
                                   str(INJECTORS), str(per[k]), str(program), str(self.errors)]
            self.procs.append(subprocess.Popen(argv, stdin=subprocess.PIPE,
                                               stdout=subprocess.PIPE))
        time.sleep(0.5)  # let them start
        self.cpu0 = children_cpu()

    def go(self):
        for p in self.procs:
            p.stdin.write(b"g")
            p.stdin.flush()
        return time.time()

    def done(self):
        return all(p.poll() is not None for p in self.procs)

    def wait(self):
        """(failed injections, time the last one finished, CPU seconds of
        the injectors and what they ran)."""
        failed, end = 0, 0.0
        for p in self.procs:
            out, _ = p.communicate()
            f = out.decode().split()
            if p.returncode != 0 or len(f) != 2:
                failed += 1
                continue
            failed += int(f[0])
            end = max(end, float(f[1]))
        if failed:
            err = self.errors.read_text(errors="replace").strip().splitlines()[:3]
            say(f"warning: {failed} injections failed" + "".join(f"\n  {e}" for e in err))
        return failed, end, children_cpu() - self.cpu0


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def wait_delivered(homes, messages, t0, name):
    """Seconds from t0 until `messages` files sit in the new/ directories:
    the latest modification of a new/ directory is the last arrival."""
    dirs = new_dirs(homes)
    deadline = t0 + DEADLINE
    while True:
        count = sum(len(os.listdir(d)) for d in dirs)
        if count >= messages:
            break
        if time.time() > deadline:
            raise SystemExit(f"{name}: only {count} of {messages} messages delivered "
                             f"after {DEADLINE} s")
        time.sleep(0.2)
    return max(os.stat(d).st_mtime_ns for d in dirs) / 1e9 - t0


# ---- qbox ------------------------------------------------------------------------

class Qmail:
    def __init__(self, top, homes):
        self.home = top / "qmail"
        self.home.mkdir()
        os.chmod(self.home, 0o755)
        b = self.home / "bin"
        b.mkdir()
        os.chmod(b, 0o755)
        shutil.copy(QBOX, b / "qbox")
        os.chmod(b / "qbox", 0o755)
        names = subprocess.run([str(QBOX), "--list"], capture_output=True, text=True,
                               check=True).stdout.split()
        for n in names:
            os.symlink("qbox", b / n)
        self.bin = b
        c = self.home / "control"
        c.mkdir()
        (c / "me").write_text(f"{DOMAIN}\n")
        (c / "locals").write_text(f"{DOMAIN}\n")
        u = self.home / "users"
        u.mkdir()
        (u / "assign").write_text(
            "".join(f"=bench{i}:bench{i}:{BENCH_UID0 + i}:{GID_BENCH}:{homes}/bench{i}:::\n"
                    for i in range(USERS)) + ".\n")
        for d in (c, u):
            os.chmod(d, 0o755)
            for p in d.iterdir():
                os.chmod(p, 0o644)
        self.run("qmail-newu")
        self.run("queue-fix", str(self.home / "queue"))
        self.start_proc = None
        self.log = None
        self.name, self.kind, self.program = "qbox", "qmail", self.bin / "qmail-queue"

    def daemon_pid(self):
        return self.start_proc.pid  # qmail-start became qmail-send

    def settle(self):
        self.wait_queue_empty()

    def env(self):
        return {"PATH": f"{self.bin}:/usr/bin:/bin", "QMAILHOME": str(self.home)}

    def run(self, *argv):
        r = subprocess.run([str(self.bin / argv[0])] + list(argv[1:]), env=self.env(),
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"{argv[0]}: exit {r.returncode}: {r.stderr.strip()}")

    def start(self, prefix=(), suffix=()):
        self.log = open(self.home / "send.log", "wb")
        self.start_proc = start_qmail(
            list(prefix) + [str(self.bin / "qmail-start"), "./Maildir/"] + list(suffix),
            self.env(), self.log, cwd="/")
        deadline = time.time() + 20
        while b"status: local 0/" not in (self.home / "send.log").read_bytes():
            if time.time() > deadline or self.start_proc.poll() is not None:
                raise SystemExit("qmail-start did not start:\n" + self.log_text())
            time.sleep(0.05)

    def log_text(self):
        return (self.home / "send.log").read_text(errors="replace")

    def wait_queue_empty(self, timeout=120):
        deadline = time.time() + timeout
        q = self.home / "queue"
        while time.time() < deadline:
            if not any(os.scandir(q / "todo")) and \
                    not any(any(os.scandir(d)) for d in (q / "info").iterdir()):
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        p = self.start_proc
        if p is None:
            return
        self.start_proc = None
        stop_qmail(p, timeout=30)
        self.log.close()


# ---- Postfix ---------------------------------------------------------------------

class Postfix(postfix_peer.Postfix):
    """The private instance (lib/postfix_peer.py) with local delivery to
    Maildirs and no smtpd listener."""

    def __init__(self, top):
        super().__init__(top, DOMAIN, main_cf=f"""\
mydestination = {DOMAIN}
home_mailbox = Maildir/
mailbox_size_limit = 0
""")
        self.name, self.kind, self.program = "postfix", "postfix", SENDMAIL

    def settle(self):
        pass


# ---- the timed runs ----------------------------------------------------------------

def end_to_end(system, inp, homes, messages):
    """Injection and delivery at once: (messages/s, injection seconds,
    delivery-side CPU ms per message, injection-side CPU ms per message)."""
    system.start()
    inj = Injectors(system.kind, inp, messages, system.program)
    cpu0 = tree_cpu(system.daemon_pid())
    t0 = inj.go()
    total = wait_delivered(homes, messages, t0, system.name)
    cpu = tree_cpu(system.daemon_pid()) - cpu0
    failed, inj_end, inj_cpu = inj.wait()
    system.settle()
    system.stop()
    empty_maildirs(homes)
    rate = messages / total
    say(f"  {system.name:8} {messages} messages in {total:7.2f} s = {rate:7.1f} messages/s  "
        f"(injection done after {min(inj_end - t0, total):.2f} s; CPU ms per message: "
        f"delivery side {cpu * 1000 / messages:.2f}, injection side "
        f"{inj_cpu * 1000 / messages:.2f})")
    return rate


def queued_first(system, inp, homes, messages):
    """Everything queued while the delivery side is stopped, then delivered:
    (injection messages/s, delivery messages/s)."""
    inj = Injectors(system.kind, inp, messages, system.program)
    t0 = inj.go()
    while not inj.done():
        time.sleep(0.05)
    failed, inj_end, inj_cpu = inj.wait()
    t1 = time.time()
    system.start()
    cpu0 = tree_cpu(system.daemon_pid())
    total = wait_delivered(homes, messages, t1, system.name)
    cpu = tree_cpu(system.daemon_pid()) - cpu0
    system.settle()
    system.stop()
    empty_maildirs(homes)
    irate, drate = messages / (inj_end - t0), messages / total
    say(f"  {system.name:8} injection {irate:7.1f} messages/s ({inj_cpu * 1000 / messages:.2f} "
        f"CPU ms each), then delivery {drate:7.1f} messages/s ({cpu * 1000 / messages:.2f} "
        f"CPU ms each)")
    return irate, drate


# ---- strace: fsyncs and file-system calls per message -------------------------------

MINIMUM = [
    ("qmail-queue", 4,
     "fsync mess/N/ID (the message) and intd/ID (its envelope), and the directories mess/N "
     "and todo after their new names, so that exit 0 means all of it is on disk"),
    ("qmail-todo", 2,
     "fsync info/N/ID and local/N/ID before qmail-clean removes todo/ID, so the sender and "
     "the recipients outlive the envelope"),
    ("qmail-send", 0,
     "none for durability; qbox fdatasyncs each done mark (the D that replaces a "
     "recipient's T) so that a crash does not repeat a recorded delivery (a lost mark "
     "never loses mail; qmail does not sync it)"),
    ("qmail-local", 2,
     "fsync the file in tmp/ before it is linked into new/, and new/ after the link, so "
     "that a success report means the message is in new/ on disk"),
    ("qmail-clean", 0, "only unlinks: a removal lost in a crash is done again"),
    ("qmail-lspawn", 0, "looks up the user, forks qmail-local and reports: writes nothing"),
]


def strace_run(q, top, homes, inp, messages):
    """The qbox pipeline of `messages` messages under strace; prints the
    table and returns (fsyncs per message, minimum)."""
    out = top / "strace"
    for d in ("send", "inject"):
        (out / d).mkdir(parents=True)
    try:
        q.start(prefix=["strace", "-f", "-ff", "-qq", "-o", str(out / "send" / "t")])
        inj = Injectors("qmail", inp, messages, q.program,
                        prefix=["strace", "-f", "-ff", "-qq", "-o", str(out / "inject" / "t")])
        t0 = inj.go()
        wait_delivered(homes, messages, t0, "qbox under strace")
        inj.wait()
        q.wait_queue_empty()
    finally:
        q.stop()
    empty_maildirs(homes)
    progs = [name for name, _, _ in MINIMUM]
    counts = strace_counts(list((out / "send").iterdir()) + list((out / "inject").iterdir()),
                           progs)
    say(f"\nqbox under strace, {messages} messages (injection and delivery), system calls "
        f"per message:")
    say(f"  {'program':13} {'fsync':>6} {'minimum':>7} {'open':>6} {'stat':>6} "
        f"{'link/unlink/rename':>18} {'all':>6}")
    zero = {k: 0 for k, _ in COLUMNS} | {"all": 0}
    total = dict(zero)
    rows = [(name, counts.get(name, zero), minimum) for name, minimum, _ in MINIMUM]
    for name, c, minimum in rows + [("total", total, sum(m for _, m, _ in MINIMUM))]:
        if name != "total":
            for k in total:
                total[k] += c[k]
        say(f"  {name:13} {c['fsync'] / messages:6.2f} {minimum:7} {c['open'] / messages:6.2f} "
            f"{c['stat'] / messages:6.2f} {c['link/unlink/rename'] / messages:18.2f} "
            f"{c['all'] / messages:6.1f}")
    say("  (fsync counts fsync and fdatasync; the minimum is what durability needs for a "
        "message to one local recipient:)")
    for name, minimum, why in MINIMUM:
        say(f"    {name}: {minimum}: {why}")
    return total["fsync"] / messages, sum(m for _, m, _ in MINIMUM)


POSTFIX_PROGRAMS = ["sendmail", "postdrop", "pickup", "cleanup", "qmgr", "local",
                    "trivial-rewrite"]


def strace_postfix(pf, top, homes, inp, messages):
    """Postfix's fsyncs per message, injection and delivery, for comparison."""
    out = top / "strace-postfix"
    for d in ("daemons", "inject"):
        (out / d).mkdir(parents=True)
    trace = ["strace", "-f", "-ff", "-qq", "-y", "--seccomp-bpf", "-e",
             "trace=%process,fsync,fdatasync,sync_file_range,syncfs"]
    try:
        pf.start(prefix=trace + ["-o", str(out / "daemons" / "t")])
        inj = Injectors("postfix", inp, messages, pf.program,
                        prefix=trace + ["-o", str(out / "inject" / "t")])
        t0 = inj.go()
        wait_delivered(homes, messages, t0, "postfix under strace")
        inj.wait()
    finally:
        pf.stop()
    empty_maildirs(homes)
    counts = strace_counts(list((out / "daemons").iterdir()) + list((out / "inject").iterdir()),
                           POSTFIX_PROGRAMS)
    per = {p: counts[p]["fsync"] / messages for p in POSTFIX_PROGRAMS
           if p in counts and counts[p]["fsync"]}
    total = sum(per.values())
    # -y names each descriptor: the directories still exist.
    dirs = 0
    for f in list((out / "daemons").iterdir()) + list((out / "inject").iterdir()):
        for m in SYNCED.finditer(f.read_text(errors="replace")):
            dirs += os.path.isdir(m.group(1))
    say(f"postfix under strace, {messages} messages: fsyncs per message {total:.2f} ("
        + ", ".join(f"{p} {v:.2f}" for p, v in per.items())
        + f"), of directories {dirs / messages:.2f}")
    return total


# ---- main --------------------------------------------------------------------------

def inside(args):
    top = Path(tempfile.mkdtemp(prefix="qbox-lbench-"))
    os.chmod(top, 0o755)
    systems = []
    e2e, split = {}, {}
    try:
        homes = accounts(top)
        make_homes(homes)
        inp = make_inputs(top)
        systems.append(Qmail(top, homes))
        if args.postfix and not postfix_peer.available():
            say("postfix: not installed (configure.sh installs it); only qbox runs")
        elif args.postfix:
            systems.append(Postfix(top))
        n = args.messages
        say(f"local delivery: {n} messages of {(inp / 'message').stat().st_size} bytes to "
            f"{USERS} Maildir users, {INJECTORS} injectors")
        say("  qbox: qmail-queue (as qmailq), qmail-start ./Maildir/, concurrencylocal 10 "
            "(qmail's default), users/cdb")
        if len(systems) > 1:
            say(f"  postfix {postfix_peer.version()}: sendmail -C (and so postdrop), "
                "home_mailbox = Maildir/, default concurrency and process limits")
        if args.end_to_end:
            say("end to end (the clock runs from the first injection to the last arrival in "
                "a new/):")
            for system in systems:
                e2e[system.name] = end_to_end(system, inp, homes, n)
        if args.split:
            say("queued first with the delivery side stopped, then delivered:")
            for system in systems:
                split[system.name] = queued_first(system, inp, homes, n)
        fsyncs = minimum = pf_fsyncs = None
        if args.strace_messages and shutil.which("strace"):
            fsyncs, minimum = strace_run(systems[0], top, homes, inp, args.strace_messages)
            if len(systems) > 1:
                pf_fsyncs = strace_postfix(systems[1], top, homes, inp, args.strace_messages)
        say("\nsummary:")
        for what, rates in (("end to end", {k: v for k, v in e2e.items()}),
                            ("injection alone", {k: v[0] for k, v in split.items()}),
                            ("delivery of a full queue alone",
                             {k: v[1] for k, v in split.items()})):
            if "qbox" not in rates:
                continue
            line = f"  {what}: " + ", ".join(f"{k} {v:.1f}" for k, v in rates.items())
            if "postfix" in rates:
                line += f" messages/s: qbox/postfix {rates['qbox'] / rates['postfix']:.2f}"
            say(line)
        if "postfix" in e2e:
            ratio = e2e["qbox"] / e2e["postfix"]
            verdict = "PASS" if ratio >= TARGET else "FAIL"
            say(f"  {verdict} local delivery end to end: qbox/postfix {ratio:.2f}, "
                f"target >= {TARGET}")
        if fsyncs is not None:
            say(f"  qbox fsyncs per message: {fsyncs:.2f} (durability needs {minimum})"
                + (f"; postfix {pf_fsyncs:.2f}" if pf_fsyncs is not None else ""))
    finally:
        postfix_peer.stop_all(systems, top, args.keep, say)
    return 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--inject":
        kind, inp, first, step, count, program, errors = sys.argv[2:9]
        injector_main(kind, Path(inp), int(first), int(step), int(count), program, errors)
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--strace-messages", type=int, default=200)
    ap.add_argument("--no-postfix", dest="postfix", action="store_false")
    ap.add_argument("--no-end-to-end", dest="end_to_end", action="store_false",
                    help="skip the end-to-end runs (the ones with the target)")
    ap.add_argument("--no-split", dest="split", action="store_false",
                    help="skip the runs that queue first and deliver after")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    if os.geteuid() != 0:
        say("local_delivery_bench: skipped: needs root (users, mount namespace, Postfix)")
        return 0
    if not QBOX.exists():
        say("local_delivery_bench: skipped: build/qbox is missing")
        return 0
    if os.environ.get(INSIDE) != "1":
        return enter_namespace()
    # Stopped from outside: clean up all the same.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda n, _: sys.exit(128 + n))
    return inside(args)


if __name__ == "__main__":
    sys.exit(main())
