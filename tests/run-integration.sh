#!/bin/sh
# Runs each integration-test binary given, with the built programs on PATH.
set -u
B=${B:-build}
PATH="$(pwd)/$B:$PATH"
export PATH HOTLINE_BUILD="$(pwd)/$B"
fail=0
for t in "$@"; do
	echo "== integration: ${t##*/}"
	"$t" || { echo "FAILED: $t"; fail=1; }
done
[ $fail = 0 ] && [ $# -gt 0 ] && echo "== integration: all passed"
exit $fail
