#!/usr/bin/python3
"""The libFuzzer targets (ninja fuzz: the DNS packet parser, the tcprules
parser, qmail-smtpd's command and DATA parser and its address parser), each run for QBOX_FUZZ_SECONDS (default 600, the issue's ten
minutes) on a corpus kept under build/fuzz/. Reports executions, coverage
and whether anything crashed; exits 1 on a crash. Needs clang with
libFuzzer (Debian clang-14 and libclang-rt-14-dev).
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
SECONDS = int(os.environ.get("QBOX_FUZZ_SECONDS", "600"))
TARGETS = ["build/fuzz/dns_packet", "build/fuzz/rules_fuzz", "build/fuzz/smtp_command",
           "build/fuzz/smtp_address"]


def main():
    if not shutil.which("clang++"):
        print("fuzz: clang++ not installed (apt-get install clang-14 libclang-rt-14-dev); not run")
        return 0
    subprocess.run(["ninja", "-C", str(TOP)] + TARGETS, check=True, stdout=subprocess.DEVNULL)
    failed = False
    for t in TARGETS:
        corpus = TOP / "build" / "fuzz" / ("corpus-" + Path(t).name)
        corpus.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([str(TOP / t), f"-max_total_time={SECONDS}", "-print_final_stats=1",
                            f"-artifact_prefix={corpus.parent}/crash-", str(corpus)],
                           capture_output=True, text=True, cwd=str(TOP))
        log = r.stderr
        execs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", log)
        cov = re.findall(r"cov: (\d+)", log)
        crashed = r.returncode != 0
        failed |= crashed
        print(f"  {Path(t).name:12s} {SECONDS} s  {execs[-1] if execs else '?'} executions  "
              f"coverage {cov[-1] if cov else '?'}  {'CRASH (see build/fuzz/crash-*)' if crashed else 'no crash'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
