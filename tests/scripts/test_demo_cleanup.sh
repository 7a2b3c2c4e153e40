#!/bin/sh
# `make demo | head`: when the demo's output is cut (SIGPIPE), early or
# once its relay runs, it still stops its relay and removes its folder with
# the passphrase files.
set -u
. "$(dirname "$0")/lib.sh"
t_tempdir
[ -x "$B/tests/demo/demo_crypto" ] || fail "build the demo first (make scripts)"

# cut AWK-PROGRAM: the demo's output through a reader that stops early.
cut_demo() {
	mkdir -p "$T_DIR/tmp"
	TMPDIR="$T_DIR/tmp" B="$B" timeout 300 sh tests/demo/run.sh \
	    2>"$T_DIR/demo.err" | awk "$1" >"$T_DIR/seen"
	# The demo ends at its next write; wait for what it started.
	n=0
	while [ $n -lt 100 ]; do
		[ -n "$(t_procs_matching "$T_DIR/tmp")" ] || break
		sleep 0.2
		n=$((n + 1))
	done
	left=$(t_procs_matching "$T_DIR/tmp")
	[ -z "$left" ] || fail "$2: still running: $left"
	[ -z "$(ls -A "$T_DIR/tmp")" ] ||
	    fail "$2: left behind: $(ls -A "$T_DIR/tmp")"
	echo "ok: $2: nothing left"
}

cut_demo 'NR == 2 { exit }' "cut at the second line"
cut_demo '{ print } /relay listening on/ { exit }' "cut once the relay runs"
grep -q 'relay listening on' "$T_DIR/seen" ||
    fail "the demo did not get as far as its relay: $(cat "$T_DIR/demo.err")"
