# Shared by tests/scripts/test_*.sh (sourced): fail, skip, a temp dir
# removed on every exit, and a relay on 127.0.0.1 stopped on every exit.
B=${B:-build}
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "skip: $*"; exit 77; }
T_DIR=
T_PIDS=
t_cleanup() {
	for p in $T_PIDS; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -n "$T_DIR" ] && rm -rf "$T_DIR"
}
trap t_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
t_tempdir() { T_DIR=$(mktemp -d /tmp/hotline-test.XXXXXX) || exit 1; }
