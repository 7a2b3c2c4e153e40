#!/bin/sh
# `make install` into a DESTDIR puts the programs, the man pages, the
# example configuration, the systemd unit (with the installed path), the
# sysusers.d and tmpfiles.d files and the bash completions where they
# belong; `make uninstall` removes them. The unit passes
# `systemd-analyze verify` when that command is there.
set -u
. "$(dirname "$0")/lib.sh"
t_tempdir
d=$T_DIR/root
make --no-print-directory -s install DESTDIR="$d" PREFIX=/usr \
    BUILD="$(basename "$B")" >"$T_DIR/make.log" 2>&1 ||
    { cat "$T_DIR/make.log"; fail "make install failed"; }
for f in usr/bin/hotline-relay usr/bin/hotline \
    usr/share/man/man8/hotline-relay.8 usr/share/man/man1/hotline.1 \
    usr/share/hotline/relay.ini usr/lib/systemd/system/hotline-relay.service \
    usr/lib/sysusers.d/hotline-relay.conf \
    usr/lib/tmpfiles.d/hotline-relay.conf \
    usr/share/bash-completion/completions/hotline \
    usr/share/bash-completion/completions/hotline-relay; do
	[ -f "$d/$f" ] || fail "make install did not install /$f"
done
unit=$d/usr/lib/systemd/system/hotline-relay.service
grep -q '^ExecStart=/usr/bin/hotline-relay serve' "$unit" ||
    fail "the unit does not run the installed /usr/bin/hotline-relay"
grep -q '^u hotline-relay ' "$d/usr/lib/sysusers.d/hotline-relay.conf" ||
    fail "sysusers.d: no hotline-relay user"
grep -q '^d /var/lib/hotline-relay .*hotline-relay' \
    "$d/usr/lib/tmpfiles.d/hotline-relay.conf" ||
    fail "tmpfiles.d: no state folder"

if command -v systemd-analyze >/dev/null; then
	# verify wants the programs the unit names to exist: point it at the
	# installed copy.
	sed "s|/usr/bin/hotline-relay|$d/usr/bin/hotline-relay|g" "$unit" \
	    > "$T_DIR/hotline-relay.service"
	if systemd-analyze verify --man=no "$T_DIR/hotline-relay.service" \
	    >"$T_DIR/verify.log" 2>&1; then
		echo "ok: systemd-analyze verify"
	else
		# Without a running systemd (a container) verify cannot load
		# its own units; anything about ours is still a failure.
		if grep -q 'hotline-relay.service' "$T_DIR/verify.log"; then
			cat "$T_DIR/verify.log"
			fail "systemd-analyze verify refuses the unit"
		fi
		echo "skip: systemd-analyze verify cannot run here:" \
		    "$(head -1 "$T_DIR/verify.log")"
	fi
else
	echo "skip: systemd-analyze is not installed (unit not verified)"
fi

make --no-print-directory -s uninstall DESTDIR="$d" PREFIX=/usr \
    BUILD="$(basename "$B")" >"$T_DIR/make.log" 2>&1 ||
    { cat "$T_DIR/make.log"; fail "make uninstall failed"; }
left=$(find "$d" -type f | sed "s|^$d||")
[ -z "$left" ] || fail "make uninstall left: $left"
echo "ok: install and uninstall"
