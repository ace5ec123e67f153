"""cdbmake, cdbget, cdbdump, cdbstats and cdbtest against Debian's freecdb
(cdb-0.75's tools as packaged), and files shared both ways with tinycdb's
`cdb` tool. freecdb has no cdbtest: its output is checked against what
cr.yp.to documents, computed here from the records."""
import os
import random
import stat
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import CLASSIC, run

CDB = "/usr/bin/cdb"  # tinycdb


def rec(k, v):
    return b"+%d,%d:%s->%s\n" % (len(k), len(v), k, v)


def records_input(recs):
    return b"".join(rec(k, v) for k, v in recs) + b"\n"


def djb_hash(k):
    h = 5381
    for c in k:
        h = (((h << 5) + h) & 0xFFFFFFFF) ^ c
    return h


class Side:
    """Where one implementation runs: its own directory and program path."""

    def __init__(self, prog, root):
        self.prog = prog
        self.dir = root
        root.mkdir(parents=True)


def normalize(err, *paths):
    for p in paths:
        err = err.replace(str(p).encode() + b"/", b"")
    return err


def run_both(compare, tmp_path, name, args, input=b"", stdin_path=None, make_files=None):
    """Runs qbox's and freecdb's `name` in two fresh directories; compares
    exit code, stdout and stderr (program paths in usage lines removed).
    stdin_path is opened afresh for each (relative to its directory)."""
    sides = []
    for tag, prog in (("qbox", compare.bindir / name), ("classic", CLASSIC / name)):
        side = Side(prog, tmp_path / tag)
        if make_files:
            make_files(side.dir)
        if stdin_path is not None:
            fd = os.open(side.dir / stdin_path, os.O_RDONLY)  # a directory too
            try:
                r = run([str(prog)] + list(args), input=None, stdin=fd, cwd=side.dir)
            finally:
                os.close(fd)
        else:
            r = run([str(prog)] + list(args), input=input, cwd=side.dir)
        side.result = r
        sides.append(side)
    q, c = sides
    got = (q.result.code, q.result.out, normalize(q.result.err, compare.bindir, CLASSIC))
    want = (c.result.code, c.result.out, normalize(c.result.err, compare.bindir, CLASSIC))
    assert got == want, f"{name} {args!r} differs from freecdb"
    return q, c


def tree(d):
    return {p.name: (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(Path(d).iterdir())}


def same_on_file(compare, tmp_path, name, args, data):
    """Runs both with `data` as a regular file on standard input."""
    path = tmp_path / "in.cdb"
    path.write_bytes(data)
    results = []
    for prog in (compare.bindir / name, CLASSIC / name):
        with open(path, "rb") as f:  # opened afresh: each starts at offset 0
            results.append(run([str(prog)] + list(args), input=None, stdin=f))
    ours, theirs = results
    got = (ours.code, ours.out, normalize(ours.err, compare.bindir, CLASSIC))
    want = (theirs.code, theirs.out, normalize(theirs.err, compare.bindir, CLASSIC))
    assert got == want, f"{name} {args!r} on {len(data)} bytes differs from freecdb"
    return ours


def make_cdb(tmp_path, recs, name="db.cdb"):
    """A cdb made by freecdb's cdbmake."""
    r = run([str(CLASSIC / "cdbmake"), name, name + ".tmp"], input=records_input(recs),
            cwd=tmp_path)
    assert r.code == 0, r.err
    return (tmp_path / name).read_bytes()


def make_both(compare, tmp_path, input, args=("f", "f.tmp"), **kw):
    """cdbmake on both sides: same messages, same files left behind."""
    q, c = run_both(compare, tmp_path, "cdbmake", args, input=input, **kw)
    assert tree(q.dir) == tree(c.dir)
    return q


# ---- cdbmake -----------------------------------------------------------------

GOOD_INPUTS = [
    b"\n",
    b"+1,2:a->bc\n+1,1:a->d\n\n",
    b"+,:->\n\n",
    b"+0,0:->\n+0,3:->xyz\n\n",
    b"+3,5:a\0b->\0\n\xff\0\0\n\n",
    b"+00000000000000000001,1:a->b\n\n",
    b"+1,1:a->b\n\ntrailing garbage is ignored",
    b"+2,3:\n\n->\n\n\n\n\n",
]


@pytest.mark.parametrize("data", GOOD_INPUTS)
def test_cdbmake_good_input(compare, tmp_path, data):
    q = make_both(compare, tmp_path, data)
    assert q.result.code == 0
    assert not (q.dir / "f.tmp").exists()


BAD_INPUTS = [
    b"",                       # entry 1: unexpected end
    b"+1,2:a->bc\n",           # no final empty line
    b"+1,2:a->bc",             # no newline at all
    b"+1,2:a->bc\nx",          # entry must start with +
    b"x", b"+", b"+1", b"+1x", b"+-1,1:a->b\n\n", b"+1,", b"+1,2", b"+1,2x", b"+1, 2:ab->c\n\n",
    b"+1,2:", b"+1,2:a", b"+1,2:a-", b"+1,2:a->", b"+1,2:a-x", b"+1,2:ax", b"+1,2:a->b",
    b"+1,2:a->bcd",            # newline expected
    b"+1,2:a->bc\r\n\n",
    b"+429496720,1:",          # the largest length that is not refused ...
    b"+4294967209,1:ab",       # ... and the largest value it can reach
    b"+4294967210,1:",         # overflow: "out of memory"
    b"+1,4294967210:",
    b"+1,42949672090:",
    b"+99999999999999999999,1:a->b\n\n",
    b"+1,1:a->b\n" * 50 + b"+1,1:a->bb\n\n",   # entry 51
]


@pytest.mark.parametrize("data", BAD_INPUTS)
def test_cdbmake_bad_input(compare, tmp_path, data):
    q = make_both(compare, tmp_path, data)
    assert q.result.code == 111
    assert not (q.dir / "f").exists()


@pytest.mark.parametrize("args", [[], ["f"], ["f", "f.tmp", "x"], ["", "f.tmp"], ["f", ""]])
def test_cdbmake_usage(compare, tmp_path, args):
    q = make_both(compare, tmp_path, b"+1,1:a->b\n\n", args=args)
    assert q.result.code == 100


def _dirs(d):
    (d / "dir").mkdir()
    (d / "loop").symlink_to("loop")


@pytest.mark.parametrize("args", [
    ["nodir/f", "f.tmp"],     # unable to rename
    ["f", "nodir/f.tmp"],     # unable to create
    ["dir", "f.tmp"],         # rename over a directory
    ["f", "dir"],             # create a directory
    ["f", "loop"],
    ["loop/f", "f.tmp"],
])
def test_cdbmake_file_errors(compare, tmp_path, args):
    q, c = run_both(compare, tmp_path, "cdbmake", args, input=b"+1,1:a->b\n\n", make_files=_dirs)
    assert q.result.code == 111
    # The one difference: after a failed rename, qbox removes the temporary
    # file (CdbMaker never leaves one behind); freecdb leaves it.
    assert tree(q.dir) == {k: v for k, v in tree(c.dir).items() if k != "f.tmp"}


def test_cdbmake_replaces_atomically(compare, tmp_path):
    def old(d):
        (d / "f").write_bytes(b"old contents")
    q = make_both(compare, tmp_path, b"+1,1:k->v\n\n", make_files=old)
    with open(q.dir / "f", "rb") as f:
        assert run([str(compare.bindir / "cdbget"), "k"], input=None, stdin=f).out == b"v"


def test_cdbmake_stdin_errors(compare, tmp_path):
    (tmp_path / "d").mkdir()
    run_both(compare, tmp_path / "d", "cdbmake", ["f", "f.tmp"], stdin_path=str(tmp_path))


def test_cdbmake_fifo_as_temporary(compare, tmp_path):
    def fifo(d):
        os.mkfifo(d / "fifo")
    # No reader: freecdb opens without blocking and fails; so does qbox.
    make_both(compare, tmp_path / "noreader", b"+1,1:a->b\n\n", args=["f", "fifo"],
              make_files=fifo)
    # With a reader: it cannot seek, and fails before reading any input.
    for tag, prog in (("q", compare.bindir), ("c", CLASSIC)):
        d = tmp_path / tag
        d.mkdir()
        os.mkfifo(d / "fifo")
        fd = os.open(d / "fifo", os.O_RDONLY | os.O_NONBLOCK)
        try:
            r = run([str(prog / "cdbmake"), "f", "fifo"], input=b"garbage", cwd=d)
        finally:
            os.close(fd)
        assert (r.code, r.err) == (111, b"cdbmake: fatal: unable to create fifo: unseekable descriptor\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_cdbmake_device_as_temporary(compare, tmp_path):
    def devs(d):
        os.mknod(d / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
        os.mknod(d / "full", stat.S_IFCHR | 0o600, os.makedev(1, 7))
    # /dev/null cannot fsync; /dev/full cannot be written. The device stays.
    for args, sub in ((["f", "null"], "null"), (["f", "full"], "full")):
        q = make_both(compare, tmp_path / sub, b"+1,1:a->b\n\n", args=args, make_files=devs)
        assert q.result.code == 111
        assert (q.dir / sub).exists()


# ---- cdbget ------------------------------------------------------------------

SMALL = [(b"a", b"bc"), (b"a", b"d"), (b"one", b"1"), (b"", b"empty key"), (b"a", b""),
         (b"x" * 40, b"long key"), (b"bin\xff", b"\0\1\2")]


@pytest.mark.parametrize("args", [
    ["a"], ["a", "0"], ["a", "1"], ["a", "2"], ["a", "3"], ["a", "1000"], ["one"], ["x" * 40],
    ["x" * 39], ["zzz"], ["a", "18446744073709551615"], ["a", "18446744073709551616"],
    ["a", "18446744073709551617"], ["a", ""], ["bin\udcff"],
    # usage
    [], [""], ["a", "1x"], ["a", "-1"], ["a", " 1"], ["a", "1", "2"],
])
def test_cdbget(compare, tmp_path, args):
    data = make_cdb(tmp_path, SMALL)
    same_on_file(compare, tmp_path, "cdbget", args, data)


def run_to(argv, stdin_path, stdout_path):
    """Runs argv with files as stdin and stdout; (exit code, stderr)."""
    with open(stdin_path, "rb") as i, open(stdout_path, "wb") as o:
        p = subprocess.run(argv, stdin=i, stdout=o, stderr=subprocess.PIPE, timeout=30)
    return p.returncode, p.stderr


def test_cdbget_big_data_and_write_errors(compare, tmp_path):
    recs = [(b"k", bytes(range(256)) * 100), (b"small", b"x" * 100)]
    data = make_cdb(tmp_path, recs)
    assert same_on_file(compare, tmp_path, "cdbget", ["k"], data).out == recs[0][1]
    # A write error while copying (data over 8192 bytes), or at the flush.
    for key, msg in ((b"k", b"write"), (b"small", b"flush")):
        want = (111, b"cdbget: fatal: unable to %s output: out of disk space\n" % msg)
        for prog in (compare.bindir, CLASSIC):
            assert run_to([str(prog / "cdbget"), key], tmp_path / "in.cdb", "/dev/full") == want


def damaged_variants(data, rnd, count=60):
    """Truncations and corruptions of a cdb: header, tables, records."""
    out = [b"", data[:3], data[:2047], data[:2048], data[:2049]]
    for _ in range(count):
        d = bytearray(data)
        kind = rnd.random()
        if kind < 0.35:
            d = d[:rnd.randrange(len(d))]
        elif kind < 0.6:
            for _ in range(rnd.randint(1, 4)):
                d[rnd.randrange(len(d))] = rnd.randrange(256)
        elif kind < 0.85:
            i = rnd.randrange(0, 2048, 4)
            d[i:i + 4] = struct.pack("<I", rnd.choice([0, 1, 2047, 2048, len(d) - 4, len(d),
                                                       0x7FFFFFFF, 0xFFFFFFFF,
                                                       rnd.randrange(1 << 32)]))
        else:
            i = rnd.randrange(len(d) - min(len(d) - 2048, 4000), len(d) - 3)
            d[i:i + 4] = struct.pack("<I", rnd.randrange(1 << 32))
        out.append(bytes(d))
    return out


def test_cdbget_damaged_files(compare, tmp_path):
    rnd = random.Random(7)
    recs = [(b"key%d" % i, b"v" * (i % 50)) for i in range(200)] + [(b"key3", b"again")]
    data = make_cdb(tmp_path, recs)
    for d in damaged_variants(data, rnd):
        for args in (["key3"], ["key3", "1"], ["key150"], ["nope"]):
            same_on_file(compare, tmp_path, "cdbget", args, d)


def closed_stdin():
    return {"stdin": subprocess.DEVNULL, "preexec_fn": lambda: os.close(0)}


def test_cdbget_unusual_inputs(compare, tmp_path):
    data = make_cdb(tmp_path, SMALL)
    # A pipe has size 0 for cdb-0.75: "protocol error"; so has /dev/null.
    compare.same("cdbget", ["a"], input=data)
    for args in (["a"], ["zz"]):
        run_both(compare, tmp_path / args[0], "cdbget", args, stdin_path="/dev/null")
    # Standard input closed.
    r = compare.same("cdbget", ["a"], input=None, **closed_stdin())
    assert r.err == b"cdbget: fatal: unable to read input: file descriptor not open\n"


def test_cdbget_directory_on_stdin(compare, tmp_path):
    # freecdb crashes here (it reads a failed mmap); qbox says why.
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        r = run([str(compare.bindir / "cdbget"), "a"], input=None, stdin=fd)
    finally:
        os.close(fd)
    assert (r.code, r.out, r.err) == (111, b"", b"cdbget: fatal: unable to read input: is a directory\n")


# ---- cdbdump, cdbstats -------------------------------------------------------

def test_dump_and_stats_small(compare, tmp_path):
    for recs in ([], SMALL, [(b"k" * 1025, b"long keys are not counted"), (b"k" * 1024, b"x")]):
        data = make_cdb(tmp_path, recs)
        out = same_on_file(compare, tmp_path, "cdbdump", [], data).out
        assert out == records_input(recs)
        same_on_file(compare, tmp_path, "cdbstats", [], data)
        # cdbdump reads sequentially: a pipe works, cdbstats' lookups do not.
        compare.same("cdbdump", [], input=data)
        compare.same("cdbstats", [], input=data)


@pytest.mark.parametrize("name", ["cdbdump", "cdbstats"])
def test_dump_and_stats_usage_and_inputs(compare, tmp_path, name):
    fix = lambda e: normalize(e, compare.bindir, CLASSIC)  # noqa: E731
    compare.same(name, ["x"], fix_err=fix)
    compare.same(name, ["-h"], fix_err=fix)
    compare.same(name, [], input=b"")
    compare.same(name, [], input=None, **closed_stdin())
    run_both(compare, tmp_path / "null", name, [], stdin_path="/dev/null")
    run_both(compare, tmp_path / "dir", name, [], stdin_path=str(tmp_path))


def test_dump_and_stats_damaged_files(compare, tmp_path):
    rnd = random.Random(11)
    recs = [(b"key%d" % i, b"v" * (i % 300)) for i in range(300)] + [(b"key3", b"again")]
    data = make_cdb(tmp_path, recs)
    for d in damaged_variants(data, rnd, count=80):
        # cdbdump prints every record before the damage, byte for byte.
        same_on_file(compare, tmp_path, "cdbdump", [], d)
        compare.same("cdbdump", [], input=d)
        same_on_file(compare, tmp_path, "cdbstats", [], d)


def test_dump_write_errors(compare, tmp_path):
    for n in (1, 3000):
        data = make_cdb(tmp_path, [(b"key%d" % i, b"value") for i in range(n)])
        (tmp_path / "in.cdb").write_bytes(data)
        for name in ("cdbdump", "cdbstats"):
            got = [run_to([str(prog / name)], tmp_path / "in.cdb", "/dev/full")
                   for prog in (compare.bindir, CLASSIC)]
            assert got[0] == got[1]
            assert got[0][0] == 111


# ---- cdbtest -----------------------------------------------------------------

def cdbtest_report(found, other, badlen, notfound, untested):
    return (b"found: %d\ndifferent record: %d\nbad length: %d\nnot found: %d\nuntested: %d\n"
            % (found, other, badlen, notfound, untested))


def cdbtest(compare, data, tmp_path):
    path = tmp_path / "test.cdb"
    path.write_bytes(data)
    with open(path, "rb") as f:
        return run([str(compare.bindir / "cdbtest")], input=None, stdin=f)


def test_cdbtest_counts(compare, tmp_path):
    recs = [(b"a", b"1"), (b"b", b"2"), (b"a", b"3"), (b"k" * 1024, b"tested"),
            (b"k" * 1025, b"untested"), (b"", b""), (b"a", b"4")]
    data = make_cdb(tmp_path, recs)
    r = cdbtest(compare, data, tmp_path)
    assert (r.code, r.out, r.err) == (0, cdbtest_report(4, 2, 0, 0, 1), b"")
    r = cdbtest(compare, make_cdb(tmp_path, []), tmp_path)
    assert (r.code, r.out) == (0, cdbtest_report(0, 0, 0, 0, 0))
    # Arguments are ignored, as by cdb-0.75's cdbtest.
    with open(tmp_path / "test.cdb", "rb") as f:
        assert run([str(compare.bindir / "cdbtest"), "x", "y"], input=None, stdin=f).code == 0


def table_slot(data, key, rpos):
    """The offset of the hash-table slot that points to the record at rpos."""
    h = djb_hash(key)
    hpos, hslots = struct.unpack_from("<II", data, (h & 255) * 8)
    for i in range(hslots):
        sh, sp = struct.unpack_from("<II", data, hpos + 8 * i)
        if sp == rpos:
            return hpos + 8 * i
    raise AssertionError("no slot")


def test_cdbtest_damage(compare, tmp_path):
    recs = [(b"a", b"1"), (b"b", b"22")]
    data = make_cdb(tmp_path, recs)
    # b's record is at 2048 + 8 + 1 + 1; spoil the hash in its slot: not found.
    d = bytearray(data)
    slot = table_slot(data, b"b", 2058)
    d[slot:slot + 4] = struct.pack("<I", djb_hash(b"b") ^ 0x100)
    r = cdbtest(compare, bytes(d), tmp_path)
    assert (r.code, r.out) == (0, cdbtest_report(1, 0, 0, 1, 0))
    # Point b's slot at a's record (same key length, other key): not found;
    # point it past the end: a read error.
    d = bytearray(data)
    d[slot + 4:slot + 8] = struct.pack("<I", len(data) + 100)
    r = cdbtest(compare, bytes(d), tmp_path)
    assert (r.code, r.out, r.err) == (111, b"", b"cdbtest: fatal: unable to read input: protocol error\n")
    for cut in (0, 3, 2047, 2048 + 5, 2048 + 8):  # before any lookup
        r = cdbtest(compare, data[:cut], tmp_path)
        assert (r.code, r.out, r.err) == (111, b"", b"cdbtest: fatal: unable to read input: truncated file\n")
    # A pipe: cdb-0.75 sees size 0, so the first lookup is a protocol error.
    r = run([str(compare.bindir / "cdbtest")], input=data)
    assert (r.code, r.err) == (111, b"cdbtest: fatal: unable to read input: protocol error\n")
    r = run([str(compare.bindir / "cdbtest")], input=make_cdb(tmp_path, []))
    assert (r.code, r.out) == (0, cdbtest_report(0, 0, 0, 0, 0))
    (tmp_path / "test.cdb").write_bytes(data)
    assert run_to([str(compare.bindir / "cdbtest")], tmp_path / "test.cdb", "/dev/full") == (
        111, b"cdbtest: fatal: unable to write output: out of disk space\n")


# ---- a big random database -----------------------------------------------------

def random_records(seed, n=4000):
    rnd = random.Random(seed)
    recs, keys = [], []
    for _ in range(n):
        if keys and rnd.random() < 0.15:
            k = rnd.choice(keys)           # repeated keys
        else:
            k = rnd.randbytes(rnd.choice([0, 1, 2, 8, 30, 200, 1030]) if rnd.random() < 0.05
                              else rnd.randint(1, 24))
            keys.append(k)
        v = rnd.randbytes(rnd.choice([0, 1, 5, 40, 300, 5000]))
        recs.append((k, v))
    return recs


def expected_cdbtest(recs):
    first = {}
    found = other = untested = 0
    for i, (k, _) in enumerate(recs):
        if len(k) > 1024:
            untested += 1
        elif first.setdefault(k, i) == i:
            found += 1
        else:
            other += 1
    return cdbtest_report(found, other, 0, 0, untested)


def test_big_random_database(compare, tmp_path):
    recs = random_records(2024)
    text = records_input(recs)
    q = make_both(compare, tmp_path, text, args=["big.cdb", "big.tmp"])
    data = (q.dir / "big.cdb").read_bytes()
    assert same_on_file(compare, tmp_path, "cdbdump", [], data).out == text
    same_on_file(compare, tmp_path, "cdbstats", [], data)
    assert cdbtest(compare, data, tmp_path).out == expected_cdbtest(recs)
    rnd = random.Random(5)
    by_key = {}
    for k, v in recs:
        by_key.setdefault(k, []).append(v)
    for k in rnd.sample(sorted(by_key), 150):
        if not k or b"\0" in k:
            continue   # not expressible as an argument
        vals = by_key[k]
        for skip in sorted({0, len(vals) - 1, len(vals)}):
            r = same_on_file(compare, tmp_path, "cdbget", [k, str(skip)], data)
            assert r.out == (vals[skip] if skip < len(vals) else b"")


# ---- tinycdb's cdb, both ways ------------------------------------------------------

def test_qbox_cdbmake_read_by_tinycdb(compare, tmp_path):
    recs = random_records(99, n=2000)
    r = run([str(compare.bindir / "cdbmake"), "q.cdb", "q.tmp"], input=records_input(recs),
            cwd=tmp_path)
    assert r.code == 0
    assert run([CDB, "-d", "q.cdb"], cwd=tmp_path).out == records_input(recs)
    by_key = {}
    for k, v in recs:
        by_key.setdefault(k, []).append(v)
    for k in random.Random(1).sample(sorted(by_key), 100):
        if not k or b"\0" in k or k.startswith(b"-"):
            continue
        vals = by_key[k]
        got = run([CDB, "-q", "q.cdb", k], cwd=tmp_path)   # all its values
        assert (got.code, got.out) == (0, b"".join(vals))
        for i, v in enumerate(vals):
            got = run([CDB, "-q", "-n", str(i + 1), "q.cdb", k], cwd=tmp_path)
            assert (got.code, got.out) == (0, v)
    assert run([CDB, "-q", "q.cdb", "no such key \x01"], cwd=tmp_path).code == 100


def test_tinycdb_file_read_by_qbox(compare, tmp_path):
    recs = random_records(7, n=2000)
    r = run([CDB, "-c", "t.cdb"], input=records_input(recs), cwd=tmp_path)
    assert r.code == 0, r.err
    data = (tmp_path / "t.cdb").read_bytes()
    assert same_on_file(compare, tmp_path, "cdbdump", [], data).out == records_input(recs)
    same_on_file(compare, tmp_path, "cdbstats", [], data)
    assert cdbtest(compare, data, tmp_path).out == expected_cdbtest(recs)
    by_key = {}
    for k, v in recs:
        by_key.setdefault(k, []).append(v)
    for k in random.Random(2).sample(sorted(by_key), 100):
        if not k or b"\0" in k:
            continue
        for skip, v in enumerate(by_key[k]):
            with open(tmp_path / "t.cdb", "rb") as f:
                got = run([str(compare.bindir / "cdbget"), k, str(skip)], input=None, stdin=f)
            assert (got.code, got.out) == (0, v)
    # Same bytes as qbox's own cdbmake would write.
    run([str(compare.bindir / "cdbmake"), "q.cdb", "q.tmp"], input=records_input(recs), cwd=tmp_path)
    assert (tmp_path / "q.cdb").read_bytes() == data
