#!/bin/sh
# make bench: every benchmark under tests/bench/, each printing its table
# beside the ceiling it is compared with, measured in the same run.
set -eu
B=${B:-build}
PATH="$(pwd)/$B:$PATH"
export PATH HOTLINE_BUILD="$(pwd)/$B"
for b in "$B"/tests/bench/bench_*; do
	[ -x "$b" ] || continue
	echo "== ${b##*/}"
	"$b"
	echo
done
