"""The tools around qmail-smtpd: mkauth (control/auth.cdb for SMTP AUTH),
qmail-newmrh (control/morercpthosts.cdb), mkvalidrcptto (validrcptto.cdb)
and qmail-qfilter (filters in front of qmail-queue), in a temporary
QMAILHOME, single-uid mode. cdb files are read back with Debian's cdbdump
and cdbget (freecdb)."""
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from qmailhome import QmailHome, envelope

CDBDUMP = "/usr/bin/cdbdump"
CDBGET = "/usr/bin/cdbget"


def cdb_records(path):
    """[(key, data)] of a cdb, by the classic cdbdump."""
    out = subprocess.run([CDBDUMP], stdin=open(path, "rb"), capture_output=True, check=True).stdout
    recs = []
    while out != b"\n":
        head, rest = out[1:].split(b":", 1)
        klen, dlen = (int(x) for x in head.split(b","))
        recs.append((rest[:klen], rest[klen + 2:klen + 2 + dlen]))
        out = rest[klen + 2 + dlen + 1:]
    return recs


def cdbget(path, key):
    p = subprocess.run([CDBGET, key], stdin=open(path, "rb"), capture_output=True)
    return p.stdout if p.returncode == 0 else None


def openssl_crypt(kind, salt, password):
    return subprocess.run(["openssl", "passwd", kind, "-salt", salt, password], capture_output=True,
                          check=True, text=True).stdout.strip()


@pytest.fixture
def q():
    with QmailHome(make_queue=False) as home:
        yield home


# ---- mkauth --------------------------------------------------------------------

SHA256_HASH = "$5$saltsaltsalt$FruymSKj7hU9S/Zpql2wzM8hw8OeoAp5aeSncC9YTl7"  # secret5
MD5_HASH = "$1$saltsalt$2HM3oGhH6VPi/5dxZ798f/"  # secret1
CRAM = "cram-md5:" + "0123456789abcdef" * 4


def test_mkauth_builds_auth_cdb(q):
    q.control("auth", "# SMTP AUTH users\n\n"
                      "tim:tanstaaftanstaaf\n"
                      "joe@example.org:two words:and a colon\r\n"
                      f"ann:{SHA256_HASH}\n"
                      f"bob:{MD5_HASH}:{CRAM}\n"
                      "tom:tanstaaftanstaaf\n")
    r = q.run("mkauth")
    assert (r.code, r.out, r.err) == (0, b"", b"")
    cdb = q.dir / "control" / "auth.cdb"
    assert not (q.dir / "control" / "auth.cdb.tmp").exists()
    assert stat.S_IMODE(os.stat(cdb).st_mode) == 0o600  # CRAM-MD5 secrets are secrets
    recs = dict(cdb_records(cdb))
    assert sorted(recs) == [b"ann", b"bob", b"joe@example.org", b"tim", b"tom"]
    assert recs[b"ann"] == SHA256_HASH.encode()
    assert recs[b"bob"] == f"{MD5_HASH}\n{CRAM}".encode()
    for user, password in ((b"tim", "tanstaaftanstaaf"), (b"joe@example.org", "two words:and a colon")):
        hash_, cram = recs[user].decode().split("\n")
        m = re.fullmatch(r"\$6\$([./0-9A-Za-z]{16})\$[./0-9A-Za-z]{86}", hash_)
        assert m, hash_
        assert openssl_crypt("-6", m.group(1), password) == hash_
        assert re.fullmatch(r"cram-md5:[0-9a-f]{64}", cram)
    # The CRAM-MD5 secret depends on the password only; the salts differ.
    assert recs[b"tim"].split(b"\n")[1] == recs[b"tom"].split(b"\n")[1]
    assert recs[b"tim"].split(b"\n")[0] != recs[b"tom"].split(b"\n")[0]
    assert cdbget(cdb, "ann") == SHA256_HASH.encode()

    # A rebuilt file keeps the mode (and owner) of the one it replaces.
    os.chmod(cdb, 0o640)
    q.control("auth", "tim:other\n")
    r = q.run("mkauth")
    assert r.code == 0, r
    assert stat.S_IMODE(os.stat(cdb).st_mode) == 0o640
    assert [k for k, _ in cdb_records(cdb)] == [b"tim"]


@pytest.mark.parametrize("line, why", [
    ("no colon here", "no colon after the user name"),
    (":password", "empty user name"),
    ("joe:", "empty password"),
    ("jo e:pw", "space, tab or NUL in the user name"),
    ("joe:$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234", "unsupported hash (only $1$, $5$ and $6$)"),
    ("joe:$6$salt$short", "malformed hash"),
    (f"joe:{MD5_HASH}:cram-md5:00", "malformed CRAM-MD5 secret (cram-md5: and 64 lower-case hex digits)"),
    ("tim:again", "user tim already on line 1"),
])
def test_mkauth_refuses_bad_lines(q, line, why):
    q.control("auth", f"tim:x\n# comment\n{line}\n")
    (q.dir / "control" / "auth.cdb").write_bytes(b"old")
    q.chown_all()
    r = q.run("mkauth")
    src = q.dir / "control" / "auth"
    assert (r.code, r.out) == (100, b"")
    assert r.err.decode() == f"mkauth: fatal: {src} line 3: {why}\n"
    assert (q.dir / "control" / "auth.cdb").read_bytes() == b"old"
    assert not (q.dir / "control" / "auth.cdb.tmp").exists()


def test_mkauth_options_and_hashing_one_password(q):
    src = q.dir / "users.txt"
    out = q.dir / "my.cdb"
    src.write_text("amy:pw\n")
    q.chown_all()
    r = q.run("mkauth", ["-f", src, "-o", out])
    assert r.code == 0, r
    assert [k for k, _ in cdb_records(out)] == [b"amy"]

    r = q.run("mkauth", ["-p"], input=b"s3cret\n")
    assert r.code == 0, r
    hash_ = r.out.decode().rstrip("\n")
    assert openssl_crypt("-6", hash_.split("$")[2], "s3cret") == hash_
    r = q.run("mkauth", ["-P"], input=b"s3cret")
    assert r.code == 0, r
    hash_, cram = r.out.decode().rstrip("\n").split(":cram-md5:")
    assert openssl_crypt("-6", hash_.split("$")[2], "s3cret") == hash_
    assert re.fullmatch(r"[0-9a-f]{64}", cram)
    # What -P prints is a valid source line after "user:".
    src.write_text(f"amy:{r.out.decode()}")
    assert q.run("mkauth", ["-f", src, "-o", out]).code == 0
    assert cdbget(out, "amy") == f"{hash_}\ncram-md5:{cram}".encode()

    r = q.run("mkauth", ["-p"], input=b"\n")
    assert (r.code, r.err) == (100, b"mkauth: fatal: empty password\n")
    r = q.run("mkauth", ["-x"])
    assert r.code == 100 and b"usage: mkauth" in r.err
    r = q.run("mkauth", ["-f", q.dir / "missing"])
    assert (r.code, r.err) == (111, f"mkauth: fatal: unable to read {q.dir}/missing: file does not exist\n".encode())
    r = q.run("mkauth", ["--help"])
    assert r.code == 0 and b"mkauth -p" in r.out


# ---- qmail-newmrh -------------------------------------------------------------

def test_qmail_newmrh(q):
    q.control("morercpthosts", "Example.ORG\n# a comment\n\nsecond.example \t \n  \n.sub.example\nlast.example")
    r = q.run("qmail-newmrh")
    assert (r.code, r.out, r.err) == (0, b"", b"")
    cdb = q.dir / "control" / "morercpthosts.cdb"
    assert cdb_records(cdb) == [(b"example.org", b""), (b"second.example", b""), (b".sub.example", b""),
                                (b"last.example", b"")]
    assert cdbget(cdb, "second.example") == b""
    assert cdbget(cdb, "Example.ORG") is None  # keys are lower case
    assert stat.S_IMODE(os.stat(cdb).st_mode) == 0o644
    assert not (q.dir / "control" / "morercpthosts.tmp").exists()
    # The same records as cdbmake makes from them.
    recs = b"".join(b"+%d,0:%s->\n" % (len(k), k) for k, _ in cdb_records(cdb)) + b"\n"
    theirs = q.dir / "theirs.cdb"
    subprocess.run(["cdbmake", str(theirs), str(q.dir / "theirs.tmp")], input=recs, check=True)
    assert theirs.read_bytes() == cdb.read_bytes()


def test_qmail_newmrh_errors(q):
    r = q.run("qmail-newmrh")
    assert (r.code, r.err) == (111, b"qmail-newmrh: fatal: unable to read control/morercpthosts: "
                                    b"file does not exist\n")
    assert not (q.dir / "control" / "morercpthosts.cdb").exists()


# ---- mkvalidrcptto -------------------------------------------------------------

def setup_validrcptto(q):
    """locals example.org; virtual domain virt.example for prefix vu; users
    joe (no extension), jane (=jane with extension box, .qmail-box there),
    ghost (extension without a .qmail file), the vu- assignment with
    .qmail-alice and .qmail-lists-default; alias with postmaster and
    owner-default."""
    homes = q.dir / "homes"
    for d in ("joe", "jane", "vu"):
        (homes / d).mkdir(parents=True)
    (homes / "jane" / ".qmail-box").write_text("./Maildir/\n")
    (homes / "vu" / ".qmail-alice").write_text("./alice/\n")
    (homes / "vu" / ".qmail-lists-default").write_text("|true\n")
    (homes / "vu" / ".qmail-Upper").write_text("|true\n")  # never found: extensions are lower case
    (q.dir / "users").mkdir()
    (q.dir / "users" / "assign").write_text(
        f"=Joe:nobody:65534:65534:{homes}/joe:::\n"
        f"=jane:nobody:65534:65534:{homes}/jane:-:box:\n"
        f"=ghost:nobody:65534:65534:{homes}/jane:-:nobox:\n"
        f"+vu-:nobody:65534:65534:{homes}/vu:-::\n"
        ".\n")
    alias = q.dir / "alias"
    alias.mkdir()
    (alias / ".qmail-postmaster").write_text("&joe@example.org\n")
    (alias / ".qmail-owner-default").write_text("&joe@example.org\n")
    (alias / ".qmail-mail.admin").write_text("&joe@example.org\n")  # safe_ext turns '.' into ':'
    os.rename(alias / ".qmail-mail.admin", alias / ".qmail-mail:admin")
    q.control("me", "mx.example.org\n")
    q.control("locals", "example.org\n")
    q.control("virtualdomains", "virt.example:vu\none@single.example:vu\n.wild.example:vu\nexcept.example:\n")
    q.control("rcpthosts", "example.org\nvirt.example\nRelay.Example\n.anysub.example\n")
    subprocess.run(["cdbmake", str(q.dir / "control" / "morercpthosts.cdb"), str(q.dir / "mrh.tmp")],
                   input=b"+12,0:more.example->\n\n", check=True)
    q.chown_all()


EXPECTED = [
    "@more.example", "@relay.example",
    "alice@virt.example", "jane@example.org", "joe@example.org", "lists-default@virt.example",
    "mail.admin@example.org", "one@single.example", "owner-default@example.org",
    "postmaster@example.org", "vu-alice@example.org", "vu-lists-default@example.org",
]


def test_mkvalidrcptto_lists_the_addresses(q):
    setup_validrcptto(q)
    r = q.run("mkvalidrcptto")
    assert r.code == 0, r
    assert r.out.decode().splitlines() == EXPECTED
    assert r.err == b"mkvalidrcptto: warning: wildcard virtual domain .wild.example cannot be listed\n"

    # -c writes the same keys into a cdb, relative to where it was started.
    (q.dir / "out").mkdir()
    q.chown_all()
    r = q.run("mkvalidrcptto", ["-c", "validrcptto.cdb"], cwd=q.dir / "out")
    assert r.code == 0, r
    cdb = q.dir / "out" / "validrcptto.cdb"
    assert cdb_records(cdb) == [(k.encode(), b"") for k in EXPECTED]
    assert cdbget(cdb, "joe@example.org") == b""
    assert cdbget(cdb, "ghost@example.org") is None
    assert not (q.dir / "out" / "validrcptto.cdb.tmp").exists()


def test_mkvalidrcptto_catch_all(q):
    setup_validrcptto(q)
    # The alias user's .qmail-default takes every address of every domain.
    (q.dir / "alias" / ".qmail-default").write_text("&joe@example.org\n")
    q.chown_all()
    r = q.run("mkvalidrcptto")
    assert r.code == 0, r
    keys = r.out.decode().splitlines()
    assert "@example.org" in keys and "@virt.example" in keys
    assert "joe@example.org" in keys


def test_mkvalidrcptto_without_users_and_with_bad_assign(q):
    q.control("me", "host.example\n")  # control/locals falls back to control/me
    (q.dir / "alias").mkdir()
    (q.dir / "alias" / ".qmail-root").write_text("&x@example.org\n")
    q.chown_all()
    r = q.run("mkvalidrcptto")
    assert (r.code, r.out, r.err) == (0, b"root@host.example\n", b"")
    (q.dir / "users").mkdir()
    (q.dir / "users" / "assign").write_text("=broken\n.\n")
    q.chown_all()
    r = q.run("mkvalidrcptto")
    assert (r.code, r.err) == (100, b"mkvalidrcptto: fatal: bad format in users/assign\n")
    r = q.run("mkvalidrcptto", ["extra"])
    assert r.code == 100 and b"usage: mkvalidrcptto" in r.err


# ---- qmail-qfilter ------------------------------------------------------------

@pytest.fixture
def qq():
    with QmailHome() as home:
        (home.dir / "out").mkdir()
        home.chown_all()
        yield home


def qfilter(q, filters, message=b"Subject: hello\n\nhello world\n", sender="joe@example.org",
            rcpts=("a@example.org", "b@example.net"), env=None):
    """Runs qmail-qfilter (through a script that gives it its arguments)
    as qmail-queue would be run."""
    args = " ".join(f"'{a}'" for a in filters)
    q.script("bin/qf", f"exec qmail-qfilter {args}\n")
    return q.queue(message, sender, rcpts, program=q.bin / "qf", env=env)


def test_qmail_qfilter_filters_in_turn_then_queues(qq):
    up = qq.script("up", "tr a-z A-Z\n")
    sig = qq.script("sig", "cat; echo '-- '; echo \"$QMAILUSER at $QMAILHOST for $NUMRCPTS\"\n"
                           "printf '%s' \"$QMAILRCPTS\" > out/rcpts; echo \"$MSGSIZE $ENVSIZE\" > out/sizes\n"
                           "echo \"$QMAILPPID\" > out/ppid\n")
    r = qfilter(qq, [str(up), "--", str(sig)])
    assert (r.code, r.err) == (0, b"")
    [(mess, todo)] = qq.messages()
    assert mess.endswith(b"SUBJECT: HELLO\n\nHELLO WORLD\n-- \njoe at example.org for 2\n")
    # todo/ keeps the envelope without its closing NUL.
    assert todo.endswith(envelope("joe@example.org", ["a@example.org", "b@example.net"])[:-1])
    assert (qq.dir / "out" / "rcpts").read_text() == "a@example.org\nb@example.net\n"
    env_size = len(envelope("joe@example.org", ["a@example.org", "b@example.net"]))
    assert (qq.dir / "out" / "sizes").read_text() == f"28 {env_size}\n"  # the first filter's output
    assert int((qq.dir / "out" / "ppid").read_text()) > 1


def test_qmail_qfilter_unchanged_when_a_filter_writes_nothing(qq):
    quiet = qq.script("quiet", "cat >/dev/null\n")
    r = qfilter(qq, [str(quiet)])
    assert r.code == 0, r
    [(mess, _)] = qq.messages()
    assert mess.endswith(b"Subject: hello\n\nhello world\n")


def test_qmail_qfilter_new_envelope_on_descriptor_4(qq):
    newenv = qq.script("newenv", "printf 'Fbounce@example.org\\0Tc@example.com\\0\\0' >&4\n")
    show = qq.script("show", "echo \"$QMAILUSER $QMAILRCPTS\" > out/seen\n")
    r = qfilter(qq, [str(newenv), "--", str(show)])
    assert r.code == 0, r
    [(_, todo)] = qq.messages()
    assert todo.endswith(envelope("bounce@example.org", ["c@example.com"])[:-1])
    assert (qq.dir / "out" / "seen").read_text() == "bounce c@example.com\n\n"


@pytest.mark.parametrize("code, want", [(31, 31), (71, 71), (99, 0), (100, 100)])
def test_qmail_qfilter_exit_codes(qq, code, want):
    stop = qq.script("stop", f"cat >/dev/null; exit {code}\n")
    after = qq.script("after", "touch out/after\n")
    r = qfilter(qq, [str(stop), "--", str(after)])
    assert r.code == want
    assert qq.messages() == []
    assert not (qq.dir / "out" / "after").exists()


def test_qmail_qfilter_queue_program(qq):
    # $QQF_QMAILQUEUE replaces qmail-queue; a name on descriptor 5 replaces both.
    fake = qq.script("fakeqq", "cat > out/msg; tr '\\0' '|' < /proc/self/fd/1 > out/env; exit 0\n")
    r = qfilter(qq, ["cat"], env={"QQF_QMAILQUEUE": str(fake)})
    assert r.code == 0, r
    assert qq.messages() == []
    assert (qq.dir / "out" / "msg").read_bytes() == b"Subject: hello\n\nhello world\n"
    assert (qq.dir / "out" / "env").read_text() == "Fjoe@example.org|Ta@example.org|Tb@example.net||"

    other = qq.script("otherqq", "cat > out/other; exit 0\n")
    pick = qq.script("pick", f"cat; printf '{other}\\0' >&5\n")
    r = qfilter(qq, [str(pick)], env={"QQF_QMAILQUEUE": str(fake)})
    assert r.code == 0, r
    assert (qq.dir / "out" / "other").read_bytes() == b"Subject: hello\n\nhello world\n"


def test_qmail_qfilter_failures(qq):
    r = qfilter(qq, ["/nonexistent/filter"])
    assert r.code == 81
    crash = qq.script("crash", "kill -SEGV $$\n")
    assert qfilter(qq, [str(crash)]).code == 81
    r = qfilter(qq, ["cat", "--", "--", "cat"])
    assert r.code == 81
    r = qq.queue(b"x", env_bytes=b"Tno-sender\0\0", program=qq.bin / "qmail-qfilter")
    assert r.code == 91
    assert qq.messages() == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_mkvalidrcptto_system_mode_accounts():
    """As root: the accounts of /etc/passwd (a private copy with alice)
    and the alias user's home, /var/qmail."""
    from qmailhome import SystemHome
    with SystemHome({"alice": 64030}) as h:
        home = h.top / "var" / "home" / "alice"
        for name in (".qmail-foo", ".qmail-bar-default"):
            (home / name).write_text("./Maildir/\n")
        (h.home / ".qmail-postmaster").write_text("&alice\n")
        (h.home / "control" / "locals").write_text("example.org\n")
        r = h.run(["/var/qmail/bin/mkvalidrcptto"], timeout=60)
        assert r.returncode == 0, r.stderr
        keys = r.stdout.decode().splitlines()
        assert {"alice@example.org", "alice-foo@example.org", "alice-bar-default@example.org",
                "postmaster@example.org"} <= set(keys), keys
        assert not any(k.startswith("root") for k in keys)
        # An account that does not own its home directory gets nothing.
        os.chown(home, 0, 0)
        r = h.run(["/var/qmail/bin/mkvalidrcptto"], timeout=60)
        keys = r.stdout.decode().splitlines()
        assert "postmaster@example.org" in keys and not any(k.startswith("alice") for k in keys)
