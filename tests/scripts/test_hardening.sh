#!/bin/sh
# The programs are built hardened by default: position-independent
# executables, full RELRO with BIND_NOW, the stack protector, and the
# fortified (_chk) variants of libc calls.
set -u
. "$(dirname "$0")/lib.sh"
command -v readelf >/dev/null || skip "readelf is not installed"
[ -x "$B/hotline-relay" ] && [ -x "$B/hotline" ] ||
    fail "build hotline and hotline-relay first"
for p in hotline-relay hotline hotline-drill; do
	bin="$B/$p"
	[ -x "$bin" ] || continue
	readelf -h "$bin" | grep -q 'Type:[[:space:]]*DYN' ||
	    fail "$p is not a position-independent executable"
	readelf -d "$bin" | grep -q 'FLAGS_1.*PIE' ||
	    fail "$p has no PIE flag"
	readelf -d "$bin" | grep -Eq 'BIND_NOW|FLAGS.*NOW' ||
	    fail "$p is not linked with -z now"
	readelf -lW "$bin" | grep -q GNU_RELRO ||
	    fail "$p has no RELRO segment"
	syms=$(readelf --dyn-syms -W "$bin")
	echo "$syms" | grep -q '__stack_chk_fail' ||
	    fail "$p has no stack protector"
	echo "$syms" | grep -Eq '__[a-z]+_chk' ||
	    fail "$p calls no fortified function"
	echo "ok: $p: PIE, BIND_NOW, RELRO, stack protector," \
	    "$(echo "$syms" | grep -Eo '__[a-z]+_chk' | sort -u | wc -l)" \
	    "fortified functions"
done
