#!/bin/sh
# Runs every scenario in tests/drills/ with the real hotline-drill.
set -u
B=${B:-build}
[ -x "$B/hotline-drill" ] || exit 0
PATH="$(pwd)/$B:$PATH"
export PATH
fail=0
for d in tests/drills/*.drill; do
	[ -e "$d" ] || continue
	echo "== drill: $d"
	"$B/hotline-drill" "$d" || { echo "FAILED: $d"; fail=1; }
done
exit $fail
