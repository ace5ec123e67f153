"""qmail's delivery side: qmail-clean, qmail-lspawn, qmail-rspawn and
qmail-start, in a temporary QMAILHOME (qmailhome.py) in single-uid mode.

The spawners are driven through their protocol (spawn.c): a request is
delnum, message file (relative to queue/mess), sender and recipient, each
NUL-terminated after the first byte; an answer is delnum, report, NUL.
"""
import os
import re
import subprocess
import time

import pytest

from conftest import wait_for
from qmailhome import NOBODY, NOGROUP, ROOT, QmailHome, as_user, start_qmail, stop_qmail

UID = NOBODY if ROOT else os.getuid()
GID = NOGROUP if ROOT else os.getgid()
MESSAGE = b"Subject: hi\n\nbody\n"


@pytest.fixture
def q():
    with QmailHome() as home:
        yield home


def request(delnum, messid, sender, recip):
    return bytes([delnum]) + messid.encode() + b"\0" + sender.encode() + b"\0" + \
        recip.encode() + b"\0"


def answers(out):
    """The spawner's first byte (its limit) and its answers {delnum: report}."""
    limit, rest = out[0], out[1:]
    res = {}
    while rest:
        n = rest.index(b"\0", 1)
        res[rest[0]] = rest[1:n]
        rest = rest[n + 1:]
    return limit, res


def queued(q, sender="joe@b.example", recips=("x@a.example",), log=None):
    """Queues MESSAGE; returns its id and its file under mess/.

    While a qmail-send runs (one started by the sendq fixture, or any whose
    log text `log()` returns), qmail-queue's trigger may get the message
    delivered and removed before the queue can be looked at, and a new id
    (an inode number) need not be the highest: the id is the one qmail-send
    logs for this qmail-queue ("info msg ID: ... qp PID"). Otherwise it is
    the one id that was not in mess/ before."""
    if log is None:
        running = [s for s in getattr(q, "sends", []) if s.p.poll() is None]
        if running:
            log = running[-1].text
    before = set(q.ids())
    start = len(log()) if log else 0
    r = q.queue(MESSAGE, sender, list(recips))
    assert r.code == 0, r
    if log is None:
        (i,) = set(q.ids()) - before
    else:
        pat = re.compile(rf"^info msg (\d+): bytes \d+ from <[^\n]*> qp {r.pid} uid ", re.M)
        m = wait_for(lambda: pat.search(log()[start:]), 30,
                     f"qmail-send to log the message of qmail-queue {r.pid}")
        i = int(m[1])
    return i, f"{i % q.split}/{i}"


def home_with_maildir(q, name="joe"):
    home = q.dir / "home" / name
    home.mkdir(parents=True)
    os.chmod(home, 0o755)
    q.chown_all(home.parent)
    r = q.run("maildirmake", [home / "Maildir"])
    assert r.code == 0, r
    q.chown_all(home)
    return home


def assign(q, lines):
    users = q.dir / "users"
    users.mkdir(exist_ok=True)
    (users / "assign").write_text("".join(lines) + ".\n")
    q.chown_all(users)
    r = q.run("qmail-newu")
    assert r.code == 0, r


# ---- qmail-clean -----------------------------------------------------------------

def test_qmail_clean(q):
    i, mess = queued(q)
    assert f"todo/{i}" in q.files()
    inp = f"todo/{i}\0".encode() + b"junk\0" + b"todo/12x\0" + b"blah/123\0" + \
        f"foop/{i}\0".encode() + f"foop/{i}\0".encode()
    r = q.run("qmail-clean", input=inp)
    assert (r.code, r.out, r.err) == (0, b"+xxx++", b"")
    assert q.files() == []


def test_qmail_clean_removes_ossified_pid_files(q):
    old = q.queue_dir / "pid" / "123.456.1"
    new = q.queue_dir / "pid" / "124.456.1"
    old.write_bytes(b"")
    new.write_bytes(b"")
    os.utime(old, (time.time() - 40 * 3600, time.time() - 40 * 3600))
    q.chown_all(q.queue_dir)
    r = q.run("qmail-clean")
    assert r.code == 0
    assert not old.exists() and new.exists()


def test_qmail_clean_without_queue(q):
    import shutil
    shutil.rmtree(q.queue_dir)
    r = q.run("qmail-clean", input=b"foop/1\0")
    assert (r.code, r.out) == (111, b"")


# ---- qmail-lspawn ------------------------------------------------------------------

def test_qmail_lspawn_delivers_through_users_cdb(q):
    home = home_with_maildir(q)
    assign(q, [f"=joe:joe:{UID}:{GID}:{home}:::\n", f"+joe-:joe:{UID}:{GID}:{home}:-::\n"])
    (home / ".qmail-list").write_text("./Maildir/\n")
    q.chown_all(home)
    i, mess = queued(q)
    inp = request(0, mess, "joe@b.example", "joe@a.example") + \
        request(1, mess, "joe@b.example", "Joe-List@a.example") + \
        request(2, mess, "joe@b.example", "joe-nothere@a.example") + \
        request(3, mess, "", "@a.example")
    r = q.run("qmail-lspawn", ["./Maildir/"], input=inp)
    assert r.code == 0, r
    limit, res = answers(r.out)
    assert limit == 120
    assert res[0] == b"Kdid 1+0+0\n", res
    assert res[1] == b"Kdid 1+0+0\n", res
    assert res[2] == b"DSorry, no mailbox here by that name. (#5.1.1)\n", res
    assert res[3] == b"K", res
    new = sorted(os.listdir(home / "Maildir" / "new"))
    assert len(new) == 2
    msg = (home / "Maildir" / "new" / new[0]).read_bytes()
    assert msg.startswith(b"Return-Path: <joe@b.example>\nDelivered-To: ")
    assert msg.endswith(MESSAGE)


def test_qmail_lspawn_protocol_errors(q):
    i, mess = queued(q)
    inp = request(0, "1/x", "s@b", "joe@a") + request(1, mess, "s@b", "nohost") + \
        request(2, "99/99999999", "s@b", "joe@a") + request(200, mess, "s@b", "joe@a")
    r = q.run("qmail-lspawn", ["./Maildir/"], input=inp)
    assert r.code == 0
    limit, res = answers(r.out)
    assert res == {
        0: b"DInternal error: messid has nonnumerics. (#5.3.5)\n",
        1: b"DSorry, address must include host name. (#5.1.3)\n",
        2: b"Zqmail-spawn unable to open message. (#4.3.0)\n",
        200: b"ZInternal error: delnum too big. (#4.3.5)\n",
    }


def test_qmail_lspawn_usage(q):
    r = q.run("qmail-lspawn")
    assert (r.code, r.out) == (100, b"")


def test_qmail_lspawn_program_exit_codes(q):
    home = home_with_maildir(q)
    assign(q, [f"+joe-:joe:{UID}:{GID}:{home}:-::\n"])
    for ext, code in (("ok", 0), ("soft", 111), ("hard", 100), ("stop", 99)):
        (home / f".qmail-{ext}").write_text(f"|echo said {ext}; exit {code}\n")
    q.chown_all(home)
    i, mess = queued(q)
    inp = b"".join(request(n, mess, "s@b.example", f"joe-{e}@a.example")
                   for n, e in enumerate(("ok", "soft", "hard", "stop")))
    r = q.run("qmail-lspawn", ["./Maildir/"], input=inp)
    limit, res = answers(r.out)
    assert res[0].startswith(b"Ksaid ok\n"), res
    assert res[1].startswith(b"Zsaid soft\n"), res
    assert res[2].startswith(b"Dsaid hard\n"), res
    assert res[3].startswith(b"Ksaid stop\n"), res


# ---- qmail-rspawn ------------------------------------------------------------------

REMOTE = """
out={out}
echo "$1 $2 $3" >> $out/args
cat > $out/msg
case "$3" in
  ok@*) printf 'rAccepted.\\0Kdone.\\0' ;;
  soft@*) printf 'sTry later.\\0Zconnected but greeting failed.\\0' ;;
  hard@*) printf 'hNo such user.\\0Dgiving up.\\0' ;;
  silent@*) ;;
  crash@*) kill -9 $$ ;;
  exit@*) exit 100 ;;
esac
"""


def test_qmail_rspawn_runs_the_installations_qmail_remote(q):
    out = q.dir / "remote-out"
    out.mkdir()
    q.chown_all(out)
    q.script("bin/qmail-remote", REMOTE.format(out=out))
    i, mess = queued(q)
    names = ("ok", "soft", "hard", "silent", "crash", "exit")
    inp = b"".join(request(n, mess, "s@b.example", f"{e}@r.example")
                   for n, e in enumerate(names))
    r = q.run("qmail-rspawn", input=inp)
    assert r.code == 0, r
    limit, res = answers(r.out)
    assert res == {
        0: b"KAccepted.done.",
        1: b"ZTry later.connected but greeting failed.",
        2: b"DNo such user.giving up.",
        3: b"Zqmail-remote produced no output.\n",
        4: b"Zqmail-remote crashed.\n",
        5: b"DUnable to run qmail-remote.\n",
    }, res
    assert b"r.example s@b.example ok@r.example\n" in (out / "args").read_bytes()


# ---- qmail-send through qmail-start ---------------------------------------------

class Send:
    """qmail-start (and so qmail-send and friends) running on a QmailHome,
    its log in a file."""

    def __init__(self, q, defaultdelivery="./Maildir/"):
        self.q = q
        self.logfile = q.dir / "send.log"
        self.log = open(self.logfile, "wb")
        self.p = start_qmail(as_user([str(q.bin / "qmail-start"), defaultdelivery]), q.env(), self.log)
        # Signals before qmail-send catches them would kill it: wait for its first line.
        self.wait_log(r"^status: ")

    def text(self):
        return self.logfile.read_text(errors="replace")

    def wait_log(self, pattern, timeout=20):
        import re
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(pattern, self.text(), re.M)
            if m:
                return m
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} in log:\n{self.text()}\n{self.q.files()}\n"
                             + subprocess.run(["ps", "-eo", "pid,stat,wchan:20,args"],
                                              capture_output=True, text=True).stdout)

    def stop(self):
        stop_qmail(self.p, timeout=20)
        self.log.close()


@pytest.fixture
def sendq():
    with QmailHome() as q:
        q.control("me", "a.example\n")
        q.control("locals", "a.example\n")
        home = home_with_maildir(q)
        assign(q, [f"=joe:joe:{UID}:{GID}:{home}:::\n", f"+joe-:joe:{UID}:{GID}:{home}:-::\n"])
        q.home = home
        try:
            yield q, lambda **kw: _track(q, Send(q, **kw))
        finally:
            for x in getattr(q, "sends", []):
                x.stop()


def _track(q, s):
    q.sends = getattr(q, "sends", []) + [s]
    return s


def maildir_new(home, name="Maildir"):
    d = home / name / "new"
    return [(d / f).read_bytes() for f in sorted(os.listdir(d))]


def test_send_local_delivery_to_maildir(sendq):
    q, start = sendq
    s = start()
    i, mess = queued(q, recips=["joe@a.example"])
    os.kill(s.p.pid, 14)  # ALRM: look at todo now (no trigger from qmail-queue here)
    s.wait_log(rf"^end msg {i}$")
    log = s.text()
    assert f"new msg {i}\n" in log
    import re
    assert re.search(rf"^info msg {i}: bytes \d+ from <joe@b.example> qp \d+ uid {UID}$", log, re.M)
    assert f"starting delivery 1: msg {i} to local joe@a.example\n" in log
    assert "delivery 1: success: did_1+0+0/\n" in log
    assert "status: local 1/10 remote 0/20\n" in log
    msgs = maildir_new(q.home)
    assert len(msgs) == 1 and msgs[0].endswith(MESSAGE)
    assert q.files() == []


def remote_recorder(q):
    out = q.dir / "remote-out"
    out.mkdir()
    q.chown_all(out)
    q.script("bin/qmail-remote", REMOTE.format(out=out))
    return out


def test_send_missing_user_bounces_in_qsbmf_to_a_remote_sender(sendq):
    q, start = sendq
    out = remote_recorder(q)
    s = start()
    i, mess = queued(q, sender="ok@r.example", recips=["joe-nothere@a.example", "joe@a.example"])
    os.kill(s.p.pid, 14)
    s.wait_log(rf"^end msg {i}$")
    log = s.text()
    assert "failure: Sorry,_no_mailbox_here_by_that_name._(#5.1.1)/\n" in log
    m = s.wait_log(r"^bounce msg %d qp \d+$" % i)
    s.wait_log(r"^starting delivery \d+: msg \d+ to remote ok@r.example$")
    s.wait_log(r"success: Accepted.done.$")
    bounce = (out / "msg").read_bytes()
    assert b"\nFrom: MAILER-DAEMON@a.example\nTo: ok@r.example\nSubject: failure notice\n\n" in bounce
    assert (b"Hi. This is the qmail-send program at a.example.\n"
            b"I'm afraid I wasn't able to deliver your message to the following addresses.\n"
            b"This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
            b"<joe-nothere@a.example>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
            b"--- Below this line is a copy of the message.\n\n"
            b"Return-Path: <ok@r.example>\n") in bounce
    assert bounce.endswith(MESSAGE)
    assert b"r.example  ok@r.example\n" in (out / "args").read_bytes()
    assert len(maildir_new(q.home)) == 1


def test_send_double_bounce(sendq):
    q, start = sendq
    q.control("doublebounceto", "joe-dbl\n")
    q.control("doublebouncehost", "a.example\n")
    r = q.run("maildirmake", [q.home / "dbl"])
    assert r.code == 0
    (q.home / ".qmail-dbl").write_text("./dbl/\n")
    q.chown_all(q.home)
    s = start()
    i, mess = queued(q, sender="", recips=["joe-nothere@a.example"])
    os.kill(s.p.pid, 14)
    s.wait_log(rf"^end msg {i}$")
    s.wait_log(r"to local joe-dbl@a.example$")
    deadline = time.time() + 20
    while time.time() < deadline and not os.listdir(q.home / "dbl" / "new"):
        time.sleep(0.05)
    (msg,) = maildir_new(q.home, "dbl")
    assert msg.startswith(b"Return-Path: <#@[]>\n")
    assert b"\nTo: joe-dbl@a.example\n" in msg
    assert b"I tried to deliver a bounce message to this address, but the bounce bounced!\n" in msg
    assert b"--- Below this line is the original bounce.\n\nReturn-Path: <>\n" in msg


def test_send_retries_a_deferral_and_gives_up_after_queuelifetime(sendq):
    q, start = sendq
    out = remote_recorder(q)
    state = q.dir / "tries"
    (q.home / ".qmail-flaky").write_text(
        f"|echo try >> {state}; test $(wc -l < {state}) -ge 2 || exit 111\n./Maildir/\n")
    (q.home / ".qmail-never").write_text("|echo not now; exit 111\n")
    q.chown_all(q.home)
    q.control("queuelifetime", "3\n")
    s = start()
    i, mess = queued(q, sender="ok@r.example", recips=["joe-flaky@a.example"])
    os.kill(s.p.pid, 14)
    s.wait_log(r"^delivery 1: deferral: ")
    assert f"end msg {i}" not in s.text()
    os.kill(s.p.pid, 14)  # ALRM: retry now
    s.wait_log(rf"^end msg {i}$")
    assert len(maildir_new(q.home)) == 1
    j, mess = queued(q, sender="ok@r.example", recips=["joe-never@a.example"])
    os.kill(s.p.pid, 14)
    s.wait_log(rf"msg {j} to local joe-never")
    time.sleep(3.5)  # the lifetime has to pass; nothing to poll for
    os.kill(s.p.pid, 14)
    s.wait_log(rf"^end msg {j}$")
    s.wait_log(r"success: Accepted.done.$")
    bounce = (out / "msg").read_bytes()
    assert (b"<joe-never@a.example>:\nnot now\n"
            b"I'm not going to try again; this message has been in the queue too long.\n\n"
            ) in bounce


def test_send_term_ends_cleanly(sendq):
    q, start = sendq
    s = start()
    s.wait_log(r"^status: local 0/10 remote 0/20$")
    os.kill(s.p.pid, 15)
    assert s.p.wait(timeout=20) == 0
    s.wait_log(r"^status: exiting$")


def test_send_mbox_program_forward_extension_default_verp_and_99(sendq):
    q, start = sendq
    out = remote_recorder(q)
    h = q.home
    (h / ".qmail-box").write_text("./mbox\n")
    (h / ".qmail-prog").write_text(f"|echo \"$SENDER $RECIPIENT $EXT\" > {q.dir}/prog.out\n")
    (h / ".qmail-fwd").write_text("&ok@r.example\n")
    (h / ".qmail-list-default").write_text("./Maildir/\n")
    (h / ".qmail-stop").write_text("|exit 99\n./Maildir/\n")
    (h / "mbox").write_bytes(b"")
    q.chown_all(h)
    s = start()
    i, mess = queued(q, sender="owner-list-@r.example-@[]",
                     recips=["joe-box@a.example", "joe-prog@a.example", "joe-fwd@a.example",
                             "joe-list-any@a.example", "joe-stop@a.example"])
    os.kill(s.p.pid, 14)
    s.wait_log(rf"^end msg {i}$")
    log = s.text()
    assert log.count(": success: ") >= 5, log
    box = (h / "mbox").read_bytes()
    assert box.startswith(b"From owner-list-joe-box=a.example@r.example ")
    prog = (q.dir / "prog.out").read_text()
    assert prog == "owner-list-joe-prog=a.example@r.example joe-prog@a.example prog\n"
    assert len(maildir_new(h)) == 1  # joe-list-any; joe-stop stopped at 99
    s.wait_log(r"to remote ok@r.example$")
    s.wait_log(r"success: Accepted.done.$")
    assert b"r.example owner-list-joe-fwd=a.example@r.example ok@r.example\n" in \
        (out / "args").read_bytes()


def test_send_virtualdomains_and_hup(sendq):
    q, start = sendq
    out = remote_recorder(q)
    q.control("virtualdomains", "v.example:joe-virt\n")
    (q.home / ".qmail-virt-default").write_text("./Maildir/\n")
    q.chown_all(q.home)
    s = start()
    i, mess = queued(q, sender="", recips=["Someone@v.example", "ok@w.example"])
    os.kill(s.p.pid, 14)
    s.wait_log(rf"^end msg {i}$")
    log = s.text()
    assert f"msg {i} to local joe-virt-Someone@v.example\n" in log
    assert f"msg {i} to remote ok@w.example\n" in log
    (msg,) = maildir_new(q.home)
    assert b"\nDelivered-To: joe-virt-Someone@v.example\n" in msg
    # After HUP, w.example is virtual too.
    q.control("virtualdomains", "v.example:joe-virt\nw.example:joe-virt\n")
    os.kill(s.p.pid, 1)
    deadline = time.time() + 20
    while True:
        j, mess = queued(q, sender="", recips=["ok@w.example"])
        os.kill(s.p.pid, 14)
        s.wait_log(rf"^end msg {j}$")
        if f"msg {j} to local joe-virt-ok@w.example\n" in s.text() or time.time() > deadline:
            break
    assert f"msg {j} to local joe-virt-ok@w.example\n" in s.text()


def test_send_sticky_home_defers_until_fixed(sendq):
    q, start = sendq
    os.chmod(q.home, 0o1755)
    s = start()
    i, mess = queued(q, recips=["joe@a.example"])
    os.kill(s.p.pid, 14)
    s.wait_log(r"^delivery 1: deferral: Home_directory_is_sticky:_user_is_editing_his_\.qmail_file\._\(#4\.2\.1\)/$")
    os.chmod(q.home, 0o755)
    os.kill(s.p.pid, 14)
    s.wait_log(rf"^end msg {i}$")
    assert len(maildir_new(q.home)) == 1


def test_send_logger_and_percenthack(sendq):
    q, start = sendq
    remote_recorder(q)
    q.control("percenthack", "r.example\n")
    logged = q.dir / "logged"
    q.script("bin/test-logger", f"cat > {logged}\n")
    p = start_qmail(as_user([str(q.bin / "qmail-start"), "./Maildir/", "test-logger"]), q.env())
    try:
        i, mess = queued(q, recips=["joe%a.example@r.example"],
                         log=lambda: logged.read_text() if logged.exists() else "")
        # ALRM before qmail-send catches it would kill it: wait for its first line.
        deadline = time.time() + 20
        while time.time() < deadline and not (logged.exists() and "status:" in logged.read_text()):
            time.sleep(0.05)
        while time.time() < deadline:
            os.kill(p.pid, 14)
            if logged.exists() and f"end msg {i}\n" in logged.read_text():
                break
            time.sleep(0.1)
        text = logged.read_text()
        assert f"msg {i} to local joe@a.example\n" in text
    finally:
        assert stop_qmail(p, timeout=20), "qmail-send did not stop on TERM"
    assert len(maildir_new(q.home)) == 1


FILTER = """exec 3<&1
case "$QQ_MODE" in
  custom) printf 'DNo thanks, filtered here.' >&6; exit 82 ;;
  temp) exit 71 ;;
esac
exec {qq}
"""


def test_send_qmailqueue_filter_and_custom_errors(sendq):
    q, start = sendq
    filt = q.script("bin/filter", FILTER.format(qq=q.bin / "qmail-queue"))
    s = start()
    msg = b"To: joe@a.example\nSubject: filtered\n\nbody\n"
    r = q.run("qmail-inject", ["-fjoe@b.example", "joe@a.example"], input=msg,
              env={"QMAILQUEUE": str(filt), "QQ_MODE": "custom"})
    assert (r.code, r.err) == (100, b"qmail-inject: fatal: No thanks, filtered here.\n"), r
    r = q.run("qmail-inject", ["-fjoe@b.example", "joe@a.example"], input=msg,
              env={"QMAILQUEUE": str(filt), "QQ_MODE": "temp"})
    assert r.code == 111, r
    r = q.run("qmail-inject", ["-fjoe@b.example", "joe@a.example"], input=msg,
              env={"QMAILQUEUE": str(filt)})
    assert r.code == 0, r
    # The only message queued; qmail-queue's trigger may get it delivered
    # before the queue can be looked at: take the id qmail-send logs.
    i = int(s.wait_log(r"^info msg (\d+): bytes \d+ from <joe@b.example> qp \d+ ")[1])
    os.kill(s.p.pid, 14)
    s.wait_log(rf"^end msg {i}$")
    (got,) = maildir_new(q.home)
    assert b"Subject: filtered\n" in got


def test_qmail_start_usage_failure_is_silent(q):
    # Without qmail-send in $PATH, qmail-start exits 111 and says nothing.
    p = subprocess.run(as_user(["/usr/bin/env", "PATH=/nonexistent", str(q.bin / "qmail-start")]),
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=20)
    assert (p.returncode, p.stdout, p.stderr) == (111, b"", b"")


def test_send_restart_carries_on(sendq):
    q, start = sendq
    state = q.dir / "tries"
    (q.home / ".qmail-flaky").write_text(
        f"|echo try >> {state}; test $(wc -l < {state}) -ge 2 || exit 111\n./Maildir/\n")
    q.chown_all(q.home)
    # Queued while nothing runs: picked up from todo/ at the start.
    i, mess = queued(q, recips=["joe-flaky@a.example"])
    s = start()
    s.wait_log(r"^delivery 1: deferral: ")
    os.kill(s.p.pid, 15)
    assert s.p.wait(timeout=20) == 0
    assert f"info/{i % q.split}/{i}" in q.files()
    # The next retry was kept in the mtime of local/ID, as qmail's pqfinish does.
    local = q.queue_dir / "local" / str(i % q.split) / str(i)
    assert local.stat().st_mtime > time.time() + 10
    # A new qmail-send waits for it; ALRM retries at once.
    s2 = start()
    time.sleep(1.5)
    assert "starting delivery" not in s2.text()
    os.kill(s2.p.pid, 14)
    s2.wait_log(rf"^end msg {i}$")
    assert len(maildir_new(q.home)) == 1
    assert q.files() == []


def test_send_obeys_concurrencylocal(sendq):
    q, start = sendq
    q.control("concurrencylocal", "1\n")
    (q.home / ".qmail-slow").write_text("|sleep 0.2\n")
    q.chown_all(q.home)
    s = start()
    i, mess = queued(q, recips=["joe-slow@a.example"] * 3)
    os.kill(s.p.pid, 14)
    s.wait_log(rf"^end msg {i}$")
    log = s.text()
    assert log.count(f"msg {i} to local joe-slow@a.example\n") == 3
    assert "status: local 1/1 remote 0/20\n" in log
    assert "status: local 2/" not in log


def children(pid):
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if ppid == pid:
                out[comm] = int(d)
    return out


def children_named(pid, names, timeout=30):
    """children(pid) once it has all of names: qmail-send can log before
    each child qmail-start forked has exec'd."""
    return wait_for(lambda: (lambda k: k if set(k) >= names else None)(children(pid)), timeout,
                    f"children {sorted(names)} of {pid}")


def test_send_dies_when_a_spawner_is_lost(sendq):
    q, start = sendq
    s = start()
    s.wait_log(r"^status: local 0/10 remote 0/20$")
    kids = children_named(s.p.pid, {"qmail-lspawn", "qmail-rspawn", "qmail-clean"})
    os.kill(kids["qmail-lspawn"], 9)
    assert s.p.wait(timeout=20) == 111
    s.wait_log(r"^alert: oh no! lost spawn connection! dying...$")


def test_send_dies_when_qmail_todo_is_lost(sendq):
    q, start = sendq
    s = start()
    kids = children_named(s.p.pid, {"qmail-todo"})
    os.kill(kids["qmail-todo"], 9)
    assert s.p.wait(timeout=20) == 111
    s.wait_log(r"^alert: oh no! lost qmail-todo connection! dying...$")


def test_send_needs_qmail_todo(sendq):
    q, start = sendq
    # qmail-send alone, without qmail-start's descriptors 7 and 8.
    r = q.run("qmail-send", prefix=["sh", "-c", 'exec "$0" "$@" 0>&1 7<&- 8<&-'])
    assert r.code == 111
    assert b"alert: cannot start" in r.out + r.err


def _fake_queued(q, i, recips):
    """What qmail-queue leaves for message i: mess/, intd/ and todo/ files."""
    qd = q.queue_dir
    (qd / "mess" / str(i % q.split) / str(i)).write_bytes(MESSAGE)
    todo = b"u%d\0p%d\0Fjoe@b.example\0" % (UID, i) + b"".join(b"T" + r.encode() + b"\0" for r in recips)
    (qd / "intd" / str(i)).write_bytes(todo)
    (qd / "todo" / str(i)).write_bytes(todo)


def test_send_large_todo_does_not_starve_delivery(sendq):
    q, start = sendq
    # A message already sorted into local/ and a todo/ of 3,000 new ones:
    # qmail-todo works through todo/ in its own process while qmail-send
    # delivers the first message.
    first = 100
    qd = q.queue_dir
    (qd / "mess" / str(first % q.split) / str(first)).write_bytes(MESSAGE)
    (qd / "info" / str(first % q.split) / str(first)).write_bytes(b"Fjoe@b.example\0")
    (qd / "local" / str(first % q.split) / str(first)).write_bytes(b"Tjoe@a.example\0")
    for i in range(1000, 4000):
        _fake_queued(q, i, ["later@r.example"])
    q.script("bin/qmail-remote", "cat >/dev/null\n")  # no answer: a deferral
    q.chown_all(qd)
    s = start()
    s.wait_log(rf"^end msg {first}$", timeout=60)
    deadline = time.time() + 120
    while s.text().count("new msg ") < 3000 and time.time() < deadline:
        time.sleep(0.1)
    log = s.text()
    assert log.count("new msg ") == 3000
    last_new = log.rindex("new msg ")
    assert log.index(f"end msg {first}\n") < last_new
    assert len(maildir_new(q.home)) == 1


# ---- system mode: qmail's users and privilege separation -------------------------

SYSTEM_SCRIPT = r"""
set -u
cd /var/qmail
printf 'a.example\n' > control/me; cp control/me control/locals
PATH=/var/qmail/bin:$PATH; export PATH
queue-fix /var/qmail/queue >/dev/null || exit 1
setpriv --reuid=alice --regid=nofiles --clear-groups maildirmake /var/home/alice/Maildir || exit 1
qmail-start ./Maildir/ </dev/null >/var/send.log 2>&1 &
pid=$!
until grep -q '^status:' /var/send.log; do sleep 0.05; done
for p in $pid $(pgrep -P $pid); do echo "proc $(stat -c %u /proc/$p) $(cat /proc/$p/comm)"; done
printf 'Subject: sys\n\nbody\n' > /tmp/m.$$; printf 'Fjoe@b.example\0Talice@a.example\0\0' > /tmp/e.$$
setpriv --reuid=65534 --regid=65534 --clear-groups qmail-queue </tmp/m.$$ 1</tmp/e.$$; echo "qq $?"
rm -f /tmp/m.$$ /tmp/e.$$
n=0; until grep -q '^end msg' /var/send.log || [ $n -ge 200 ]; do sleep 0.1; n=$((n+1)); done
for f in /var/home/alice/Maildir/new/*; do echo "mail $(stat -c '%u %a' "$f")"; done
kill -TERM $pid; wait $pid; echo "exit $?"
cat /var/send.log
"""


@pytest.mark.skipif(not ROOT, reason="needs root")
def test_send_system_mode_privilege_separation():
    from qmailhome import GID_QMAIL, QMAIL_UIDS, SystemHome
    with SystemHome({"alice": 64030}) as h:
        r = h.run(["sh", "-c", SYSTEM_SCRIPT], timeout=60)
        out = r.stdout.decode()
        assert r.returncode == 0, (out, r.stderr)
        procs = sorted(tuple(line.split()[1:]) for line in out.splitlines() if line.startswith("proc "))
        u = QMAIL_UIDS
        # qmail-send and qmail-todo as qmails, qmail-clean as qmailq, qmail-rspawn
        # as qmailr, qmail-lspawn as root (it switches to each recipient).
        assert procs == sorted([(str(u["qmails"]), "qmail-send"), (str(u["qmails"]), "qmail-todo"),
                                (str(u["qmailq"]), "qmail-clean"), (str(u["qmailq"]), "qmail-clean"),
                                (str(u["qmailr"]), "qmail-rspawn"), ("0", "qmail-lspawn")]), out
        assert "qq 0\n" in out
        # Delivered by qmail-local running as alice.
        assert "mail 64030 " in out, out
        assert "delivery 1: success: did_1+0+0/" in out
        assert "exit 0\n" in out
        assert not list((h.home / "queue" / "todo").iterdir())


def test_send_removes_what_a_killed_qmail_queue_left(sendq):
    q, start = sendq
    qd = q.queue_dir
    old = time.time() - 200000  # more than 36 hours
    for i in (500, 501, 503):
        m = qd / "mess" / str(i % q.split) / str(i)
        m.write_bytes(MESSAGE)
        (qd / "intd" / str(i)).write_bytes(b"")
    # 500: left by a killed qmail-queue long ago; 501: recent; 503 in info/
    # (a message qmail-send is working on).
    (qd / "info" / str(503 % q.split) / "503").write_bytes(b"F\0")
    (qd / "remote" / str(503 % q.split) / "503").write_bytes(b"Tlater@r.example\0")
    q.script("bin/qmail-remote", "cat >/dev/null\n")  # no answer: a deferral
    for i in (500, 503):
        os.utime(qd / "mess" / str(i % q.split) / str(i), (old, old))
    q.chown_all(qd)
    s = start()
    deadline = time.time() + 20
    while (qd / "mess" / str(500 % q.split) / "500").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert not (qd / "mess" / str(500 % q.split) / "500").exists()
    assert not (qd / "intd" / "500").exists()
    for i in (501, 503):
        assert (qd / "mess" / str(i % q.split) / str(i)).exists(), i
    s.stop()


def test_send_warns_when_a_done_mark_cannot_be_written(sendq):
    q, start = sendq
    # The delivery itself takes the write permission of local/N/ID away.
    (q.home / ".qmail-lock").write_text(f"|chmod 400 {q.queue_dir}/local/*/*\n")
    q.chown_all(q.home)
    s = start()
    i, mess = queued(q, recips=["joe-lock@a.example"])
    os.kill(s.p.pid, 14)
    s.wait_log(rf"^warning: trouble marking local/{i % q.split}/{i}; "
               r"message will be delivered twice!$")
    assert "delivery 1: success: did_0+0+1/\n" in s.text()
    assert f"end msg {i}" not in s.text()
    assert f"local/{i % q.split}/{i}" in q.files()
