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
# A port on 127.0.0.1 that was free a moment ago (perl-base is always
# there on Debian).
t_free_port() {
	perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1,
	    LocalAddr => "127.0.0.1", LocalPort => 0)->sockport, "\n"'
}
# The processes whose command line contains $1: "PID ARGS" lines, read
# from /proc (procps may not be installed).
t_procs_matching() {
	for p in /proc/[0-9]*; do
		args=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null) || continue
		case $args in *"$1"*) echo "${p#/proc/} $args" ;; esac
	done
}
