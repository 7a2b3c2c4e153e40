#!/bin/sh
# Runs each integration-test binary given, with the built programs on PATH.
# The relay's tests (test_relay_*) then run a second time against
# PostgreSQL (HOTLINE_TEST_STORE=postgresql), each on a throwaway cluster
# of its own; HOTLINE_TEST_STORE set by the caller runs only that store.
set -u
B=${B:-build}
PATH="$(pwd)/$B:$PATH"
export PATH HOTLINE_BUILD="$(pwd)/$B"
fail=0
for t in "$@"; do
	echo "== integration: ${t##*/}"
	"$t" || { echo "FAILED: $t"; fail=1; }
done
if [ -z "${HOTLINE_TEST_STORE:-}" ]; then
	for t in "$@"; do
		case ${t##*/} in
		test_relay_pg*) continue ;;      # they make their own clusters
		test_relay_*) ;;
		*) continue ;;
		esac
		echo "== integration (postgresql): ${t##*/}"
		HOTLINE_TEST_STORE=postgresql "$t" ||
			{ echo "FAILED (postgresql): $t"; fail=1; }
	done
fi
[ $fail = 0 ] && [ $# -gt 0 ] && echo "== integration: all passed"
exit $fail
