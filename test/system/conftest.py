"""Shared fixtures for the system tests: they drive the real build/qbox.

`applet_bin` is a directory of symlinks made by `qbox --install`, so each
applet runs under its own name, as it does once installed. `compare` runs
the same command line through qbox and through the classic program from
Debian and checks stdout, stderr and exit code are the same.
"""
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
QBOX = TOP / "build" / "qbox"
CLASSIC = Path("/usr/bin")


@dataclass
class Result:
    out: bytes
    err: bytes
    code: int
    pid: int = 0  # the process's id, where the helper that ran it tells


def wait_for(cond, timeout=30.0, what="condition", interval=0.01):
    """Polls cond() until it returns something true and returns that; fails
    the test after `timeout` seconds. Tests poll; they never sleep blindly."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def run(argv, input=b"", env=None, cwd=None, timeout=30, **kw):
    p = subprocess.run(argv, input=input, capture_output=True, env=env, cwd=cwd,
                       timeout=timeout, **kw)
    return Result(p.stdout, p.stderr, p.returncode)


@pytest.fixture(scope="session")
def qbox():
    assert QBOX.exists(), "build build/qbox first (ninja)"
    return QBOX


@pytest.fixture(scope="session")
def applet_bin(tmp_path_factory, qbox):
    d = tmp_path_factory.mktemp("bin")
    subprocess.run([str(qbox), "--install", str(d)], check=True)
    return d


class Compare:
    """Runs a command as qbox's applet and as the classic program."""

    def __init__(self, bindir):
        self.bindir = bindir

    def both(self, name, args, input=b"", env=None, cwd=None, classic=None, **kw):
        ours = run([str(self.bindir / name)] + list(args), input, env, cwd, **kw)
        theirs = run([str(classic or CLASSIC / name)] + list(args), input, env, cwd, **kw)
        return ours, theirs

    def same(self, name, args, input=b"", env=None, cwd=None, classic=None,
             fix_err=None, **kw):
        """Asserts identical stdout, stderr and exit code; returns ours."""
        ours, theirs = self.both(name, args, input, env, cwd, classic, **kw)
        err_o, err_t = ours.err, theirs.err
        if fix_err:
            err_o, err_t = fix_err(err_o), fix_err(err_t)
        assert (ours.code, ours.out, err_o) == (theirs.code, theirs.out, err_t), \
            f"{name} {args!r} differs from the classic program"
        return ours


@pytest.fixture
def compare(applet_bin):
    return Compare(applet_bin)


class DnsServer:
    """test/system/dnsserver.py on a random loopback port, serving `zone`
    (see that file), and a resolv.conf pointing at it. `env` is what a
    qbox program needs to use it ($QBOX_RESOLV_CONF)."""

    def __init__(self, zone, tmp_path):
        import json
        self.proc = subprocess.Popen(["/usr/bin/python3", str(TOP / "test/system/dnsserver.py"),
                                      json.dumps(zone)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        self.port = int(self.proc.stdout.readline())
        self.conf = tmp_path / "resolv.conf"
        self.conf.write_text(f"nameserver 127.0.0.1\noptions port:{self.port} timeout:1 attempts:1\n")
        self.env = {"QBOX_RESOLV_CONF": str(self.conf)}

    def stop(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


@pytest.fixture
def dns_server(tmp_path):
    """Call with a zone; every server started is stopped at the end."""
    started = []

    def start(zone):
        d = DnsServer(zone, tmp_path)
        started.append(d)
        return d
    yield start
    for d in started:
        d.stop()

