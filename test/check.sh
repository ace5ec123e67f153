#!/bin/sh
# ninja check: the unit tests (doctest, host build with sanitizers), then the
# system tests (pytest driving build/qbox). Ends with "N passed, N failed".
cd "$(dirname "$0")/.." || exit 111
mkdir -p build/test
python=/usr/bin/python3   # Debian's, which has python3-pytest

echo "== unit tests"
build/unit-tests --no-colors=true --reporters=console >build/test/unit.log 2>&1
unit_rc=$?
cat build/test/unit.log | grep -v '^$' | tail -n 40
# "[doctest] test cases:  12 |  12 passed | 0 failed | 0 skipped"
unit_passed=$(sed -n 's/.*test cases: *[0-9]* *| *\([0-9]*\) passed.*/\1/p' build/test/unit.log)
unit_failed=$(sed -n 's/.*test cases:.*| *\([0-9]*\) failed.*/\1/p' build/test/unit.log)
: "${unit_passed:=0}" "${unit_failed:=1}"
[ "$unit_rc" = 0 ] || [ "$unit_failed" != 0 ] || unit_failed=1

echo "== system tests"
rm -f build/test/system.xml
$python -m pytest -q -p no:cacheprovider --junitxml=build/test/system.xml "$@" test/system
sys_counts=$($python - <<'PY'
import xml.etree.ElementTree as ET
try:
    root = ET.parse("build/test/system.xml").getroot()
except Exception:
    print("0 1 0"); raise SystemExit
suites = [root] if root.tag == "testsuite" else list(root)
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(tests - bad - skipped, bad, skipped)
PY
)
set -- $sys_counts
passed=$((unit_passed + $1))
failed=$((unit_failed + $2))
if [ "$3" -gt 0 ]; then
  echo "$passed passed, $failed failed, $3 skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ]
