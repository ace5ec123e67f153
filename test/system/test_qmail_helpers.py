"""The small programs of .qmail files and mailboxes: maildirmake, preline,
bouncesaying, except, condredirect and forward, alone and under qmail-local.
Forwards go to a $QMAILQUEUE stand-in that records message and envelope."""
import os
import re
import stat
import subprocess
import time

import pytest

from conftest import Result
from qmailhome import NOBODY, ROOT, QmailHome

MESSAGE = b"Subject: hi\n\nbody\n"
DTLINE = "Delivered-To: joe@a.example\n"


@pytest.fixture
def q():
    with QmailHome(make_queue=False) as home:
        out = home.dir / "queued"
        out.mkdir()
        script = home.dir / "record-queue"
        script.write_text(f"#!/bin/sh\nexec 3<&1\ncat > {out}/msg\ncat <&3 > {out}/env\n"
                          "exit ${QQ_EXIT:-0}\n")
        os.chmod(script, 0o755)
        home.chown_all()
        home.recorded = out
        home.qq = script
        yield home


def run(q, name, args, env=None, message=MESSAGE):
    """Runs applet `name` as the test user with the message on a seekable 0."""
    fn = q.dir / "message"
    fn.write_bytes(message)
    e = q.env(dict({"QMAILQUEUE": str(q.qq)}, **(env or {})))
    argv = [str(q.bin / name)] + [str(a) for a in args]
    if ROOT:
        argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] + argv
    with open(fn, "rb") as fin:
        p = subprocess.run(argv, stdin=fin, capture_output=True, env=e, cwd=q.dir, timeout=30)
    return Result(p.stdout, p.stderr, p.returncode)


def recorded(q):
    return (q.recorded / "msg").read_bytes(), (q.recorded / "env").read_bytes()


# ---- maildirmake ------------------------------------------------------------------

def test_maildirmake(q):
    r = run(q, "maildirmake", ["M"])
    assert (r.code, r.out, r.err) == (0, b"", b"")
    for d in ("M", "M/tmp", "M/new", "M/cur"):
        st = os.stat(q.dir / d)
        assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700, d
    assert sorted(os.listdir(q.dir / "M")) == ["cur", "new", "tmp"]
    r = run(q, "maildirmake", ["M"])
    assert (r.code, r.err) == (111, b"maildirmake: fatal: unable to mkdir M: file already exists\n")
    r = run(q, "maildirmake", ["no/such"])
    assert (r.code, r.err) == (111, b"maildirmake: fatal: unable to mkdir no/such: "
                                    b"file does not exist\n")
    r = run(q, "maildirmake", [])
    assert (r.code, r.err) == (100, b"maildirmake: usage: maildirmake name\n")


# ---- preline ----------------------------------------------------------------------

LINES = {"UFLINE": "From s@b Thu Jan 01 00:00:00 1970\n", "RPLINE": "Return-Path: <s@b>\n",
         "DTLINE": DTLINE}
PRELINE_USAGE = b"preline: usage: preline cmd [ arg ... ]\n"


@pytest.mark.parametrize("opts,want", [
    ([], "UF RP DT"), (["-f"], "RP DT"), (["-r"], "UF DT"), (["-d"], "UF RP"),
    (["-frd"], ""), (["-f", "-F"], "UF RP DT"), (["-rdRD"], "UF RP DT"),
])
def test_preline(q, opts, want):
    r = run(q, "preline", opts + ["cat"], env=LINES)
    lines = {"UF": LINES["UFLINE"], "RP": LINES["RPLINE"], "DT": LINES["DTLINE"]}
    head = "".join(lines[k] for k in want.split())
    assert (r.code, r.out, r.err) == (0, head.encode() + MESSAGE, b"")


def test_preline_exit_code_and_errors(q):
    r = run(q, "preline", ["sh", "-c", "cat >/dev/null; exit 42"], env=LINES)
    assert r.code == 42
    r = run(q, "preline", ["nosuchprogram"], env=LINES)
    assert (r.code, r.err) == (100, b"preline: fatal: unable to run nosuchprogram: "
                                    b"file does not exist\n")
    r = run(q, "preline", ["cat"], env={"UFLINE": "x", "RPLINE": "y"})
    assert (r.code, r.err) == (100, PRELINE_USAGE)
    r = run(q, "preline", [], env=LINES)
    assert (r.code, r.err) == (100, PRELINE_USAGE)
    r = run(q, "preline", ["-x", "cat"], env=LINES)
    assert (r.code, r.err) == (100, b"preline: illegal option -- x\n" + PRELINE_USAGE)
    # A program that stops reading a big message: a temporary failure.
    r = run(q, "preline", ["true"], env=LINES, message=b"x" * 1000000)
    assert (r.code, r.err) == (111, b"preline: fatal: unable to copy input: broken pipe\n")


# ---- bouncesaying, except ---------------------------------------------------------------

@pytest.mark.parametrize("args,code,err", [
    (["go away"], 100, b"go away\n"),
    (["go away", "true"], 100, b"go away\n"),
    (["go away", "false"], 0, b""),
    (["go away", "sh", "-c", "exit 111"], 111, b"bouncesaying: fatal: temporary child error\n"),
    (["go away", "sh", "-c", "exit 100"], 0, b""),
    (["go away", "sh", "-c", "kill -9 $$"], 111, b"bouncesaying: fatal: child crashed\n"),
    (["go away", "nosuchprogram"], 0, b""),
    ([], 100, b"bouncesaying: usage: bouncesaying error [ program [ arg ... ] ]\n"),
])
def test_bouncesaying(q, args, code, err):
    r = run(q, "bouncesaying", args)
    assert (r.code, r.out, r.err) == (code, b"", err)


@pytest.mark.parametrize("args,code,err", [
    (["true"], 100, b""),
    (["false"], 0, b""),
    (["sh", "-c", "exit 111"], 111, b"except: fatal: temporary child error\n"),
    (["sh", "-c", "exit 100"], 0, b""),
    (["nosuchprogram"], 0, b""),
    ([], 100, b"except: usage: except program [ arg ... ]\n"),
])
def test_except(q, args, code, err):
    r = run(q, "except", args)
    assert (r.code, r.out, r.err) == (code, b"", err)


def test_except_program_reads_the_message(q):
    r = run(q, "except", ["grep", "-q", "body"])
    assert r.code == 100
    r = run(q, "except", ["grep", "-q", "nothing"])
    assert r.code == 0


# ---- forward, condredirect ----------------------------------------------------------------

def test_forward(q):
    r = run(q, "forward", ["a@c.example", "b@d.example"],
            env={"NEWSENDER": "s@b.example", "DTLINE": DTLINE})
    assert r.code == 0
    assert re.fullmatch(rb"forward: qp \d+\n", r.err), r.err
    assert recorded(q) == (DTLINE.encode() + MESSAGE,
                           b"Fs@b.example\0Ta@c.example\0Tb@d.example\0\0")


@pytest.mark.parametrize("env,err", [
    ({"DTLINE": DTLINE}, b"forward: fatal: NEWSENDER not set\n"),
    ({"NEWSENDER": "s@b"}, b"forward: fatal: DTLINE not set\n"),
    ({"NEWSENDER": "s@b", "DTLINE": DTLINE, "QQ_EXIT": "31"},
     b"forward: fatal: mail server permanently rejected message (#5.3.0)\n"),
])
def test_forward_errors(q, env, err):
    r = run(q, "forward", ["a@c.example"], env=env)
    assert (r.code, r.err) == (100, err)


def test_forward_temporary_error(q):
    r = run(q, "forward", ["a@c.example"],
            env={"NEWSENDER": "s@b", "DTLINE": DTLINE, "QQ_EXIT": "53"})
    assert (r.code, r.err) == (111, b"forward: fatal: qq write error or disk full (#4.3.0)\n")


def test_condredirect(q):
    env = {"SENDER": "s@b.example", "NEWSENDER": "other@b.example", "DTLINE": DTLINE}
    r = run(q, "condredirect", ["new@c.example", "grep", "-q", "body"], env=env)
    assert r.code == 99
    assert re.fullmatch(rb"condredirect: qp \d+\n", r.err), r.err
    # The program read the message; it still goes out whole, from SENDER.
    assert recorded(q) == (DTLINE.encode() + MESSAGE, b"Fs@b.example\0Tnew@c.example\0\0")


@pytest.mark.parametrize("args,env,code,err", [
    (["new@c", "false"], {}, 0, b""),
    (["new@c", "sh", "-c", "exit 111"], {}, 111, b"condredirect: fatal: temporary child error\n"),
    (["new@c", "true"], {"DTLINE": DTLINE}, 100, b"condredirect: fatal: SENDER not set\n"),
    (["new@c", "true"], {"SENDER": "s"}, 100, b"condredirect: fatal: DTLINE not set\n"),
    (["new@c"], {}, 100,
     b"condredirect: usage: condredirect newaddress program [ arg ... ]\n"),
])
def test_condredirect_cases(q, args, env, code, err):
    r = run(q, "condredirect", args, env=env)
    assert (r.code, r.err) == (code, err)


# ---- under qmail-local ----------------------------------------------------------------------

def test_helpers_in_dotqmail(q):
    home = q.dir / "home"
    home.mkdir()
    (home / ".qmail-bounce").write_text("|bouncesaying 'This address is gone. (#5.1.1)'\n")
    (home / ".qmail-redirect").write_text("|condredirect new@c.example true\n./notreached/\n")
    (home / ".qmail-preline").write_text("|preline cat > got\n")
    q.chown_all(home)

    def local(ext):
        return run(q, "qmail-local", ["joe", home, "joe-" + ext, "-", ext, "a.example",
                                      "s@b.example", "./Mailbox"])

    r = local("bounce")
    assert (r.code, r.out, r.err) == (100, b"", b"This address is gone. (#5.1.1)\n")
    r = local("redirect")
    assert r.code == 0
    assert re.fullmatch(rb"did 0\+0\+1\n", r.out), r.out
    assert re.fullmatch(rb"condredirect: qp \d+\n", r.err), r.err
    assert recorded(q) == (b"Delivered-To: joe-redirect@a.example\n" + MESSAGE,
                           b"Fs@b.example\0Tnew@c.example\0\0")
    r = local("preline")
    assert r.code == 0
    got = (home / "got").read_bytes()
    assert re.match(rb"From s@b\.example \w{3} \w{3} \d\d \d\d:\d\d:\d\d \d{4}\n"
                    rb"Return-Path: <s@b\.example>\nDelivered-To: joe-preline@a\.example\n", got)
    assert got.endswith(b"\n" + MESSAGE)


# ---- maildir2mbox ---------------------------------------------------------------------------

def put_message(q, rel, data, mtime):
    p = q.dir / "M" / rel
    p.write_bytes(data)
    os.utime(p, (mtime, mtime))


def test_maildir2mbox(q):
    assert run(q, "maildirmake", ["M"]).code == 0
    put_message(q, "new/2", b"Return-Path: <a b@c.example>\nSubject: two\n\nFrom x\n", 1000000000)
    put_message(q, "cur/1:2,S", b"Return-Path: <>\nSubject: one\n", 999999999)
    put_message(q, "new/3", b"Subject: three\n\n>From y\nno lf", 1000000001)
    put_message(q, "new/.hidden", b"not a message", 100)
    put_message(q, "tmp/stale", b"dead delivery", 100)
    put_message(q, "tmp/fresh", b"in progress", int(time.time()))
    (q.dir / "mbox").write_bytes(b"From old Thu Jan 01 00:00:00 1970\nold\n\n")
    q.chown_all()
    env = {"MAILDIR": str(q.dir / "M"), "MAIL": str(q.dir / "mbox"),
           "MAILTMP": str(q.dir / "mbox.tmp")}
    r = run(q, "maildir2mbox", [], env=env)
    assert (r.code, r.out, r.err) == (0, b"", b"")
    assert (q.dir / "mbox").read_bytes() == (
        b"From old Thu Jan 01 00:00:00 1970\nold\n\n"
        b"From MAILER-DAEMON Sun Sep 09 01:46:39 2001\nReturn-Path: <>\nSubject: one\n\n"
        b"From a-b@c.example Sun Sep 09 01:46:40 2001\n"
        b"Return-Path: <a b@c.example>\nSubject: two\n\n>From x\n\n"
        b"From XXX Sun Sep 09 01:46:41 2001\nSubject: three\n\n>>From y\nno lf\n\n")
    assert stat.S_IMODE(os.stat(q.dir / "mbox").st_mode) == 0o600
    assert sorted(os.listdir(q.dir / "M" / "new")) == [".hidden"]
    assert os.listdir(q.dir / "M" / "cur") == []
    assert os.listdir(q.dir / "M" / "tmp") == ["fresh"]
    assert not (q.dir / "mbox.tmp").exists()
    # Nothing new: the mbox is left alone.
    before = (q.dir / "mbox").stat().st_mtime_ns
    assert run(q, "maildir2mbox", [], env=env).code == 0
    assert (q.dir / "mbox").stat().st_mtime_ns == before


@pytest.mark.parametrize("drop,err", [("MAIL", b"maildir2mbox: fatal: MAIL not set\n"),
                                      ("MAILTMP", b"maildir2mbox: fatal: MAILTMP not set\n"),
                                      ("MAILDIR", b"maildir2mbox: fatal: MAILDIR not set\n")])
def test_maildir2mbox_environment(q, drop, err):
    env = {"MAILDIR": str(q.dir / "M"), "MAIL": str(q.dir / "mbox"),
           "MAILTMP": str(q.dir / "mbox.tmp")}
    del env[drop]
    r = run(q, "maildir2mbox", [], env=env)
    assert (r.code, r.err) == (111, err)


def test_maildir2mbox_errors(q):
    env = {"MAILDIR": str(q.dir / "M"), "MAIL": str(q.dir / "mbox"),
           "MAILTMP": str(q.dir / "no" / "mbox.tmp")}
    r = run(q, "maildir2mbox", [], env=env)
    assert (r.code, r.err) == (111, f"maildir2mbox: fatal: unable to chdir to {q.dir}/M: "
                                    "file does not exist\n".encode())
    assert run(q, "maildirmake", ["M"]).code == 0
    os.rmdir(q.dir / "M" / "cur")
    r = run(q, "maildir2mbox", [], env=env)
    assert (r.code, r.err) == (111, b"maildir2mbox: fatal: unable to scan $MAILDIR/cur: "
                                    b"file does not exist\n")
    os.mkdir(q.dir / "M" / "cur")
    put_message(q, "new/1", b"Subject: x\n", 1000000000)
    q.chown_all()
    r = run(q, "maildir2mbox", [], env=env)
    assert (r.code, r.err) == (111, f"maildir2mbox: fatal: unable to create {q.dir}/no/mbox.tmp: "
                                    "file does not exist\n".encode())
    # The message stays where it was.
    assert os.listdir(q.dir / "M" / "new") == ["1"]
