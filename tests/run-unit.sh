#!/bin/sh
# Runs each unit-test binary given; with VALGRIND=1 under valgrind, where a
# leak or a memory error fails the run. Prints cmocka's summary lines.
set -u
fail=0
for t in "$@"; do
	echo "== unit: ${t##*/}"
	if [ "${VALGRIND:-0}" = 1 ]; then
		valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
			--errors-for-leak-kinds=definite,indirect,possible \
			--error-exitcode=1 "$t" || { echo "FAILED (valgrind): $t"; fail=1; }
	else
		"$t" || { echo "FAILED: $t"; fail=1; }
	fi
done
[ $fail = 0 ] && echo "== unit: all passed"
exit $fail
