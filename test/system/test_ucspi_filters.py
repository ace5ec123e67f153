"""addcr, delcr and argv0 against Debian's ucspi-tcp."""
import os

import pytest

SAMPLES = [b"", b"a", b"a\n", b"a\r\n", b"\r", b"\r\r\n", b"x\ry\r\n\n\r", b"\n" * 5,
           b"no newline at end\r", bytes(range(256)) * 40 + b"\r"]


@pytest.mark.parametrize("data", SAMPLES)
def test_addcr_delcr_match(compare, data):
    compare.same("addcr", [], input=data)
    compare.same("delcr", [], input=data)


def test_big_input(compare):
    data = (b"line with crlf\r\n" + b"bare cr\r here\n" + b"\r" * 9000) * 500
    compare.same("addcr", [], input=data)
    compare.same("delcr", [], input=data)


def test_argv0_runs_with_name(compare):
    compare.same("argv0", ["sh", "my-name", "-c", 'echo "$0 $1"', "x"])


@pytest.mark.parametrize("args", [[], ["sh"], ["/nonexistent/prog", "x"], ["nonexistent-prog", "x"]])
def test_argv0_errors(compare, args):
    compare.same("argv0", args)


def test_argv0_path_search(compare, tmp_path):
    prog = tmp_path / "hello"
    prog.write_text("#!/bin/sh\necho \"$0\" hi\n")
    prog.chmod(0o755)
    env = dict(os.environ, PATH=f"{tmp_path}:/usr/bin:/bin")
    compare.same("argv0", ["hello", "called-as"], env=env)
    noexec = tmp_path / "noexec"
    noexec.write_text("#!/bin/sh\n")
    compare.same("argv0", ["noexec", "x"], env=env)


def strip_pids(err):
    """PIDs normalised, and the two directions apart: how the lines of the
    two directions interleave depends on scheduling, within one it does not."""
    import re
    lines = re.sub(rb"(?m)^\d+ ", b"PID ", err).splitlines(keepends=True)
    # Whether "< [EOF]" is recorded before the program's output ends is a
    # race in the classic program too.
    lines = [l for l in lines if l != b"PID < [EOF]\n"]
    return (b"".join(l for l in lines if l.startswith(b"PID < ")),
            b"".join(l for l in lines if l.startswith(b"PID > ")),
            b"".join(l for l in lines if not l.startswith(b"PID ")))


def same_eventually(compare, name, args, tries=5, **kw):
    """Chunk boundaries depend on scheduling (for both programs): compare
    until one run of each agrees, a few times at most."""
    for _ in range(tries - 1):
        ours, theirs = compare.both(name, args, **kw)
        if (ours.code, ours.out, strip_pids(ours.err)) == (theirs.code, theirs.out, strip_pids(theirs.err)):
            return
    compare.same(name, args, fix_err=strip_pids, **kw)


INTERPOSE_INPUTS = [b"", b"hello\n", b"no newline", b"a\nb\r\nc\rd\n\n", b"x" * 700 + b"\n" + b"y" * 300,
                    b"\r\n" * 200 + b"\n" * 100]


# Only programs whose output chunks do not depend on scheduling: cat writes
# back exactly the chunks it was given; the others run without input.
@pytest.mark.parametrize("data", INTERPOSE_INPUTS)
def test_recordio_matches(compare, data):
    same_eventually(compare, "recordio", ["cat"], input=data)


@pytest.mark.parametrize("prog", [["true"], ["printf", "one\\ntwo"], ["sh", "-c", "echo a; exit 3"]])
def test_recordio_without_input(compare, prog):
    same_eventually(compare, "recordio", prog)


def test_recordio_pid_is_the_programs(applet_bin):
    from conftest import run
    r = run([str(applet_bin / "recordio"), "sh", "-c", "echo $$"])
    pid = r.out.strip()
    assert pid + b" > " + pid + b" \n" in r.err


@pytest.mark.parametrize("data", INTERPOSE_INPUTS)
def test_fixcrio_matches(compare, data):
    compare.same("fixcrio", ["cat"], input=data)


def test_fixcrio_output_only(compare):
    compare.same("fixcrio", ["printf", "one\\ntwo\\r\\nthree\\n\\r"])


@pytest.mark.parametrize("name", ["recordio", "fixcrio"])
@pytest.mark.parametrize("args", [[], ["/nonexistent/prog"], ["nonexistent-prog-xyz"]])
def test_interpose_errors(compare, name, args):
    compare.same(name, args, fix_err=strip_pids)
