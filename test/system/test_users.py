"""qmail's user database: qmail-newu (users/assign -> users/cdb) and
qmail-getpw (the account for a local address), in single-uid mode as the
test user and, as root, in system mode with a private /etc/passwd mounted in
a mount namespace of its own."""
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import QBOX
from qmailhome import NOBODY, NOGROUP, ROOT, QmailHome

needs_root = pytest.mark.skipif(not ROOT, reason="needs root")

ASSIGN = """=joe:joe:1001:100:/home/joe:::
+joe-:joe:1001:100:/home/joe:-::
+List.:ml:1002:100:/home/ml:-:x-:
+:alias:7790:2108:/var/qmail/alias:-::
.
"""


@pytest.fixture
def q():
    with QmailHome(make_queue=False) as home:
        (home.dir / "users").mkdir()
        home.chown_all()
        yield home


def cdb_records(path):
    """The records of a cdb, by our cdbdump."""
    p = subprocess.run([str(QBOX), "cdbdump"], stdin=open(path, "rb"), capture_output=True)
    assert p.returncode == 0
    out, recs = p.stdout, []
    while out != b"\n":
        head, rest = out[1:].split(b":", 1)
        klen, dlen = (int(x) for x in head.split(b","))
        key, data = rest[:klen], rest[klen + 2:klen + 2 + dlen]
        recs.append((key, data))
        out = rest[klen + 2 + dlen + 1:]
    return recs


# ---- qmail-newu ------------------------------------------------------------------

def test_qmail_newu(q):
    (q.dir / "users" / "assign").write_text(ASSIGN)
    q.chown_all()
    r = q.run("qmail-newu")
    assert (r.code, r.out, r.err) == (0, b"", b"")
    cdb = q.dir / "users" / "cdb"
    assert cdb_records(cdb) == [
        (b"!joe\0", b"joe\0" b"1001\0" b"100\0/home/joe\0\0"),
        (b"!joe-", b"joe\0" b"1001\0" b"100\0/home/joe\0-\0"),
        (b"!list.", b"ml\0" b"1002\0" b"100\0/home/ml\0-\0x-"),
        (b"!", b"alias\0" b"7790\0" b"2108\0/var/qmail/alias\0-\0"),
        (b"", b"-."),
    ]
    assert os.stat(cdb).st_mode & 0o777 == 0o644
    assert not (q.dir / "users" / "cdb.tmp").exists()


@pytest.mark.parametrize("text", [
    "=joe:joe:1001:100:/home/joe:::\n",            # no final "."
    "=joe:joe:1001:100:/home/joe::\n.\n",           # five fields
    "joe\n.\n",                                     # no colon
    "=joe:joe:1001:100:/home/joe:::\n.",            # fine: "." needs no LF
    "",                                             # empty
])
def test_qmail_newu_format(q, text):
    (q.dir / "users" / "cdb").write_bytes(b"old")
    (q.dir / "users" / "assign").write_text(text)
    q.chown_all()
    r = q.run("qmail-newu")
    if text.endswith("."):
        assert r.code == 0
        assert len(cdb_records(q.dir / "users" / "cdb")) == 2
        return
    assert (r.code, r.out, r.err) == (111, b"", b"qmail-newu: fatal: bad format in users/assign\n")
    # The old database stays.
    assert (q.dir / "users" / "cdb").read_bytes() == b"old"


def test_qmail_newu_errors(q):
    r = q.run("qmail-newu")
    assert (r.code, r.err) == (111, b"qmail-newu: fatal: unable to open users/assign\n")
    r = q.run("qmail-newu", env={"QMAILHOME": str(q.dir / "nothere")})
    assert (r.code, r.err) == (111, b"qmail-newu: fatal: unable to chdir\n")
    (q.dir / "users" / "assign").write_text(ASSIGN)
    os.mkdir(q.dir / "users" / "cdb.tmp")
    q.chown_all()
    r = q.run("qmail-newu")
    assert (r.code, r.err) == (111, b"qmail-newu: fatal: unable to open users/cdb.tmp\n")
    os.rmdir(q.dir / "users" / "cdb.tmp")
    os.mkdir(q.dir / "users" / "cdb")
    os.mkdir(q.dir / "users" / "cdb" / "x")
    q.chown_all()
    r = q.run("qmail-newu")
    assert (r.code, r.err) == (
        111, b"qmail-newu: fatal: unable to move users/cdb.tmp to users/cdb\n")


def test_qmail_newu_giant_line(q):
    (q.dir / "users" / "assign").write_bytes(b"=" + b"x" * (2 << 20) + b":a:1:1:/h:::\n.\n")
    q.chown_all()
    r = q.run("qmail-newu", prefix=["prlimit", "--as=33554432"])
    assert (r.code, r.err) == (111, b"qmail-newu: fatal: bad format in users/assign\n")


# ---- qmail-getpw -------------------------------------------------------------------

def fields(out):
    assert out.endswith(b"\0")
    return [f.decode() for f in out[:-1].split(b"\0")]


def test_qmail_getpw_single_uid_mode(q):
    r = q.run("qmail-getpw", ["Joe-Foo"])
    assert r.code == 0, r
    me = (NOBODY, NOGROUP) if ROOT else (os.getuid(), os.getgid())
    assert fields(r.out) == ["alias", str(me[0]), str(me[1]), f"{q.dir}/alias", "-", "Joe-Foo"]
    r = q.run("qmail-getpw", [])
    assert (r.code, r.out) == (100, b"")


QMAIL_UIDS = {"alias": 64010, "qmaild": 64011, "qmaill": 64012, "qmailp": 64013,
              "qmailq": 64014, "qmailr": 64015, "qmails": 64016}


@pytest.fixture
def accounts():
    """Runs qmail-getpw as root with qmail's users and some others in a
    private /etc/passwd: joe and mary-ann own their homes, ann does not,
    toor is root."""
    top = Path(tempfile.mkdtemp(prefix="qbox-getpw-"))
    try:
        homes = {n: top / n for n in ("joe", "ann", "mary-ann", "toor")}
        for h in homes.values():
            h.mkdir()
        users = {"joe": 2001, "ann": 2002, "mary-ann": 2003, "toor": 0}
        for n, u in users.items():
            os.chown(homes[n], u if n != "ann" else 0, 0)
        passwd = "".join(f"{n}:x:{u}:{u + 5}::{homes[n]}:/bin/sh\n" for n, u in users.items())
        passwd += "".join(f"{n}:x:{u}:64021::/var/qmail/{n}:/bin/false\n"
                          for n, u in QMAIL_UIDS.items())
        (top / "passwd").write_text(Path("/etc/passwd").read_text() + passwd)
        (top / "group").write_text(Path("/etc/group").read_text() +
                                   "qmail:x:64020:\nnofiles:x:64021:\n")
        setup = (f"mount --bind {top}/passwd /etc/passwd && "
                 f"mount --bind {top}/group /etc/group && exec \"$@\"")

        def getpw(local):
            p = subprocess.run(["unshare", "-m", "sh", "-c", setup, "sh", str(QBOX),
                                "qmail-getpw", local], capture_output=True)
            return p.returncode, p.stdout, p.stderr
        yield getpw, homes
    finally:
        subprocess.run(["rm", "-rf", str(top)])


@needs_root
def test_qmail_getpw_system_mode(accounts):
    getpw, homes = accounts

    def who(local):
        code, out, err = getpw(local)
        assert (code, err) == (0, b"")
        return fields(out)

    assert who("joe") == ["joe", "2001", "2006", str(homes["joe"]), "", ""]
    assert who("Joe-Foo-Bar") == ["joe", "2001", "2006", str(homes["joe"]), "-", "Foo-Bar"]
    assert who("mary-ann-x") == ["mary-ann", "2003", "2008", str(homes["mary-ann"]), "-", "x"]
    assert who("mary") == ["alias", "64010", "64021", "/var/qmail/alias", "-", "mary"]
    # Not the owner of the home, root, and too long a name: alias.
    assert who("ann-x") == ["alias", "64010", "64021", "/var/qmail/alias", "-", "ann-x"]
    assert who("toor") == ["alias", "64010", "64021", "/var/qmail/alias", "-", "toor"]
    long = "joe" + "x" * 40
    assert who(long) == ["alias", "64010", "64021", "/var/qmail/alias", "-", long]


# ---- qmail-pw2u ---------------------------------------------------------------------

def pw2u_setup(q):
    """Homes for the accounts of PASSWD, owned as they should be (when root)."""
    h = q.dir / "homes"
    for n in ("alias", "joe", "ann", "eve"):
        (h / n).mkdir(parents=True)
    q.chown_all()
    if ROOT:
        for n, uid in (("alias", 7790), ("joe", 1001), ("ann", 1002)):
            os.chown(h / n, uid, 100)
    return h


def passwd(h):
    return (f"root:x:0:0:root:/root:/bin/bash\n"
            f"alias:x:7790:2108::{h}/alias:/bin/true\n"
            f"joe:x:1001:100:Joe:{h}/joe:/bin/sh\n"
            f"Ann:x:1002:100::{h}/ann:/bin/sh\n"
            f"bob:x:1003:100::{h}/nohome:/bin/sh\n"
            f"eve:x:1004:100::{h}/joe:/bin/sh\n"
            f"short:x:1005\n").encode()


@needs_root
def test_qmail_pw2u(q):
    h = pw2u_setup(q)
    r = q.run("qmail-pw2u", input=passwd(h))
    assert (r.code, r.err) == (0, b"")
    assert r.out.decode() == (
        f"+:alias:7790:2108:{h}/alias:-::\n"
        f"=alias:alias:7790:2108:{h}/alias:::\n"
        f"+alias-:alias:7790:2108:{h}/alias:-::\n"
        f"=joe:joe:1001:100:{h}/joe:::\n"
        f"+joe-:joe:1001:100:{h}/joe:-::\n"
        ".\n")
    # Through qmail-newu into users/cdb.
    (q.dir / "users" / "assign").write_bytes(r.out)
    q.chown_all(q.dir / "users")
    assert q.run("qmail-newu").code == 0
    keys = [k for k, _ in cdb_records(q.dir / "users" / "cdb")]
    assert keys == [b"!", b"!alias\0", b"!alias-", b"!joe\0", b"!joe-", b""]


@needs_root
def test_qmail_pw2u_users_files_and_options(q):
    h = pw2u_setup(q)
    u = q.dir / "users"
    (u / "mailnames").write_text("joe:joseph::jo\n")
    (u / "subusers").write_text("sub:JOE:pre:\nbad:joe:nocolon\n")
    (u / "append").write_text("=extra:x:1:1:/x:::\n")
    (u / "exclude").write_text("nobody\n")
    q.chown_all(u)
    r = q.run("qmail-pw2u", ["-/", "-c", "+"], input=passwd(h))
    assert (r.code, r.err) == (0, b"")
    assert r.out.decode() == (
        f"+:alias:7790:2108:{h}/alias:-/::\n"
        f"=alias:alias:7790:2108:{h}/alias:::\n"
        f"+alias+:alias:7790:2108:{h}/alias:-/::\n"
        f"=joseph:joe:1001:100:{h}/joe:::\n"
        f"+joseph+:joe:1001:100:{h}/joe:-/::\n"
        f"=jo:joe:1001:100:{h}/joe:::\n"
        f"+jo+:joe:1001:100:{h}/joe:-/::\n"
        f"=sub:joe:1001:100:{h}/joe:-/:pre:\n"
        f"+sub+:joe:1001:100:{h}/joe:-/:pre-:\n"
        "=extra:x:1:1:/x:::\n"
        ".\n")
    # include and exclude; -C: no extensions; -u: upper case allowed; -H:
    # homes not looked at.
    (u / "include").write_text("ALIAS\nann\nbob\n")
    (u / "exclude").write_text("BOB\n")
    for f in ("mailnames", "subusers", "append"):
        os.unlink(u / f)
    r = q.run("qmail-pw2u", ["-C", "-u", "-H"], input=passwd(h))
    assert (r.code, r.err) == (0, b"")
    assert r.out.decode() == (f"+:alias:7790:2108:{h}/alias:-::\n"
                              f"=alias:alias:7790:2108:{h}/alias:::\n"
                              f"=Ann:Ann:1002:100:{h}/ann:::\n"
                              ".\n")


def test_qmail_pw2u_errors(q):
    h = q.dir
    r = q.run("qmail-pw2u", ["-H"], input=f"joe:x:1001:100::{h}:/bin/sh\n".encode())
    assert (r.code, r.err) == (111, b"qmail-pw2u: fatal: unable to find alias user\n")
    r = q.run("qmail-pw2u", ["-h"], input=f"alias:x:7790:2108::{h}/none:/bin/sh\n".encode())
    assert (r.code, r.err) == (111, f"qmail-pw2u: fatal: unable to stat {h}/none\n".encode())
    (q.dir / "users" / "subusers").write_text("sub:zed:pre:\n")
    q.chown_all()
    r = q.run("qmail-pw2u", ["-H"], input=f"alias:x:7790:2108::{h}:/bin/sh".encode())
    assert (r.code, r.err) == (111, b"qmail-pw2u: fatal: unable to find zed user for subuser\n")
    r = q.run("qmail-pw2u", ["-x"])
    assert (r.code, r.out, r.err) == (100, b"", b"qmail-pw2u: illegal option -- x\n")


# ---- qmail-showctl --------------------------------------------------------------------

def test_qmail_showctl(q):
    c = q.dir / "control"
    (c / "me").write_text("mail.example\n")
    (c / "locals").write_text("a.example\n# comment\nb\x01.example\n")
    (c / "concurrencylocal").write_text("7\n")
    (c / "databytes").write_text("junk\n")
    (c / "rcpthosts").write_text("a.example\n")
    (c / "morercpthosts").write_text("c.example\n")
    (c / "zzz").write_text("?\n")
    (c / "aaa").write_text("?\n")
    q.chown_all()
    r = q.run("qmail-showctl")
    assert (r.code, r.err) == (0, b"")
    me = NOBODY if ROOT else os.getuid()
    grp = NOGROUP if ROOT else os.getgid()
    out = r.out.decode()
    assert out.startswith(
        f"qmail home directory: {q.dir}.\nuser-ext delimiter: -.\n"
        "paternalism (in decimal): 18.\nsilent concurrency limit: 120.\n"
        "subdirectory split: 23.\n"
        f"user ids: {', '.join([str(me)] * 8)}.\ngroup ids: {grp}, {grp}.\n"
        "\nbadmailfrom: (Default.) Any MAIL FROM is allowed.\n"
        "\nbouncefrom: (Default.) Bounce user name is MAILER-DAEMON.\n"
        "\nbouncehost: (Default.) Bounce host name is mail.example.\n"
        "\nconcurrencylocal: Local concurrency is 7.\n"
        "\nconcurrencyremote: (Default.) Remote concurrency is 20.\n"
        "\ndatabytes: (Default.) SMTP DATA limit is 0 bytes.\n")
    assert ("\nlocals: \nMessages for a.example are delivered locally.\n"
            "Messages for b?.example are delivered locally.\n") in out
    assert "\nme: My name is mail.example.\n" in out
    assert ("\nrcpthosts: \nSMTP clients may send messages to recipients at a.example.\n"
            "\nmorercpthosts: \nSMTP clients may send messages to recipients at c.example.\n"
            "\nmorercpthosts.cdb: Oops! morercpthosts exists but morercpthosts.cdb doesn't.\n"
            ) in out
    assert out.endswith("\nvirtualdomains: (Default.) No virtual domains.\n"
                        "\naaa: I have no idea what this file does.\n"
                        "\nzzz: I have no idea what this file does.\n")


def test_qmail_showctl_no_control(q):
    os.rmdir(q.dir / "control")
    r = q.run("qmail-showctl")
    assert r.code == 111
    assert r.out.endswith(b".\nOops! Unable to chdir to control.\n")
