"""The main job: package/run.sh (what `ninja run` runs) sets up a mail
system in a fresh directory, and a message sent to its SMTP port lands in
the demo user's Maildir; SMTPS works; Ctrl-C (SIGINT) brings everything
down; a second run reuses the state."""
import os
import signal
import smtplib
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from conftest import QBOX, wait_for

TOP = Path(QBOX).resolve().parent.parent
RUN_SH = TOP / "package" / "run.sh"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def wait_files(d, n, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        files = sorted(d.iterdir()) if d.exists() else []
        if len(files) >= n:
            return files
        time.sleep(0.1)
    raise AssertionError(f"{d}: fewer than {n} files")


def procs_under(rundir):
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [ln for ln in out.splitlines() if str(rundir) in ln]


class Job:
    def __init__(self, rundir, smtp, smtps):
        env = dict(os.environ, SMTP_PORT=str(smtp), SMTPS_PORT=str(smtps))
        self.out = open(rundir.parent / "run.out", "wb")
        self.p = subprocess.Popen([str(RUN_SH), str(rundir)], stdout=self.out,
                                  stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def stop(self):
        os.kill(self.p.pid, signal.SIGINT)  # what Ctrl-C sends
        assert self.p.wait(timeout=30) == 0
        self.out.close()


def test_main_job_end_to_end(tmp_path):
    rundir = tmp_path / "run"
    smtp, smtps = free_port(), free_port()
    job = Job(rundir, smtp, smtps)
    try:
        wait_port(smtp)
        wait_port(smtps)
        with smtplib.SMTP("127.0.0.1", smtp, timeout=30) as s:
            s.sendmail("you@example.org", ["demo@localhost"],
                       b"Subject: first\r\n\r\nend to end\r\n")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP_SSL("127.0.0.1", smtps, timeout=30, context=ctx) as s:
            s.sendmail("you@example.org", ["demo@localhost"],
                       b"Subject: second\r\n\r\nover SMTPS\r\n")
        new = Path(os.path.realpath(rundir)) / "home" / "demo" / "Maildir" / "new"
        files = wait_files(new, 2)
        bodies = b"".join(f.read_bytes() for f in files)
        assert b"end to end" in bodies and b"over SMTPS" in bodies
    finally:
        job.stop()
    text = (tmp_path / "run.out").read_text()
    assert "swaks --server 127.0.0.1:%d" % smtp in text
    assert "run: stopped" in text
    # What run.sh stopped may take a moment to be gone.
    wait_for(lambda: procs_under(os.path.realpath(rundir)) == [], 30,
             "the processes of the first run to be gone")

    # A second run reuses the state: the Maildir keeps its messages.
    job = Job(rundir, smtp, smtps)
    try:
        wait_port(smtp)
        with smtplib.SMTP("127.0.0.1", smtp, timeout=30) as s:
            s.sendmail("you@example.org", ["demo@localhost"], b"Subject: third\r\n\r\nagain\r\n")
        wait_files(new, 3)
    finally:
        job.stop()
