"""qmail-local with a temporary home directory: maildir, mbox, program and
forward deliveries, the .qmail search for extension addresses, the
environment of programs, exit codes, the safety checks, the Delivered-To
loop check, -n, and the limits.

The homes live in a QmailHome (qmailhome.py): when the tests run as root,
the home belongs to nobody and qmail-local runs as nobody, as qmail-lspawn
would run it, so permissions mean what they mean for a user. Forwards go to
a $QMAILQUEUE script that records the message and the envelope.
"""
import fcntl
import os
import re
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import Result
from qmailhome import NOBODY, NOGROUP, ROOT, QmailHome, as_user

MESSAGE = b"From: joe@a.example\nSubject: hi\n\nFrom here on\n>From there\nbody\n"
FROM_RE = re.compile(rb"From (\S+) (Sun|Mon|Tue|Wed|Thu|Fri|Sat) "
                     rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d\d "
                     rb"\d\d:\d\d:\d\d \d{4}\n")

RECORD_QUEUE = """#!/bin/sh
# A stand-in for qmail-queue: keeps the message and the envelope.
exec 3<&1
n=$(ls {out} | grep -c ^msg)
cat > {out}/msg.$n
cat <&3 > {out}/env.$n
exit ${{QQ_EXIT:-0}}
"""


class Local:
    """A home directory for user `joe` and a way to run qmail-local there."""

    def __init__(self, q):
        self.q = q
        self.home = q.dir / "home"
        self.home.mkdir()
        os.chmod(self.home, 0o755)
        self.fwd = q.dir / "forwarded"
        self.fwd.mkdir()
        self.qq = q.dir / "record-queue"
        self.qq.write_text(RECORD_QUEUE.format(out=self.fwd))
        os.chmod(self.qq, 0o755)
        self.msgfile = q.dir / "message"
        self.q.chown_all()

    def write(self, name, text, mode=0o644):
        p = self.home / name
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
        os.chmod(p, mode)
        self.q.chown_all(p)
        return p

    def maildir(self, name="Maildir"):
        r = self.q.run("maildirmake", [self.home / name])
        assert r.code == 0, r
        return self.home / name

    def run(self, local="joe", dash="", ext="", sender="sender@b.example",
            aliasempty="./Mailbox", message=MESSAGE, opts=(), env=None, host="a.example",
            prefix=(), user="joe", homedir=None, wait=True):
        """Runs qmail-local with the message on a file descriptor 0."""
        self.msgfile.write_bytes(message)
        self.q.chown_all(self.msgfile)
        args = list(opts) + [user, str(homedir or self.home), local, dash, ext, host, sender,
                             aliasempty]
        argv = list(prefix) + as_user([str(self.q.bin / "qmail-local")] + args)
        e = self.q.env(dict({"QMAILQUEUE": str(self.qq)}, **(env or {})))
        with open(self.msgfile, "rb") as fin:
            if not wait:
                return subprocess.Popen(argv, stdin=fin, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=e, cwd="/")
            p = subprocess.run(argv, stdin=fin, capture_output=True, env=e, timeout=60, cwd="/")
        return Result(p.stdout, p.stderr, p.returncode)

    def new(self, name="Maildir"):
        d = self.home / name
        return [(d / "new" / f).read_bytes() for f in sorted(os.listdir(d / "new"))]

    def forwards(self):
        """[(message, envelope)] recorded by the stand-in queue."""
        n = len(os.listdir(self.fwd)) // 2
        return [((self.fwd / f"msg.{i}").read_bytes(), (self.fwd / f"env.{i}").read_bytes())
                for i in range(n)]


@pytest.fixture
def loc():
    with QmailHome(make_queue=False) as q:
        yield Local(q)


def envelope(sender, *recips):
    return (b"F" + sender + b"\0" + b"".join(b"T" + r + b"\0" for r in recips) + b"\0")


# ---- maildir -------------------------------------------------------------------

def test_maildir_delivery(loc):
    loc.maildir()
    loc.write(".qmail", "./Maildir/\n")
    r = loc.run()
    assert (r.code, r.out, r.err) == (0, b"did 1+0+0\n", b"")
    assert loc.new() == [b"Return-Path: <sender@b.example>\n"
                         b"Delivered-To: joe@a.example\n" + MESSAGE]
    assert os.listdir(loc.home / "Maildir" / "tmp") == []
    name = os.listdir(loc.home / "Maildir" / "new")[0]
    assert re.fullmatch(r"\d+\.M\d+P\d+Q1\.[^/:]+", name), name
    st = os.stat(loc.home / "Maildir" / "new" / name)
    assert stat.S_IMODE(st.st_mode) == 0o600
    if ROOT:
        assert st.st_uid == NOBODY


def test_maildir_many_deliveries_have_distinct_names(loc):
    loc.maildir()
    loc.write(".qmail", "./Maildir/\n" * 5)
    for _ in range(4):
        assert loc.run().code == 0
    assert len(loc.new()) == 20
    assert os.listdir(loc.home / "Maildir" / "tmp") == []


def test_maildir_missing_defers_and_leaves_nothing(loc):
    loc.write(".qmail", "./Maildir/\n")
    r = loc.run()
    assert (r.code, r.out, r.err) == (111, b"", b"Unable to chdir to maildir. (#4.2.1)\n")
    loc.maildir()
    os.rmdir(loc.home / "Maildir" / "tmp")
    r = loc.run()
    assert (r.code, r.err) == (111, b"Temporary error on maildir delivery. (#4.3.0)\n")
    assert loc.new() == []


def test_maildir_bounce_sender(loc):
    loc.maildir()
    loc.write(".qmail", "./Maildir/\n")
    assert loc.run(sender="").code == 0
    assert loc.new()[0].startswith(b"Return-Path: <>\nDelivered-To: joe@a.example\n")


def test_return_path_is_quoted(loc):
    loc.maildir()
    loc.write(".qmail", "./Maildir/\n")
    assert loc.run(sender="a b.@x.example").code == 0
    assert loc.new()[0].startswith(b'Return-Path: <"a b."@x.example>\n')


# ---- mbox ----------------------------------------------------------------------

def test_mbox_default_delivery(loc):
    loc.write("Mailbox", b"earlier\n\n", 0o600)
    r = loc.run()  # no .qmail: aliasempty, ./Mailbox
    assert (r.code, r.out, r.err) == (0, b"did 1+0+0\n", b"")
    box = (loc.home / "Mailbox").read_bytes()
    assert box.startswith(b"earlier\n\n")
    rest = box[len(b"earlier\n\n"):]
    m = FROM_RE.match(rest)
    assert m and m.group(1) == b"sender@b.example", rest[:80]
    assert rest[m.end():] == (b"Return-Path: <sender@b.example>\n"
                              b"Delivered-To: joe@a.example\n"
                              b"From: joe@a.example\nSubject: hi\n\n"
                              b">From here on\n>>From there\nbody\n\n")


def test_mbox_from_line_of_a_bounce_and_a_last_line_without_lf(loc):
    loc.write(".qmail", "./box\n")
    assert loc.run(sender="", message=b"Subject: x\n\nno newline").code == 0
    box = (loc.home / "box").read_bytes()
    m = FROM_RE.match(box)
    assert m and m.group(1) == b"MAILER-DAEMON"
    assert box.endswith(b"\n\nno newline\n\n")
    assert stat.S_IMODE(os.stat(loc.home / "box").st_mode) == 0o600


def locked_waiters(pid):
    with open("/proc/locks") as f:
        return [l for l in f if "->" in l and f" {pid} " in l]


def test_mbox_waits_for_the_lock(loc):
    box = loc.write("Mailbox", b"", 0o600)
    with open(box, "rb") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        p = loc.run(wait=False)
        try:
            end = time.monotonic() + 20
            while not locked_waiters(p.pid):
                assert p.poll() is None, "qmail-local did not wait for the lock"
                assert time.monotonic() < end, "qmail-local never blocked on the lock"
                time.sleep(0.01)
            assert box.read_bytes() == b""
        finally:
            fcntl.flock(holder, fcntl.LOCK_UN)
        out, err = p.communicate(timeout=30)
    assert (p.returncode, out, err) == (0, b"did 1+0+0\n", b"")
    assert b"Delivered-To: joe@a.example\n" in box.read_bytes()


def test_mbox_write_error_cuts_the_file_back(loc):
    old = b"From x Thu Jan 01 00:00:00 1970\nold\n\n"
    box = loc.write("Mailbox", old, 0o600)
    big = b"Subject: big\n\n" + b"x" * 300000 + b"\n"
    r = loc.run(message=big, prefix=["prlimit", "--fsize=100000"])
    assert (r.code, r.out) == (111, b"")
    assert r.err == b"Unable to write ./Mailbox: file too big. (#4.3.0)\n"
    assert box.read_bytes() == old


def test_mbox_cannot_open(loc):
    loc.write(".qmail", "./no/such/box\n")
    r = loc.run()
    assert (r.code, r.err) == (111, b"Unable to open ./no/such/box: file does not exist. (#4.2.1)\n")


# ---- programs --------------------------------------------------------------------

ENV_NAMES = ["SENDER", "NEWSENDER", "RECIPIENT", "USER", "HOME", "HOST", "HOST2", "HOST3",
             "HOST4", "LOCAL", "EXT", "EXT2", "EXT3", "EXT4", "DTLINE", "RPLINE", "UFLINE",
             "DEFAULT"]


def program_env(path):
    env = {}
    for item in path.read_bytes().split(b"\0"):
        if b"=" in item:
            k, v = item.split(b"=", 1)
            env[k.decode()] = v
    return env


def test_program_gets_message_and_environment(loc):
    loc.write(".qmail-list-default", "|env -0 > env.out; cat > msg.out\n")
    r = loc.run(local="joe-list-Foo.Bar-x", dash="-", ext="list-Foo.Bar-x",
                host="mail.dept.a.example", sender="s@b.example")
    assert (r.code, r.out, r.err) == (0, b"did 0+0+1\n", b"")
    assert (loc.home / "msg.out").read_bytes() == MESSAGE
    env = program_env(loc.home / "env.out")
    ufline = env["UFLINE"]
    assert FROM_RE.fullmatch(ufline) and ufline.startswith(b"From s@b.example ")
    want = {
        "SENDER": b"s@b.example", "NEWSENDER": b"s@b.example",
        "RECIPIENT": b"joe-list-Foo.Bar-x@mail.dept.a.example", "USER": b"joe",
        "HOME": str(loc.home).encode(), "HOST": b"mail.dept.a.example",
        "HOST2": b"mail.dept.a", "HOST3": b"mail.dept", "HOST4": b"mail",
        "LOCAL": b"joe-list-Foo.Bar-x", "EXT": b"list-Foo.Bar-x", "EXT2": b"Foo.Bar-x",
        "EXT3": b"x", "EXT4": b"", "DEFAULT": b"Foo.Bar-x",
        "DTLINE": b"Delivered-To: joe-list-Foo.Bar-x@mail.dept.a.example\n",
        "RPLINE": b"Return-Path: <s@b.example>\n", "UFLINE": ufline,
    }
    assert {k: env.get(k) for k in ENV_NAMES} == want


def test_program_runs_in_home_with_sh(loc):
    loc.write(".qmail", "|pwd > where; echo $0 >> where\n")
    assert loc.run().code == 0
    assert (loc.home / "where").read_bytes() == str(loc.home).encode() + b"\n/bin/sh\n"


@pytest.mark.parametrize("code,want", [(0, 0), (100, 100), (111, 111), (64, 100), (65, 100),
                                       (70, 100), (76, 100), (77, 100), (78, 100), (112, 100),
                                       (1, 111), (2, 111), (101, 111), (120, 111)])
def test_program_exit_codes(loc, code, want):
    loc.maildir()
    loc.write(".qmail", f"./Maildir/\n&fwd@c.example\n|echo said {code} >&2; exit {code}\n"
                        "./Maildir/\n")
    r = loc.run()
    assert r.code == want
    if want == 0:
        assert re.fullmatch(rb"did 2\+1\+1\nqp \d+\n", r.out), r.out
        assert len(loc.new()) == 2 and len(loc.forwards()) == 1
    else:
        # The program's words are the report; lines before it were done,
        # forwards (queued last) were not.
        assert (r.out, r.err) == (b"", f"said {code}\n".encode())
        assert len(loc.new()) == 1 and loc.forwards() == []


def test_program_crash_defers(loc):
    loc.write(".qmail", "|kill -9 $$\n")
    r = loc.run()
    assert (r.code, r.err) == (111, b"Aack, child crashed. (#4.3.0)\n")


def test_exit_99_stops_but_keeps_earlier_forwards(loc):
    loc.maildir()
    loc.write(".qmail", "&first@c.example\n./Maildir/\n|exit 99\n&second@c.example\n"
                        "./Maildir/\n|touch not-run\n")
    r = loc.run()
    assert r.code == 0
    assert re.fullmatch(rb"did 1\+1\+1\nqp \d+\n", r.out), r.out
    assert len(loc.new()) == 1
    assert not (loc.home / "not-run").exists()
    assert [e for _, e in loc.forwards()] == [envelope(b"sender@b.example", b"first@c.example")]


# ---- forwards -----------------------------------------------------------------------

def test_forward(loc):
    loc.write(".qmail", "&a@c.example\nb@d.example  \n# comment\n&c@e.example\n")
    r = loc.run()
    assert r.code == 0, r
    m = re.fullmatch(rb"did 0\+3\+0\nqp (\d+)\n", r.out)
    assert m, r.out
    assert loc.forwards() == [(b"Delivered-To: joe@a.example\n" + MESSAGE,
                               envelope(b"sender@b.example", b"a@c.example", b"b@d.example",
                                        b"c@e.example"))]


def test_forward_through_the_real_queue(loc):
    q = QmailHome()
    try:
        loc.write(".qmail", "&a@c.example\n")
        r = loc.run(env={"QMAILQUEUE": str(q.bin / "qmail-queue"), "QMAILHOME": str(q.dir)})
        assert r.code == 0, r
        i = q.ids()[0]
        assert q.read(f"todo/{i}").endswith(b"Fsender@b.example\0Ta@c.example\0")
        assert q.read(f"mess/{i % 23}/{i}").endswith(b"Delivered-To: joe@a.example\n" + MESSAGE)
    finally:
        q.cleanup()


def test_forward_owner_and_verp_senders(loc):
    loc.write(".qmail-list", "&a@c.example\n")
    assert loc.run(local="joe-list", dash="-", ext="list").code == 0
    loc.write(".qmail-list-owner", "&owner@c.example\n")
    assert loc.run(local="joe-list", dash="-", ext="list").code == 0
    loc.write(".qmail-list-owner-default", "&owner@c.example\n")
    assert loc.run(local="joe-list", dash="-", ext="list").code == 0
    # Bounces keep their empty (or #@[]) sender.
    assert loc.run(local="joe-list", dash="-", ext="list", sender="").code == 0
    assert loc.run(local="joe-list", dash="-", ext="list", sender="#@[]").code == 0
    assert [e for _, e in loc.forwards()] == [
        envelope(b"sender@b.example", b"a@c.example"),
        envelope(b"joe-list-owner@a.example", b"a@c.example"),
        envelope(b"joe-list-owner-@a.example-@[]", b"a@c.example"),
        envelope(b"", b"a@c.example"),
        envelope(b"#@[]", b"a@c.example"),
    ]


def test_newsender_in_program_environment(loc):
    loc.write(".qmail-list", "|env -0 > env.out\n")
    loc.write(".qmail-list-owner", "&owner@c.example\n")
    loc.write(".qmail-list-owner-default", "&owner@c.example\n")
    assert loc.run(local="joe-list", dash="-", ext="list").code == 0
    assert program_env(loc.home / "env.out")["NEWSENDER"] == b"joe-list-owner-@a.example-@[]"


@pytest.mark.parametrize("code,want,text", [
    (31, 100, b"Unable to forward message: mail server permanently rejected message (#5.3.0).\n"),
    (53, 111, b"Unable to forward message: qq write error or disk full (#4.3.0).\n"),
])
def test_forward_failures(loc, code, want, text):
    loc.write(".qmail", "&a@c.example\n")
    r = loc.run(env={"QQ_EXIT": str(code)})
    assert (r.code, r.out, r.err) == (want, b"", text)


def test_forward_custom_error(loc):
    loc.write(".qmail", "&a@c.example\n")
    script = loc.q.dir / "refuse"
    script.write_text("#!/bin/sh\ncat >/dev/null\necho 'Dno thanks (#5.7.1)' >&6\nexit 82\n")
    os.chmod(script, 0o755)
    r = loc.run(env={"QMAILQUEUE": str(script)})
    assert (r.code, r.err) == (100, b"Unable to forward message: no thanks (#5.7.1).\n")


# ---- which .qmail file -----------------------------------------------------------------

def test_extension_search_order(loc):
    def who(ext):
        r = loc.run(local="joe-" + ext, dash="-", ext=ext)
        assert r.code == 0, r
        return (loc.home / "who").read_text()

    loc.write(".qmail-default", "|echo default:$DEFAULT > who\n")
    loc.write(".qmail-a-default", "|echo a-default:$DEFAULT > who\n")
    loc.write(".qmail-a-b-default", "|echo a-b-default:$DEFAULT > who\n")
    loc.write(".qmail-a-b-c", "|echo a-b-c:$DEFAULT > who\n")
    loc.write(".qmail-x:y", "|echo x:y > who\n")
    assert who("a-b-c") == "a-b-c:\n"
    assert who("a-b-d") == "a-b-default:d\n"
    assert who("A-B-D-E") == "a-b-default:D-E\n"
    assert who("a-z") == "a-default:z\n"
    assert who("a") == "default:a\n"
    assert who("zz") == "default:zz\n"
    assert who("X.Y") == "x:y\n"
    # Dots never reach the file system as dots.
    assert who("..-x") == "default:..-x\n"


def test_no_mailbox_by_that_name(loc):
    r = loc.run(local="joe-nope", dash="-", ext="nope")
    assert (r.code, r.out, r.err) == (100, b"", b"Sorry, no mailbox here by that name. (#5.1.1)\n")


def test_empty_dotqmail_means_aliasempty(loc):
    loc.maildir()
    loc.write(".qmail-x", "")
    r = loc.run(local="joe-x", dash="-", ext="x", aliasempty="./Maildir/")
    assert (r.code, r.out) == (0, b"did 1+0+0\n")
    assert len(loc.new()) == 1


def test_dotqmail_that_is_not_a_file_does_not_count(loc):
    (loc.home / ".qmail-dir").mkdir()
    os.mkfifo(loc.home / ".qmail-fifo")
    loc.q.chown_all(loc.home)
    for ext in ("dir", "fifo"):
        r = loc.run(local="joe-" + ext, dash="-", ext=ext)
        assert (r.code, r.err) == (100, b"Sorry, no mailbox here by that name. (#5.1.1)\n")


# ---- safety checks ------------------------------------------------------------------------

def test_sticky_home_defers(loc):
    loc.maildir()
    loc.write(".qmail", "./Maildir/\n")
    os.chmod(loc.home, 0o1755)
    r = loc.run()
    assert (r.code, r.out, r.err) == (
        111, b"", b"Home directory is sticky: user is editing his .qmail file. (#4.2.1)\n")
    assert loc.new() == []
    r = loc.run(opts=["-n"])
    assert (r.code, r.out, r.err) == (0, b"maildir ./Maildir/\ndid 1+0+0\n",
                                      b"Warning: home directory is sticky.\n")
    os.chmod(loc.home, 0o755)
    assert loc.run().code == 0


@pytest.mark.parametrize("mode", [0o775, 0o757])
def test_writable_home_defers(loc, mode):
    os.chmod(loc.home, mode)
    r = loc.run()
    assert (r.code, r.err) == (111, b"Uh-oh: home directory is writable. (#4.7.0)\n")


@pytest.mark.parametrize("mode", [0o664, 0o646])
def test_writable_dotqmail_defers(loc, mode):
    loc.maildir()
    loc.write(".qmail", "./Maildir/\n", mode)
    r = loc.run()
    assert (r.code, r.err) == (111, b"Uh-oh: .qmail file is writable. (#4.7.0)\n")
    assert loc.new() == []


def test_unreadable_dotqmail_defers(loc):
    loc.write(".qmail", "./Maildir/\n", 0o200)
    r = loc.run()
    assert (r.code, r.err) == (111, b"Unable to open .qmail: access denied. (#4.3.0)\n")


@pytest.mark.parametrize("line,kind", [("./Maildir/", "file"), ("./Mailbox", "file"),
                                       ("|true", "prog")])
def test_executable_dotqmail_only_forwards(loc, line, kind):
    loc.maildir()
    loc.write(".qmail", f"&a@c.example\n{line}\n", 0o755)
    r = loc.run()
    assert (r.code, r.err) == (
        111, f"Uh-oh: .qmail has {kind} delivery but has x bit set. (#4.7.0)\n".encode())
    assert loc.forwards() == []


def test_executable_dotqmail_with_forwards(loc):
    loc.write(".qmail", "&a@c.example\n# fine\n", 0o755)
    r = loc.run()
    assert r.code == 0, r
    assert len(loc.forwards()) == 1


def test_plus_list_makes_it_forward_only(loc):
    loc.maildir()
    loc.write(".qmail", "+list\n./Maildir/\n")
    r = loc.run()
    assert (r.code, r.err) == (111, b"Uh-oh: .qmail has file delivery but has x bit set. (#4.7.0)\n")


def test_first_line_blank(loc):
    loc.maildir()
    loc.write(".qmail", "  \n./Maildir/\n")
    r = loc.run()
    assert (r.code, r.err) == (111, b"Uh-oh: first line of .qmail file is blank. (#4.2.1)\n")
    loc.write(".qmail", "./Maildir/\n\n\t\n./Maildir/ \t\n")
    assert loc.run().code == 0
    assert len(loc.new()) == 2


# ---- Delivered-To loop ---------------------------------------------------------------------

def test_delivered_to_loop(loc):
    loc.maildir()
    loc.write(".qmail", "./Maildir/\n")
    looping = b"Delivered-To: other@a.example\nDelivered-To: joe@a.example\nSubject: x\n\nbody\n"
    r = loc.run(message=looping)
    assert (r.code, r.out, r.err) == (
        100, b"", b"This message is looping: it already has my Delivered-To line. (#5.4.6)\n")
    assert loc.new() == []
    # Only the header counts, and only the exact line.
    fine = (b"Delivered-To: JOE@a.example\nDelivered-To: joe@a.example.org\n\n"
            b"Delivered-To: joe@a.example\n")
    assert loc.run(message=fine).code == 0
    # -n does not look.
    assert loc.run(message=looping, opts=["-n"]).code == 0


# ---- -n -------------------------------------------------------------------------------------

def test_dry_run(loc):
    loc.write(".qmail-x", "# c\n./Maildir/\n./Mailbox  \n|prog arg\n&a@c.example\nb@d.example\n")
    r = loc.run(local="joe-x", dash="-", ext="x", opts=["-n"])
    assert (r.code, r.err) == (0, b"")
    assert r.out == (b"maildir ./Maildir/\nmbox ./Mailbox\nprogram prog arg\n"
                     b"forward a@c.example\nforward b@d.example\ndid 2+2+1\n")
    assert sorted(os.listdir(loc.home)) == [".qmail-x"]
    assert loc.forwards() == []
    r = loc.run(opts=["-n"])
    assert r.out == b"mbox ./Mailbox\ndid 1+0+0\n"
    r = loc.run(opts=["-n", "-N"], aliasempty="|true")
    assert (r.code, r.out) == (0, b"did 0+0+1\n")


# ---- usage and limits ---------------------------------------------------------------------

USAGE = (b"qmail-local: usage: qmail-local [ -nN ] user homedir local dash ext domain "
         b"sender aliasempty\n")


@pytest.mark.parametrize("args", [[], ["joe", "/h", "joe", "", "", "a.example", "s"],
                                  ["joe", "/h", "joe", "", "", "a.example", "s", "./M", "x"],
                                  ["joe", "rel", "joe", "", "", "a.example", "s", "./M"],
                                  ["-x", "joe", "/h", "joe", "", "", "a.example", "s", "./M"]])
def test_usage(loc, args):
    r = loc.q.run("qmail-local", args)
    assert r.code == 100
    assert r.err.endswith(USAGE)
    if args and args[0] == "-x":
        assert r.err == b"qmail-local: illegal option -- x\n" + USAGE


def test_missing_home(loc):
    r = loc.run(homedir=loc.q.dir / "nohome")
    assert (r.code, r.err) == (
        111, f"Unable to switch to {loc.q.dir}/nohome: file does not exist. (#4.3.0)\n".encode())


def test_message_must_be_seekable(loc):
    loc.write(".qmail", "|cat > /dev/null\n")
    argv = as_user([str(loc.q.bin / "qmail-local"), "joe", str(loc.home), "joe", "", "",
                    "a.example", "s@b.example", "./Mailbox"])
    p = subprocess.run(argv, input=MESSAGE, capture_output=True, env=loc.q.env())
    assert (p.returncode, p.stderr) == (111, b"Unable to rewind message. (#4.3.0)\n")


def test_giant_header_line_fails_with_bounded_memory(loc):
    loc.maildir()
    loc.write(".qmail", "./Maildir/\n")
    giant = b"Subject: " + b"x" * (64 << 20) + b"\n\nbody\n"
    # 32 MB of address space is far below the 64 MB line.
    r = loc.run(message=giant, prefix=["prlimit", "--as=33554432"])
    assert (r.code, r.out, r.err) == (
        100, b"", b"Message has a header line longer than 1048576 bytes. (#5.3.4)\n")
    assert loc.new() == []
    # A long line in the body is only copied.
    long_body = b"Subject: x\n\n" + b"y" * (8 << 20) + b"\n"
    r = loc.run(message=long_body, prefix=["prlimit", "--as=33554432"])
    assert r.code == 0, r
    assert loc.new()[0].endswith(long_body)


# ---- full disks and file size limits --------------------------------------------------------

def test_maildir_write_error_leaves_nothing(loc):
    loc.maildir()
    loc.write(".qmail", "./Maildir/\n")
    big = b"Subject: big\n\n" + b"x" * 300000 + b"\n"
    r = loc.run(message=big, prefix=["prlimit", "--fsize=100000"])
    assert (r.code, r.out, r.err) == (111, b"", b"Temporary error on maildir delivery. (#4.3.0)\n")
    assert loc.new() == []
    assert os.listdir(loc.home / "Maildir" / "tmp") == []


DISK_FULL = r"""
set -e
mount -t tmpfs -o size=64k,mode=0755 tmpfs "$H"
chown {uid}:{gid} "$H"
run() {{ setpriv --reuid={uid} --regid={gid} --clear-groups "$@"; }}
run "$B/maildirmake" "$H/Maildir"
run sh -c 'printf "./Maildir/\n./Mailbox\n" > "$H/.qmail"; chmod 644 "$H/.qmail"'
run sh -c 'printf "From x Thu Jan 01 00:00:00 1970\nold\n\n" > "$H/Mailbox"'
run sh -c 'head -c 40000 /dev/zero > "$H/filler"'
set +e
run "$B/qmail-local" joe "$H" joe "" "" a.example s@b.example ./Mailbox < "$M" 2>&1
echo "rc=$?"
ls -A "$H/Maildir/new" "$H/Maildir/tmp"
rm "$H/filler"
run "$B/qmail-local" joe "$H" joe "" "" a.example s@b.example ./Mailbox < "$M" 2>&1
echo "rc=$?"
ls -A "$H/Maildir/new" | wc -l
cat "$H/Mailbox"
"""


@pytest.mark.skipif(not ROOT, reason="needs root to mount a small file system")
def test_disk_full_defers_and_leaves_nothing(loc):
    home = loc.q.dir / "small"
    home.mkdir()
    msg = loc.q.dir / "big-message"
    msg.write_bytes(b"Subject: big\n\n" + b"y" * 30000 + b"\n")
    os.chmod(msg, 0o644)
    script = DISK_FULL.format(uid=NOBODY, gid=NOGROUP)
    p = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True,
                       env=dict(loc.q.env(), H=str(home), B=str(loc.q.bin), M=str(msg)),
                       timeout=60)
    assert p.returncode == 0, p.stderr
    # Full: the maildir delivery fails, nothing is left in new/ or tmp/.
    # Then with room for one copy: the maildir gets it, the mbox runs out
    # of space and is cut back to what it held.
    assert p.stdout == (b"Temporary error on maildir delivery: disk full. (#4.3.1)\nrc=111\n"
                        + f"{home}/Maildir/new:\n\n{home}/Maildir/tmp:\n".encode()
                        + b"Unable to write ./Mailbox: out of disk space. (#4.3.0)\nrc=111\n1\n"
                        + b"From x Thu Jan 01 00:00:00 1970\nold\n\n")


def test_maildir_needs_only_search_and_write_permission(loc):
    md = loc.maildir()
    loc.write(".qmail", "./Maildir/\n")
    for d in (md, md / "tmp", md / "new"):
        os.chmod(d, 0o300)
    r = loc.run()
    for d in (md, md / "tmp", md / "new"):
        os.chmod(d, 0o700)
    assert (r.code, r.out, r.err) == (0, b"did 1+0+0\n", b"")
    assert len(loc.new()) == 1
