"""A private Postfix instance (Debian's postfix package) for the
benchmarks, next to qbox and never touching the machine's own Postfix.

Everything lives under DIR/postfix: its own config_directory (etc/: the
package's meta files, our main.cf and master.cf), queue_directory (spool/)
and data_directory (data/), and its log (maillog, written by postlogd).
master.cf is the package's without chroot and without its inet listeners;
`services` lines (e.g. an smtpd on a loopback port) are added after it.
main.cf has the settings every benchmark wants (loopback, IPv4, our
domain, no aliases, no biff) and then the caller's. Needs root.

    pf = Postfix(top, "bench.example", main_cf="home_mailbox = Maildir/\\n")
    pf.start()
    ...
    pf.stop()

Also: the strace tallies the benchmarks print (system calls per program,
following execve, from `strace -f -ff -o PREFIX` files).
"""
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

POSTFIX = Path("/usr/sbin/postfix")
TICK = os.sysconf("SC_CLK_TCK")


def available():
    return POSTFIX.exists()


def version():
    r = subprocess.run(["postconf", "-dh", "mail_version"], capture_output=True, text=True)
    return r.stdout.strip() or "?"


class Postfix:
    def __init__(self, top, domain, main_cf="", services=()):
        self.dir = Path(top) / "postfix"
        self.etc = self.dir / "etc"
        self.spool = self.dir / "spool"
        data = self.dir / "data"
        self.dir.mkdir()
        os.chmod(self.dir, 0o755)
        # The package's meta files (postfix-files, dynamicmaps.cf, ...), with
        # our main.cf and master.cf.
        shutil.copytree("/etc/postfix", self.etc, symlinks=False)
        for f in ("main.cf", "makedefs.out"):
            if (self.etc / f).is_symlink() or (self.etc / f).exists():
                os.unlink(self.etc / f)
        shutil.copy("/usr/share/postfix/makedefs.out", self.etc / "makedefs.out")
        self.spool.mkdir()
        data.mkdir()
        shutil.chown(data, "postfix")
        (self.etc / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {self.spool}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = {domain}
mydomain = {domain}
myorigin = {domain}
inet_interfaces = loopback-only
inet_protocols = ipv4
alias_maps =
alias_database =
biff = no
maillog_file_prefixes = {self.dir}
maillog_file = {self.dir}/maillog
""" + main_cf)
        # The package's master.cf without its listeners and without chroot
        # (the queue directory is not set up as a chroot jail).
        lines = []
        for line in Path("/etc/postfix/master.cf").read_text().splitlines():
            f = line.split()
            if f and not line[0].isspace() and not line.startswith("#") and len(f) >= 8:
                if f[1] == "inet":
                    line = "#" + line
                elif f[4] == "y":
                    f[4] = "n"
                    line = "  ".join(f)
            lines.append(line)
        (self.etc / "master.cf").write_text("\n".join(lines + list(services)) + "\n")
        self.postfix("check")
        self.running = False
        self.traced = None

    def daemon_pid(self):
        """The master's pid, or 0 when it is not running."""
        try:
            return int((self.spool / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    def log_tail(self, n=2000):
        log = self.dir / "maillog"
        return log.read_text(errors="replace")[-n:] if log.exists() else ""

    def postfix(self, *args):
        r = subprocess.run([str(POSTFIX), "-c", str(self.etc)] + list(args),
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"postfix {' '.join(args)}: exit {r.returncode}: "
                             f"{r.stderr.strip()}\n{self.log_tail()}")

    def start(self, prefix=()):
        """Starts the instance; with a prefix (strace, taskset) the command
        runs under it in the background for as long as the instance runs."""
        if not prefix:
            self.postfix("start")
            self.running = True
            return
        self.traced = subprocess.Popen(list(prefix) + [str(POSTFIX), "-c", str(self.etc), "start"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.running = True
        deadline = time.time() + 30
        while subprocess.run([str(POSTFIX), "-c", str(self.etc), "status"],
                             capture_output=True).returncode != 0:
            if time.time() > deadline:
                raise SystemExit(f"postfix did not start under {prefix[0]}")
            time.sleep(0.1)

    def stop(self):
        if self.running:
            self.running = False
            self.postfix("stop")
        if self.traced:
            try:
                self.traced.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.traced.kill()
                self.traced.wait()
            self.traced = None


# ---- the end of a run -------------------------------------------------------------------

def stop_all(systems, top, keep, say=print):
    """Stops every system (a failure to stop is a warning) and removes the
    benchmark's directory unless `keep`."""
    for system in systems:
        try:
            system.stop()
        except SystemExit as e:
            say(f"warning: {e}")
    if keep:
        say(f"kept {top}")
    else:
        shutil.rmtree(top, ignore_errors=True)


def wait_reaped(pid, timeout=10):
    """Waits until process pid has no children left (so that their CPU
    time shows in its cutime and cstime)."""
    kids = Path(f"/proc/{pid}/task/{pid}/children")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not kids.read_text().split():
                return
        except OSError:
            return
        time.sleep(0.02)


# ---- CPU time ------------------------------------------------------------------------

def tree_cpu(pid):
    """CPU seconds of a process, its reaped children and its live
    descendants."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except (OSError, ValueError):
        return 0.0
    own = sum(int(x) for x in fields[11:15]) / TICK  # utime stime cutime cstime
    return own + sum(tree_cpu(k) for k in kids)


# ---- strace tallies ---------------------------------------------------------------------

SYNC = {"fsync", "fdatasync", "sync_file_range", "syncfs", "sync"}
OPEN = {"open", "openat", "openat2", "creat"}
STAT = {"stat", "lstat", "fstat", "newfstatat", "statx", "access", "faccessat", "faccessat2"}
NAMES = {"link", "linkat", "rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir",
         "mkdirat", "rmdir", "symlink", "symlinkat"}
PROCESS = {"fork", "vfork", "clone", "clone3", "execve"}
IO = {"read", "write", "readv", "writev", "recvfrom", "sendto", "recvmsg", "sendmsg", "poll",
      "ppoll", "select", "pselect6"}
COLUMNS = [("fsync", SYNC), ("open", OPEN), ("stat", STAT), ("link/unlink/rename", NAMES)]
LINE = re.compile(r"^(?:\d+ +)?(?:[\d:.]+ +)?([a-z_0-9]+)\(")
EXEC = re.compile(r'^(?:\d+ +)?execve\("([^"]*)".* = 0$')
SYNCED = re.compile(r"^(?:\d+ +)?(?:fsync|fdatasync)\(\d+<([^>]*)>\)", re.M)
FORK = re.compile(r"^(?:\d+ +)?(?:fork|vfork|clone|clone3)\(.* = (\d+)$")


def attributed(lines, prog):
    """(program, line) for the lines of one process that started as prog,
    following its execve calls."""
    for line in lines:
        m = EXEC.match(line)
        if m:
            prog = os.path.basename(m.group(1))
        else:
            yield prog, line


def strace_counts(files, programs, columns=COLUMNS):
    """{program: {column: count, "all": count}} from strace -ff output
    files. A process counts as the program it last executed; before its
    first execve, as its parent (qmail-lspawn's child looks up the user and
    switches to it)."""
    lines = {int(f.name.rsplit(".", 1)[1]): f.read_text(errors="replace").splitlines()
             for f in files}
    inherited = {}
    for _ in range(10):  # parents first, however the pids were numbered
        changed = False
        for pid, ls in lines.items():
            for prog, line in attributed(ls, inherited.get(pid)):
                m = FORK.match(line)
                if m and prog and inherited.get(int(m.group(1))) != prog:
                    inherited[int(m.group(1))] = prog
                    changed = True
        if not changed:
            break
    zero = {k: 0 for k, _ in columns} | {"all": 0}
    counts = {}
    for pid, ls in lines.items():
        for prog, line in attributed(ls, inherited.get(pid)):
            m = LINE.match(line)
            if not m or prog not in programs:
                continue
            c = counts.setdefault(prog, dict(zero))
            c["all"] += 1
            for k, calls in columns:
                if m.group(1) in calls:
                    c[k] += 1
    return counts
