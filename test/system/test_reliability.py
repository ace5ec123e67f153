"""Reliability of the queue and the local delivery chain: crashes (kill -9
of qmail-send, qmail-lspawn, qmail-local and qmail-queue at random moments),
full file systems, and inputs far beyond every size limit.

The crash test's promise is qmail's: a message qmail-queue acknowledged
(exit 0) is delivered at least once, whatever dies meanwhile; a Maildir's
new/ only ever holds complete messages; a restarted qmail-send carries on
from whatever state the queue is in, without queue-fix.
"""
import errno
import os
import random
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import wait_for
from qmailhome import NOBODY, NOGROUP, ROOT, QmailHome, as_user, envelope, start_qmail, stop_qmail

UID = NOBODY if ROOT else os.getuid()
GID = NOGROUP if ROOT else os.getgid()
needs_root = pytest.mark.skipif(not ROOT, reason="mounting a small tmpfs needs root")


# ---- helpers ---------------------------------------------------------------------

def make_users(q, names):
    """A home with a Maildir for each name, and users/cdb naming them."""
    lines = []
    homes = {}
    for n in names:
        home = q.dir / "home" / n
        home.mkdir(parents=True)
        os.chmod(home, 0o755)
        for sub in ("tmp", "new", "cur"):
            (home / "Maildir" / sub).mkdir(parents=True)
        homes[n] = home
        lines.append(f"={n}:{n}:{UID}:{GID}:{home}:::\n")
    users = q.dir / "users"
    users.mkdir(exist_ok=True)
    (users / "assign").write_text("".join(lines) + ".\n")
    q.chown_all()
    r = q.run("qmail-newu")
    assert r.code == 0, r
    return homes


def process_table():
    """{pid: (comm, ppid)} of every process."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index(b"(") + 1:s.rindex(b")")].decode(errors="replace")
        out[int(d)] = (comm, int(s[s.rindex(b")") + 2:].split()[1]))
    return out


def descendants(top):
    """{pid: comm} of top and everything below it."""
    table = process_table()
    kids = {}
    for pid, (_, ppid) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = {}, [top]
    while todo:
        p = todo.pop()
        if p in table:
            out[p] = table[p][0]
        todo += kids.get(p, [])
    return out


class Supervised:
    """qmail-start on a QmailHome, restarted whenever it exits (as
    supervise would), all runs logging to one file."""

    def __init__(self, q, defaultdelivery="./Maildir/"):
        self.q = q
        self.defaultdelivery = defaultdelivery
        self.logfile = q.dir / "send.log"
        self.log = open(self.logfile, "ab")
        self.lock = threading.Lock()
        self.stopping = False
        self.starts = 0
        self.p = None
        self._start()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _start(self):
        self.p = start_qmail(as_user([str(self.q.bin / "qmail-start"), self.defaultdelivery]),
                             self.q.env(), self.log)
        self.starts += 1

    def _watch(self):
        while True:
            p = self.p
            p.wait()
            with self.lock:
                if self.stopping:
                    return
                time.sleep(0.01)
                self._start()

    def pid(self):
        return self.p.pid

    def text(self):
        return self.logfile.read_text(errors="replace")

    def wait_log(self, pattern, timeout=20):
        return wait_for(lambda: re.search(pattern, self.text(), re.M), timeout=timeout,
                        what=f"{pattern!r} in the log")

    def alarm(self):
        try:
            os.kill(self.p.pid, signal.SIGALRM)
        except ProcessLookupError:
            pass

    def stop(self):
        with self.lock:
            self.stopping = True
        stop_qmail(self.p, timeout=30)
        self.thread.join(timeout=10)
        self.log.close()


def queue_with_pipes(q, message, env_bytes):
    """Starts qmail-queue with the message and the envelope already in
    pipes (each below the pipe's 64 KiB), so nothing can block."""
    m_r, m_w = os.pipe()
    e_r, e_w = os.pipe()
    try:
        os.write(m_w, message)
        os.write(e_w, env_bytes)
    finally:
        os.close(m_w)
        os.close(e_w)
    try:
        return subprocess.Popen(as_user([str(q.bin / "qmail-queue")]), stdin=m_r, stdout=e_r,
                                stderr=subprocess.DEVNULL, env=q.env(), cwd=q.dir)
    finally:
        os.close(m_r)
        os.close(e_r)


QUEUE_DIRS = ("todo", "info", "local", "remote", "bounce")


# ---- 1. crashes ------------------------------------------------------------------

CRASH_MESSAGES = 5000
CRASH_USERS = ["u0", "u1", "u2", "u3", "u4", "u5"]
CRASH_KILLS = 300
CRASH_SECONDS = 25  # the injections' pace: kills come every 50 to 100 ms
CRASH_SENDER = "crash@b.example"
ID_RE = re.compile(rb"^Subject: crash (\d+)$", re.M)


def crash_message(n):
    """Message n: its id in the subject and the body, and a body of a
    length fixed by n (up to 24 KiB), so a cut is easy to see."""
    rnd = random.Random(n)
    lines = b"".join(b"line %d of message %d %s\n" % (i, n, b"x" * rnd.randrange(60))
                     for i in range(rnd.randrange(1, 300)))
    return (b"From: crash@b.example\nTo: crash\nSubject: crash %d\n\nbody of %d\n" % (n, n)
            + lines + b"end of %d\n" % n)


def crash_recipients(n):
    rnd = random.Random(-n - 1)
    return sorted(set(rnd.sample(CRASH_USERS, 1 if n % 5 else 2)))


class Injectors:
    """Four threads, each queueing its share of the messages one qmail-queue
    at a time, paced to take about `duration` seconds in all; records which
    messages qmail-queue acknowledged."""

    def __init__(self, q, count, duration, parallel=4):
        self.q = q
        self.acked = set()
        self.killed = 0
        self.failed = []  # (message, exit code) other than kill -9
        self.running = {}  # thread index -> Popen
        self.lock = threading.Lock()
        self.start = time.monotonic()
        self.pace = duration * parallel / count
        self.threads = [threading.Thread(target=self._run, args=(k, range(k, count, parallel)),
                                         daemon=True) for k in range(parallel)]
        for t in self.threads:
            t.start()

    def _run(self, k, numbers):
        for j, n in enumerate(numbers):
            delay = self.start + j * self.pace - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            env_bytes = envelope(CRASH_SENDER, [f"{u}@a.example" for u in crash_recipients(n)])
            p = queue_with_pipes(self.q, crash_message(n), env_bytes)
            with self.lock:
                self.running[k] = p
            rc = p.wait()
            with self.lock:
                del self.running[k]
                if rc == 0:
                    self.acked.add(n)
                elif rc == -signal.SIGKILL:
                    self.killed += 1
                else:
                    self.failed.append((n, rc))

    def alive(self):
        return any(t.is_alive() for t in self.threads)

    def running_pids(self):
        with self.lock:
            return [p.pid for p in self.running.values() if p.returncode is None]


# How often each kind of process is picked, among those running at the
# moment: qmail-send takes its whole set down with it, so it is picked
# less often than a single delivery or injection.
KILL_WEIGHTS = {"qmail-send": 1, "qmail-lspawn": 1, "qmail-local": 6, "qmail-queue": 4}


def kill_candidates(sup, inj):
    """{name: [pid]} of the processes that may be killed now: qmail-send
    (the process qmail-start became), its qmail-lspawn (not the spawner's
    children before they exec qmail-local), the qmail-local processes,
    and the injectors' qmail-queue processes."""
    top = sup.pid()
    table = process_table()
    below = descendants(top)
    out = {name: [] for name in KILL_WEIGHTS}
    for pid, comm in below.items():
        if comm == "qmail-send" and pid == top:
            out[comm].append(pid)
        elif comm == "qmail-lspawn" and table.get(pid, ("", 0))[1] == top:
            out[comm].append(pid)
        elif comm == "qmail-local":
            out[comm].append(pid)
    out["qmail-queue"] = inj.running_pids()
    return {k: v for k, v in out.items() if v}


def maildir_files(home):
    d = home / "Maildir" / "new"
    return [d / f for f in os.listdir(d)]


def test_crash_kill9_everything_delivers_each_acknowledged_message():
    rnd = random.Random(20240501)
    with QmailHome() as q:
        q.control("me", "a.example\n")
        q.control("locals", "a.example\n")
        q.control("concurrencylocal", "20\n")
        homes = make_users(q, CRASH_USERS)
        sup = Supervised(q)
        try:
            t0 = time.monotonic()
            inj = Injectors(q, CRASH_MESSAGES, duration=CRASH_SECONDS)
            kills = {name: 0 for name in KILL_WEIGHTS}
            deadline = t0 + 240
            while inj.alive() or sum(kills.values()) < CRASH_KILLS:
                assert time.monotonic() < deadline, (kills, len(inj.acked))
                time.sleep(rnd.uniform(0.05, 0.1))
                found = kill_candidates(sup, inj)
                if not found:
                    continue
                names = sorted(found)
                what = rnd.choices(names, [KILL_WEIGHTS[n] for n in names])[0]
                try:
                    os.kill(rnd.choice(found[what]), signal.SIGKILL)
                except ProcessLookupError:
                    continue
                kills[what] += 1
            for t in inj.threads:
                t.join()
            t_kills = time.monotonic() - t0
            assert not inj.failed, inj.failed[:10]

            # Retry everything until the queue is empty.
            def queue_empty():
                sup.alarm()
                return not q.files(*QUEUE_DIRS)
            wait_for(queue_empty, timeout=120, what="an empty queue", interval=0.5)
            t_drain = time.monotonic() - t0
        finally:
            sup.stop()

        log = sup.text()
        # Acknowledged ids, each in the Maildir of each of its recipients.
        seen = {u: set() for u in CRASH_USERS}
        for u, home in homes.items():
            for f in maildir_files(home):
                data = f.read_bytes()
                m = ID_RE.search(data)
                assert m, f"{f}: no id in {data[:300]!r}"
                n = int(m.group(1))
                assert u in crash_recipients(n), f
                # Complete: the lines qmail-local and qmail-queue add, then
                # exactly the message that was sent.
                head = (b"Return-Path: <%s>\nDelivered-To: %s@a.example\n"
                        % (CRASH_SENDER.encode(), u.encode()))
                assert data.startswith(head), f
                rest = data[len(head):]
                assert re.match(rb"Received: \(qmail \d+ invoked by uid \d+\); .* -0000\n", rest), f
                assert rest[rest.index(b"\n") + 1:] == crash_message(n), f"{f} is not complete"
                seen[u].add(n)
        lost = [(n, u) for n in sorted(inj.acked) for u in crash_recipients(n) if n not in seen[u]]
        assert not lost, f"acknowledged but not delivered: {lost[:20]} ({len(lost)} in all)"

        # What is left: files of messages qmail-queue never acknowledged
        # (pid/, mess/, intd/), and mess/ files of delivered messages whose
        # qmail-send died between removing info/ and qmail-clean's answer.
        # Both wait for the cleanup of files untouched for 36 hours: make
        # them that old, and a fresh qmail-send and qmail-clean remove all.
        leftovers = q.files()
        for rel in q.files("mess"):
            m = ID_RE.search(q.read(rel))
            i = int(rel.split("/")[-1])
            assert m is None or int(m.group(1)) not in inj.acked or \
                f"intd/{i}" not in leftovers, rel
        assert len(q.files("pid")) + len(q.files("intd")) <= inj.killed
        old = time.time() - 37 * 3600
        for rel in leftovers:
            st = os.stat(q.queue_dir / rel)
            os.utime(q.queue_dir / rel, (old, st.st_mtime))
        last = Supervised(q)
        try:
            wait_for(lambda: not q.files(), timeout=30, what=f"cleanup of {leftovers}")
        finally:
            last.stop()

        # The log: the alert of a lost qmail-lspawn is expected; nothing
        # else may alert, and nothing may have trouble reading the queue.
        for line in log.splitlines():
            if "alert:" in line:
                assert "alert: oh no! lost spawn connection! dying..." in line, line
            assert "trouble" not in line and "unknown record" not in line, line
        assert "failure:" not in log and "bounce msg" not in log
        # What happened, for pytest -s.
        print(f"kills {kills}, acknowledged {len(inj.acked)}, killed injections {inj.killed}, "
              f"qmail-start runs {sup.starts}, deliveries "
              f"{sum(len(maildir_files(h)) for h in homes.values())}, kills over after "
              f"{t_kills:.1f}s, queue empty after {t_drain:.1f}s")


def test_crash_leftover_todo_keeps_the_message_until_it_is_taken_over():
    # qmail-todo died after writing info/ and local/ for a message but
    # before qmail-clean removed its todo/ entry; the old local/ file says
    # everything is delivered. The new qmail-send must not finish the
    # message (removing mess/) while todo/ still names it, however long
    # todo/ cannot be taken over (here: it is unreadable for a while).
    with QmailHome() as q:
        q.control("me", "a.example\n")
        q.control("locals", "a.example\n")
        homes = make_users(q, ["joe"])
        r = q.queue(b"Subject: leftover\n\nhi\n", "s@b.example", ["joe@a.example"])
        assert r.code == 0, r
        (i,) = q.ids()
        part = i % q.split
        (q.queue_dir / "info" / str(part) / str(i)).write_bytes(b"Fs@b.example\0")
        (q.queue_dir / "local" / str(part) / str(i)).write_bytes(b"Djoe@a.example\0")
        q.chown_all(q.queue_dir)
        todo = q.queue_dir / "todo" / str(i)
        os.chmod(todo, 0)
        sup = Supervised(q)
        try:
            sup.wait_log(rf"^warning: unable to open todo/{i}$")
            sup.alarm()
            time.sleep(0.5)
            assert f"mess/{part}/{i}" in q.files(), sup.text()
            os.chmod(todo, 0o644)
            def delivered():
                sup.alarm()
                return not q.files() and maildir_files(homes["joe"])
            wait_for(delivered, timeout=20, interval=0.2, what="the delivery")
        finally:
            sup.stop()
        assert b"Subject: leftover" in maildir_files(homes["joe"])[0].read_bytes()


# ---- 2. full file systems --------------------------------------------------------

class Tmpfs:
    """A small tmpfs mounted on `path` (made if need be), owned by the test
    user; grow() remounts it larger, as freeing space would."""

    def __init__(self, path, size):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755,uid={UID},gid={GID}",
                        "tmpfs", str(path)], check=True)

    def grow(self, size):
        subprocess.run(["mount", "-o", f"remount,size={size}", str(self.path)], check=True)

    def umount(self):
        subprocess.run(["umount", "-l", str(self.path)], check=False)


def fill(path):
    """Writes to path until the file system is full."""
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e


def full_message(n, size):
    filler = b"".join(b"%06d filler line of message %d\n" % (i, n) for i in range(size // 40))
    return b"Subject: full %d\n\n" % n + filler


@needs_root
def test_disk_full_queue_refuses_cleanly_and_loses_nothing():
    with QmailHome(make_queue=False) as q:
        fs = Tmpfs(q.queue_dir, "2m")
        try:
            r = q.run("queue-fix", [q.queue_dir])
            assert r.code == 0, r
            q.control("me", "a.example\n")
            q.control("locals", "a.example\n")
            homes = make_users(q, ["joe"])
            # Fill the queue: each message is 100 KB; once the space is
            # gone, qmail-queue says 53 (write error or disk full), and what
            # it had begun is gone again.
            acked, refused = [], 0
            for n in range(40):
                before = q.files()
                r = q.queue(full_message(n, 100000), "s@b.example", ["joe@a.example"])
                if r.code == 0:
                    acked.append(n)
                    continue
                assert r.code == 53, r
                assert q.files() == before, "qmail-queue left a partial message"
                refused += 1
            assert acked and refused, (acked, refused)
            # A huge envelope meets the full disk too.
            r = q.queue(b"Subject: x\n\nx\n", "s@b.example", ["joe@a.example"] * 100000)
            assert r.code == 53, r
            assert len(q.ids()) == len(acked)

            # Take the last free blocks: qmail-send cannot even write
            # info/ and local/ now, and must keep every todo/ entry until
            # it can.
            fill(q.queue_dir / "filler")
            sup = Supervised(q)
            try:
                sup.wait_log(r"^status: local 0/10 remote 0/20$")
                sup.alarm()
                time.sleep(1)
                assert len(q.ids()) == len(acked)
                assert len(q.files("todo")) == len(acked)
                fs.grow("64m")
                def all_delivered():
                    sup.alarm()
                    return not q.files(*QUEUE_DIRS) and not q.ids()
                wait_for(all_delivered, timeout=60, interval=0.3, what="delivery of the queue")
            finally:
                sup.stop()
        finally:
            fs.umount()
        got = sorted(int(ID_FULL.search(f.read_bytes()).group(1)) for f in maildir_files(homes["joe"]))
        assert sorted(set(got)) == acked
        for f in maildir_files(homes["joe"]):
            data = f.read_bytes()
            n = int(ID_FULL.search(data).group(1))
            assert data.endswith(full_message(n, 100000)), f


ID_FULL = re.compile(rb"^Subject: full (\d+)$", re.M)


@needs_root
def test_disk_full_maildir_defers_and_delivers_once_there_is_room():
    with QmailHome() as q:
        q.control("me", "a.example\n")
        q.control("locals", "a.example\n")
        homes = make_users(q, ["joe"])
        maildir = homes["joe"] / "Maildir"
        fs = Tmpfs(maildir, "1m")
        try:
            for sub in ("tmp", "new", "cur"):
                (maildir / sub).mkdir()
            q.chown_all(maildir)
            # 12 messages of 200 KB: about four fit.
            for n in range(12):
                r = q.queue(full_message(n, 200000), "s@b.example", ["joe@a.example"])
                assert r.code == 0, r
            sup = Supervised(q)
            try:
                sup.alarm()
                wait_for(lambda: "deferral: " in sup.text(), timeout=30, what="a deferral")
                time.sleep(0.5)
                log = sup.text()
                assert "deferral: Temporary_error_on_maildir_delivery:_disk_full._(#4.3.1)/" in log, log
                assert "failure:" not in log
                # The failed deliveries left nothing behind in tmp/, and
                # new/ holds only complete messages.
                wait_for(lambda: not os.listdir(maildir / "tmp"), timeout=10, what="an empty tmp/")
                for f in maildir_files(homes["joe"]):
                    n = int(ID_FULL.search(f.read_bytes()).group(1))
                    assert f.read_bytes().endswith(full_message(n, 200000)), f
                assert len(q.ids()) > 0
                fs.grow("16m")
                def all_delivered():
                    sup.alarm()
                    return not q.files()
                wait_for(all_delivered, timeout=60, interval=0.3, what="delivery of the queue")
            finally:
                sup.stop()
            got = {int(ID_FULL.search(f.read_bytes()).group(1)) for f in maildir_files(homes["joe"])}
            assert got == set(range(12))
            assert not os.listdir(maildir / "tmp")
        finally:
            fs.umount()


# ---- 3. size limits --------------------------------------------------------------
# Inputs far beyond every limit, the shapes of CVE-2005-1513 (a length that
# wraps once input passes 4 GB) and CVE-2005-1515 (huge envelopes and
# header lines fed to qmail-queue and qmail-local): each ends in a clean
# permanent or temporary failure, under softlimit -m 64000000.

MEMORY = "64000000"
MB = 1 << 20


def stream(fd, chunks):
    """Writes the chunks to fd in a thread (until the reader goes away)
    and closes it."""
    def run():
        try:
            for c in chunks:
                os.write(fd, c)
        except (BrokenPipeError, OSError):
            pass
        finally:
            os.close(fd)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def repeat(chunk, total):
    for _ in range(total // len(chunk)):
        yield chunk


def limited_queue(q, message_chunks, envelope_chunks):
    """qmail-queue under softlimit, message and envelope streamed to it;
    its exit code."""
    m_r, m_w = os.pipe()
    e_r, e_w = os.pipe()
    p = subprocess.Popen([str(q.bin / "softlimit"), "-m", MEMORY] +
                         as_user([str(q.bin / "qmail-queue")]),
                         stdin=m_r, stdout=e_r, stderr=subprocess.PIPE, env=q.env(), cwd=q.dir)
    os.close(m_r)
    os.close(e_r)
    threads = [stream(m_w, message_chunks), stream(e_w, envelope_chunks)]
    _, err = p.communicate(timeout=120)
    for t in threads:
        t.join(timeout=30)
    assert err == b""
    return p.returncode


def test_limits_qmail_queue_giant_envelopes_fail_cleanly():
    with QmailHome() as q:
        small = [b"Subject: hi\n\nhi\n"]
        # 100 MB of recipients: permanent failure 11 (envelope too long)
        # once past 4 MiB or 100000 recipients.
        rcpt = b"T" + b"r" * 90 + b"@example.org\0"
        code = limited_queue(q, small, [b"Fs@example.org\0"] + list(repeat(rcpt * 1000, 100 * MB)))
        assert code == 11
        assert q.files() == []
        code = limited_queue(q, small, [b"Fs@example.org\0"] + list(repeat(b"Ta@b\0" * 10000, 100 * MB)))
        assert code == 11
        assert q.files() == []
        # One recipient of 50 MB: 11 (address too long) after 1002 bytes.
        code = limited_queue(q, small, [b"Fs@example.org\0T"] + list(repeat(b"a" * 65536, 50 * MB)))
        assert code == 11
        assert q.files() == []
        # A sender of 50 MB.
        code = limited_queue(q, small, [b"F"] + list(repeat(b"s" * 65536, 50 * MB)))
        assert code == 11
        assert q.files() == []
        # An envelope cut short, and one of the wrong shape.
        assert limited_queue(q, small, [b"Fs@example.org\0Tx@y"]) == 54
        assert limited_queue(q, small, [b"Fs@example.org\0Xx@y\0\0"]) == 91
        assert q.files() == []


def test_limits_qmail_queue_giant_header_line_is_queued_with_bounded_memory():
    # qmail-queue does not parse the message: a 50 MB header line is
    # streamed to disk like any other byte, within 64 MB of memory.
    with QmailHome() as q:
        head = b"Subject: big\nX-Huge: "
        code = limited_queue(q, [head] + list(repeat(b"h" * 65536, 50 * MB)) + [b"\n\nbody\n"],
                             [b"Fs@example.org\0Tjoe@a.example\0\0"])
        assert code == 0
        (i,) = q.ids()
        st = os.stat(q.queue_dir / "mess" / str(i % q.split) / str(i))
        assert st.st_size > 50 * MB


def big_file(path, parts):
    with open(path, "wb") as f:
        for p in parts:
            f.write(p)


def limited_local(q, home, message_path):
    with open(message_path, "rb") as m:
        p = subprocess.run([str(q.bin / "softlimit"), "-m", MEMORY] + as_user(
            [str(q.bin / "qmail-local"), "--", "joe", str(home), "joe", "", "", "a.example",
             "s@b.example", "./Maildir/"]), stdin=m, capture_output=True, env=q.env(),
            timeout=120)
    return p


def test_limits_qmail_local_giant_header_line_fails_permanently_with_bounded_memory():
    with QmailHome() as q:
        homes = make_users(q, ["joe"])
        msg = q.dir / "huge-header"
        big_file(msg, [b"Subject: big\nX-Huge: "] + list(repeat(b"h" * 65536, 50 * MB)) +
                 [b"\n\nbody\n"])
        q.chown_all(msg)
        p = limited_local(q, homes["joe"], msg)
        assert p.returncode == 100, p
        assert p.stderr == b"Message has a header line longer than 1048576 bytes. (#5.3.4)\n"
        assert maildir_files(homes["joe"]) == []
        assert os.listdir(homes["joe"] / "Maildir" / "tmp") == []
        # A line as long in the body is only copied: delivered.
        big_file(msg, [b"Subject: big body\n\n"] + list(repeat(b"b" * 65536, 50 * MB)) + [b"\n"])
        p = limited_local(q, homes["joe"], msg)
        assert p.returncode == 0, p
        (f,) = maildir_files(homes["joe"])
        assert f.stat().st_size > 50 * MB


def status_kb(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


def test_limits_qmail_send_warns_about_huge_and_malformed_queue_files():
    # Files written straight into the queue: a todo/ entry far beyond the
    # limits, a malformed one, a local/ file far beyond the limits and a
    # malformed one. qmail-send (under softlimit -m 64000000) warns about
    # each, leaves them, and goes on delivering the rest.
    with QmailHome() as q:
        q.control("me", "a.example\n")
        q.control("locals", "a.example\n")
        homes = make_users(q, ["joe"])
        ids = {}
        for name in ("hugetodo", "badtodo", "hugelocal", "badlocal"):
            r = q.queue(b"Subject: %s\n\nx\n" % name.encode(), "s@b.example", ["joe@a.example"])
            assert r.code == 0, r
            ids[name] = next(i for i in q.ids() if i not in ids.values())
        qd = q.queue_dir
        def sub(d, i):
            return qd / d / str(i % q.split) / str(i)
        big_file(qd / "todo" / str(ids["hugetodo"]),
                 [b"u0\0p0\0Fs@b.example\0"] + list(repeat(b"Tjoe@a.example\0" * 4096, 40 * MB)))
        (qd / "todo" / str(ids["badtodo"])).write_bytes(b"u0\0p0\0Fs@b.example\0Qjoe@a.example\0")
        for name in ("hugelocal", "badlocal"):
            os.unlink(qd / "todo" / str(ids[name]))
            os.unlink(qd / "intd" / str(ids[name]))
            sub("info", ids[name]).write_bytes(b"Fs@b.example\0")
        big_file(sub("local", ids["hugelocal"]), repeat(b"Tjoe@a.example\0" * 4096, 40 * MB))
        sub("local", ids["badlocal"]).write_bytes(b"Tjoe@a.example\0Xjunk\0")
        q.chown_all(qd)

        logfile = open(q.dir / "send.log", "wb")
        p = start_qmail([str(q.bin / "softlimit"), "-m", MEMORY] +
                        as_user([str(q.bin / "qmail-start"), "./Maildir/"]), q.env(), logfile)
        try:
            def text():
                return (q.dir / "send.log").read_text(errors="replace")
            def local(name):
                return f"local/{ids[name] % q.split}/{ids[name]}"
            for name, line in (
                    ("hugetodo", f"warning: too many recipients in todo/{ids['hugetodo']}\n"),
                    ("badtodo", f"warning: unknown record type in todo/{ids['badtodo']}\n"),
                    ("hugelocal", f"warning: trouble reading {local('hugelocal')}; will try again later\n"),
                    ("badlocal", f"warning: trouble reading {local('badlocal')}; will try again later\n")):
                wait_for(lambda: line in text(), timeout=20, what=f"the warning about {name}")
            # The rest goes on: a new message is delivered.
            r = q.queue(b"Subject: fine\n\nx\n", "s@b.example", ["joe@a.example"])
            assert r.code == 0, r
            wait_for(lambda: any(b"Subject: fine" in f.read_bytes()
                                 for f in maildir_files(homes["joe"])),
                     timeout=20, what="the next delivery")
            os.kill(p.pid, signal.SIGALRM)
            time.sleep(0.5)
            assert p.poll() is None, text()
            assert status_kb(p.pid, "VmHWM") < 32 * 1024
            log = text()
            assert "alert" not in log
            # They stay where they were, for a person to look at.
            for name in ("hugetodo", "badtodo"):
                assert f"todo/{ids[name]}" in q.files()
            for name in ("hugelocal", "badlocal"):
                assert local(name) in q.files()
            assert f"info/{ids['hugetodo'] % q.split}/{ids['hugetodo']}" not in q.files()
        finally:
            stop_qmail(p, timeout=20)
            logfile.close()


def test_limits_qmail_lspawn_refuses_a_giant_request_with_bounded_memory():
    # The spawners read requests byte by byte: a 50 MB recipient is
    # refused once past spawn's kMaxField, and the next request is served.
    with QmailHome() as q:
        q.control("me", "a.example\n")
        homes = make_users(q, ["joe"])
        r = q.queue(b"Subject: after\n\nx\n", "s@b.example", ["joe@a.example"])
        assert r.code == 0, r
        (i,) = q.ids()
        mess = f"{i % q.split}/{i}".encode()
        in_r, in_w = os.pipe()
        p = subprocess.Popen([str(q.bin / "softlimit"), "-m", MEMORY] +
                             as_user([str(q.bin / "qmail-lspawn"), "./Maildir/"]),
                             stdin=in_r, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=q.env(), cwd=q.dir)
        os.close(in_r)
        giant = [b"\x07" + mess + b"\0s@b.example\0"] + list(repeat(b"j" * 65536, 50 * MB)) + \
            [b"@a.example\0", b"\x08" + mess + b"\0s@b.example\0joe@a.example\0"]
        t = stream(in_w, giant)
        out, err = p.communicate(timeout=120)
        t.join(timeout=30)
        assert p.returncode == 0, err
        assert out[0] == 120
        answers = {}
        rest = out[1:]
        while rest:
            n = rest.index(b"\0", 1)
            answers[rest[0]] = rest[1:n]
            rest = rest[n + 1:]
        assert answers[7] == b"DInternal error: request too long. (#5.3.5)\n"
        assert answers[8].startswith(b"Kdid 1+0+0\n"), answers
        (f,) = maildir_files(homes["joe"])
        assert b"Subject: after" in f.read_bytes()
