#!/bin/sh
# Runs each shell test given (tests/scripts/test_*.sh) with B set to the
# build folder and the built programs first on PATH. A script exits 0
# (passed), 77 (skipped: it says why) or anything else (failed).
set -u
B=${B:-build}
B=$(cd "$B" && pwd)
PATH="$B:$PATH"
export B PATH HOTLINE_BUILD="$B"
fail=0
for t in "$@"; do
	echo "== script: ${t##*/}"
	sh "$t"
	rc=$?
	case $rc in
	0) ;;
	77) echo "SKIPPED: $t" ;;
	*) echo "FAILED: $t (exit $rc)"; fail=1 ;;
	esac
done
[ $fail = 0 ] && [ $# -gt 0 ] && echo "== script: all passed"
exit $fail
