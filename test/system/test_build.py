"""The build itself: a static musl binary with nothing of glibc inside, and
configure.sh's behaviour when it may not install what is missing."""
import os
import re
import subprocess

from conftest import QBOX, TOP, run


def test_static_and_stripped():
    r = run(["file", "-L", str(QBOX)])
    assert b"statically linked" in r.out
    assert b"stripped" in r.out and b"not stripped" not in r.out


def test_no_glibc_inside():
    data = QBOX.read_bytes()
    assert b"GLIBC_" not in data
    assert b"glibc" not in data.lower()
    r = run(["readelf", "-l", str(QBOX)])
    assert b"INTERP" not in r.out  # no dynamic loader


def test_small_data_and_bss():
    r = run(["size", str(QBOX)])
    text, data, bss = (int(x) for x in r.out.decode().splitlines()[1].split()[:3])
    # Every process of every applet pays for .data and .bss.
    assert data + bss < 64 * 1024, (data, bss)


def test_configure_prints_install_line_when_it_may_not_install(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    # A dpkg-query that knows no package: everything is missing.
    (fake / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")
    (fake / "dpkg-query").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}")
    r = run([str(TOP / "configure.sh"), "--no-install"], env=env)
    assert r.code == 1
    lines = r.err.decode().splitlines()
    install = [l for l in lines if l.startswith("apt-get install -y ")]
    assert install, r.err
    pkgs = install[0].split()[3:]
    for p in ["g++", "musl-tools", "musl-dev", "ninja-build", "doctest-dev", "daemontools",
              "ucspi-tcp", "tinycdb", "python3-pytest"]:
        assert p in pkgs


def test_configure_help():
    r = run([str(TOP / "configure.sh"), "--help"])
    assert r.code == 0 and b"usage: ./configure.sh" in r.out
    r = run([str(TOP / "configure.sh"), "--bogus"])
    assert r.code == 100
