#!/bin/sh
# hotline-drill cleans up on every way out: a failed expectation (exit 1,
# file:line, what was expected and found), SIGTERM, SIGINT, and a reader
# that goes away (SIGPIPE); a malformed scenario is refused with file:line
# before anything starts.
set -u
. "$(dirname "$0")/lib.sh"
t_tempdir
[ -x "$B/hotline-drill" ] || fail "build hotline-drill first"
mkdir -p "$T_DIR/tmp"
export TMPDIR="$T_DIR/tmp"

# nothing_left WHAT: no process of ours and no folder left in $TMPDIR.
nothing_left() {
	n=0
	while [ $n -lt 100 ]; do
		ps -eo args | grep -v grep | grep -q "$TMPDIR" || break
		sleep 0.1
		n=$((n + 1))
	done
	left=$(ps -eo pid,args | grep -v grep | grep "$TMPDIR")
	[ -z "$left" ] || fail "$1: still running: $left"
	[ -z "$(ls -A "$TMPDIR")" ] || fail "$1: left behind: $(ls -A "$TMPDIR")"
	echo "ok: $1: nothing left"
}

cat > "$T_DIR/bad.drill" <<'DRILL'
client a.test register
# a comment

a.test sned b.test hello
DRILL
"$B/hotline-drill" "$T_DIR/bad.drill" >"$T_DIR/out" 2>"$T_DIR/err"
[ $? = 2 ] || fail "a malformed scenario: exit 2 expected"
grep -q "bad.drill:4: a.test: unknown action .sned." "$T_DIR/err" || fail "no file:line: $(cat "$T_DIR/err")"
[ ! -s "$T_DIR/out" ] || fail "something ran: $(cat "$T_DIR/out")"
nothing_left "malformed"

cat > "$T_DIR/fails.drill" <<'DRILL'
client a.test register
client b.test register
a.test send b.test "hello there"
expect b.test sees goodbye within 2s
wait 1s
DRILL
"$B/hotline-drill" "$T_DIR/fails.drill" >"$T_DIR/out" 2>"$T_DIR/err"
[ $? = 1 ] || fail "a failed expectation: exit 1 expected"
grep -q 'fails.drill:4: FAILED: expected b.test to see "goodbye" within 2s; found 1 message received, the newest: "hello there"' \
    "$T_DIR/err" || fail "the failure does not say where and what: $(cat "$T_DIR/err")"
grep -q 'fails.drill:5' "$T_DIR/out" && fail "a step after the failure ran"
grep -qE '^\[[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z' "$T_DIR/out" ||
    fail "steps are not echoed with a timestamp"
nothing_left "failed expectation"

cat > "$T_DIR/long.drill" <<'DRILL'
client a.test register
wait 5m
DRILL
for sig in TERM INT; do
	# A fresh file: the last round's 'wait 5m' must not be taken for this one's.
	rm -f "$T_DIR/out"
	"$B/hotline-drill" "$T_DIR/long.drill" >"$T_DIR/out" 2>&1 &
	pid=$!
	n=0
	until grep -q 'wait 5m' "$T_DIR/out" 2>/dev/null; do
		n=$((n + 1)); [ $n -lt 300 ] || fail "the scenario did not get to its wait"
		sleep 0.1
	done
	kill -$sig $pid
	wait $pid
	rc=$?
	[ $rc = 130 ] || fail "SIG$sig: exit $rc, 130 expected"
	nothing_left "SIG$sig"
done

# The reader stops after the first line; the next echo meets a closed pipe.
"$B/hotline-drill" "$T_DIR/long.drill" 2>/dev/null | head -n 1 >/dev/null
nothing_left "closed pipe"
