#!/usr/bin/python3
"""qbox's EC code (src/tls: P-256, ECDSA, X25519) next to BearSSL's, in
CPU microseconds per operation: the best of 5 runs of 200 calls each.

lib/ec_bench.cpp is built here with the host's g++ against the host
build of BearSSL that configure.sh makes (build/deps/host), each source
of src/tls with the optimization its object gets in build.ninja (opt =
...; -Os otherwise), so the numbers are those of build/qbox's code, give
or take glibc against musl.
"""
import re
import subprocess
import sys
import tempfile
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
SOURCES = ["ec", "ecdsa", "p256", "p256_table", "x25519", "x25519_base", "ed25519_table"]


def object_opt(name):
    """The opt of build/obj/tls/NAME.o in build.ninja, or -Os."""
    text = (TOP / "build.ninja").read_text()
    m = re.search(rf"^build build/obj/tls/{name}\.o: cxx .*\n  opt = (.*)$", text, re.M)
    return m.group(1).split() if m else ["-Os"]


def main():
    lib = TOP / "build" / "deps" / "host" / "libbearssl.a"
    if not lib.exists():
        print("ec_bench: skipped: build/deps/host/libbearssl.a is missing (run ./configure.sh)")
        return 0
    flags = ["-std=c++20", "-fno-exceptions", "-fno-rtti", f"-I{TOP}/src", f"-I{TOP}/build/deps/include"]
    with tempfile.TemporaryDirectory() as tmp:
        objs = []
        for name in SOURCES + ["bench"]:
            src = TOP / "test/bench/lib/ec_bench.cpp" if name == "bench" else TOP / f"src/tls/{name}.cpp"
            obj = f"{tmp}/{name}.o"
            opt = ["-O2"] if name == "bench" else object_opt(name)
            subprocess.run(["g++", *flags, *opt, "-c", str(src), "-o", obj], check=True)
            objs.append(obj)
        exe = f"{tmp}/ec_bench"
        subprocess.run(["g++", "-o", exe, *objs, str(lib)], check=True)
        print("ec_bench: CPU time per operation (best of 5 runs of 200)")
        sys.stdout.flush()
        return subprocess.run([exe]).returncode


if __name__ == "__main__":
    sys.exit(main())
