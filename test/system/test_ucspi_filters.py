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
