#!/bin/sh
# ninja bench: qbox against the classic programs from Debian, each benchmark
# printing its own table and ratios. Reports, never fails the build.
cd "$(dirname "$0")/../.." || exit 111
for b in test/bench/*.py; do
  echo "== $b"
  /usr/bin/python3 "$b"
done
exit 0
