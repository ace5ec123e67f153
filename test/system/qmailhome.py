"""A qmail installation for system tests: a $QMAILHOME in a fresh directory
with bin/ (qbox's applet links), control/ and a queue made by queue-fix.

It runs in single-uid mode: when the tests run as root, everything belongs
to nobody and every program runs as nobody (setpriv), so nothing needs
qmail's users; otherwise it belongs to the user running the tests.

    with QmailHome() as q:
        r = q.queue(b"Subject: hi\\n\\nbody\\n", "joe@example.org", ["x@example.org"])
        assert r.code == 0
        q.run("qmail-qread")

Used by test_queue.py; meant for the tests of qmail-send and friends too.
"""
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from conftest import QBOX, Result

ROOT = os.geteuid() == 0
NOBODY = 65534
NOGROUP = 65534
BASE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C"}


def as_user(argv):
    """argv run as nobody:nogroup without supplementary groups when root."""
    if not ROOT:
        return list(argv)
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOGROUP}", "--clear-groups"] + list(argv)


def envelope(sender, recipients):
    """The descriptor-1 form qmail-queue reads."""
    return b"F" + _b(sender) + b"\0" + b"".join(b"T" + _b(r) + b"\0" for r in recipients) + b"\0"


def _b(s):
    return s if isinstance(s, bytes) else s.encode()


def start_qmail(argv, env, log=None, cwd=None):
    """qmail-start run as argv (a logger and its arguments included), in a
    session of its own so that stop_qmail can end everything it started.
    Its output, qmail-send's log when it has no logger, goes to the open
    file `log` (inherited when None)."""
    return subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT if log is not None else None,
                            start_new_session=True)


def stop_qmail(p, timeout=30):
    """TERM to what qmail-start became (qmail-send), `timeout` seconds for
    it to finish, then KILL to whatever is left of its process group.
    True when qmail-send had ended on the TERM (or before)."""
    stopped = True
    if p.poll() is None:
        os.kill(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stopped = False
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()
    return stopped


class QmailHome:
    def __init__(self, split=None, make_queue=True):
        self.dir = Path(tempfile.mkdtemp(prefix="qbox-qmailhome-"))
        os.chmod(self.dir, 0o755)
        self.bin = self.dir / "bin"
        self.bin.mkdir()
        subprocess.run([str(QBOX), "--install", str(self.bin)], check=True)
        (self.dir / "control").mkdir()
        self.split = split or 23
        if split is not None:
            (self.dir / "control" / "conf-split").write_text(f"{split}\n")
        self.chown_all()
        self.queue_dir = self.dir / "queue"
        if make_queue:
            r = self.run("queue-fix", [str(self.queue_dir)])
            assert r.code == 0, r

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def chown_all(self, path=None):
        """Gives path (default: everything) to the test user when root."""
        if not ROOT:
            return
        top = Path(path or self.dir)
        os.lchown(top, NOBODY, NOGROUP)
        for root, dirs, files in os.walk(top):
            for n in dirs + files:
                os.lchown(os.path.join(root, n), NOBODY, NOGROUP)

    def env(self, extra=None):
        e = dict(BASE_ENV, QMAILHOME=str(self.dir), PATH=f"{self.bin}:/usr/bin:/bin")
        e.update(extra or {})
        return e

    def run(self, name, args=(), input=b"", env=None, prefix=(), timeout=60, cwd=None):
        """Runs applet `name` as the test user."""
        argv = list(prefix) + as_user([str(self.bin / name)] + [str(a) for a in args])
        p = subprocess.run(argv, input=input, capture_output=True, env=self.env(env),
                           timeout=timeout, cwd=cwd or self.dir)
        return Result(p.stdout, p.stderr, p.returncode)

    def queue(self, message, sender=None, recipients=(), env_bytes=None, env=None,
              prefix=(), program=None, timeout=60):
        """Runs qmail-queue with the message on 0 and the envelope on 1
        (both from files, so any size works); returns its Result. Its pid
        is qmail-queue's (setpriv and an empty prefix exec it), the "qp"
        qmail-send logs for the message."""
        work = Path(tempfile.mkdtemp(prefix="qbox-qq-"))
        try:
            m = work / "message"
            e = work / "envelope"
            m.write_bytes(_b(message))
            e.write_bytes(env_bytes if env_bytes is not None else envelope(sender, recipients))
            argv = list(prefix) + as_user([str(program or self.bin / "qmail-queue")])
            with open(m, "rb") as fin, open(e, "rb") as fenv:
                p = subprocess.Popen(argv, stdin=fin, stdout=fenv, stderr=subprocess.PIPE,
                                     env=self.env(env), cwd=self.dir)
                try:
                    _, err = p.communicate(timeout=timeout)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.communicate()
                    raise
            return Result(b"", err, p.returncode, p.pid)
        finally:
            shutil.rmtree(work)

    def control(self, name, text):
        """Writes control/NAME."""
        p = self.dir / "control" / name
        p.write_text(text)
        self.chown_all(p)

    def script(self, rel, body):
        """An executable shell script at rel (e.g. "bin/qmail-smtpd")."""
        p = self.dir / rel
        if p.is_symlink() or p.exists():
            p.unlink()
        p.write_text("#!/bin/sh\n" + body)
        os.chmod(p, 0o755)
        self.chown_all(p)
        return p

    # ---- looking at the queue ----------------------------------------------

    def files(self, *dirs):
        """Queue files (relative paths) under the given queue directories
        (default: all but lock)."""
        dirs = dirs or ("pid", "mess", "intd", "todo", "info", "local", "remote", "bounce")
        out = []
        for d in dirs:
            for root, _, names in os.walk(self.queue_dir / d):
                out += [os.path.relpath(os.path.join(root, n), self.queue_dir) for n in names]
        return sorted(out)

    def ids(self):
        """The ids of the messages in mess/."""
        return sorted(int(os.path.basename(f)) for f in self.files("mess"))

    def read(self, rel):
        return (self.queue_dir / rel).read_bytes()

    def messages(self):
        """[(message bytes, todo envelope bytes)] of the queued messages."""
        out = []
        for i in self.ids():
            out.append((self.read(f"mess/{i % self.split}/{i}"), self.read(f"todo/{i}")))
        return out


# ---- system mode: qmail's users in a mount namespace ------------------------------

QMAIL_UIDS = {"alias": 64010, "qmaild": 64011, "qmaill": 64012, "qmailp": 64013,
              "qmailq": 64014, "qmailr": 64015, "qmails": 64016}
GID_QMAIL, GID_NOFILES = 64020, 64021


class SystemHome:
    """A QMAILHOME seen as /var/qmail, with qmail's users (and `extra_users`,
    {name: uid}, with homes /var/home/NAME), in a mount namespace: passwd and
    group are private copies mounted over /etc's, and a private /var holds
    the installation. run(argv, ...) runs a command inside; root only."""

    def __init__(self, extra_users=None):
        self.top = Path(tempfile.mkdtemp(prefix="qbox-sysmode-"))
        top = self.top
        os.chmod(top, 0o755)
        passwd = Path("/etc/passwd").read_text()
        passwd += "".join(f"{n}:x:{u}:{GID_QMAIL if n in ('qmailq', 'qmailr', 'qmails') else GID_NOFILES}"
                          f"::/var/qmail:/bin/false\n" for n, u in QMAIL_UIDS.items())
        for n, u in (extra_users or {}).items():
            passwd += f"{n}:x:{u}:{GID_NOFILES}::/var/home/{n}:/bin/sh\n"
            h = top / "var" / "home" / n
            h.mkdir(parents=True)
            os.chown(h, u, GID_NOFILES)
        group = Path("/etc/group").read_text() + f"qmail:x:{GID_QMAIL}:\nnofiles:x:{GID_NOFILES}:\n"
        (top / "passwd").write_text(passwd)
        (top / "group").write_text(group)
        self.home = home = top / "var" / "qmail"
        (home / "bin").mkdir(parents=True)
        (home / "control").mkdir()
        os.chmod(top / "var", 0o755)
        os.chmod(home, 0o755)
        # qmail-queue setuid qmailq: a copy of qbox, mode 4711.
        shutil.copy(QBOX, home / "bin" / "qbox")
        os.chown(home / "bin" / "qbox", QMAIL_UIDS["qmailq"], GID_QMAIL)
        os.chmod(home / "bin" / "qbox", 0o4711)
        subprocess.run([str(QBOX), "--install", str(home / "bin")], check=True)
        os.unlink(home / "bin" / "qmail-queue")
        os.symlink("qbox", home / "bin" / "qmail-queue")
        self.setup = (f"mount --bind {top}/passwd /etc/passwd && mount --bind {top}/group /etc/group"
                      f" && mount --bind {top}/var /var && exec \"$@\"")

    def run(self, argv, **kw):
        return subprocess.run(["unshare", "-m", "sh", "-c", self.setup, "sh"] + list(argv),
                              capture_output=True, **kw)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.top)
