"""tcprules and tcprulescheck against Debian's ucspi-tcp.

The same source goes through /usr/bin/tcprules and qbox's: the cdb files must
be byte-identical. tcprulescheck runs on both cdbs with many environments,
through Debian's program and qbox's, so each reads the other's file. The
extensions (CIDR, IPv6) are checked with qbox's tcprulescheck, and the CIDR
rules that land on classic keys with Debian's too.
"""
import itertools
import os
import struct
import subprocess

import pytest

from conftest import CLASSIC, run

CLASSIC_SOURCE = b"""\
# tcp.smtp, the usual shape
127.0.0.1:allow,RELAYCLIENT=""
127.:allow,RELAYCLIENT="",SMTPD_GREETING="local"
10.1.2.3:deny
10.1.2.:allow,RELAYCLIENT="",X=/a"b/
10.1.:deny,WHY="net"
10.:allow,NET=|ten|
192.168.0.1-20:allow,RANGE="yes"
192.168.0.15:deny
192.168.5-7.:allow,MID="x"
172.16.0.-3:allow,LOW="1"
joe@10.9.9.9:allow,IDENT="joe"
joe@=mail.example.org:allow,IDENT="joe-host"
=mail.example.org:allow,HOST="exact"
=.example.org:allow,DOMAIN="org"
=.example:deny
=:allow,ANYHOST="1"
1.2.3.4:allow,A="1",B="2",C=""
1.2.3.4:deny
   
# a line without a colon is skipped
no colon here
a-weird-key=@x:allow
:deny,DEFAULT="yes"
last.line.without.newline:allow"""

IPS = ["127.0.0.1", "127.9.9.9", "10.1.2.3", "10.1.2.99", "10.1.7.7", "10.200.0.1",
       "192.168.0.1", "192.168.0.15", "192.168.0.20", "192.168.0.21", "192.168.6.1",
       "192.168.8.1", "172.16.0.2", "172.16.0.4", "10.9.9.9", "1.2.3.4", "8.8.8.8",
       "", "garbage", "1.2.3.", None]
HOSTS = [None, "mail.example.org", "x.example.org", "y.example", "other.net", "", "a.b.c."]
INFOS = [None, "joe", "bob", ""]


def make_env(ip=None, host=None, info=None):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for name, value in (("TCPREMOTEIP", ip), ("TCPREMOTEHOST", host), ("TCPREMOTEINFO", info)):
        if value is not None:
            env[name] = value
    return env


def read_cdb(path):
    """The records of a cdb file, in file order."""
    data = open(path, "rb").read()
    table = [struct.unpack_from("<II", data, 8 * i) for i in range(256)]
    end = min(pos for pos, _ in table)
    pos, recs = 2048, []
    while pos < end:
        klen, dlen = struct.unpack_from("<II", data, pos)
        key = data[pos + 8:pos + 8 + klen]
        recs.append((key, data[pos + 8 + klen:pos + 8 + klen + dlen]))
        pos += 8 + klen + dlen
    return recs


def compile_both(applet_bin, tmp_path, source):
    """Runs both tcprules on source; returns (qbox cdb path, Debian cdb path)."""
    out = []
    for prog, name in ((applet_bin / "tcprules", "q"), (CLASSIC / "tcprules", "d")):
        cdb, tmp = tmp_path / f"{name}.cdb", tmp_path / f"{name}.tmp"
        r = run([str(prog), str(cdb), str(tmp)], input=source)
        assert (r.code, r.out, r.err) == (0, b"", b""), (prog, r)
        assert not tmp.exists()
        out.append(cdb)
    return out


SOURCES = [
    CLASSIC_SOURCE,
    b"",
    b"\n",
    b"# only a comment\n",
    b":allow\n",
    b":deny",
    b"=:deny\n=:allow\n",
    b"1.2.3.0-255:allow\n",
    b"1.2.3.7-4:allow\n",
    b"1.2.3.250-999:deny,X=\"y\"\n",
    b"1-3.2.3.4:allow\n1.2-4.:deny\n-:allow\n",
    b"18446744073709551617-2:allow\n",
    b"x\x00y:allow,Z=\"\x00\"\n",
    b"1.2.3.4:allow,V=\"with spaces and \ttab\"   \t\n",
    b"1.2.3.4:allow,=\"empty name\",,=\"comma\"\n",
    b"".join(b"10.%d.%d.:allow,N=\"%d\"\n" % (i % 256, i // 256, i) for i in range(3000)),
    b"dup:allow\n" * 50 + b"dup:deny\n",
]


@pytest.mark.parametrize("source", SOURCES, ids=range(len(SOURCES)))
def test_same_cdb_bytes(applet_bin, tmp_path, source):
    q, d = compile_both(applet_bin, tmp_path, source)
    assert read_cdb(q) == read_cdb(d)
    assert q.read_bytes() == d.read_bytes()


def test_cdb_records_match_the_encoding(applet_bin, tmp_path):
    q, _ = compile_both(applet_bin, tmp_path, b'1.2.3.4:deny,A="1",B=/x/\n5.:allow\n')
    assert read_cdb(q) == [(b"1.2.3.4", b"D\x00+A=1\x00+B=x\x00"), (b"5.", b"")]


@pytest.mark.parametrize("line", [
    b"1.2.3.4:allowx\n", b"1.2.3.4: allow\n", b"1.2.3.4:Allow\n", b"1.2.3.4:\n",
    b"1.2.3.4:allow,X\n", b"1.2.3.4:allow,X=\n", b"1.2.3.4:allow,X=\"y\n",
    b"1.2.3.4:allow,X=\"y\"z\n", b"1.2.3.4:deny,\n", b"a-b:allow\n", b"1.2.3.x-5:deny\n",
    b"1.2.3.4:allow\r\n", b"bad\x00rest:allow\n", b"trailing:oops \t \n",
    b"=host:x:allow\n", b"1.2.3.4:allow,X=\"a\":allow\n", b"last:oops",
])
def test_parse_errors(compare, tmp_path, line):
    source = b"1.1.1.1:allow\n# fine so far\n" + line
    if line.endswith(b"\n"):
        source += b"2.2.2.2:allow\n"
    compare.same("tcprules", ["r.cdb", "r.tmp"], input=source, cwd=tmp_path)


def test_usage(compare, tmp_path):
    compare.same("tcprules", [], cwd=tmp_path)
    compare.same("tcprules", ["r.cdb"], cwd=tmp_path)
    compare.same("tcprulescheck", [], cwd=tmp_path)


def test_write_errors(compare, tmp_path):
    compare.same("tcprules", ["r.cdb", "nodir/r.tmp"], input=b":allow\n", cwd=tmp_path)
    compare.same("tcprules", ["nodir/r.cdb", "r.tmp"], input=b":allow\n", cwd=tmp_path)
    (tmp_path / "adir").mkdir()
    compare.same("tcprules", ["r.cdb", "adir"], input=b":allow\n", cwd=tmp_path)


def test_read_error(compare, tmp_path):
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        compare.same("tcprules", ["r.cdb", "r.tmp"], input=None, stdin=fd, cwd=tmp_path)
    finally:
        os.close(fd)


def test_atomic_replacement(applet_bin, tmp_path):
    tcprules = str(applet_bin / "tcprules")
    cdb, tmp = tmp_path / "rules.cdb", tmp_path / "rules.tmp"
    r = run([tcprules, str(cdb), str(tmp)], input=b"1.2.3.4:deny\n:allow\n")
    assert r.code == 0
    assert not tmp.exists()
    assert (cdb.stat().st_mode & 0o777) == 0o644 & ~current_umask()
    old = cdb.read_bytes()
    old_inode = cdb.stat().st_ino

    # A reader that has the old file open keeps seeing it after a replacement.
    with open(cdb, "rb") as held:
        r = run([tcprules, str(cdb), str(tmp)], input=b"1.2.3.4:allow\n")
        assert r.code == 0
        assert held.read() == old
    assert cdb.stat().st_ino != old_inode
    assert read_cdb(cdb) == [(b"1.2.3.4", b"")]
    new = cdb.read_bytes()

    # A bad source leaves the cdb alone and no temporary file behind.
    r = run([tcprules, str(cdb), str(tmp)], input=b":allow\nthis:is:bad\n")
    assert r.code == 100
    assert r.err == b"tcprules: fatal: unable to parse this line: this:is:bad\n"
    assert cdb.read_bytes() == new
    assert not tmp.exists()
    # An old temporary file is replaced, not appended to.
    tmp.write_bytes(b"x" * 10000)
    r = run([tcprules, str(cdb), str(tmp)], input=b":deny\n")
    assert r.code == 0
    assert read_cdb(cdb) == [(b"", b"D\x00")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rules.cdb"]


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def envs():
    for ip, host, info in itertools.product(IPS, HOSTS, INFOS):
        yield make_env(ip, host, info)


def test_check_same_output_both_cdbs(compare, applet_bin, tmp_path):
    """Debian's and qbox's tcprulescheck, on Debian's and qbox's cdb."""
    q, d = compile_both(applet_bin, tmp_path, CLASSIC_SOURCE)
    seen = set()
    for env in envs():
        for cdb in (q, d):
            r = compare.same("tcprulescheck", [str(cdb)], env=env)
            seen.add(r.out.split(b"\n")[0])
    # The environments reach many different rules.
    assert len(seen) >= 15, seen


def test_check_errors(compare, tmp_path):
    env = make_env("1.2.3.4")
    compare.same("tcprulescheck", ["missing.cdb"], env=env, cwd=tmp_path)
    (tmp_path / "empty.cdb").write_bytes(b"")
    compare.same("tcprulescheck", ["empty.cdb"], env=env, cwd=tmp_path)
    (tmp_path / "short.cdb").write_bytes(b"not a cdb\n")
    compare.same("tcprulescheck", ["short.cdb"], env=env, cwd=tmp_path)
    (tmp_path / "zero.cdb").write_bytes(b"\0" * 4096)
    compare.same("tcprulescheck", ["zero.cdb"], env=env, cwd=tmp_path)


def test_check_rule_shapes(compare, applet_bin, tmp_path):
    """Variables before and after deny, empty values, odd instruction bytes."""
    source = (b'1.1.1.1:allow,A="1",B="",C="x=y"\n'
              b'2.2.2.2:deny,A="1"\n'
              b'3.3.3.3:allow\n'
              b'4.4.4.4:allow,A="a b",A="again"\n')
    q, d = compile_both(applet_bin, tmp_path, source)
    # A hand-made value: variables before the D, an instruction of another
    # kind, bytes after the last NUL.
    odd = tmp_path / "odd.cdb"
    make_cdb(odd, [(b"5.5.5.5", b"+A=1\x00Xjunk\x00\x00D\x00+B=2\x00"),
                   (b"6.6.6.6", b"+NOEQUALS\x00tail-without-nul")])
    for ip in ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5", "6.6.6.6", "7.7.7.7"]:
        for cdb in (q, d, odd):
            compare.same("tcprulescheck", [str(cdb)], env=make_env(ip))


def make_cdb(path, records):
    """A cdb written by cdbmake (djb's, from Debian's freecdb)."""
    text = b"".join(b"+%d,%d:%s->%s\n" % (len(k), len(v), k, v) for k, v in records) + b"\n"
    subprocess.run(["cdbmake", str(path), str(path) + ".tmp"], input=text, check=True)


CIDR_SOURCE = b"""\
10.0.0.0/8:allow,NET="10/8"
10.1.0.0/16:deny
172.16.0.0/12:allow,NET="172.16/12"
192.168.1.128/25:allow,NET="upper half"
192.168.1.0/24:deny
100.64./10:allow,NET="cgnat"
8.8.8.8/32:allow,NET="one"
1.2.3.4/8:deny,NOTE="host bits cleared"
=.example.org:allow,DOMAIN="1"
:deny
"""


def test_cidr_works_with_classic_tcpserver_lookup(compare, applet_bin, tmp_path):
    """CIDR rules become classic keys: Debian's tcprulescheck follows them,
    and IPv6 rules in the same file do not disturb it."""
    cdb = tmp_path / "cidr.cdb"
    source = CIDR_SOURCE + b"::/0:deny,SIX=\"1\"\n2001:db8::1:allow\n::ffff:9.0.0.0/104:allow\n"
    r = run([str(applet_bin / "tcprules"), str(cdb), str(tmp_path / "t")], input=source)
    assert r.code == 0
    keys = [k for k, _ in read_cdb(cdb)]
    assert keys[:2] == [b"10.", b"10.1."]
    assert keys[2:18] == [b"172.%d." % i for i in range(16, 32)]
    assert keys[18:146] == [b"192.168.1.%d" % i for i in range(128, 256)]
    assert keys[146] == b"192.168.1."
    assert keys[147:211] == [b"100.%d." % i for i in range(64, 128)]
    assert keys[211:213] == [b"8.8.8.8", b"1."]
    for ip in ["10.2.3.4", "10.1.3.4", "172.15.0.1", "172.16.0.1", "172.31.255.255",
               "172.32.0.1", "192.168.1.127", "192.168.1.128", "192.168.1.255", "100.63.0.1",
               "100.64.0.1", "100.127.0.1", "100.128.0.1", "8.8.8.8", "8.8.8.9", "1.9.9.9",
               "9.1.2.3"]:
        for host in [None, "www.example.org"]:
            compare.same("tcprulescheck", [str(cdb)], env=make_env(ip, host))


def check(applet_bin, cdb, **kw):
    r = run([str(applet_bin / "tcprulescheck"), str(cdb)], env=make_env(**kw))
    assert r.code == 0 and r.err == b"", r
    return r.out.decode()


def test_cidr_and_ipv6_with_qbox_check(applet_bin, tmp_path):
    assert CIDR_SOURCE.endswith(b"\n:deny\n")
    source = CIDR_SOURCE[:-len(b":deny\n")] + b"""\
2001:db8::/32:allow,NET="db8"
2001:db8::1:deny
2001:DB8:0:0:0:0:0:2:allow,EXACT="2"
2001:db8:8000::/33:deny,HALF="upper"
fe80::/10:allow,LL="1"
2002::allow,SIXTOFOUR="1"
joe@2001:db8::7:allow,IDENT="joe"
::ffff:192.0.2.0/120:allow,MAPPED="1"
::1:allow,LOOP="6"
:deny
"""
    cdb = tmp_path / "r.cdb"
    r = run([str(applet_bin / "tcprules"), str(cdb), str(tmp_path / "t")], input=source)
    assert (r.code, r.err) == (0, b"")
    full1 = "2001:0db8:0000:0000:0000:0000:0000:0001"
    assert check(applet_bin, cdb, ip="2001:db8::1") == f"rule {full1}:\ndeny connection\n"
    assert check(applet_bin, cdb, ip="2001:db8::2") == (
        "rule 2001:0db8:0000:0000:0000:0000:0000:0002:\n"
        "set environment variable EXACT=2\nallow connection\n")
    assert check(applet_bin, cdb, ip="2001:db8::3") == (
        "rule 2001:0db8::\nset environment variable NET=db8\nallow connection\n")
    assert check(applet_bin, cdb, ip="2001:db8:9999::3") == (
        "rule 2001:0db8:9::\ndeny connection\n")  # D comes first: the variable is not shown
    assert check(applet_bin, cdb, ip="2001:db8::7", info="joe") == (
        "rule joe@2001:0db8:0000:0000:0000:0000:0000:0007:\n"
        "set environment variable IDENT=joe\nallow connection\n")
    assert check(applet_bin, cdb, ip="2001:db8::7", info="bob").startswith("rule 2001:0db8::\n")
    assert check(applet_bin, cdb, ip="fe80::1:2") == (
        "rule fe8::\nset environment variable LL=1\nallow connection\n")
    assert check(applet_bin, cdb, ip="febf:ffff::1").startswith("rule feb::\n")
    assert check(applet_bin, cdb, ip="fec0::1") == "rule :\ndeny connection\n"
    assert check(applet_bin, cdb, ip="2002:c000:204::1").startswith("rule 2002::\n")
    assert check(applet_bin, cdb, ip="::1").startswith("rule 0000:0000:0000:0000:0000:0000:0000:0001:\n")
    # An IPv6 peer still gets the host rules and the default.
    assert check(applet_bin, cdb, ip="2003::1", host="a.example.org") == (
        "rule =.example.org:\nset environment variable DOMAIN=1\nallow connection\n")
    # v4-mapped rules and peers are IPv4.
    assert check(applet_bin, cdb, ip="192.0.2.55").startswith("rule 192.0.2.:\n")
    assert check(applet_bin, cdb, ip="::ffff:192.0.2.55").startswith("rule 192.0.2.:\n")
    assert check(applet_bin, cdb, ip="::ffff:10.1.2.3") == "rule 10.1.:\ndeny connection\n"
    # IPv4 CIDR.
    assert check(applet_bin, cdb, ip="172.20.1.1") == (
        "rule 172.20.:\nset environment variable NET=172.16/12\nallow connection\n")
    assert check(applet_bin, cdb, ip="192.168.1.200").startswith("rule 192.168.1.200:\n")
    assert check(applet_bin, cdb, ip="192.168.1.100") == "rule 192.168.1.:\ndeny connection\n"


@pytest.mark.parametrize("line", [
    b"10.0.0.0/33:allow\n", b"10.0.0.0/:allow\n", b"300.0.0.0/8:allow\n", b"1.2.3/8:allow\n",
    b"2001:db8::/129:allow\n", b"2001:db8::1-5:allow\n", b"zz::1:allow\n", b"::allow\n",
    b"joe@2001:db8::/32:deny\n", b"2001:db8::1:permit\n",
])
def test_extension_errors(applet_bin, tmp_path, line):
    cdb, tmp = tmp_path / "r.cdb", tmp_path / "r.tmp"
    r = run([str(applet_bin / "tcprules"), str(cdb), str(tmp)], input=b":allow\n" + line)
    assert r.code == 100
    assert r.err == b"tcprules: fatal: unable to parse this line: " + line.rstrip(b"\n") + b"\n"
    assert not cdb.exists() and not tmp.exists()
