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
    out = b"F" + _b(sender) + b"\0"
    for r in recipients:
        out += b"T" + _b(r) + b"\0"
    return out + b"\0"


def _b(s):
    return s if isinstance(s, bytes) else s.encode()


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
        (both from files, so any size works); returns its Result."""
        work = Path(tempfile.mkdtemp(prefix="qbox-qq-"))
        try:
            m = work / "message"
            e = work / "envelope"
            m.write_bytes(_b(message))
            e.write_bytes(env_bytes if env_bytes is not None else envelope(sender, recipients))
            argv = list(prefix) + as_user([str(program or self.bin / "qmail-queue")])
            with open(m, "rb") as fin, open(e, "rb") as fenv:
                p = subprocess.run(argv, stdin=fin, stdout=fenv, stderr=subprocess.PIPE,
                                   env=self.env(env), timeout=timeout, cwd=self.dir)
            return Result(b"", p.stderr, p.returncode)
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
