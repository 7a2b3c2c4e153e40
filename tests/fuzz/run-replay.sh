#!/bin/sh
# Replays each named fuzzer's seed corpus (tests/fuzz/corpus/<name>/)
# through $B/tests/fuzz/replay_<name>; with VALGRIND=1 under valgrind, where
# a leak or a memory error fails the run. On a failure, replays the corpus
# file by file to name the inputs that fail.
set -u
B=${B:-build}
fail=0

replay() {
	if [ "${VALGRIND:-0}" = 1 ]; then
		valgrind -q --leak-check=full \
			--show-leak-kinds=definite,indirect,possible \
			--errors-for-leak-kinds=definite,indirect,possible \
			--error-exitcode=1 "$@"
	else
		"$@"
	fi
}

for n in "$@"; do
	bin="$B/tests/fuzz/replay_$n"
	dir="tests/fuzz/corpus/$n"
	if replay "$bin" "$dir"; then
		continue
	fi
	fail=1
	echo "FAILED: fuzz-replay: $n; replaying its inputs one by one:"
	for f in "$dir"/*; do
		[ -f "$f" ] || continue
		replay "$bin" "$f" >/dev/null 2>&1 || echo "FAILED: fuzz-replay: $n: $f"
	done
done
[ $fail = 0 ] && echo "== fuzz-replay: all passed"
exit $fail
