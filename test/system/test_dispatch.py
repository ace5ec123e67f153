"""The multi-call dispatcher: names, --list, --install, --help, unknown names."""
import os
import subprocess

from conftest import QBOX, run


def test_list_is_sorted_and_complete():
    r = run([str(QBOX), "--list"])
    assert r.code == 0
    names = r.out.decode().split()
    assert names == sorted(names)
    assert {"addcr", "delcr", "argv0"} <= set(names)


def test_applet_as_first_argument():
    r = run([str(QBOX), "addcr"], input=b"a\n")
    assert (r.code, r.out) == (0, b"a\r\n")


def test_unknown_applet():
    r = run([str(QBOX), "nosuchthing"])
    assert r.code == 100
    assert r.err == b"qbox: unknown applet: nosuchthing\n"
    link_dir_name = "/nonexistent/dir/frobnicate"
    r = run(["frobnicate"], executable=str(QBOX))
    assert (r.code, r.err) == (100, b"qbox: unknown applet: frobnicate\n")


def test_help_prints_usage_and_exits_zero(applet_bin):
    r = run([str(applet_bin / "argv0"), "--help"])
    assert r.code == 0
    assert r.out.startswith(b"usage: argv0 realname program")
    r = run([str(QBOX), "--help"])
    assert r.code == 0 and b"addcr" in r.out


def test_install_symlinks_and_hardlinks(tmp_path):
    sym = tmp_path / "sym"
    hard = tmp_path / "hard"
    sym.mkdir()
    hard.mkdir()
    assert run([str(QBOX), "--install", str(sym)]).code == 0
    assert run([str(QBOX), "--install", "--hardlinks", str(hard)]).code == 0
    names = run([str(QBOX), "--list"]).out.decode().split()
    for n in names:
        assert os.path.islink(sym / n)
        assert os.path.realpath(sym / n) == str(QBOX.resolve())
        assert not os.path.islink(hard / n)
        assert os.stat(hard / n).st_ino == os.stat(QBOX).st_ino
    # Installing again replaces the links without error.
    assert run([str(QBOX), "--install", str(sym)]).code == 0
    r = run([str(sym / "addcr")], input=b"x\n")
    assert r.out == b"x\r\n"


def test_install_needs_a_directory():
    r = run([str(QBOX), "--install"])
    assert r.code == 100 and b"usage" in r.err


def test_setuid_refuses_unsafe_applets(tmp_path):
    """A copy of qbox made setuid to another user runs only setuid-safe
    applets; the others are refused before they do anything."""
    if os.geteuid() != 0:
        import pytest
        pytest.skip("needs root to make a setuid binary for another user")
    d = tmp_path / "suid"
    d.mkdir()
    d.chmod(0o755)
    tmp_path.chmod(0o755)
    exe = d / "qbox"
    exe.write_bytes(QBOX.read_bytes())
    os.chown(exe, 1, 1)  # daemon
    exe.chmod(0o4755)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        str(exe), "addcr"], input=b"a\n", capture_output=True)
    assert r.returncode == 100
    assert b"may not run setuid" in r.stderr
    assert r.stdout == b""
