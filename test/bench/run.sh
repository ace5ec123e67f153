#!/bin/sh
# ninja bench: qbox against the classic programs from Debian (tai64n,
# tai64nlocal, dispatcher start-up, binary size). Reports, never fails.
cd "$(dirname "$0")/../.." || exit 111
/usr/bin/python3 test/bench/bench.py
exit 0
