"""qmail-queue and queue-fix: the queue as qmail 1.03 writes it, in a
temporary QMAILHOME (see qmailhome.py), in single-uid mode as nobody and,
as root, in system mode with qmail's users from a private passwd file
mounted over /etc/passwd in a mount namespace of its own."""
import calendar
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import QBOX
from qmailhome import (GID_QMAIL, NOBODY, NOGROUP, QMAIL_UIDS, ROOT, QmailHome, SystemHome,
                       as_user, envelope)

needs_root = pytest.mark.skipif(not ROOT, reason="needs root")
HAVE_STRACE = shutil.which("strace") is not None

SPLIT_DIRS = ("mess", "info", "local", "remote")
MESSAGE = b"From: joe@a.example\nTo: x@b.example\nSubject: hi\n\nbody\n"


@pytest.fixture
def q():
    with QmailHome() as home:
        yield home


def received_re(by):
    return re.compile(rb"Received: \(qmail (\d+) invoked " + by +
                      rb"\); (\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d) -0000\n")


def check_message(q, sender, rcpts, message=MESSAGE, by=rb"by uid 65534", uid=NOBODY):
    """The one message in the queue is the one queued: returns its id."""
    ids = q.ids()
    assert len(ids) == 1
    i = ids[0]
    mess = f"mess/{i % 23}/{i}"
    st = os.stat(q.queue_dir / mess)
    assert st.st_ino == i
    assert stat.S_IMODE(st.st_mode) == 0o644
    body = q.read(mess)
    m = received_re(by).match(body)
    assert m, body[:200]
    assert body[m.end():] == message
    when = calendar.timegm(time.strptime(m.group(2).decode(), "%d %b %Y %H:%M:%S"))
    assert abs(when - time.time()) < 120
    pid = int(m.group(1))
    todo = q.read(f"todo/{i}")
    assert todo == (f"u{uid}\0p{pid}\0".encode() + b"F" + sender + b"\0" +
                    b"".join(b"T" + r + b"\0" for r in rcpts))
    # intd and todo are one file; nothing else is there yet.
    assert os.stat(q.queue_dir / f"intd/{i}").st_ino == os.stat(q.queue_dir / f"todo/{i}").st_ino
    assert q.files() == sorted([mess, f"intd/{i}", f"todo/{i}"])
    return i


def assert_empty(q):
    assert q.files() == []


# ---- queue-fix: making a queue ------------------------------------------------

def test_queue_fix_makes_qmails_layout(q):
    qd = q.queue_dir
    me = (NOBODY, NOGROUP) if ROOT else (os.getuid(), os.getgid())
    want = {"": 0o750, "pid": 0o700, "intd": 0o700, "todo": 0o750, "bounce": 0o700,
            "mess": 0o750, "info": 0o700, "local": 0o700, "remote": 0o700, "lock": 0o750}
    for d, mode in want.items():
        st = os.lstat(qd / d)
        assert stat.S_ISDIR(st.st_mode), d
        assert stat.S_IMODE(st.st_mode) == mode, d
        assert (st.st_uid, st.st_gid) == me
    for d in SPLIT_DIRS:
        assert sorted(os.listdir(qd / d), key=int) == [str(i) for i in range(23)]
        for i in range(23):
            st = os.lstat(qd / d / str(i))
            assert stat.S_IMODE(st.st_mode) == want[d]
    st = os.lstat(qd / "lock/trigger")
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o622
    st = os.lstat(qd / "lock/sendmutex")
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 0
    st = os.lstat(qd / "lock/tcpto")
    assert stat.S_IMODE(st.st_mode) == 0o644 and st.st_size == 1024
    assert (qd / "lock/tcpto").read_bytes() == bytes(1024)
    # A second run finds nothing to do.
    r = q.run("queue-fix", ["-N", qd])
    assert (r.code, r.out, r.err) == (0, b"queue-fix finished with 0 problems\n", b"")
    r = q.run("queue-fix", [qd])
    assert (r.code, r.out, r.err) == (0, b"", b"")


def test_queue_fix_verbose_and_dry_run():
    with QmailHome(make_queue=False) as q:
        qd = q.queue_dir
        r = q.run("queue-fix", ["-N", qd])
        assert r.code == 1 and r.err == b""
        lines = r.out.decode().splitlines()
        assert lines[0] == f"Creating directory [{qd}]"
        assert f"Creating directory [{qd}/mess/22]" in lines
        assert f"Creating fifo [{qd}/lock/trigger]" in lines
        assert f"Creating [{qd}/lock/tcpto] with size [1024]" in lines
        assert lines[-1] == "queue-fix finished with 105 problems"
        assert not qd.exists()
        r = q.run("queue-fix", ["-v", qd])
        assert r.code == 0 and r.err == b""
        lines = r.out.decode().splitlines()
        assert f"Changing permissions of [{qd}/todo] to mode [750]" in lines
        assert lines[-1] == "queue-fix finished with 105 problems"
        assert q.run("queue-fix", ["-N", qd]).code == 0


def test_queue_fix_split_and_usage():
    with QmailHome(make_queue=False) as q:
        r = q.run("queue-fix", ["-s", "7", q.queue_dir])
        assert r.code == 0
        for d in SPLIT_DIRS:
            assert sorted(os.listdir(q.queue_dir / d), key=int) == [str(i) for i in range(7)]
        for bad in (["-s", "0", "x"], ["-s", "10001", "x"], ["-s", "x", "x"]):
            r = q.run("queue-fix", bad)
            assert r.code == 100 and r.err.startswith(b"queue-fix: fatal: split must be")
        for bad in ([], ["-x", "x"], ["a", "b"]):
            r = q.run("queue-fix", bad)
            assert r.code == 100
            assert r.err.endswith(b"queue-fix: usage: queue-fix [-N] [-v] [-s split] queuedir\n")
        # The parent must exist, as for the original.
        r = q.run("queue-fix", [q.dir / "no" / "queue"])
        assert r.code == 111 and r.err.startswith(b"queue-fix: fatal: unable to mkdir ")


def test_queue_fix_uses_conf_split():
    with QmailHome(split=11) as q:
        assert len(os.listdir(q.queue_dir / "mess")) == 11
        r = q.queue(MESSAGE, "a@b", ["c@d"])
        assert r.code == 0
        (i,) = q.ids()
        assert q.files("mess") == [f"mess/{i % 11}/{i}"]


# ---- qmail-queue ---------------------------------------------------------------

def test_qmail_queue_writes_message_and_envelope(q):
    rcpts = [b"x@b.example", b"y@c.example", b""]
    r = q.queue(MESSAGE, b"joe@a.example", rcpts)
    assert (r.code, r.err) == (0, b"")
    check_message(q, b"joe@a.example", rcpts)


def test_qmail_queue_null_sender_no_recipients_empty_message(q):
    r = q.queue(b"", b"", [])
    assert r.code == 0
    check_message(q, b"", [], message=b"")


def test_qmail_queue_binary_message_and_long_lines(q):
    msg = bytes(range(256)) * 1000 + b"x" * (3 << 20) + b"\n\0\r\n"
    assert q.queue(msg, b"a@b", [b"c@d"]).code == 0
    check_message(q, b"a@b", [b"c@d"], message=msg)


def test_qmail_queue_many_messages_distinct_ids(q):
    for n in range(20):
        assert q.queue(b"n %d\n" % n, b"a@b", [b"c@d"]).code == 0
    ids = q.ids()
    assert len(set(ids)) == 20
    for i in ids:
        assert (q.queue_dir / f"todo/{i}").exists()


@pytest.mark.parametrize("env,code", [
    (b"Xjoe\0\0", 91),                 # not F first
    (b"Fjoe\0Xa\0\0", 91),             # not T
    (b"Fjoe\0Fa\0\0", 91),
    (b"", 54),                          # nothing at all
    (b"Fjoe", 54),                      # cut short
    (b"Fjoe\0", 54),
    (b"Fjoe\0Ta@b\0", 54),              # no final NUL
    (b"F" + b"s" * 1003 + b"\0\0", 11),             # sender too long
    (b"Fa\0T" + b"r" * 1003 + b"\0\0", 11),         # recipient too long
])
def test_qmail_queue_bad_envelopes(q, env, code):
    r = q.queue(MESSAGE, env_bytes=env)
    assert (r.code, r.err) == (code, b"")
    assert_empty(q)


def test_qmail_queue_longest_addresses(q):
    s, t = b"s" * 1002, b"t" * 1002
    assert q.queue(MESSAGE, s, [t]).code == 0
    check_message(q, s, [t])


def test_qmail_queue_giant_address_bounded_memory(q):
    # 64 MiB without a NUL, under a 24 MiB address space limit: exit 11.
    prefix = ["prlimit", f"--as={24 << 20}"]
    r = q.queue(MESSAGE, env_bytes=b"Fa\0T" + b"r" * (64 << 20), prefix=prefix)
    assert r.code == 11
    assert_empty(q)


def test_qmail_queue_giant_envelope_bounded_memory(q):
    # More than 256 MiB of recipients: refused (11) with bounded memory.
    rcpt = b"Tuser@example.org\0"
    env = b"Fa@b\0" + rcpt * ((257 << 20) // len(rcpt)) + b"\0"
    r = q.queue(MESSAGE, env_bytes=env, prefix=["prlimit", f"--as={24 << 20}"], timeout=300)
    assert r.code == 11
    assert_empty(q)


def test_qmail_queue_many_recipients_and_giant_header(q):
    # 100000 recipients and a 20 MiB header line pass with little memory.
    rcpts = [b"user%d@example.org" % n for n in range(100000)]
    msg = b"X-Long: " + b"y" * (20 << 20) + b"\n\nbody\n"
    r = q.queue(msg, b"a@b", rcpts, prefix=["prlimit", f"--as={24 << 20}"], timeout=300)
    assert r.code == 0
    (i,) = q.ids()
    todo = q.read(f"todo/{i}")
    assert todo.count(b"\0T") == 100000
    assert os.path.getsize(q.queue_dir / f"mess/{i % 23}/{i}") > len(msg)


def test_qmail_queue_disk_full_is_53_and_cleans_up(q):
    # A file size limit stands in for a full disk: EFBIG, exit 53.
    r = q.queue(b"x" * (1 << 20), b"a@b", [b"c@d"], prefix=["prlimit", "--fsize=65536"])
    assert r.code == 53
    assert_empty(q)


def test_qmail_queue_read_error_is_54(q):
    # A directory on descriptor 0: read() fails with EISDIR.
    fin = os.open(q.dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with open(os.devnull, "rb") as fenv:
            p = subprocess.run(as_user([str(q.bin / "qmail-queue")]), stdin=fin, stdout=fenv,
                               env=q.env())
        assert p.returncode == 54
    finally:
        os.close(fin)
    assert_empty(q)


def test_qmail_queue_directory_trouble(q):
    assert q.queue(MESSAGE, b"a", [b"b"], env={"QMAILHOME": str(q.dir / "none")}).code == 61
    other = QmailHome(make_queue=False)
    try:
        assert q.queue(MESSAGE, b"a", [b"b"], env={"QMAILHOME": str(other.dir)}).code == 62
    finally:
        other.cleanup()
    qd = q.queue_dir
    os.chmod(qd / "pid", 0o500)
    assert q.queue(MESSAGE, b"a", [b"b"]).code == 63
    os.chmod(qd / "pid", 0o700)
    os.chmod(qd / "intd", 0o500)
    assert q.queue(MESSAGE, b"a", [b"b"]).code == 65
    os.chmod(qd / "intd", 0o700)
    os.chmod(qd / "todo", 0o550)
    assert q.queue(MESSAGE, b"a", [b"b"]).code == 66
    os.chmod(qd / "todo", 0o750)
    for n in range(23):
        os.chmod(qd / "mess" / str(n), 0o550)
    assert q.queue(MESSAGE, b"a", [b"b"]).code == 64
    for n in range(23):
        os.chmod(qd / "mess" / str(n), 0o750)
    assert_empty(q)
    (q.dir / "control/conf-split").write_text("zero\n")
    assert q.queue(MESSAGE, b"a", [b"b"]).code == 55
    assert_empty(q)


def test_qmail_queue_signals(q):
    """SIGALRM (its 24-hour timer) is 52, a crash is 81; neither leaves the
    queue inconsistent: no todo entry."""
    for sig, code in ((signal.SIGALRM, 52), (signal.SIGSEGV, 81), (signal.SIGBUS, 81)):
        rfd, wfd = os.pipe()
        with open(os.devnull, "rb") as fenv:
            p = subprocess.Popen(as_user([str(q.bin / "qmail-queue")]), stdin=rfd, stdout=fenv,
                                 env=q.env())
        os.close(rfd)
        os.write(wfd, b"partial message\n")
        # Wait until it is copying the message (its mess file exists).
        deadline = time.monotonic() + 10
        while not q.files("mess"):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(p.pid, sig)
        assert p.wait(10) == code
        os.close(wfd)
        assert q.files("todo") == []
        # "thou shalt not clean up here": the orphan is queue-fix's job.
        q.run("queue-fix", [q.queue_dir])
        assert_empty(q)


def test_qmail_queue_pulls_the_trigger(q):
    fd = os.open(q.queue_dir / "lock/trigger", os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert q.queue(MESSAGE, b"a", [b"b"]).code == 0
        assert os.read(fd, 10) == b"\0"
    finally:
        os.close(fd)


def test_qmail_queue_ignores_arguments_and_environment(q):
    r = q.queue(MESSAGE, b"a", [b"b"], env={"QMAILQUEUE": "/bin/false"})
    assert r.code == 0
    assert len(q.ids()) == 1


@pytest.mark.skipif(not HAVE_STRACE, reason="needs strace")
def test_qmail_queue_fsyncs_before_each_step(q):
    """Each file is fsynced, and its directory after its new entry, before
    the next step; the todo entry is durable before exit 0."""
    trace = q.dir / "trace"
    prefix = ["strace", "-f", "-o", str(trace), "-e",
              "trace=open,openat,write,fsync,fdatasync,link,linkat,unlink,unlinkat,rename,exit_group"]
    r = q.queue(MESSAGE, b"a@b", [b"c@d"], prefix=prefix)
    assert r.code == 0
    (i,) = q.ids()
    fds, events = {}, []
    for line in trace.read_text().splitlines():
        line = re.sub(r"^\d+\s+", "", line)
        m = re.match(r'(open|openat)\((?:AT_FDCWD, )?"([^"]+)".* = (-?\d+)', line)
        if m:
            fds[m.group(3)] = m.group(2)  # "-1" for a failed open: never a descriptor
            events.append(("open", m.group(2)))
            continue
        m = re.match(r'(write|fsync)\((\d+)', line)
        if m:
            events.append((m.group(1), fds.get(m.group(2))))
            continue
        m = re.match(r'(link|linkat|unlink|unlinkat|rename)\((?:AT_FDCWD, )?"([^"]+)"(?:, (?:AT_FDCWD, )?"([^"]+)")?', line)
        if m:
            events.append((m.group(1).replace("at", ""), m.group(2), m.group(3)))
            continue
        if line.startswith("exit_group"):
            events.append(("exit",))
    mess, intd, todo = f"mess/{i % 23}/{i}", f"intd/{i}", f"todo/{i}"
    pidfile = next(e[1] for e in events if e[0] == "open" and e[1].startswith("pid/"))

    def at(ev):
        return events.index(ev)

    def last(ev):
        return len(events) - 1 - events[::-1].index(ev)

    link_mess = at(("link", pidfile, mess))
    assert at(("open", pidfile)) < link_mess < at(("unlink", pidfile, None))
    # The message (written through the pid file's descriptor) is fsynced
    # after its last write, then its directory, then the envelope begins.
    assert last(("write", pidfile)) < at(("fsync", pidfile)) < at(("fsync", f"mess/{i % 23}"))
    assert at(("fsync", f"mess/{i % 23}")) < at(("open", intd))
    assert last(("write", intd)) < at(("fsync", intd)) < at(("link", intd, todo))
    assert at(("link", intd, todo)) < at(("fsync", "todo")) < at(("exit",))
    assert at(("fsync", "todo")) < at(("open", "lock/trigger"))
    assert len([e for e in events if e[0] == "fsync"]) == 4


# ---- queue-fix: repairs -----------------------------------------------------------

def inject(q, n=1, rcpts=(b"c@d",)):
    """Queues n messages ("message K"); returns their ids in that order."""
    ids = []
    for k in range(n):
        before = set(q.ids())
        assert q.queue(b"message %d\n" % k, b"a@b", list(rcpts)).code == 0
        (new,) = set(q.ids()) - before
        ids.append(new)
    return ids


def as_preprocessed(q, i, local=True, remote=False):
    """Makes message i look as qmail-send leaves it after reading todo/."""
    qd = q.queue_dir
    s = i % 23
    (qd / f"info/{s}/{i}").write_bytes(b"Fa@b\0")
    if local:
        (qd / f"local/{s}/{i}").write_bytes(b"Tc@d\0")
    if remote:
        (qd / f"remote/{s}/{i}").write_bytes(b"Tc@example.org\0")
    os.unlink(qd / f"todo/{i}")
    os.unlink(qd / f"intd/{i}")
    q.chown_all(qd)
    for d in ("info", "local", "remote"):
        p = qd / f"{d}/{s}/{i}"
        if p.exists():
            os.chmod(p, 0o600)


def fix(q, *args):
    r = q.run("queue-fix", list(args) + [q.queue_dir])
    assert r.code == 0, r
    return r


def test_queue_fix_repairs_modes_and_missing_pieces(q):
    qd = q.queue_dir
    (i,) = inject(q)
    os.chmod(qd / "mess", 0o777)
    os.chmod(qd / f"mess/{i % 23}/{i}", 0o666)
    shutil.rmtree(qd / "info/5")
    shutil.rmtree(qd / "bounce")
    os.unlink(qd / "lock/trigger")
    (qd / "lock/tcpto").write_bytes(b"x")
    q.chown_all(qd)
    r = q.run("queue-fix", ["-N", qd])
    assert r.code == 1
    lines = r.out.decode().splitlines()
    assert f"Changing permissions of [{qd}/mess] to mode [750]" in lines
    assert f"Changing permissions of [{qd}/mess/{i % 23}/{i}] to mode [644]" in lines
    assert f"Creating directory [{qd}/info/5]" in lines
    assert f"Creating directory [{qd}/bounce]" in lines
    assert f"Creating fifo [{qd}/lock/trigger]" in lines
    assert f"Resetting [{qd}/lock/tcpto] to size [1024]" in lines
    assert lines[-1] == "queue-fix finished with 6 problems"
    assert stat.S_IMODE(os.stat(qd / "mess").st_mode) == 0o777   # -N changed nothing
    fix(q)
    assert stat.S_IMODE(os.stat(qd / "mess").st_mode) == 0o750
    assert stat.S_IMODE(os.stat(qd / f"mess/{i % 23}/{i}").st_mode) == 0o644
    assert stat.S_ISFIFO(os.lstat(qd / "lock/trigger").st_mode)
    assert (qd / "lock/tcpto").read_bytes() == bytes(1024)
    assert q.run("queue-fix", ["-N", qd]).code == 0
    check_message(q, b"a@b", [b"c@d"], message=b"message 0\n")


def test_queue_fix_renames_messages_to_their_inodes(q):
    qd = q.queue_dir
    a, b = inject(q, 2)
    # Swap the names of a and b (as after a restore from backup), and move
    # b's companions along with its mess file.
    sa, sb = a % 23, b % 23
    as_preprocessed(q, b, local=True, remote=True)
    os.rename(qd / f"mess/{sa}/{a}", qd / "mess/0/tmpname")
    os.rename(qd / f"mess/{sb}/{b}", qd / f"mess/{sa}/{a}")
    os.rename(qd / "mess/0/tmpname", qd / f"mess/{sb}/{b}")
    for d in ("info", "local", "remote"):
        os.rename(qd / f"{d}/{sb}/{b}", qd / f"{d}/{sa}/{a}")
    os.rename(qd / f"todo/{a}", qd / "todo/tmp")
    os.rename(qd / f"intd/{a}", qd / "intd/tmp")
    os.rename(qd / "todo/tmp", qd / f"todo/{b}")
    os.rename(qd / "intd/tmp", qd / f"intd/{b}")
    r = fix(q, "-v")
    assert f"Renaming [{qd}/mess/{sa}/{a}] to [{qd}/mess/{sb}/{b}.tmp]" in r.out.decode()
    # Now every name is the inode again, companions included.
    for i in (a, b):
        assert os.stat(qd / f"mess/{i % 23}/{i}").st_ino == i
    assert q.read(f"mess/{a % 23}/{a}").endswith(b"message 0\n")
    assert (qd / f"todo/{a}").exists() and (qd / f"intd/{a}").exists()
    for d in ("info", "local", "remote"):
        assert (qd / f"{d}/{sb}/{b}").exists()
    assert not list(qd.glob("*/*.tmp")) and not list(qd.glob("*/*/*.tmp"))
    assert q.run("queue-fix", ["-N", qd]).code == 0


def test_queue_fix_changes_the_split():
    with QmailHome() as q:
        ids = inject(q, 5)
        for i in ids[:3]:
            as_preprocessed(q, i, local=True, remote=True)
        fix(q, "-s", "7")
        for d in SPLIT_DIRS:
            assert sorted(os.listdir(q.queue_dir / d), key=int) == [str(n) for n in range(7)]
        for i in ids:
            assert (q.queue_dir / f"mess/{i % 7}/{i}").exists()
        for i in ids[:3]:
            for d in ("info", "local", "remote"):
                assert (q.queue_dir / f"{d}/{i % 7}/{i}").exists()
        assert q.run("queue-fix", ["-N", "-s", "7", q.queue_dir]).code == 0


def test_queue_fix_removes_strays_and_orphans(q):
    qd = q.queue_dir
    keep_todo, keep_info, orphan, half = inject(q, 4)
    as_preprocessed(q, keep_info, local=False, remote=True)
    # orphan: its envelope never made it (qmail-queue died before intd).
    os.unlink(qd / f"todo/{orphan}")
    os.unlink(qd / f"intd/{orphan}")
    # half: intd written, never linked into todo.
    os.unlink(qd / f"todo/{half}")
    # strays: files of messages that do not exist, odd names, a pid file.
    for f in ("info/3/999999999", "local/4/12", "remote/5/13", "todo/14", "intd/15",
              "bounce/16", "todo/notanumber", "pid/123.456.1"):
        (qd / f).write_bytes(b"x")
    q.chown_all(qd)
    r = fix(q, "-v")
    out = r.out.decode()
    for f in ("info/3/999999999", "local/4/12", "remote/5/13", "todo/14", "intd/15",
              "bounce/16", "todo/notanumber", "pid/123.456.1",
              f"mess/{orphan % 23}/{orphan}", f"mess/{half % 23}/{half}", f"intd/{half}"):
        assert f"Unlinking [{qd}/{f}]" in out
        assert not (qd / f).exists()
    assert q.ids() == sorted([keep_todo, keep_info])
    assert (qd / f"todo/{keep_todo}").exists()
    assert (qd / f"remote/{keep_info % 23}/{keep_info}").exists()
    assert q.run("queue-fix", ["-N", qd]).code == 0


def test_queue_fix_gives_lost_recipients_a_sender(q):
    qd = q.queue_dir
    (i,) = inject(q)
    as_preprocessed(q, i, local=True, remote=True)
    mess = qd / f"mess/{i % 23}/{i}"
    os.utime(mess, (1000000000, 1000000000))
    os.unlink(qd / f"info/{i % 23}/{i}")
    r = fix(q, "-v")
    assert f"Creating [{qd}/info/{i % 23}/{i}] with the null sender" in r.out.decode()
    info = qd / f"info/{i % 23}/{i}"
    assert info.read_bytes() == b"F\0"
    st = os.stat(info)
    assert st.st_mtime == 1000000000 and stat.S_IMODE(st.st_mode) == 0o600
    assert q.run("queue-fix", ["-N", qd]).code == 0


def test_queue_fix_refuses_wrong_types_and_links(q):
    qd = q.queue_dir
    os.rmdir(qd / "mess/3")
    (qd / "mess/3").write_bytes(b"")
    q.chown_all(qd)
    r = q.run("queue-fix", [qd])
    assert r.code == 111
    assert r.err == (f"queue-fix: fatal: {qd}/mess/3 is not a directory. "
                     "Can't autofix: remove it and try again\n").encode()
    os.unlink(qd / "mess/3")
    os.mkdir(qd / "mess/3")
    q.chown_all(qd)
    # A link planted in the queue is not followed, even when its target
    # would need fixing.
    target = q.dir / "target"
    target.write_bytes(b"")
    os.chmod(target, 0o666)
    os.rmdir(qd / "info/4")
    os.symlink(target, qd / "info/4")
    r = q.run("queue-fix", [qd])
    assert r.code == 111 and b"info/4 is not a directory" in r.err
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666


# ---- system mode: qmail's users, qmail-queue setuid qmailq ---------------------

@pytest.fixture
def system_home():
    with SystemHome() as h:
        yield h.run, h.home


@needs_root
def test_system_mode_queue_fix_and_setuid_qmail_queue(system_home):
    run, home = system_home
    qbin = QBOX  # the unprivileged applets run from the build tree
    r = run([str(qbin), "queue-fix", "/var/qmail/queue"])
    assert r.returncode == 0, r.stderr
    qd = home / "queue"
    uid = {n: u for n, u in QMAIL_UIDS.items()}
    owners = {"": "qmailq", "pid": "qmailq", "intd": "qmailq", "todo": "qmailq",
              "bounce": "qmails", "mess": "qmailq", "mess/0": "qmailq", "info": "qmails",
              "info/22": "qmails", "local/7": "qmails", "remote/1": "qmails", "lock": "qmailq",
              "lock/tcpto": "qmailr", "lock/sendmutex": "qmails", "lock/trigger": "qmails"}
    for rel, who in owners.items():
        st = os.lstat(qd / rel)
        assert (st.st_uid, st.st_gid) == (uid[who], GID_QMAIL), rel

    def queue(user, env_extra=""):
        # As `user` (a uid), through the setuid qmail-queue; $QMAILHOME
        # points elsewhere and must be ignored.
        script = (f"printf 'Subject: s\\n\\nb\\n' > /tmp/.m$$; printf 'Fa@b\\0Tc@d\\0\\0' > /tmp/.e$$;"
                  f" QMAILHOME=/nonexistent {env_extra} setpriv --reuid={user} --regid={NOGROUP}"
                  f" --clear-groups /var/qmail/bin/qmail-queue </tmp/.m$$ 1</tmp/.e$$;"
                  f" rc=$?; rm -f /tmp/.m$$ /tmp/.e$$; exit $rc")
        return run(["sh", "-c", script])

    expect = [(NOBODY, b"by uid 65534"), (uid["alias"], b"by alias"),
              (uid["qmaild"], b"from network"), (uid["qmails"], b"for bounce")]
    for user, by in expect:
        r = queue(user)
        assert r.returncode == 0, r.stderr
    ids = sorted(int(n) for n in os.listdir(qd / "todo"))
    assert len(ids) == 4
    seen = []
    for i in ids:
        mess = qd / f"mess/{i % 23}/{i}"
        st = os.stat(mess)
        assert st.st_uid == uid["qmailq"]
        m = received_re(rb"([a-z ]+(?: \d+)?)").match(mess.read_bytes())
        seen.append(m.group(2))
        todo = (qd / f"todo/{i}").read_bytes()
        assert todo.startswith(b"u")
        assert os.stat(qd / f"todo/{i}").st_uid == uid["qmailq"]
    assert sorted(seen) == sorted(by for _, by in expect)
    # A repair run as root keeps everything as it is.
    r = run([str(qbin), "queue-fix", "-N", "/var/qmail/queue"])
    assert r.returncode == 0, r.stdout


@needs_root
def test_system_mode_needs_qmails_users():
    # Root without qmail's accounts cannot make a system-mode queue.
    top = Path(tempfile.mkdtemp(prefix="qbox-sysmode-"))
    try:
        lines = [ln for ln in Path("/etc/passwd").read_text().splitlines(True)
                 if ln.split(":")[0] not in QMAIL_UIDS]
        (top / "passwd").write_text("".join(lines))
        setup = f"mount --bind {top}/passwd /etc/passwd && exec \"$@\""
        r = subprocess.run(["unshare", "-m", "sh", "-c", setup, "sh", str(QBOX), "queue-fix",
                            str(top / "queue")], capture_output=True)
        assert r.returncode == 111
        assert r.stderr == b"queue-fix: fatal: unknown account alias\n"
        assert not (top / "queue").exists()
    finally:
        shutil.rmtree(top)


# ---- qmail-qread and qmail-qstat ------------------------------------------------

def qread_blocks(out):
    """qmail-qread's output as {id: [lines]}, one entry per message
    (warnings left out)."""
    blocks, cur = {}, None
    for line in out.decode("latin-1").split("\n")[:-1]:
        if line.startswith("warning: "):
            continue
        m = re.match(r"\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT  #(\d+)  ", line)
        if m:
            cur = blocks.setdefault(int(m.group(1)), [])
        cur.append(line)
    return blocks


def test_qmail_qstat_and_qread_counts(q):
    r = q.run("qmail-qstat")
    assert (r.code, r.out, r.err) == (
        0, b"messages in queue: 0\nmessages in queue but not yet preprocessed: 0\n", b"")
    assert q.run("qmail-qread").out == b""
    a, b, c = inject(q, 3)
    r = q.run("qmail-qstat")
    assert r.out == b"messages in queue: 3\nmessages in queue but not yet preprocessed: 3\n"
    # Messages still in todo/ are not listed by qmail-qread.
    assert (q.run("qmail-qread").code, q.run("qmail-qread").out) == (0, b"")
    as_preprocessed(q, a, local=True, remote=True)
    r = q.run("qmail-qstat")
    assert r.out == b"messages in queue: 3\nmessages in queue but not yet preprocessed: 2\n"
    assert list(qread_blocks(q.run("qmail-qread").out)) == [a]


def test_qmail_qread_format(q):
    qd = q.queue_dir
    a, b = inject(q, 2)
    for i in (a, b):
        as_preprocessed(q, i)
    sa, sb = a % 23, b % 23
    (qd / f"info/{sa}/{a}").write_bytes(b"Fjoe@a.example\0")
    (qd / f"local/{sa}/{a}").write_bytes(b"Tx@l.example\0Dy@l.example\0")
    (qd / f"remote/{sa}/{a}").write_bytes(b"Dz@r.example\0Tw@r.example\0Tcut")
    # b: bouncing, odd bytes in the addresses, an unknown record kind.
    (qd / f"info/{sb}/{b}").write_bytes(b"Fbad\x01\xe9\x7fsender\0")
    (qd / f"local/{sb}/{b}").write_bytes(b"Tnew\nline@l\0Xignored\0")
    (qd / f"bounce/{b}").write_bytes(b"<x@y>:\nno\n\n")
    for i, s in ((a, sa), (b, sb)):
        os.utime(qd / f"info/{s}/{i}", (812090814, 812090814))
    size = {i: os.path.getsize(qd / f"mess/{i % 23}/{i}") for i in (a, b)}
    r = q.run("qmail-qread")
    assert (r.code, r.err) == (0, b"")
    assert qread_blocks(r.out) == {
        a: [f"26 Sep 1995 04:46:54 GMT  #{a}  {size[a]}  <joe@a.example> ",
            "\tlocal\tx@l.example",
            "  done\tlocal\ty@l.example",
            "  done\tremote\tz@r.example",
            "\tremote\tw@r.example"],
        b: [f"26 Sep 1995 04:46:54 GMT  #{b}  {size[b]}  <bad___sender>  bouncing",
            "\tlocal\tnew_line@l"],
    }
    # The blocks come in the order of info/0 ... info/22.
    if sa != sb:
        assert list(qread_blocks(r.out)) == sorted((a, b), key=lambda i: i % 23)


def test_qmail_qread_troubles(q):
    qd = q.queue_dir
    a, b = inject(q, 2)
    as_preprocessed(q, a)
    as_preprocessed(q, b)
    os.unlink(qd / f"mess/{a % 23}/{a}")
    r = q.run("qmail-qread")
    assert r.code == 0
    assert f"warning: trouble with #{a}: file does not exist\n".encode() in r.out
    assert list(qread_blocks(r.out)) == [b]
    # An info directory that cannot be read stops it, on standard output.
    os.chmod(qd / "info/3", 0)
    r = q.run("qmail-qread")
    assert r.code == 111 and r.err == b""
    assert r.out.endswith(b"fatal: unable to opendir info/3: access denied\n")
    os.chmod(qd / "info/3", 0o700)
    r = q.run("qmail-qread", env={"QMAILHOME": str(q.dir / "none")})
    assert (r.code, r.out, r.err) == (111, b"fatal: unable to chdir: file does not exist\n", b"")
    r = q.run("qmail-qstat", env={"QMAILHOME": str(q.dir / "none")})
    assert r.code == 111 and r.out == b""
    assert r.err == f"qmail-qstat: fatal: unable to chdir to {q.dir}/none: file does not exist\n".encode()
    os.chmod(qd / "mess/5", 0)
    r = q.run("qmail-qstat")
    assert (r.code, r.out) == (111, b"")
    assert r.err == b"qmail-qstat: fatal: unable to read queue/mess/5: access denied\n"
    os.chmod(qd / "mess/5", 0o750)
